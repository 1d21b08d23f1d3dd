import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/core/events.js';
import { LocalEngine } from '../../src/engines/local/local-engine.js';
import { SqliteRunStore, storeListener } from '../../src/store/index.js';
import { newRunId } from '../../src/util/run-id.js';
import { commandStep, workflowSpec } from '../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';
import { runEvents, runInfo } from './helpers/events.js';
import { runStoreConformance } from './run-store.case.js';

runStoreConformance('SqliteRunStore', (stateDir) => new SqliteRunStore({ stateDir }));

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `count` steps that each start and finish: 2 events a step, plus the run's start and end. */
function bigRun(runId: string, count: number): RunEvent[] {
  return runEvents(
    runId,
    Array.from({ length: count }, (_, i) => ({ id: `step-${i}`, status: 'succeeded' as const })),
  );
}

describe('SqliteRunStore', () => {
  let dir: string;
  let store: SqliteRunStore | undefined;
  beforeEach(async () => {
    dir = await makeTmpDir('orch-sqlite-');
  });
  afterEach(async () => {
    store?.close();
    store = undefined;
    await removeTmpDir(dir);
  });

  it('makes the state folder and a WAL database with a busy timeout in it', () => {
    const stateDir = path.join(dir, 'nested', '.orchestrator');
    store = new SqliteRunStore({ stateDir });
    expect(store.path).toBe(path.join(stateDir, 'state.db'));
    expect(existsSync(store.path)).toBe(true);
    store.close();
    const db = new Database(path.join(stateDir, 'state.db'), { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  describe('batching', () => {
    it('writes many events in one transaction once the interval has passed, not one each', async () => {
      store = new SqliteRunStore({ stateDir: dir, flushIntervalMs: 20 });
      // 1 + 2·100 + 1 events, without the run-finished event (which flushes at once).
      const events = bigRun('r', 100).slice(0, -1);
      for (const event of events) store.recordEvent(event);
      expect(store.stats).toMatchObject({ transactions: 0, eventsWritten: 0, queued: events.length });

      await expect.poll(() => store?.stats.transactions, { timeout: 2000, interval: 5 }).toBe(1);
      expect(store.stats).toMatchObject({ transactions: 1, eventsWritten: events.length, queued: 0 });
    });

    it('writes at once when the queue reaches the batch size', async () => {
      store = new SqliteRunStore({ stateDir: dir, flushIntervalMs: 60_000, batchSize: 100 });
      // Finished steps are written on the next turn anyway (see below); batching is for the rest.
      const events = bigRun('r', 200).filter((e) => e.type !== 'step-finished');
      for (const event of events.slice(0, 99)) store.recordEvent(event);
      await nextTurn();
      expect(store.stats.transactions, 'below the batch size, nothing is written').toBe(0);

      for (const event of events.slice(99, 150)) store.recordEvent(event);
      await nextTurn();
      expect(store.stats).toMatchObject({ transactions: 1, eventsWritten: 150, queued: 0 });
    });

    it('journals a finished step at once, and a crashed run gets it back when marked interrupted', async () => {
      store = new SqliteRunStore({ stateDir: dir, flushIntervalMs: 60_000, batchSize: 1000 });
      store.beginRun(runInfo('r'));
      const events = bigRun('r', 3);
      const firstFinished = events.findIndex((e) => e.type === 'step-finished');
      for (const event of events.slice(0, firstFinished + 1)) store.recordEvent(event);
      await nextTurn();
      expect(store.stats.transactions, 'nothing committed yet: the batch interval is 60 s').toBe(0);
      const journal = path.join(dir, 'journal', 'r.jsonl');
      expect(existsSync(journal)).toBe(true);
      // A SIGKILL now would lose the queue but not the journal. A second store plays the next command.
      const finished = events[firstFinished] as Extract<RunEvent, { type: 'step-finished' }>;
      const next = new SqliteRunStore({ stateDir: dir });
      try {
        expect(next.getSteps('r').find((s) => s.stepId === finished.stepId)?.status).not.toBe(finished.result.status);
        expect(next.markInterrupted('r', 'orchestrator gone')).toBe(true);
        expect(next.getSteps('r').find((s) => s.stepId === finished.stepId)?.status).toBe(finished.result.status);
        expect(existsSync(journal), 'the journal is dropped once replayed').toBe(false);
      } finally {
        next.close();
      }
    });

    it('journals a finished step whose value JSON cannot hold, without the value', async () => {
      store = new SqliteRunStore({ stateDir: dir, flushIntervalMs: 60_000, batchSize: 1000 });
      store.beginRun(runInfo('r'));
      const events = bigRun('r', 1);
      const index = events.findIndex((e) => e.type === 'step-finished');
      const finished = events[index] as Extract<RunEvent, { type: 'step-finished' }>;
      const cyclic: Record<string, unknown> = { name: 'loop' };
      cyclic.self = cyclic;
      events[index] = { ...finished, result: { ...finished.result, value: cyclic } };
      for (const event of events.slice(0, index + 1)) store.recordEvent(event);
      await nextTurn();
      expect(store.stats.transactions).toBe(0);
      const next = new SqliteRunStore({ stateDir: dir });
      try {
        expect(next.markInterrupted('r', 'orchestrator gone')).toBe(true);
        const step = next.getSteps('r').find((s) => s.stepId === finished.stepId);
        expect(step?.status).toBe(finished.result.status);
        expect(step?.value).toBeUndefined();
      } finally {
        next.close();
      }
    });

    it('journals the run steps too: a run killed before its first commit lists all of them', () => {
      store = new SqliteRunStore({ stateDir: dir, flushIntervalMs: 60_000, batchSize: 1000 });
      store.beginRun(runInfo('r'));
      const events = bigRun('r', 3);
      // run-started, then step-0 started and finished: nothing committed but the run's record.
      for (const event of events.slice(0, 3)) store.recordEvent(event);
      expect(store.stats.transactions).toBe(0);
      const next = new SqliteRunStore({ stateDir: dir });
      try {
        expect(next.getSteps('r')).toEqual([]);
        expect(next.markInterrupted('r', 'orchestrator gone')).toBe(true);
        expect(next.getSteps('r').map((s) => [s.stepId, s.attempt, s.status])).toEqual([
          ['step-0', 1, 'succeeded'],
          ['step-1', 0, 'pending'],
          ['step-2', 0, 'pending'],
        ]);
        expect(next.getRun('r')).toMatchObject({ status: 'interrupted', counts: { total: 3, succeeded: 1, pending: 2 } });
      } finally {
        next.close();
      }
    });

    it('writes an attempt that starts and finishes in one batch once, with what its start said', async () => {
      store = new SqliteRunStore({ stateDir: dir, flushIntervalMs: 60_000 });
      const [runStarted, started, finished] = runEvents('r', [{ id: 'a', status: 'succeeded' }]);
      if (started?.type !== 'step-started' || finished?.type !== 'step-finished') throw new Error('expected a step');
      store.recordEvent(runStarted!);
      store.recordEvent({ ...started, pid: 4242, command: ['/bin/sh', 'a.sh'] });
      store.recordEvent({ ...finished, result: { ...finished.result, command: [] } });
      await store.flush();
      expect(store.stats).toMatchObject({ transactions: 1, eventsWritten: 3 });
      const [attempt] = store.getAttempts('r', 'a');
      expect(attempt).toMatchObject({ attempt: 1, status: 'succeeded', pid: 4242, command: ['/bin/sh', 'a.sh'], exitCode: 0 });
      expect(attempt?.startedAt).toBe(new Date(started.time).toISOString());
      expect(attempt?.finishedAt).toBe(finished.result.finishedAt);

      // The same attempt written in two batches reads back the same.
      const [, started2, finished2] = runEvents('r2', [{ id: 'a', status: 'succeeded' }]);
      if (started2?.type !== 'step-started' || finished2?.type !== 'step-finished') throw new Error('expected a step');
      store.recordEvent({ ...runStarted!, runId: 'r2' });
      store.recordEvent({ ...started2, time: started.time, pid: 4242, command: ['/bin/sh', 'a.sh'] });
      await store.flush();
      store.recordEvent({ ...finished2, result: { ...finished2.result, finishedAt: finished.result.finishedAt, command: [] } });
      await store.flush();
      const [other] = store.getAttempts('r2', 'a');
      expect({ ...other, runId: 'r', pidStartTime: null }).toEqual({ ...attempt, pidStartTime: null });
    });

    it('writes at once on run-finished, so the run is stored when the engine resolves it', () => {
      store = new SqliteRunStore({ stateDir: dir, flushIntervalMs: 60_000 });
      const events = bigRun('r', 3);
      for (const event of events) store.recordEvent(event);
      expect(store.stats).toMatchObject({ transactions: 1, eventsWritten: events.length, queued: 0 });
    });

    it('ignores step-output events: logs live in files', async () => {
      store = new SqliteRunStore({ stateDir: dir });
      store.recordEvent({ type: 'step-output', runId: 'r', time: 1, stepId: 's', attempt: 1, stream: 'stdout', chunk: Buffer.from('x') });
      expect(store.stats.queued).toBe(0);
      await store.flush();
      expect(store.stats.transactions).toBe(0);
    });

    it('records a 100-step engine run in fewer transactions than events', async () => {
      store = new SqliteRunStore({ stateDir: dir });
      const engine = new LocalEngine();
      const runId = newRunId();
      let events = 0;
      const listener = storeListener(store);
      try {
        const spec = workflowSpec(
          Array.from({ length: 100 }, (_, i) => commandStep('true', { id: `s${i}` })),
          { concurrency: 4 },
        );
        const summary = await engine.submit(spec, {
          runId,
          onEvent: (event) => {
            events += 1;
            listener(event);
          },
        }).result;
        expect(summary.counts.succeeded).toBe(100);
      } finally {
        await engine.close();
      }
      const { transactions, eventsWritten } = store.stats;
      expect(eventsWritten).toBe(events);
      // Starts are batched; finished steps are written on the next turn, several per transaction.
      expect(transactions, `${transactions} transactions for ${events} events`).toBeLessThan(events / 2);
      expect(store.getRun(runId)?.counts.succeeded).toBe(100);
    });
  });

  it('stores a function value as JSON, and one JSON cannot hold without blocking the batch', async () => {
    store = new SqliteRunStore({ stateDir: dir });
    const [started, , finished] = runEvents('r', [{ id: 'fn', status: 'succeeded' }]);
    store.recordEvent(started!);
    if (finished?.type !== 'step-finished') throw new Error('expected step-finished');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    store.recordEvent({ ...finished, result: { ...finished.result, value: { n: 1n, list: [1, 'two', null] } } });
    store.recordEvent({ ...finished, stepId: 'other', result: { ...finished.result, id: 'other', value: circular } });
    await store.flush();
    expect(store.getSteps('r').find((s) => s.stepId === 'fn')?.value).toEqual({ n: '1', list: [1, 'two', null] });
    const other = store.getSteps('r').find((s) => s.stepId === 'other');
    expect(other?.status).toBe('succeeded');
    expect(other && 'value' in other).toBe(false);
  });

  it('keeps the run context of beginRun when the events arrive, and refreshes it on resume', async () => {
    store = new SqliteRunStore({ stateDir: dir });
    store.beginRun(runInfo('r', { kind: 'folder', gitCommit: 'abc123', pidStartTime: 42, specJson: '{"v":1}' }));
    for (const event of runEvents('r', [{ id: 'a', status: 'succeeded' }], { name: 'from-spec' })) store.recordEvent(event);
    expect(store.getRun('r')).toMatchObject({ kind: 'folder', name: 'test-run', gitCommit: 'abc123', pidStartTime: 42, status: 'succeeded' });

    store.beginRun(runInfo('r', { kind: 'folder', pid: 7, pidStartTime: 43 }));
    await store.flush();
    expect(store.getRun('r')).toMatchObject({ status: 'running', pid: 7, pidStartTime: 43, specJson: '{"v":1}', finishedAt: null });
  });

  it('rejects options that are not valid, in execa wording', () => {
    expect(() => new SqliteRunStore({ stateDir: dir, batchSize: 0 })).toThrow(
      'Expected the `batchSize` option to be an integer of at least 1, got `0` (number)',
    );
    expect(() => new SqliteRunStore({ stateDir: '' })).toThrow(/`stateDir` option to be a non-empty string/);
  });
});
