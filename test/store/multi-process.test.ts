import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readProc } from '../../src/execution/proc-tree.js';
import { SqliteRunStore } from '../../src/store/index.js';
import { isProcessAlive, waitFor } from '../helpers/processes.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';
import { startChild, waitForLine, type Child } from './helpers/child.js';

describe('SqliteRunStore across processes', () => {
  let dir: string;
  const children: Child[] = [];
  const leftovers: number[] = [];
  beforeEach(async () => {
    dir = await makeTmpDir('orch-store-mp-');
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    }
    for (const pid of leftovers.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await removeTmpDir(dir);
  });

  it('records two 200-step runs written at once by two orchestrators, completely and without SQLITE_BUSY', async () => {
    const stateDir = path.join(dir, 'state');
    // Both open a new folder at the same moment, so they also race to create and migrate it.
    const runs = ['run-a', 'run-b'];
    const pair = runs.map((runId) => startChild([stateDir, runId, 'concurrent', '200']));
    children.push(...pair);
    await Promise.all(pair.map((child) => waitForLine(child, 'ready')));
    for (const child of pair) child.process.stdin.write('go\n');
    const codes = await Promise.all(pair.map((child) => child.exit));

    for (const child of pair) {
      expect(child.stderr, 'stderr of a child').not.toMatch(/locked|BUSY|store error/i);
    }
    expect(codes).toEqual([0, 0]);
    for (const child of pair) {
      const stats = JSON.parse(child.stdout.at(-1) ?? '{}') as { status: string; failedFlushes: number; transactions: number };
      expect(stats.status).toBe('succeeded');
      expect(stats.failedFlushes).toBe(0);
      // Tiny batches: each child committed many transactions, interleaved with its sibling's.
      expect(stats.transactions).toBeGreaterThan(20);
    }

    const store = new SqliteRunStore({ stateDir });
    try {
      expect(store.listRuns().map((r) => r.id).sort()).toEqual(runs);
      for (const runId of runs) {
        expect(store.getRun(runId)).toMatchObject({ status: 'succeeded', counts: { total: 200, succeeded: 200 } });
        const steps = store.getSteps(runId);
        expect(steps).toHaveLength(200);
        expect(steps.every((s) => s.status === 'succeeded' && s.attempt === 1 && s.exitCode === 0)).toBe(true);
        expect(steps.map((s) => s.stepId)).toEqual(Array.from({ length: 200 }, (_, i) => `step-${String(i).padStart(3, '0')}`));
      }
    } finally {
      store.close();
    }
  });

  it('keeps what a SIGKILLed orchestrator wrote, and enough to find the process group it left', async () => {
    const stateDir = path.join(dir, 'state');
    const child = startChild([stateDir, 'crashed', 'crash']);
    children.push(child);
    await waitForLine(child, 'ready');
    child.process.kill('SIGKILL');
    expect(await child.exit).toBe('SIGKILL');

    const store = new SqliteRunStore({ stateDir });
    try {
      const run = store.getRun('crashed');
      expect(run).toMatchObject({ status: 'running', pid: child.process.pid });
      expect(run?.pidStartTime).toBeGreaterThan(0);
      expect(isProcessAlive(run?.pid ?? 0)).toBe(false);

      const slow = store.getSteps('crashed').find((s) => s.stepId === 'slow');
      const pid = slow?.pid ?? 0;
      leftovers.push(pid);
      // The step's process group outlived the orchestrator; its stored start time identifies it.
      expect(isProcessAlive(pid)).toBe(true);
      expect(readProc(pid)?.startTime).toBe(slow?.pidStartTime);
      process.kill(-pid, 'SIGKILL');
      await waitFor(`step process ${pid} to die`, () => (isProcessAlive(pid) ? undefined : true));

      expect(store.markInterrupted('crashed', `orchestrator pid ${run?.pid} is gone`)).toBe(true);
      expect(store.getSteps('crashed').map((s) => [s.stepId, s.status])).toEqual([
        ['fast', 'succeeded'],
        ['slow', 'interrupted'],
      ]);
      expect(store.getRun('crashed')?.status).toBe('interrupted');
    } finally {
      store.close();
    }
  });
});
