/**
 * Cleanup steps (an `if` with a status function) when a run is stopped, as in GitHub Actions: after
 * a cancel (signal or `cancel()`) or the run timeout they still run once their needs are done, with
 * `cancelled()` true and `success()` false; a second cancel ends them. A fail-fast is not a cancel.
 * Steps are ordered by files they write (pids) and by the test's own calls, never by sleeping.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/core/events.js';
import type { RunSummary, StepResult } from '../../src/core/result.js';
import type { CommandStep, StepSpec } from '../../src/core/spec.js';
import { LocalEngine } from '../../src/engines/local/local-engine.js';
import { isProcessAlive, readPidFile, waitFor } from '../helpers/processes.js';
import { commandStep, functionStep, workflowSpec } from '../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

let engine: LocalEngine;
let dir: string;
beforeEach(async () => {
  engine = new LocalEngine();
  dir = await makeTmpDir('orch-cleanup-');
});
afterEach(async () => {
  await engine.close();
  await removeTmpDir(dir);
});

const file = (name: string): string => path.join(dir, name);
/** Paths travel through `sh -c`: quote them. */
const q = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

function sh(id: string, command: string, overrides: Partial<CommandStep> = {}): CommandStep {
  return commandStep(command, { cwd: dir, ...overrides, id });
}

/** Touches a file named after the step: whether it ran shows on disk. */
function toucher(id: string, overrides: Partial<CommandStep> = {}): CommandStep {
  return sh(id, `touch ${q(file(id))}`, overrides);
}

/** A step that starts `sleep 30` in the background, writes its pid to `pidFile`, and waits for it. */
function sleeper(id: string, pidFile: string, overrides: Partial<CommandStep> = {}): CommandStep {
  return sh(id, `sleep 30 & echo $! > ${q(pidFile)}; wait`, { killGrace: 200, ...overrides });
}

function byId(summary: RunSummary, id: string): StepResult {
  const step = summary.steps.find((s) => s.id === id);
  if (!step) throw new Error(`no step ${id}`);
  return step;
}

async function expectDead(pid: number): Promise<void> {
  await waitFor(`process ${pid} to exit`, () => (isProcessAlive(pid) ? undefined : true), 3000).catch(() => undefined);
  expect(isProcessAlive(pid), `process ${pid} still alive`).toBe(false);
}

function cancellings(events: RunEvent[]): number {
  return events.filter((e) => e.type === 'run-cancelling').length;
}

