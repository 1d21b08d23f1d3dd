import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchRunner, ParallelRunner, runParallel, type ProgressUpdate } from '../../src/dsl/index.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixture = (name: string): string => path.join(FIXTURES, name);

let dir: string;
beforeEach(async () => {
  dir = await makeTmpDir('orch-dsl-');
});
afterEach(async () => {
  await removeTmpDir(dir);
});

describe('ParallelRunner', () => {
  it('fail-fast keeps every finished and running result and cancels the rest', async () => {
    const marker = path.join(dir, 'release');
    const waiter = fixture('wait-for-file.sh');
    const updates: ProgressUpdate[] = [];
    const runner = new ParallelRunner({
      maxWorkers: 2,
      failFast: true,
      onProgress: (update) => {
        updates.push(update);
        // The waiter is still running when the failure lands; release it only then.
        if (update.phase === 'finished' && update.stepId === 'fail.sh') writeFileSync(marker, '');
      },
    });
    const summary = await runner.runScripts([waiter, fixture('fail.sh'), fixture('ok.sh'), fixture('ok.sh')], {
      configs: { [waiter]: { args: [marker] } },
      timeout: 20_000,
    });
    expect(summary.steps.map((s) => [s.id, s.status])).toEqual([
      ['wait-for-file.sh', 'succeeded'],
      ['fail.sh', 'failed'],
      ['ok.sh', 'cancelled'],
      ['ok.sh#2', 'cancelled'],
    ]);
    expect(summary.steps[0]?.stdoutTail).toBe('released\n');
    expect(summary.steps[2]?.reason).toBe('fail-fast');
    expect(summary.counts).toMatchObject({ total: 4, succeeded: 1, failed: 1, cancelled: 2 });
    expect(updates.filter((u) => u.phase === 'finished')).toHaveLength(4);
  });

  it('without fail-fast runs everything', async () => {
    const summary = await runParallel([fixture('fail.sh'), fixture('ok.sh')], { maxWorkers: 1 });
    expect(summary.steps.map((s) => s.status)).toEqual(['failed', 'succeeded']);
  });

  it('cancel() kills what runs, and onIdle() resolves once the call is over', async () => {
    const marker = path.join(dir, 'never');
    const waiter = fixture('wait-for-file.sh');
    const runner = new ParallelRunner({
      maxWorkers: 1,
      onProgress: (update) => {
        // Out of the callback: runProcess listens for the abort only after its onSpawn returns.
        if (update.phase === 'started') queueMicrotask(() => runner.cancel('stop now'));
      },
    });
    const running = runner.runScripts([waiter, fixture('ok.sh')], { configs: { [waiter]: { args: [marker] } } });
    expect(runner.running).toBe(1);
    const idle = runner.onIdle();
    const summary = await running;
    await idle;
    expect(runner.running).toBe(0);
    expect(summary.status).toBe('cancelled');
    expect(summary.cancelReason).toBe('stop now');
    expect(summary.steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
  });

  it('rejects bad options with a TypeError naming them', () => {
    expect(() => new ParallelRunner({ maxWorkers: 0 })).toThrow('Expected the `maxWorkers` option of ParallelRunner to be a positive integer, got `0` (number)');
  });
});

describe('BatchRunner', () => {
  it('stops after a failing batch: the later batches come back with every script cancelled', async () => {
    const runner = new BatchRunner({ maxWorkers: 2 });
    const summaries = await runner.runBatches([[fixture('ok.sh')], [fixture('fail.sh'), fixture('ok.sh')], [fixture('ok.sh'), fixture('missing.sh')]], {
      timeout: 10_000,
    });
    expect(summaries.map((s) => s.status)).toEqual(['succeeded', 'failed', 'cancelled']);
    const last = summaries[2];
    expect(last?.steps.map((s) => [s.id, s.status, s.reason])).toEqual([
      ['ok.sh', 'cancelled', 'cancelled'],
      ['missing.sh', 'cancelled', 'cancelled'],
    ]);
    expect(last?.cancelReason).toBe('batch 2 of 3 failed');
  });

  it('runs every batch with stopOnBatchFailure: false', async () => {
    const summaries = await new BatchRunner().runBatches([[fixture('fail.sh')], [fixture('ok.sh')]], { stopOnBatchFailure: false });
    expect(summaries.map((s) => s.status)).toEqual(['failed', 'succeeded']);
  });
});
