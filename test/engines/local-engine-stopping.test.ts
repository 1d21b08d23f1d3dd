import { getEventListeners } from 'node:events';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/core/events.js';
import type { RunSummary, StepResult } from '../../src/core/result.js';
import type { FunctionStep, StepContext, StepSpec } from '../../src/core/spec.js';
import { LocalEngine } from '../../src/engines/local/local-engine.js';
import { isProcessAlive, readPidFile } from '../helpers/processes.js';
import { commandStep, functionStep, retryPolicy, workflowSpec } from '../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

let engine: LocalEngine;
let dir: string;
beforeEach(async () => {
  engine = new LocalEngine();
  dir = await makeTmpDir();
});
afterEach(async () => {
  await engine.close();
  await removeTmpDir(dir);
});

function byId(summary: RunSummary, id: string): StepResult {
  const step = summary.steps.find((s) => s.id === id);
  if (!step) throw new Error(`no step ${id}`);
  return step;
}

function finishedOrder(events: RunEvent[]): string[] {
  return events.filter((e) => e.type === 'step-finished').map((e) => (e as { stepId: string }).stepId);
}

/** A deferred: a promise and the function that resolves it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A function that says it started, then runs for 4 s unless its signal aborts first (so a run
 * whose stop never reaches it takes 4 s and ends it succeeded).
 */
function fourSeconds(started: () => void): FunctionStep['fn'] {
  return (ctx: StepContext) => {
    started();
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve('finished'), 4000);
      ctx.signal.addEventListener('abort', () => clearTimeout(timer));
    });
  };
}

/** A process step running `sleep 4` in the background of its shell; the sleep's pid goes to `pidFile`. */
function sleeper(id: string, pidFile: string, overrides: Partial<StepSpec> = {}): StepSpec {
  return commandStep(`sleep 4 & echo $! > ${pidFile}; wait`, { id, killGrace: 200, ...overrides } as { id: string });
}

