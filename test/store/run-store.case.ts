import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/core/result.js';
import type { WorkflowSpec } from '../../src/core/spec.js';
import { LocalEngine } from '../../src/engines/local/local-engine.js';
import { storeListener, type RunStore } from '../../src/store/index.js';
import { newRunId } from '../../src/util/run-id.js';
import { waitFor } from '../helpers/processes.js';
import { commandStep, fixture, retryPolicy, workflowSpec } from '../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';
import { runEvents, runInfo } from './helpers/events.js';

const DAY = 24 * 60 * 60 * 1000;

/**
 * The behaviour every `RunStore` shares (Hono's `common.case.test.ts`). `open(dir)` opens a store
 * on the state folder `dir`; opening twice on one folder gives two stores that see each other.
 */
export function runStoreConformance(name: string, open: (stateDir: string) => RunStore): void {
  describe(`RunStore conformance: ${name}`, () => {
    let dir: string;
    let stateDir: string;
    let engine: LocalEngine;
    const stores: RunStore[] = [];
    const openStore = (): RunStore => {
      const store = open(stateDir);
      stores.push(store);
      return store;
    };

    beforeEach(async () => {
      dir = await makeTmpDir('orch-store-');
      stateDir = path.join(dir, 'state');
      engine = new LocalEngine();
    });
    afterEach(async () => {
      await engine.close();
      for (const store of stores.splice(0)) store.close();
      await removeTmpDir(dir);
    });

    async function runWithStore(store: RunStore, spec: WorkflowSpec): Promise<RunSummary> {
      const runId = newRunId();
      store.beginRun(runInfo(runId, { name: spec.name, specJson: JSON.stringify(spec) }));
      const summary = await engine.submit(spec, {
        runId,
        runDir: path.join(dir, 'runs', runId),
        onEvent: storeListener(store),
      }).result;
      await store.flush();
      return summary;
    }

    it('records a run of the local engine and reads back the run, its steps and their attempts', async () => {
      const store = openStore();
      const spec = workflowSpec([
        commandStep('echo hello; echo "answer=42" >> "$ORCHESTRATOR_OUTPUT"', { id: 'ok' }),
        commandStep('exit 3', { id: 'bad' }),
        commandStep('exit 0', { id: 'after-bad', needs: ['bad'] }),
      ]);
      const summary = await runWithStore(store, spec);
      expect(summary.status).toBe('failed');

      const run = store.getRun(summary.runId);
      expect(run).toMatchObject({
        id: summary.runId,
        name: 'test-run',
        kind: 'workflow',
        source: 'workflow.yml',
        status: 'failed',
        startedAt: summary.startedAt,
        finishedAt: summary.finishedAt,
        durationMs: summary.durationMs,
        argv: ['run', 'workflow.yml'],
        pid: process.pid,
        reason: null,
        cancelRequestedAt: null,
      });
      expect(run?.counts).toMatchObject({ total: 3, succeeded: 1, failed: 1, skipped: 1 });
      expect(JSON.parse(run?.specJson ?? 'null')).toMatchObject({ name: 'test-run', steps: [{ id: 'ok' }, { id: 'bad' }, { id: 'after-bad' }] });

      const steps = store.getSteps(summary.runId);
      expect(steps.map((s) => [s.stepId, s.attempt, s.status])).toEqual([
        ['ok', 1, 'succeeded'],
        ['bad', 1, 'failed'],
        ['after-bad', 0, 'skipped'],
      ]);
      const [ok, bad, afterBad] = steps;
      expect(ok).toMatchObject({ exitCode: 0, signal: null, reason: null, outputs: { answer: '42' }, kind: 'command' });
      expect(ok?.command).toEqual(['/bin/sh', '-c', expect.stringContaining('echo hello') as string]);
      expect(ok?.logPath).toEqual(expect.stringContaining(path.join(dir, 'runs')));
      expect(ok?.pid).toBeGreaterThan(0);
      expect(ok?.durationMs).toBeGreaterThanOrEqual(0);
      expect(Date.parse(ok?.startedAt ?? '')).toBeLessThanOrEqual(Date.parse(ok?.finishedAt ?? ''));
      expect(bad).toMatchObject({ exitCode: 3, reason: 'exit-non-zero', message: 'exited with code 3' });
      expect(afterBad).toMatchObject({ reason: 'dependency-failed', needs: ['bad'], startedAt: null, pid: null });
      expect(store.getAttempts(summary.runId, 'bad')).toHaveLength(1);
    });

    it('records every attempt of a retried step', async () => {
      const store = openStore();
      const spec = workflowSpec([
        commandStep(`sh ${fixture('fail-times.sh')} 2 7`, {
          id: 'flaky',
          retry: retryPolicy({ maxAttempts: 3, initialDelay: 5 }),
          env: { ATTEMPT_FILE: path.join(dir, 'attempts') },
        }),
      ]);
      const summary = await runWithStore(store, spec);
      expect(summary.status).toBe('succeeded');

      const attempts = store.getAttempts(summary.runId, 'flaky');
      expect(attempts.map((a) => [a.attempt, a.status, a.reason])).toEqual([
        [1, 'failed', 'exit-non-zero'],
        [2, 'failed', 'exit-non-zero'],
        [3, 'succeeded', null],
      ]);
      expect(attempts[0]?.message).toBe('exited with code 7');
      expect(attempts[2]?.exitCode).toBe(0);
      for (const attempt of attempts) {
        expect(attempt.startedAt, `attempt ${attempt.attempt} start`).not.toBeNull();
        expect(attempt.finishedAt, `attempt ${attempt.attempt} end`).not.toBeNull();
        expect(attempt.pid, `attempt ${attempt.attempt} pid`).toBeGreaterThan(0);
      }
      expect(new Set(attempts.map((a) => a.pid)).size).toBe(3);
      expect(store.getSteps(summary.runId)).toEqual([attempts[2]]);
    });

    it('reads back its own events before they are flushed', () => {
      const store = openStore();
      const [started, firstStep] = runEvents('run-a', [{ id: 'one', status: 'succeeded' }, { id: 'two', status: 'succeeded' }]);
      store.recordEvent(started!);
      store.recordEvent(firstStep!);
      expect(store.getRun('run-a')).toMatchObject({ status: 'running', counts: { total: 2, running: 1, pending: 1 } });
      expect(store.getSteps('run-a').map((s) => [s.stepId, s.attempt, s.status])).toEqual([
        ['one', 1, 'running'],
        ['two', 0, 'pending'],
      ]);
    });

    it('lists runs newest first, filtered by status, name, id prefix and start time', async () => {
      const store = openStore();
      const base = Date.UTC(2020, 0, 1);
      const make = (id: string, day: number, status: 'succeeded' | 'failed', name = 'nightly'): void => {
        for (const event of runEvents(id, [{ id: 'step', status }], { startedAt: new Date(base + day * DAY), name })) {
          store.recordEvent(event);
        }
      };
      make('a-1', 1, 'succeeded');
      make('a-2', 2, 'failed');
      make('b-3', 3, 'succeeded', 'weekly');
      store.beginRun(runInfo('b-4', { name: 'nightly' }));
      await store.flush();

      expect(store.listRuns().map((r) => r.id)).toEqual(['b-4', 'b-3', 'a-2', 'a-1']);
      expect(store.listRuns({ status: 'failed' }).map((r) => r.id)).toEqual(['a-2']);
      expect(store.listRuns({ status: ['succeeded', 'running'] }).map((r) => r.id)).toEqual(['b-4', 'b-3', 'a-1']);
      expect(store.listRuns({ name: 'nightly' }).map((r) => r.id)).toEqual(['b-4', 'a-2', 'a-1']);
      expect(store.listRuns({ idPrefix: 'a-' }).map((r) => r.id)).toEqual(['a-2', 'a-1']);
      expect(store.listRuns({ limit: 2 }).map((r) => r.id)).toEqual(['b-4', 'b-3']);
      expect(store.listRuns({ before: new Date(base + 3 * DAY) }).map((r) => r.id)).toEqual(['a-2', 'a-1']);
      expect(() => store.listRuns({ limit: 0 })).toThrow(/Expected the `limit` option to be an integer of at least 1, got `0`/);
    });

    it('finds a run by its full id or by a prefix that matches only it', async () => {
      const store = openStore();
      for (const id of ['20200101-000000-000-aaaa1111', '20200101-000000-000-aaaa2222', '20200102-000000-000-bbbb3333']) {
        store.beginRun(runInfo(id));
      }
      await store.flush();
      expect(store.getRun('20200102')?.id).toBe('20200102-000000-000-bbbb3333');
      expect(store.getRun('20200101-000000-000-aaaa2')?.id).toBe('20200101-000000-000-aaaa2222');
      expect(store.getRun('20200101'), 'two runs match').toBeUndefined();
      expect(store.getRun('2019'), 'no run matches').toBeUndefined();
      expect(store.getRun(''), 'an empty prefix').toBeUndefined();
    });

    it('marks a running run interrupted, with its running attempts, and leaves finished runs alone', async () => {
      const store = openStore();
      const events = runEvents('crashed', [
        { id: 'done', status: 'succeeded' },
        { id: 'busy', status: 'succeeded' },
        { id: 'later', status: 'succeeded' },
      ]);
      store.beginRun(runInfo('crashed'));
      // run-started, done started and finished, busy started: then the orchestrator "dies".
      for (const event of events.slice(0, 4)) store.recordEvent(event);
      await store.flush();

      expect(store.markInterrupted('crashed', 'pid 4242 is gone')).toBe(true);
      expect(store.getRun('crashed')).toMatchObject({
        status: 'interrupted',
        reason: 'pid 4242 is gone',
        finishedAt: null,
        counts: { total: 3, succeeded: 1, interrupted: 1, pending: 1, running: 0 },
      });
      expect(store.getSteps('crashed').map((s) => [s.stepId, s.attempt, s.status])).toEqual([
        ['done', 1, 'succeeded'],
        ['busy', 1, 'interrupted'],
        ['later', 0, 'pending'],
      ]);
      expect(store.markInterrupted('crashed', 'again'), 'an interrupted run').toBe(false);

      for (const event of runEvents('finished', [{ id: 'x', status: 'succeeded' }])) store.recordEvent(event);
      expect(store.markInterrupted('finished', 'no'), 'a finished run').toBe(false);
      expect(store.markInterrupted('unknown', 'no'), 'an unknown run').toBe(false);
      expect(store.getRun('finished')?.status).toBe('succeeded');
    });

    it('carries a cancel request from one store to another on the same folder', async () => {
      const running = openStore();
      const other = openStore();
      running.beginRun(runInfo('live'));
      for (const event of runEvents('over', [{ id: 'x', status: 'succeeded' }])) running.recordEvent(event);
      await running.flush();

      expect(running.cancelRequested('live')).toBe(false);
      expect(other.requestCancel('live')).toBe(true);
      expect(running.cancelRequested('live')).toBe(true);
      expect(running.getRun('live')?.cancelRequestedAt).not.toBeNull();
      expect(other.requestCancel('over'), 'a finished run').toBe(false);
      expect(other.requestCancel('nope'), 'an unknown run').toBe(false);
      expect(running.cancelRequested('over')).toBe(false);
    });

    it('lets another store cancel a run of the local engine that polls for requests', async () => {
      const store = openStore();
      const other = openStore();
      const runId = newRunId();
      store.beginRun(runInfo(runId));
      const handle = engine.submit(
        workflowSpec([commandStep('sleep 30', { id: 'long', timeout: 0, killGrace: 200 })]),
        { runId, onEvent: storeListener(store) },
      );
      const poll = setInterval(() => {
        if (store.cancelRequested(runId)) handle.cancel('cancel requested from another terminal');
      }, 20);
      try {
        await waitFor('the long step to start', () => (other.getSteps(runId)[0]?.status === 'running' ? true : undefined));
        expect(other.requestCancel(runId)).toBe(true);
        const summary = await handle.result;
        expect(summary.status).toBe('cancelled');
      } finally {
        clearInterval(poll);
      }
      await store.flush();
      expect(other.getRun(runId)).toMatchObject({ status: 'cancelled', reason: 'cancel requested from another terminal' });
      expect(other.getSteps(runId)[0]).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    });

    describe('prune', () => {
      const base = Date.UTC(2020, 0, 1);
      let store: RunStore;
      beforeEach(async () => {
        store = openStore();
        // Five finished runs, one a day, and one still running (the oldest).
        store.beginRun(runInfo('running'));
        store.recordEvent(runEvents('running', [{ id: 'x', status: 'succeeded' }], { startedAt: new Date(base) })[0]!);
        for (let day = 1; day <= 5; day += 1) {
          for (const event of runEvents(`day-${day}`, [{ id: 'x', status: 'succeeded' }], { startedAt: new Date(base + day * DAY) })) {
            store.recordEvent(event);
          }
        }
        await store.flush();
      });

      it('keeps the newest N runs and never deletes a running one', () => {
        expect(store.prune({ keep: 2 })).toBe(3);
        expect(store.listRuns().map((r) => r.id)).toEqual(['day-5', 'day-4', 'running']);
        expect(store.getSteps('day-1')).toEqual([]);
        expect(store.getAttempts('day-1', 'x')).toEqual([]);
        expect(store.getSteps('day-5')).toHaveLength(1);
        expect(store.prune({ keep: 0 })).toBe(2);
        expect(store.listRuns().map((r) => r.id)).toEqual(['running']);
      });

      it('deletes runs started before a date', () => {
        expect(store.prune({ olderThan: new Date(base + 3 * DAY) })).toBe(2);
        expect(store.listRuns().map((r) => r.id)).toEqual(['day-5', 'day-4', 'day-3', 'running']);
      });

      it('with keep and olderThan deletes only runs outside the newest N that are also old', () => {
        expect(store.prune({ keep: 4, olderThan: new Date(base + 3 * DAY) })).toBe(1);
        expect(store.listRuns().map((r) => r.id)).toEqual(['day-5', 'day-4', 'day-3', 'day-2', 'running']);
      });

      it('refuses options that say nothing or are not valid', () => {
        expect(() => store.prune({})).toThrow(TypeError);
        expect(() => store.prune({ keep: -1 })).toThrow(/Expected the `keep` option to be an integer of at least 0, got `-1`/);
        expect(() => store.prune({ olderThan: new Date('nope') })).toThrow(/valid Date/);
      });
    });

    it('refuses to be used after close, and closing twice is harmless', async () => {
      const store = openStore();
      store.close();
      store.close();
      store[Symbol.dispose]();
      expect(() => store.listRuns()).toThrow(/Expected an open run store/);
      expect(() => store.recordEvent(runEvents('x', [])[0]!)).toThrow(TypeError);
      await expect(store.flush()).rejects.toThrow(TypeError);
    });
  });
}
