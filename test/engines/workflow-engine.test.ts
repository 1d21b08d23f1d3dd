import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NonRetryableError } from '../../src/core/errors.js';
import type { RunEvent } from '../../src/core/events.js';
import type { RunSummary, StepResult } from '../../src/core/result.js';
import type { ModuleStep, PythonStep, StepSpec, WorkflowSpec } from '../../src/core/spec.js';
import { LocalEngine } from '../../src/engines/local/local-engine.js';
import { isProcessAlive, readPidFile } from '../helpers/processes.js';
import { commandStep, functionStep, retryPolicy, scriptStep, workflowSpec } from '../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

const MODULES = fileURLToPath(new URL('../fixtures/modules/', import.meta.url));
const PYTHON = fileURLToPath(new URL('../fixtures/python/', import.meta.url));

const fnStep = functionStep;

let engine: LocalEngine;
let dir: string | undefined;
beforeEach(() => {
  engine = new LocalEngine();
});
afterEach(async () => {
  await engine.close();
  await removeTmpDir(dir);
  dir = undefined;
});

async function run(spec: WorkflowSpec, options: Parameters<LocalEngine['submit']>[1] = {}): Promise<{ summary: RunSummary; events: RunEvent[] }> {
  const events: RunEvent[] = [];
  const summary = await engine.submit(spec, { ...options, onEvent: (e) => events.push(e) }).result;
  return { summary, events };
}

function byId(summary: RunSummary, id: string): StepResult {
  const step = summary.steps.find((s) => s.id === id);
  if (!step) throw new Error(`no step ${id} in ${summary.steps.map((s) => s.id).join(', ')}`);
  return step;
}

function starts(events: RunEvent[]): string[] {
  return events.filter((e) => e.type === 'step-started').map((e) => (e as { stepId: string }).stepId);
}