describe('local engine: cancel and the run timeout reach cleanup steps under failure policy kill', () => {
  /** A fails; cleanup-fn (fast path), cleanup-slow-fn (general path) and cleanup-sh run after it. */
  function cleanupSpec(pidFile: string, started: () => void, timeout = 0) {
    return workflowSpec(
      [
        functionStep('a', () => {
          throw new Error('a broke');
        }),
        functionStep('cleanup-fn', fourSeconds(started), { needs: ['a'], if: 'always()' }),
        functionStep('cleanup-slow-fn', fourSeconds(started), { needs: ['a'], if: 'always()', timeout: 60_000 }),
        sleeper('cleanup-sh', pidFile, { needs: ['a'], if: 'always()' }),
      ],
      { failurePolicy: 'kill', concurrency: 4, timeout },
    );
  }

  it('cancel() again ends running always() steps (function and process) as cancelled, with no process left', async () => {
    const pidFile = path.join(dir, 'cleanup.pid');
    let count = 0;
    const both = deferred();
    const handle = engine.submit(cleanupSpec(pidFile, () => (++count === 2 ? both.resolve() : undefined)));
    await both.promise;
    const pid = await readPidFile(pidFile);
    // The first cancel evaluates their `if` again: always() holds, so they go on (as the CLI's
    // first Ctrl-C says); the second ends them.
    handle.cancel('user asked');
    expect(isProcessAlive(pid)).toBe(true);
    handle.cancel('again');
    const summary = await handle.result;
    expect(byId(summary, 'a')).toMatchObject({ status: 'failed', reason: 'function-threw' });
    for (const id of ['cleanup-fn', 'cleanup-slow-fn', 'cleanup-sh']) {
      expect(byId(summary, id), id).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    }
    expect(summary).toMatchObject({ status: 'failed', cancelReason: 'user asked' });
    expect(summary.counts).toMatchObject({ failed: 1, cancelled: 3, succeeded: 0 });
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('the run timeout ends running always() steps as timed out, with no process left: it is the run\'s bound', async () => {
    const pidFile = path.join(dir, 'cleanup.pid');
    const events: RunEvent[] = [];
    const handle = engine.submit(cleanupSpec(pidFile, () => undefined, 1000), { onEvent: (e) => events.push(e) });
    const pid = await readPidFile(pidFile);
    const summary = await handle.result;
    for (const id of ['cleanup-fn', 'cleanup-slow-fn', 'cleanup-sh']) {
      expect(byId(summary, id), id).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
    }
    expect(summary.status).toBe('failed');
    expect(summary.cancelReason).toContain('timeout');
    expect(summary.counts).toMatchObject({ failed: 1, 'timed-out': 3 });
    // The fail-fast and then the timeout are both announced.
    expect(events.filter((e) => e.type === 'run-cancelling')).toHaveLength(2);
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('the run timeout after a cancel ends the cleanup steps the cancel let run', async () => {
    const pidFile = path.join(dir, 'cleanup.pid');
    const handle = engine.submit(
      workflowSpec([sleeper('work', path.join(dir, 'work.pid')), sleeper('notify', pidFile, { needs: [], if: 'always()' })], { concurrency: 2, timeout: 1500 }),
    );
    const pid = await readPidFile(pidFile);
    await readPidFile(path.join(dir, 'work.pid'));
    handle.cancel('user asked');
    // notify (always()) goes on through the cancel; the run timeout ends it.
    const summary = await handle.result;
    expect(byId(summary, 'work')).toMatchObject({ status: 'cancelled' });
    expect(byId(summary, 'notify')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'user asked' });
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('engine.close() ends a running always() process step and resolves', async () => {
    const pidFile = path.join(dir, 'cleanup.pid');
    const handle = engine.submit(
      workflowSpec(
        [functionStep('a', () => Promise.reject(new Error('a broke'))), sleeper('cleanup', pidFile, { needs: ['a'], if: 'always()' })],
        { failurePolicy: 'kill' },
      ),
    );
    const pid = await readPidFile(pidFile);
    await engine.close();
    const summary = await handle.result;
    expect(byId(summary, 'cleanup')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(summary.cancelReason).toBe('engine closed');
    expect(isProcessAlive(pid)).toBe(false);
  });
});

describe('local engine: errors around function steps fail the step, on both paths alike', () => {
  /** The same step on the fast path (no step timeout) and on the general path (a step timeout). */
  async function onBothPaths(fn: FunctionStep['fn'], overrides: Partial<FunctionStep> = {}): Promise<StepResult[]> {
    const results: StepResult[] = [];
    for (const timeout of [0, 60_000]) {
      const summary = await engine.submit(
        workflowSpec([functionStep('f', fn, { ...overrides, timeout }), functionStep('after', () => 1, { needs: ['f'] })]),
      ).result;
      expect(byId(summary, 'after')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
      results.push(byId(summary, 'f'));
    }
    return results;
  }

  const fields = (r: StepResult) => ({ status: r.status, reason: r.reason, message: r.message, attempts: r.attempts });

  it('a retryOn predicate that throws fails the step with unknown-error-thrown', async () => {
    const retry = retryPolicy({
      maxAttempts: 3,
      retryOn: () => {
        throw new Error('predicate broke');
      },
    });
    const [fast, general] = await onBothPaths(() => {
      throw new Error('step broke');
    }, { retry });
    expect(fast).toMatchObject({ status: 'failed', reason: 'unknown-error-thrown', attempts: 1 });
    expect(fast?.message).toContain('predicate broke');
    expect(fields(fast as StepResult)).toEqual(fields(general as StepResult));
  });

  it('a retryOn predicate that throws on a rejected promise fails the step the same way', async () => {
    const retry = retryPolicy({
      maxAttempts: 3,
      retryOn: () => {
        throw new Error('predicate broke');
      },
    });
    const [fast, general] = await onBothPaths(() => Promise.reject(new Error('step broke')), { retry });
    expect(fast).toMatchObject({ status: 'failed', reason: 'unknown-error-thrown' });
    expect(fields(fast as StepResult)).toEqual(fields(general as StepResult));
  });

  it('a thenable whose then() throws fails the step with function-threw', async () => {
    const [fast, general] = await onBothPaths(() => ({
      then(): never {
        throw new Error('bad then');
      },
    }));
    expect(fast).toMatchObject({ status: 'failed', reason: 'function-threw' });
    expect(fast?.message).toContain('bad then');
    expect(fields(fast as StepResult)).toEqual(fields(general as StepResult));
  });

  it('a thenable that settles synchronously still gives its value', async () => {
    const summary = await engine.submit(
      workflowSpec([
        functionStep('sync-then', () => ({
          then(resolve: (value: unknown) => void): void {
            resolve(7);
          },
        })),
        functionStep('next', (ctx) => (ctx.needs['sync-then']?.value as number) + 1, { needs: ['sync-then'] }),
      ]),
    ).result;
    expect(byId(summary, 'sync-then')).toMatchObject({ status: 'succeeded', value: 7 });
    expect(byId(summary, 'next')).toMatchObject({ status: 'succeeded', value: 8 });
  });

  it('a thrown value that cannot be turned into a string fails the step', async () => {
    const [fast, general] = await onBothPaths(() => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
      throw Object.create(null) as object;
    });
    expect(fast).toMatchObject({ status: 'failed', reason: 'unknown-error-thrown' });
    expect(fields(fast as StepResult)).toEqual(fields(general as StepResult));
  });
});

describe('local engine: long chains finish without recursion', () => {
  const LENGTH = 20_000;
  function chain(head: FunctionStep['fn'], overrides: Partial<FunctionStep> = {}): FunctionStep[] {
    const steps = [functionStep('s0', head, overrides)];
    for (let i = 1; i < LENGTH; i++) steps.push(functionStep(`s${i}`, () => i, { needs: [`s${i - 1}`], ...overrides }));
    return steps;
  }

  it('a failure at the head of a 20,000-step chain skips every other step, in chain order, naming its dependency', async () => {
    const events: RunEvent[] = [];
    const summary = await engine.submit(
      workflowSpec(chain(() => {
        throw new Error('head broke');
      }), { concurrency: 4 }),
      { onEvent: (e) => events.push(e) },
    ).result;
    expect(summary.status).toBe('failed');
    expect(summary.counts).toMatchObject({ failed: 1, skipped: LENGTH - 1, total: LENGTH });
    for (let i = 1; i < LENGTH; i++) {
      const step = summary.steps[i] as StepResult;
      if (step.status !== 'skipped' || step.reason !== 'dependency-failed' || !step.message?.includes(`s${i - 1} `)) {
        expect.fail(`s${i}: ${JSON.stringify(step)}`);
      }
    }
    expect(finishedOrder(events)).toEqual(summary.steps.map((s) => s.id));
    expect(events.at(-1)?.type).toBe('run-finished');
  });

  it('a resumed 20,000-step chain restores every step', async () => {
    const first = await engine.submit(workflowSpec(chain(() => 0))).result;
    expect(first.counts.succeeded).toBe(LENGTH);
    const previous = Object.fromEntries(first.steps.map((s) => [s.id, s]));
    const ran: number[] = [];
    const summary = await engine.submit(workflowSpec(chain(() => ran.push(0))), { previous }).result;
    expect(ran).toEqual([]);
    expect(summary.status).toBe('succeeded');
    expect(summary.counts.succeeded).toBe(LENGTH);
  });

  it('a 20,000-step chain skipped by config is skipped step by step', async () => {
    const summary = await engine.submit(workflowSpec(chain(() => 0, { skip: { reason: 'not today' } }))).result;
    expect(summary.counts).toMatchObject({ skipped: LENGTH, total: LENGTH });
    expect(summary.status).toBe('succeeded');
  });

  it('skipped dependents finish depth first, in the order of the spec', async () => {
    const events: RunEvent[] = [];
    await engine.submit(
      workflowSpec([
        functionStep('a', () => {
          throw new Error('a broke');
        }),
        functionStep('b', () => 1, { needs: ['a'] }),
        functionStep('c', () => 1, { needs: ['a'] }),
        functionStep('d', () => 1, { needs: ['b'] }),
        functionStep('e', () => 1, { needs: ['d', 'c'] }),
      ]),
      { onEvent: (e) => events.push(e) },
    ).result;
    expect(finishedOrder(events)).toEqual(['a', 'b', 'd', 'c', 'e']);
  });
});

describe('local engine: stopping with a large ready queue', () => {
  const WIDTH = 40_000;

  it('cancel() with 40,000 steps queued cancels each of them; the always() step that became ready runs', async () => {
    let count = 0;
    const allRunning = deferred();
    const never = (): Promise<never> => {
      if (++count === 4) allRunning.resolve();
      return new Promise<never>(() => undefined);
    };
    const steps: StepSpec[] = [];
    for (let i = 0; i < 4; i++) steps.push(functionStep(`run${i}`, never));
    for (let i = 0; i < WIDTH; i++) steps.push(functionStep(`q${i}`, () => i));
    steps.push(functionStep('cleanup', () => 1, { needs: ['q0'], if: 'always()' }));
    const handle = engine.submit(workflowSpec(steps, { concurrency: 4, failurePolicy: 'kill' }));
    await allRunning.promise;
    handle.cancel('user asked');
    const summary = await handle.result;
    expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'user asked' });
    expect(summary.counts).toMatchObject({ cancelled: WIDTH + 4, succeeded: 1, total: WIDTH + 5 });
    expect(byId(summary, 'cleanup')).toMatchObject({ status: 'succeeded', value: 1 });
    for (const step of summary.steps) {
      if (step.id !== 'cleanup' && step.reason !== 'cancelled') expect.fail(`${step.id}: ${JSON.stringify(step)}`);
    }
  });

  it('the first failure under kill cancels 40,000 queued steps and still runs the cleanup steps', async () => {
    const steps: StepSpec[] = [
      functionStep('bad', () => {
        throw new Error('bad broke');
      }),
      functionStep('running', () => new Promise(() => undefined)),
    ];
    for (let i = 0; i < WIDTH; i++) steps.push(functionStep(`q${i}`, () => i));
    steps.push(
      functionStep('cleanup-bad', () => 'a', { needs: ['bad'], if: 'always()' }),
      functionStep('cleanup-q0', () => 'b', { needs: ['q0'], if: 'always()' }),
      functionStep('after-q1', () => 1, { needs: ['q1'] }),
    );
    const summary = await engine.submit(workflowSpec(steps, { concurrency: 2, failurePolicy: 'kill' })).result;
    expect(byId(summary, 'bad').status).toBe('failed');
    expect(byId(summary, 'running')).toMatchObject({ status: 'cancelled', reason: 'fail-fast' });
    expect(byId(summary, 'cleanup-bad')).toMatchObject({ status: 'succeeded', value: 'a' });
    expect(byId(summary, 'cleanup-q0')).toMatchObject({ status: 'succeeded', value: 'b' });
    expect(byId(summary, 'after-q1')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
    expect(summary.counts).toMatchObject({ failed: 1, cancelled: WIDTH + 1, succeeded: 2, skipped: 1 });
    for (let i = 0; i < WIDTH; i++) {
      const step = summary.steps[i + 2] as StepResult;
      if (step.status !== 'cancelled' || step.reason !== 'fail-fast') expect.fail(`${step.id}: ${JSON.stringify(step)}`);
    }
    expect(summary.status).toBe('failed');
  });

  it('a listener that cancels while a fail-fast is finishing the queue: every step finishes once, cleanup steps run after the cancel', async () => {
    const steps: StepSpec[] = [
      functionStep('bad', () => {
        throw new Error('bad broke');
      }),
      functionStep('running', () => new Promise(() => undefined)),
    ];
    for (let i = 0; i < 1000; i++) steps.push(functionStep(`q${i}`, () => i));
    steps.push(
      functionStep('cleanup-bad', () => 'a', { needs: ['bad'], if: 'always()' }),
      functionStep('cleanup-q0', () => 'b', { needs: ['q0'], if: 'always()' }),
    );
    const events: RunEvent[] = [];
    let cancelled = false;
    const handle = engine.submit(workflowSpec(steps, { concurrency: 2, failurePolicy: 'kill' }), {
      onEvent: (e) => {
        events.push(e);
        // Once: a second cancel would end the cleanup steps too.
        if (e.type === 'step-finished' && e.result.reason === 'fail-fast' && !cancelled) {
          cancelled = true;
          handle.cancel('listener');
        }
      },
    });
    const summary = await handle.result;
    const finished = finishedOrder(events);
    expect(finished).toHaveLength(steps.length);
    expect(new Set(finished).size).toBe(steps.length);
    expect(events.at(-1)?.type).toBe('run-finished');
    expect(byId(summary, 'cleanup-bad')).toMatchObject({ status: 'succeeded', value: 'a' });
    expect(byId(summary, 'cleanup-q0')).toMatchObject({ status: 'succeeded', value: 'b' });
    expect(summary).toMatchObject({ status: 'failed', cancelReason: 'listener' });
    expect(events.filter((e) => e.type === 'step-started').map((e) => (e as { stepId: string }).stepId)).toEqual([
      'bad',
      'running',
      'cleanup-bad',
      'cleanup-q0',
    ]);
  });

  it('the first failure under no-new cancels the queued steps and runs a failure() step', async () => {
    const steps: StepSpec[] = [
      functionStep('bad', () => {
        throw new Error('bad broke');
      }),
    ];
    for (let i = 0; i < WIDTH; i++) steps.push(functionStep(`q${i}`, () => i));
    steps.push(functionStep('alert', () => 'alerted', { needs: ['bad'], if: 'failure()' }));
    const summary = await engine.submit(workflowSpec(steps, { concurrency: 1, failurePolicy: 'no-new' })).result;
    expect(byId(summary, 'alert')).toMatchObject({ status: 'succeeded', value: 'alerted' });
    expect(summary.counts).toMatchObject({ failed: 1, cancelled: WIDTH, succeeded: 1 });
  });
});

describe('local engine: the submit signal', () => {
  it('runs that finished leave no abort listener on a signal they shared', async () => {
    const controller = new AbortController();
    const { signal } = controller;
    await engine.submit(workflowSpec([functionStep('a', () => 1)]), { signal }).result;
    await engine.submit(workflowSpec([commandStep('exit 2', { id: 'b' })]), { signal }).result;
    const cancelled = engine.submit(workflowSpec([functionStep('c', () => new Promise(() => undefined))]), { signal });
    cancelled.on((e) => {
      if (e.type === 'step-started') cancelled.cancel();
    });
    await cancelled.result;
    const timedOut = await engine.submit(workflowSpec([functionStep('d', () => new Promise(() => undefined))], { timeout: 20 }), { signal }).result;
    expect(timedOut.status).toBe('timed-out');
    const sub: StepSpec = { ...functionStep('w', () => undefined), kind: 'workflow', workflow: workflowSpec([functionStep('inner', () => 1)]) };
    const nested = workflowSpec([sub]);
    await engine.submit(nested, { signal }).result;
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});