describe('local engine: cleanup steps when the run is cancelled', () => {
  it('after an abort of the signal, always() and cancelled() steps run once their needs are done; success() is false', async () => {
    const s1Pid = file('s1.pid');
    const controller = new AbortController();
    const events: RunEvent[] = [];
    const handle = engine.submit(
      workflowSpec(
        [
          sleeper('s1', s1Pid),
          // Queued behind s1 (one slot) before the cancel: their `if` is evaluated again on it.
          toucher('early-either', { if: 'success() || failure()' }),
          sh('early-always', 'echo ran=yes >> "$ORCHESTRATOR_OUTPUT"', { if: 'always()' }),
          sh('oncancel', 'echo "cancelled=${{ cancelled() }}" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['s1'], if: 'cancelled()' }),
          sh('always', 'echo "s1=${{ needs.s1.result }}" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['s1'], if: 'always()' }),
          toucher('onfailure', { needs: ['s1'], if: 'failure()' }),
          // Dependents of a cleanup step that ran follow the usual rules.
          toucher('after-plain', { needs: ['always'] }),
          toucher('after-either', { needs: ['always'], if: 'success() || failure()' }),
          sh('after-always', 'echo ran=yes >> "$ORCHESTRATOR_OUTPUT"', { needs: ['always'], if: 'always()' }),
        ],
        { concurrency: 1, failurePolicy: 'no-new' },
      ),
      { signal: controller.signal, onEvent: (e) => events.push(e) },
    );
    const pid = await readPidFile(s1Pid);
    controller.abort('user asked');
    const summary = await handle.result;
    expect(byId(summary, 's1')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    await expectDead(pid);
    expect(byId(summary, 'early-either')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
    expect(byId(summary, 'early-always')).toMatchObject({ status: 'succeeded', outputs: { ran: 'yes' } });
    expect(byId(summary, 'oncancel')).toMatchObject({ status: 'succeeded', outputs: { cancelled: 'true' } });
    expect(byId(summary, 'always')).toMatchObject({ status: 'succeeded', outputs: { s1: 'cancelled' } });
    expect(byId(summary, 'onfailure')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
    expect(byId(summary, 'after-plain')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(byId(summary, 'after-either')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
    expect(byId(summary, 'after-always')).toMatchObject({ status: 'succeeded', outputs: { ran: 'yes' } });
    for (const id of ['early-either', 'onfailure', 'after-plain', 'after-either']) expect(existsSync(file(id)), `${id} ran`).toBe(false);
    expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'user asked' });
    expect(summary.counts).toMatchObject({ total: 9, succeeded: 4, cancelled: 2, skipped: 3, failed: 0 });
    expect(cancellings(events)).toBe(1);
  });

  it('cancel() again ends the cleanup steps the first cancel let run (process and in-process), and cancels those still to come', async () => {
    const s1Pid = file('s1.pid');
    const cleanupPid = file('cleanup.pid');
    let fnStarted!: () => void;
    const fnRunning = new Promise<void>((resolve) => (fnStarted = resolve));
    const events: RunEvent[] = [];
    const handle = engine.submit(
      workflowSpec(
        [
          sleeper('s1', s1Pid),
          sleeper('cleanup-sh', cleanupPid, { needs: ['s1'], if: 'always()' }),
          // No step timeout: the fast path for functions, which the engine ends itself.
          functionStep('cleanup-fn', () => {
            fnStarted();
            return new Promise(() => undefined);
          }, { needs: ['s1'], if: 'cancelled()' }),
          toucher('late', { needs: ['cleanup-sh'], if: 'always()' }),
        ],
        { concurrency: 4 },
      ),
      { onEvent: (e) => events.push(e) },
    );
    const s1 = await readPidFile(s1Pid);
    handle.cancel('first');
    const cleanup = await readPidFile(cleanupPid);
    await fnRunning;
    await expectDead(s1);
    expect(isProcessAlive(cleanup), 'the first cancel must not kill a cleanup step that started after it').toBe(true);
    handle.cancel('second');
    const summary = await handle.result;
    await expectDead(cleanup);
    expect(byId(summary, 's1')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(byId(summary, 'cleanup-sh')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(byId(summary, 'cleanup-sh').startedAt).not.toBeNull();
    expect(byId(summary, 'cleanup-fn')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(byId(summary, 'late')).toMatchObject({ status: 'cancelled', reason: 'cancelled', startedAt: null });
    expect(existsSync(file('late'))).toBe(false);
    // The first cancel gives the run its status and reason; the second is announced too.
    expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'first' });
    expect(cancellings(events)).toBe(2);
  });

  it('a cancelled sub-workflow runs its own cleanup steps, and a second cancel of the parent ends them', async () => {
    const innerPid = file('inner.pid');
    const cleanupPid = file('inner-cleanup.pid');
    const inner = workflowSpec([sleeper('inner-s1', innerPid), sleeper('inner-cleanup', cleanupPid, { needs: ['inner-s1'], if: 'always()' })]);
    const sub = { ...functionStep('w', () => undefined), kind: 'workflow', workflow: inner } as unknown as StepSpec;
    const handle = engine.submit(workflowSpec([sub, toucher('after', { needs: ['w'], if: 'cancelled()' })]));
    const s1 = await readPidFile(innerPid);
    handle.cancel('first');
    const cleanup = await readPidFile(cleanupPid);
    await expectDead(s1);
    handle.cancel('second');
    const summary = await handle.result;
    await expectDead(cleanup);
    expect(byId(summary, 'w')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(byId(summary, 'after')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(summary.status).toBe('cancelled');
  });

  it('a cleanup step already running at the first cancel goes on while its `if` still holds; the second cancel ends it', async () => {
    const longPid = file('long.pid');
    const notifyPid = file('notify.pid');
    const eitherPid = file('either.pid');
    let fnStarted!: () => void;
    const fnRunning = new Promise<void>((resolve) => (fnStarted = resolve));
    const events: RunEvent[] = [];
    const handle = engine.submit(
      workflowSpec(
        [
          toucher('quick'),
          sleeper('long', longPid),
          // Started before the cancel, its needs done: the CLI's first Ctrl-C promises they go on.
          sleeper('notify', notifyPid, { needs: ['quick'], if: 'always()' }),
          // The fast path for functions, which the engine ends itself.
          functionStep('notify-fn', () => {
            fnStarted();
            return new Promise(() => undefined);
          }, { needs: ['quick'], if: 'always()' }),
          // No longer holds once the run is being cancelled (nothing failed): killed, as before.
          sleeper('either', eitherPid, { needs: ['quick'], if: 'success() || failure()' }),
        ],
        { concurrency: 5 },
      ),
      { onEvent: (e) => events.push(e) },
    );
    const long = await readPidFile(longPid);
    const notify = await readPidFile(notifyPid);
    const either = await readPidFile(eitherPid);
    await fnRunning;
    handle.cancel('first');
    await expectDead(long);
    await expectDead(either);
    expect(isProcessAlive(notify), 'the first cancel must not kill a running always() step').toBe(true);
    const finished = (): string[] => events.flatMap((e) => (e.type === 'step-finished' ? [e.stepId] : []));
    expect(finished()).not.toContain('notify-fn');
    handle.cancel('second');
    const summary = await handle.result;
    await expectDead(notify);
    expect(byId(summary, 'long')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(byId(summary, 'either')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(byId(summary, 'notify')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(byId(summary, 'notify-fn')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    // Each ended once, by the second cancel for the spared ones.
    expect(finished().filter((id) => id === 'notify' || id === 'notify-fn')).toHaveLength(2);
    expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'first' });
    expect(cancellings(events)).toBe(2);
  });

  it('a cleanup step running under a fail-fast goes on through a cancel that follows while its `if` holds', async () => {
    const cleanupPid = file('cleanup.pid');
    const guardedPid = file('guarded.pid');
    const handle = engine.submit(
      workflowSpec(
        [
          sh('bad', 'exit 3'),
          sleeper('cleanup', cleanupPid, { needs: ['bad'], if: 'failure()' }),
          // Started after the failure too, but its `if` no longer holds once the run is cancelled.
          sleeper('guarded', guardedPid, { needs: ['bad'], if: 'failure() && !cancelled()' }),
        ],
        { failurePolicy: 'kill', concurrency: 2 },
      ),
    );
    const cleanup = await readPidFile(cleanupPid);
    const guarded = await readPidFile(guardedPid);
    handle.cancel('first');
    await expectDead(guarded);
    expect(isProcessAlive(cleanup), 'the cancel must not kill a running failure() step').toBe(true);
    handle.cancel('second');
    const summary = await handle.result;
    await expectDead(cleanup);
    expect(byId(summary, 'guarded')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(byId(summary, 'cleanup')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(summary).toMatchObject({ status: 'failed', cancelReason: 'first' });
  });

  it("a sub-workflow step's own timeout ends the inner run for good: its cleanup steps do not outlive it", async () => {
    const innerPid = file('inner.pid');
    const inner = workflowSpec([sleeper('inner-s1', innerPid), toucher('inner-cleanup', { needs: ['inner-s1'], if: 'always()' })]);
    const sub = { ...functionStep('w', () => undefined), kind: 'workflow', workflow: inner, timeout: 1000 } as unknown as StepSpec;
    const handle = engine.submit(workflowSpec([sub]));
    const pid = await readPidFile(innerPid);
    // A bound, not an ordering: an unbounded inner cleanup step would keep the run going.
    const summary = await Promise.race([
      handle.result,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000).unref()),
    ]);
    expect(summary, 'the run outlived its sub-workflow step\'s timeout').toBeDefined();
    await expectDead(pid);
    expect(byId(summary as RunSummary, 'w')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
    expect(existsSync(file('inner-cleanup')), 'the inner cleanup step ran after the timeout').toBe(false);
  });

  it('engine.close() cancels a run and starts none of its cleanup steps', async () => {
    const s1Pid = file('s1.pid');
    const handle = engine.submit(workflowSpec([sleeper('s1', s1Pid), toucher('cleanup', { needs: ['s1'], if: 'always()' })]));
    const pid = await readPidFile(s1Pid);
    await engine.close();
    const summary = await handle.result;
    await expectDead(pid);
    expect(byId(summary, 'cleanup')).toMatchObject({ status: 'cancelled', reason: 'cancelled', startedAt: null });
    expect(existsSync(file('cleanup'))).toBe(false);
    expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'engine closed' });
  });
});

describe('local engine: cleanup steps when the run times out', () => {
  it('they run after the deadline with cancelled() true, each under its own step timeout; the run stays timed out', async () => {
    const s1Pid = file('s1.pid');
    const started = Date.now();
    const summary = await engine.submit(
      workflowSpec(
        [
          sleeper('s1', s1Pid),
          sh('oncancel', 'echo ran=yes >> "$ORCHESTRATOR_OUTPUT"', { needs: ['s1'], if: 'cancelled()' }),
          // A step timed out by the run's timeout is a failure, as any timed-out step is.
          sh('onfailure', 'echo "s1=${{ needs.s1.status }}" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['s1'], if: 'failure()' }),
          sh('bounded', 'sleep 30', { needs: ['s1'], if: 'always()', timeout: 300, killGrace: 200 }),
          toucher('plain', { needs: ['s1'] }),
        ],
        { timeout: 500, concurrency: 4 },
      ),
    ).result;
    const elapsed = Date.now() - started;
    expect(byId(summary, 's1')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
    expect(byId(summary, 's1').message).toContain("run's timeout");
    // Unwritten when the deadline came before s1 got that far (a loaded machine).
    const s1 = await readPidFile(s1Pid, 500).catch(() => undefined);
    if (s1 !== undefined) await expectDead(s1);
    expect(byId(summary, 'oncancel')).toMatchObject({ status: 'succeeded', outputs: { ran: 'yes' } });
    expect(byId(summary, 'onfailure')).toMatchObject({ status: 'succeeded', outputs: { s1: 'timed-out' } });
    const bounded = byId(summary, 'bounded');
    expect(bounded).toMatchObject({ status: 'timed-out', reason: 'timed-out', timedOut: true });
    expect(bounded.message, 'ended by its own timeout, not the run\'s').toMatch(/^timed out after/);
    expect(Date.parse(bounded.startedAt as string)).toBeGreaterThanOrEqual(Date.parse(byId(summary, 's1').finishedAt as string));
    // Not started when the run timed out: cancelled, like any step the stop kept from starting.
    expect(byId(summary, 'plain')).toMatchObject({ status: 'cancelled', reason: 'cancelled', startedAt: null });
    expect(byId(summary, 'plain').message).toContain("the run's timeout");
    expect(existsSync(file('plain'))).toBe(false);
    expect(summary.status).toBe('timed-out');
    expect(summary.cancelReason).toContain('timeout');
    expect(summary.counts).toMatchObject({ total: 5, succeeded: 2, 'timed-out': 2, cancelled: 1, skipped: 0 });
    expect(elapsed, `expected the run to end well before s1's 30 s sleep, took ${elapsed} ms`).toBeLessThan(10_000);
  });

  it('cancel() after the run timeout ends its cleanup steps; the run stays timed out', async () => {
    const s1Pid = file('s1.pid');
    const cleanupPid = file('cleanup.pid');
    const handle = engine.submit(
      workflowSpec([sleeper('s1', s1Pid), sleeper('cleanup', cleanupPid, { needs: ['s1'], if: 'always()' })], { timeout: 300 }),
    );
    const cleanup = await readPidFile(cleanupPid);
    handle.cancel('enough');
    const summary = await handle.result;
    await expectDead(cleanup);
    expect(byId(summary, 's1')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
    expect(byId(summary, 'cleanup')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(summary.status).toBe('timed-out');
    expect(summary.cancelReason).toContain('timeout');
  });
});

describe('local engine: cleanup steps after a fail-fast', () => {
  it('under kill, always() and failure() steps run; cancelled() is false: the run is failing, not being cancelled', async () => {
    const siblingPid = file('sibling.pid');
    const summary = await engine.submit(
      workflowSpec(
        [
          sleeper('sibling', siblingPid),
          sh('bad', `while [ ! -s ${q(siblingPid)} ]; do sleep 0.02; done; exit 3`),
          toucher('queued'),
          toucher('oncancel', { needs: ['sibling'], if: 'cancelled()' }),
          sh('always', 'echo "sibling=${{ needs.sibling.result }}" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['sibling'], if: 'always()' }),
          sh('onfailure', 'echo "bad=${{ needs.bad.status }}" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['bad'], if: 'failure()' }),
          toucher('sibling-failure', { needs: ['sibling'], if: 'failure()' }),
          toucher('plain', { needs: ['bad'] }),
        ],
        { failurePolicy: 'kill', concurrency: 2 },
      ),
    ).result;
    expect(byId(summary, 'bad')).toMatchObject({ status: 'failed', exitCode: 3 });
    const sibling = byId(summary, 'sibling');
    expect(sibling).toMatchObject({ status: 'cancelled', reason: 'fail-fast' });
    expect(sibling.message).not.toContain('--fail-fast');
    expect(isProcessAlive(await readPidFile(siblingPid))).toBe(false);
    const queued = byId(summary, 'queued');
    expect(queued).toMatchObject({ status: 'cancelled', reason: 'fail-fast', startedAt: null });
    expect(queued.message, 'names no flag the user may not have given').not.toContain('--fail-fast');
    expect(byId(summary, 'oncancel')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
    expect(byId(summary, 'always')).toMatchObject({ status: 'succeeded', outputs: { sibling: 'cancelled' } });
    expect(byId(summary, 'onfailure')).toMatchObject({ status: 'succeeded', outputs: { bad: 'failed' } });
    expect(byId(summary, 'sibling-failure')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
    expect(byId(summary, 'plain')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
    for (const id of ['queued', 'oncancel', 'sibling-failure', 'plain']) expect(existsSync(file(id)), `${id} ran`).toBe(false);
    expect(summary.status).toBe('failed');
    expect(summary.cancelReason).toBeUndefined();
    expect(summary.counts).toMatchObject({ total: 8, failed: 1, cancelled: 2, succeeded: 2, skipped: 3 });
  });

  it('under no-new (the default of a workflow file), a step that never started says why without naming a CLI flag', async () => {
    const summary = await engine.submit(workflowSpec([sh('bad', 'exit 1'), toucher('later')], { failurePolicy: 'no-new', concurrency: 1 })).result;
    const later = byId(summary, 'later');
    expect(later).toMatchObject({ status: 'cancelled', reason: 'fail-fast' });
    expect(later.message).toBe('not run: another step failed, and after a failure nothing new starts (fail-fast policy no-new or kill)');
  });
});

describe('local engine: steps that had not started when the run was cancelled', () => {
  it('a cancel before the run starts cancels every step, dependents included', async () => {
    const handle = engine.submit(workflowSpec([toucher('a'), toucher('b', { needs: ['a'] }), toucher('c', { needs: ['b'] })]));
    // Before its first turn: the run starts on the next one.
    handle.cancel('too early');
    const summary = await handle.result;
    for (const id of ['a', 'b', 'c']) {
      expect(byId(summary, id), id).toMatchObject({ status: 'cancelled', reason: 'cancelled', message: 'cancelled: too early', startedAt: null });
      expect(existsSync(file(id)), `${id} ran`).toBe(false);
    }
    expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'too early' });
    expect(summary.counts).toMatchObject({ total: 3, cancelled: 3 });
  });

  it('a cancel before the run starts still runs its cleanup steps, and the run finishes after them', async () => {
    const events: RunEvent[] = [];
    const handle = engine.submit(
      workflowSpec([toucher('a'), toucher('b', { needs: ['a'] }), toucher('always', { needs: ['b'], if: 'always()' })]),
      { onEvent: (e) => events.push(e) },
    );
    handle.cancel('too early');
    const summary = await handle.result;
    expect(byId(summary, 'a')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(byId(summary, 'b')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(byId(summary, 'always')).toMatchObject({ status: 'succeeded' });
    expect(existsSync(file('always'))).toBe(true);
    expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'too early' });
    // Nothing happens after the run said it finished.
    expect(events.at(-1)?.type).toBe('run-finished');
    expect(events.filter((e) => e.type === 'run-finished')).toHaveLength(1);
  });

  it('a cancel from a run-started listener is applied once the first steps are queued: run-finished comes last, each step finishes once', async () => {
    const events: RunEvent[] = [];
    const handle = engine.submit(
      workflowSpec([sleeper('work', file('work.pid')), toucher('always', { if: 'always()' }), toucher('after', { needs: ['work'], if: 'always()' })]),
      { onEvent: (e) => events.push(e) },
    );
    handle.on((e) => {
      if (e.type === 'run-started') handle.cancel('from a listener');
    });
    const summary = await handle.result;
    expect(byId(summary, 'work')).toMatchObject({ status: 'cancelled', reason: 'cancelled', startedAt: null });
    expect(byId(summary, 'always')).toMatchObject({ status: 'succeeded' });
    expect(byId(summary, 'after')).toMatchObject({ status: 'succeeded' });
    for (const id of ['always', 'after']) expect(existsSync(file(id)), `${id} ran`).toBe(true);
    expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'from a listener' });
    expect(events[0]?.type).toBe('run-started');
    expect(events.at(-1)?.type).toBe('run-finished');
    const finished = events.flatMap((e) => (e.type === 'step-finished' ? [e.stepId] : []));
    expect(finished.sort()).toEqual(['after', 'always', 'work']);
  });

  it('under continue, a step decided after the cancel ends cancelled even though one of its needs failed; one decided at the failure keeps dependency-failed', async () => {
    const yPid = file('y.pid');
    let badFinished!: () => void;
    const failed = new Promise<void>((resolve) => (badFinished = resolve));
    const handle = engine.submit(
      workflowSpec(
        [sh('bad', 'exit 3'), sleeper('y', yPid), toucher('w', { needs: ['bad'] }), toucher('z', { needs: ['bad', 'y'] })],
        { failurePolicy: 'continue', concurrency: 2 },
      ),
      {
        onEvent: (e) => {
          if (e.type === 'step-finished' && e.stepId === 'bad') badFinished();
        },
      },
    );
    const pid = await readPidFile(yPid);
    await failed;
    handle.cancel('user asked');
    const summary = await handle.result;
    await expectDead(pid);
    expect(byId(summary, 'bad')).toMatchObject({ status: 'failed', exitCode: 3 });
    // Decided when `bad` failed, before there was any cancel.
    expect(byId(summary, 'w')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
    expect(byId(summary, 'y')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    // Still waiting for `y` when the cancel came: the cancel is why it never ran.
    expect(byId(summary, 'z')).toMatchObject({ status: 'cancelled', reason: 'cancelled', message: 'cancelled: user asked', startedAt: null });
    for (const id of ['w', 'z']) expect(existsSync(file(id)), `${id} ran`).toBe(false);
    // A failure still makes the run failed; the cancel is recorded.
    expect(summary).toMatchObject({ status: 'failed', cancelReason: 'user asked' });
    expect(summary.counts).toMatchObject({ total: 4, failed: 1, cancelled: 2, skipped: 1 });
  });
});