describe('workflow engine: order, results and skipping', () => {
  it('runs a chain in dependency order and passes results along', async () => {
    const { summary, events } = await run(
      workflowSpec([
        fnStep('c', (ctx) => (ctx.needs.b?.value as number) * 10, { needs: ['b'] }),
        fnStep('a', () => 1),
        fnStep('b', (ctx) => (ctx.needs.a?.value as number) + 1, { needs: ['a'] }),
      ], { concurrency: 4 }),
    );
    expect(starts(events)).toEqual(['a', 'b', 'c']);
    expect(byId(summary, 'c').value).toBe(20);
    expect(summary.status).toBe('succeeded');
  });

  it('runs a diamond: the join waits for both branches and sees both values', async () => {
    const { summary, events } = await run(
      workflowSpec([
        fnStep('top', () => 'x'),
        fnStep('left', (ctx) => `${String(ctx.needs.top?.value)}L`, { needs: ['top'] }),
        fnStep('right', (ctx) => `${String(ctx.needs.top?.value)}R`, { needs: ['top'] }),
        fnStep('join', (ctx) => [ctx.needs.left?.value, ctx.needs.right?.value].join('+'), { needs: ['left', 'right'] }),
      ], { concurrency: 4 }),
    );
    const order = starts(events);
    expect(order[0]).toBe('top');
    expect(order[3]).toBe('join');
    expect(byId(summary, 'join').value).toBe('xL+xR');
  });

  it('starts a step as soon as its own needs are done, not when a whole wave is', async () => {
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
    const seen: string[] = [];
    const { summary } = await run(
      workflowSpec([
        fnStep('slow', async () => {
          await slowGate;
          seen.push('slow');
        }),
        fnStep('fast', () => {
          seen.push('fast');
        }),
        fnStep('after-fast', () => {
          seen.push('after-fast');
          releaseSlow();
        }, { needs: ['fast'] }),
      ], { concurrency: 4 }),
    );
    // With waves, after-fast would wait for slow, and slow waits for after-fast: a deadlock.
    expect(seen).toEqual(['fast', 'after-fast', 'slow']);
    expect(summary.status).toBe('succeeded');
  });

  it('with continue, a failed step skips its dependents transitively with a reason and the counts add up', async () => {
    const { summary } = await run(
      workflowSpec([
        fnStep('a', () => {
          throw new Error('broken');
        }),
        fnStep('b', () => 1, { needs: ['a'] }),
        fnStep('c', () => 1, { needs: ['b'] }),
        fnStep('other', () => 1),
      ], { failurePolicy: 'continue' }),
    );
    expect(byId(summary, 'a')).toMatchObject({ status: 'failed', reason: 'function-threw' });
    expect(byId(summary, 'a').message).toContain('broken');
    expect(byId(summary, 'b')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
    expect(byId(summary, 'b').message).toContain('a failed');
    expect(byId(summary, 'c')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
    expect(byId(summary, 'other').status).toBe('succeeded');
    expect(summary.counts).toMatchObject({ total: 4, succeeded: 1, failed: 1, skipped: 2 });
    expect(summary.status).toBe('failed');
  });

  it("a condition-skipped step's dependents are skipped, never left pending", async () => {
    const { summary } = await run(
      workflowSpec([
        fnStep('gate', () => 1, { if: "env.DEPLOY == 'yes'" }),
        fnStep('deploy', () => 1, { needs: ['gate'] }),
        fnStep('verify', () => 1, { needs: ['deploy'] }),
      ]),
    );
    expect(byId(summary, 'gate')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
    expect(byId(summary, 'deploy')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
    expect(byId(summary, 'verify').status).toBe('skipped');
    expect(summary.status).toBe('succeeded');
  });

  it('always() and failure() steps run after a failure, success() ones do not', async () => {
    const { summary } = await run(
      workflowSpec([
        commandStep('exit 3', { id: 'build' }),
        fnStep('deploy', () => 1, { needs: ['build'], if: 'success()' }),
        fnStep('cleanup', () => 'cleaned', { needs: ['build'], if: 'always()' }),
        fnStep('alert', (ctx) => ctx.needs.build?.status, { needs: ['build'], if: 'failure()' }),
      ], { failurePolicy: 'no-new' }),
    );
    expect(byId(summary, 'build').status).toBe('failed');
    expect(byId(summary, 'deploy')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
    expect(byId(summary, 'cleanup')).toMatchObject({ status: 'succeeded', value: 'cleaned' });
    expect(byId(summary, 'alert')).toMatchObject({ status: 'succeeded', value: 'failed' });
  });

  it('a failure() step is skipped when everything succeeded', async () => {
    const { summary } = await run(
      workflowSpec([fnStep('build', () => 1), fnStep('alert', () => 1, { needs: ['build'], if: 'failure()' })]),
    );
    expect(byId(summary, 'alert')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
  });

  it('continue_on_error lets dependents run and keeps the run green', async () => {
    const { summary } = await run(
      workflowSpec([
        commandStep('exit 1', { id: 'lint', continueOnError: true }),
        fnStep('test', () => 1, { needs: ['lint'] }),
      ], { failurePolicy: 'no-new' }),
    );
    expect(byId(summary, 'lint')).toMatchObject({ status: 'failed', continuedOnError: true });
    expect(byId(summary, 'test').status).toBe('succeeded');
    expect(summary.status).toBe('succeeded');
  });

  it('no-new lets running steps finish and cancels steps that had not started', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { summary } = await run(
      workflowSpec([
        fnStep('long', async () => {
          await gate;
          return 'finished';
        }),
        fnStep('bad', () => {
          release();
          throw new Error('x');
        }),
        fnStep('later', () => 1, { needs: ['bad'] }),
        fnStep('queued', () => 1),
      ], { concurrency: 2, failurePolicy: 'no-new' }),
    );
    expect(byId(summary, 'long')).toMatchObject({ status: 'succeeded', value: 'finished' });
    expect(byId(summary, 'queued')).toMatchObject({ status: 'cancelled', reason: 'fail-fast' });
    expect(byId(summary, 'later')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
  });
});

describe('workflow engine: timeouts and cancellation act mid-flight', () => {
  it('a 0.2 s workflow timeout over two 5 s shell steps ends in under 1 s, both timed out, no process left', async () => {
    dir = await makeTmpDir();
    const pidA = path.join(dir, 'a.pid');
    const pidB = path.join(dir, 'b.pid');
    const started = Date.now();
    const handle = engine.submit(
      workflowSpec([
        commandStep(`sleep 5 & echo $! > ${pidA}; wait`, { id: 'a', killGrace: 200 }),
        commandStep(`sleep 5 & echo $! > ${pidB}; wait`, { id: 'b', killGrace: 200 }),
      ], { timeout: 200, concurrency: 2 }),
    );
    const summary = await handle.result;
    const elapsed = Date.now() - started;
    expect(elapsed, `expected the run to end within 1000 ms of its 200 ms timeout, took ${elapsed} ms`).toBeLessThan(1000);
    expect(byId(summary, 'a')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
    expect(byId(summary, 'b')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
    expect(summary.status).toBe('timed-out');
    for (const file of [pidA, pidB]) expect(isProcessAlive(await readPidFile(file))).toBe(false);
  });

  it('cancelling through the signal kills running steps and cancels the rest', async () => {
    dir = await makeTmpDir();
    const pidFile = path.join(dir, 'a.pid');
    const controller = new AbortController();
    const handle = engine.submit(
      workflowSpec([
        commandStep(`sleep 5 & echo $! > ${pidFile}; wait`, { id: 'a', killGrace: 200 }),
        fnStep('b', () => 1, { needs: ['a'] }),
      ]),
      { signal: controller.signal },
    );
    const pid = await readPidFile(pidFile);
    const started = Date.now();
    controller.abort('user asked');
    const summary = await handle.result;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(byId(summary, 'a')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(byId(summary, 'b')).toMatchObject({ status: 'cancelled', reason: 'cancelled', message: 'cancelled: user asked' });
    expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'user asked' });
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('cancelling ends running functions at once, those that ignore their signal too, and keeps finished results', async () => {
    const controller = new AbortController();
    let both!: () => void;
    const bothStarted = new Promise<void>((resolve) => (both = resolve));
    let calls = 0;
    const started = (): void => {
      calls += 1;
      if (calls === 2) both();
    };
    let sawAbort = false;
    const handle = engine.submit(
      workflowSpec(
        [
          fnStep('done', () => 'kept'),
          fnStep('deaf', () => {
            started();
            return new Promise(() => undefined);
          }, { needs: ['done'] }),
          fnStep('listens', (ctx) => {
            started();
            return new Promise((resolve) => ctx.signal.addEventListener('abort', () => {
              sawAbort = true;
              resolve('late');
            }));
          }, { needs: ['done'] }),
          fnStep('after', () => 1, { needs: ['deaf'] }),
        ],
        { concurrency: 4 },
      ),
      { signal: controller.signal },
    );
    await bothStarted;
    controller.abort('user asked');
    const summary = await handle.result;
    expect(byId(summary, 'done')).toMatchObject({ status: 'succeeded', value: 'kept' });
    expect(byId(summary, 'deaf')).toMatchObject({ status: 'cancelled', reason: 'cancelled', attempts: 1 });
    expect(byId(summary, 'listens')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(byId(summary, 'after')).toMatchObject({ status: 'cancelled', reason: 'cancelled', startedAt: null });
    expect(sawAbort).toBe(true);
    expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'user asked' });
  });

  it('a run timeout ends a function that never settles as timed out', async () => {
    const { summary } = await run(
      workflowSpec([fnStep('stuck', () => new Promise(() => undefined))], { timeout: 50 }),
    );
    expect(byId(summary, 'stuck')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
    expect(summary.status).toBe('timed-out');
  });

  it('sync and async functions, values, throws, logs and outputs give the same results', async () => {
    const { summary, events } = await run(
      workflowSpec([
        fnStep('sync', (ctx) => {
          ctx.log('hello');
          ctx.setOutput('k', 'v');
          return 2;
        }),
        fnStep('async', () => Promise.resolve(3), { transformResult: (v) => (v as number) * 10 }),
        fnStep('throws', () => {
          throw new TypeError('nope');
        }),
        fnStep('rejects', () => Promise.reject(new Error('later'))),
        fnStep('reads', (ctx) => ctx.env['ORCHESTRATOR_OUTPUT_SYNC_K'] ?? ctx.needs['sync']?.outputs['k'], { needs: ['sync'] }),
      ], { failurePolicy: 'continue' }),
    );
    expect(byId(summary, 'sync')).toMatchObject({ status: 'succeeded', value: 2, stdoutTail: 'hello\n', outputs: { k: 'v' }, attempts: 1 });
    expect(byId(summary, 'async')).toMatchObject({ status: 'succeeded', value: 30 });
    expect(byId(summary, 'throws')).toMatchObject({ status: 'failed', reason: 'function-threw', message: expect.stringContaining('TypeError: nope') as unknown });
    expect(byId(summary, 'rejects')).toMatchObject({ status: 'failed', reason: 'function-threw', message: expect.stringContaining('later') as unknown });
    expect(byId(summary, 'reads')).toMatchObject({ status: 'succeeded', value: 'v' });
    expect(summary.counts).toMatchObject({ succeeded: 3, failed: 2, total: 5 });
    // Every step has one started and one finished event, started first.
    for (const id of ['sync', 'async', 'throws', 'rejects', 'reads']) {
      const mine = events.filter((e) => 'stepId' in e && e.stepId === id).map((e) => e.type);
      expect(mine).toEqual(['step-started', 'step-finished']);
    }
  });

  it('a function step timeout aborts its signal and marks it timed out', async () => {
    let sawAbort = false;
    const { summary } = await run(
      workflowSpec([
        fnStep('wait', (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => {
          sawAbort = true;
          resolve('late');
        })), { timeout: 50 }),
      ]),
    );
    expect(byId(summary, 'wait')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
    expect(sawAbort).toBe(true);
  });
});

describe('workflow engine: retries', () => {
  it('a step that fails twice succeeds on attempt 3, with the backoff delays announced', async () => {
    let calls = 0;
    const { summary, events } = await run(
      workflowSpec([
        fnStep('flaky', () => {
          calls += 1;
          if (calls < 3) throw new Error(`attempt ${calls} failed`);
          return 'ok';
        }, { retry: retryPolicy({ maxAttempts: 5, initialDelay: 5, factor: 2 }) }),
      ]),
    );
    expect(byId(summary, 'flaky')).toMatchObject({ status: 'succeeded', attempts: 3, value: 'ok' });
    const delays = events.filter((e) => e.type === 'step-retrying').map((e) => (e as { delayMs: number }).delayMs);
    expect(delays).toEqual([5, 10]);
  });

  it('NonRetryableError stops at once', async () => {
    let calls = 0;
    const { summary } = await run(
      workflowSpec([
        fnStep('fatal', () => {
          calls += 1;
          throw new NonRetryableError('bad credentials');
        }, { retry: retryPolicy({ maxAttempts: 5, initialDelay: 1 }) }),
      ]),
    );
    expect(calls).toBe(1);
    expect(byId(summary, 'fatal')).toMatchObject({ status: 'failed', attempts: 1, reason: 'function-threw' });
  });

  it('a retryOn predicate decides per failure', async () => {
    let calls = 0;
    const { summary } = await run(
      workflowSpec([
        fnStep('picky', () => {
          calls += 1;
          throw new Error(calls === 1 ? 'ECONNRESET' : 'bad input');
        }, {
          retry: retryPolicy({ maxAttempts: 5, initialDelay: 1, retryOn: (f) => String((f.error as Error).message) === 'ECONNRESET' }),
        }),
      ]),
    );
    expect(byId(summary, 'picky')).toMatchObject({ status: 'failed', attempts: 2 });
  });
});

describe('workflow engine: outputs between steps', () => {
  it("outputs written by a Python step reach a shell step's condition and environment", async () => {
    const { summary } = await run(
      workflowSpec([
        scriptStep('write-outputs.py', { id: 'extract' }),
        commandStep('echo "rows=$ORCHESTRATOR_OUTPUT_EXTRACT_ROWS region=${{ steps.extract.outputs.region }}"; printf "%s" "$ORCHESTRATOR_OUTPUT_EXTRACT_NOTES"', {
          id: 'load',
          needs: ['extract'],
          if: 'steps.extract.outputs.rows > 40',
        }),
        commandStep('echo never', { id: 'skip-small', needs: ['extract'], if: 'steps.extract.outputs.rows < 10' }),
      ]),
    );
    expect(byId(summary, 'extract').outputs).toEqual({ rows: '42', region: 'eu-west', notes: 'line one\nline two' });
    const load = byId(summary, 'load');
    expect(load.status).toBe('succeeded');
    expect(load.stdoutTail).toContain('rows=42 region=eu-west');
    expect(load.stdoutTail).toContain('line one\nline two');
    expect(byId(summary, 'skip-small')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
  });

  it('an output file over the limit fails the step with output-limit, never truncates or hangs', async () => {
    const { summary } = await run(
      workflowSpec([
        commandStep('head -c 2000000 /dev/zero | tr "\\0" "a" | sed "s/^/big=/" > "$ORCHESTRATOR_OUTPUT"', { id: 'huge' }),
      ]),
    );
    expect(byId(summary, 'huge')).toMatchObject({ status: 'failed', reason: 'output-limit' });
  });

  it('a step that keeps writing to $ORCHESTRATOR_OUTPUT is stopped at the limit as output-limit, not left to run', async () => {
    const work = (dir = await makeTmpDir());
    const started = Date.now();
    const { summary } = await run(
      workflowSpec([
        commandStep('echo $$ > pid; yes "k=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" > "$ORCHESTRATOR_OUTPUT"', { id: 'runaway', cwd: work, timeout: 0 }),
        commandStep('echo never', { id: 'after', needs: ['runaway'] }),
      ]),
    );
    expect(byId(summary, 'runaway')).toMatchObject({ status: 'failed', reason: 'output-limit', outputs: {} });
    expect(byId(summary, 'after')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
    // Ended by the watch (a look every 250 ms), not by a timeout: it has none.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(isProcessAlive(await readPidFile(path.join(work, 'pid')))).toBe(false);
  });

  it('setOutput past the output limit fails a function step as output-limit, even when the function catches the error', async () => {
    const big = 'z'.repeat(700_000);
    const { summary } = await run(
      workflowSpec([
        fnStep('plain', (ctx) => {
          ctx.setOutput('a', big);
          ctx.setOutput('b', big);
          return 'unreachable';
        }),
        fnStep('caught', async (ctx) => {
          await Promise.resolve();
          try {
            ctx.setOutput('huge', 'y'.repeat(2_000_000));
          } catch {
            // carries on as if nothing happened
          }
          return 'done';
        }),
        // Replacing a value counts it once: 3 x 700 kB under one key stays under 1 MiB.
        fnStep('replaced', (ctx) => {
          for (let i = 0; i < 3; i++) ctx.setOutput('a', big);
          return 'ok';
        }),
        fnStep('timed', (ctx) => ctx.setOutput('huge', 'x'.repeat(2_000_000)), { timeout: 5_000 }),
        fnStep('dependent', () => 'never', { needs: ['caught'] }),
      ], { failurePolicy: 'continue' }),
    );
    for (const id of ['plain', 'caught', 'timed']) {
      const step = byId(summary, id);
      expect(step, id).toMatchObject({ status: 'failed', reason: 'output-limit', outputs: {}, attempts: 1 });
      expect(step.message, id).toMatch(/output exceeded its limit: setOutput\("(a|b|huge)"\) brought its outputs to \d+ bytes, the limit is 1048576/);
      expect(step.value, id).toBeUndefined();
    }
    expect(byId(summary, 'replaced')).toMatchObject({ status: 'succeeded', value: 'ok' });
    expect(byId(summary, 'replaced').outputs.a).toHaveLength(700_000);
    expect(byId(summary, 'dependent')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
  });

  it('a large value reaches dependents as a file', async () => {
    const { summary } = await run(
      workflowSpec([
        commandStep('printf "blob=%s\\n" "$(head -c 100000 /dev/zero | tr "\\0" "b")" > "$ORCHESTRATOR_OUTPUT"', { id: 'make' }),
        commandStep('wc -c < "$ORCHESTRATOR_OUTPUT_MAKE_BLOB_FILE"', { id: 'use', needs: ['make'] }),
      ]),
    );
    expect(byId(summary, 'make').outputs.blob).toHaveLength(100000);
    expect(byId(summary, 'use').stdoutTail.trim()).toBe('100000');
  });

  it('function steps set outputs for shell steps', async () => {
    const { summary } = await run(
      workflowSpec([
        fnStep('version', (ctx) => ctx.setOutput('tag', 'v1.2.3')),
        commandStep('echo "$ORCHESTRATOR_OUTPUT_VERSION_TAG"', { id: 'release', needs: ['version'] }),
      ]),
    );
    expect(byId(summary, 'release').stdoutTail.trim()).toBe('v1.2.3');
  });
});

describe('workflow engine: step kinds', () => {
  const moduleStep = (id: string, exportName: string, args: unknown[], overrides: Partial<ModuleStep> = {}): ModuleStep => ({
    ...fnStep(id, () => undefined),
    kind: 'module',
    module: path.join(MODULES, 'fns.mjs'),
    export: exportName,
    args,
    ...overrides,
  });
  const pythonStep = (id: string, target: string, args: unknown[]): PythonStep => ({
    ...fnStep(id, () => undefined),
    kind: 'python',
    target,
    args,
    kwargs: {},
    pythonPath: [PYTHON],
  });

  it('runs a module function in a child process and returns its value', async () => {
    const { summary } = await run(workflowSpec([moduleStep('add', 'add', [2, 3])]));
    expect(byId(summary, 'add')).toMatchObject({ status: 'succeeded', value: 5 });
  });

  it('a module function that throws fails with its error, and a slow one is killed by its timeout', async () => {
    const { summary } = await run(
      workflowSpec([moduleStep('boom', 'boom', []), moduleStep('slow', 'slow', [10_000], { timeout: 300, killGrace: 200 })]),
    );
    expect(byId(summary, 'boom')).toMatchObject({ status: 'failed', reason: 'function-threw' });
    expect(byId(summary, 'boom').message).toContain('RangeError: boom from module');
    expect(byId(summary, 'slow')).toMatchObject({ status: 'timed-out' });
  });

  it('runs a Python function with JSON in and out', async () => {
    const { summary } = await run(workflowSpec([pythonStep('mean', 'stats:mean', [[1, 2, 3, 6]]), pythonStep('bad', 'stats:fail', ['nope'])]));
    expect(byId(summary, 'mean')).toMatchObject({ status: 'succeeded', value: 3 });
    expect(byId(summary, 'bad')).toMatchObject({ status: 'failed', reason: 'function-threw' });
    expect(byId(summary, 'bad').message).toContain('ValueError: nope');
  });

  it('runs a sub-workflow as one step', async () => {
    const inner = workflowSpec([fnStep('x', () => 1), commandStep('exit 0', { id: 'y', needs: ['x'] })], { name: 'inner' });
    const outer: StepSpec = { ...fnStep('sub', () => undefined), kind: 'workflow', workflow: inner };
    const { summary } = await run(workflowSpec([outer, fnStep('after', () => 1, { needs: ['sub'] })]));
    expect(byId(summary, 'sub').status).toBe('succeeded');
    expect(byId(summary, 'after').status).toBe('succeeded');
  });
});

describe('workflow engine: concurrency', () => {
  it('a concurrency group limits its steps while others use the remaining slots', async () => {
    let inGroup = 0;
    let maxInGroup = 0;
    const db = async (): Promise<void> => {
      inGroup += 1;
      maxInGroup = Math.max(maxInGroup, inGroup);
      await new Promise((resolve) => setImmediate(resolve));
      inGroup -= 1;
    };
    const steps = [1, 2, 3, 4].map((i) => fnStep(`db${i}`, db, { concurrencyGroup: 'db' }));
    const { summary } = await run(workflowSpec([...steps, fnStep('other', () => 1)], { concurrency: 4, groupConcurrency: { db: 1 } }));
    expect(summary.status).toBe('succeeded');
    expect(maxInGroup).toBe(1);
  });

  it('writes logs for workflow steps', async () => {
    dir = await makeTmpDir();
    const { summary } = await run(workflowSpec([commandStep('echo hello-log', { id: 'say' })]), { runDir: dir });
    const log = await readFile(byId(summary, 'say').logPath as string, 'utf8');
    expect(log).toContain('hello-log');
  });
});

describe('workflow engine: resuming with earlier results', () => {
  it('does not run steps that succeeded before, and dependents read their old outputs', async () => {
    let ranA = 0;
    const steps = [
      fnStep('a', (ctx) => {
        ranA += 1;
        ctx.setOutput('tag', 'fresh');
      }),
      commandStep('echo "tag=$ORCHESTRATOR_OUTPUT_A_TAG"', { id: 'b', needs: ['a'] }),
    ];
    const first = await run(workflowSpec(steps));
    expect(ranA).toBe(1);
    const previous = { a: { ...byId(first.summary, 'a'), outputs: { tag: 'from-before' }, attempts: 2 } };
    const { summary, events } = await run(workflowSpec(steps), { previous });
    expect(ranA).toBe(1);
    expect(byId(summary, 'a')).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(byId(summary, 'b').stdoutTail.trim()).toBe('tag=from-before');
    expect(starts(events)).toEqual(['b']);
  });
});

describe('workflow engine: wide fan-outs', () => {
  it('starts thousands of ready steps in slices and runs every one, the first before the last is even started', async () => {
    const order: number[] = [];
    const steps = Array.from({ length: 1500 }, (_, i) =>
      fnStep(`s${i}`, () => {
        order.push(i);
      }),
    );
    let firstFinishedAt = -1;
    let startedBeforeFirstFinished = 0;
    const summary = await engine.submit(workflowSpec(steps, { concurrency: 5000 }), {
      onEvent: (e) => {
        if (e.type === 'step-finished' && firstFinishedAt < 0) firstFinishedAt = order.length;
        if (e.type === 'step-started' && firstFinishedAt < 0) startedBeforeFirstFinished += 1;
      },
    }).result;
    expect(firstFinishedAt).toBeGreaterThan(0);
    expect(summary.status).toBe('succeeded');
    expect(summary.counts.succeeded).toBe(1500);
    expect(new Set(order).size).toBe(1500);
    // Not all 1,500 were started before the first one finished: the scheduler yielded in between.
    expect(startedBeforeFirstFinished).toBeLessThan(1500);
  });
});
