import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { execFile } from 'node:child_process';
import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RunEvent, RunEventOf } from '../../src/core/events.js';
import type { RunSummary, StepResult } from '../../src/core/result.js';
import type { ScriptStep, StepSpec, WorkflowSpec } from '../../src/core/spec.js';
import type { RunHandle, SubmitOptions } from '../../src/engines/engine.js';
import { LocalEngine } from '../../src/engines/local/local-engine.js';
import { ControlServer } from '../helpers/control-server.js';
import { childPids, isProcessAlive, livePidsWithEnv, readPidFile, waitForChild } from '../helpers/processes.js';
import { commandStep, fixture, functionStep, retryPolicy, scriptStep, workflowSpec } from '../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

let dir: string;
let engine: LocalEngine;
let server: ControlServer | undefined;

beforeEach(async () => {
  dir = await makeTmpDir();
  engine = new LocalEngine();
});
afterEach(async () => {
  await engine.close();
  await server?.close();
  server = undefined;
  await removeTmpDir(dir);
});

interface Collected {
  handle: RunHandle;
  events: RunEvent[];
  done: Promise<RunSummary>;
}

/** Submits `spec` and records every event through `onEvent`. */
function submit(spec: WorkflowSpec, options: SubmitOptions = {}): Collected {
  const events: RunEvent[] = [];
  const handle = engine.submit(spec, {
    projectRoot: dir,
    ...options,
    onEvent: (event) => {
      events.push(event);
      options.onEvent?.(event);
    },
  });
  return { handle, events, done: handle.result };
}

const stepResult = (summary: RunSummary, id: string): StepResult => {
  const step = summary.steps.find((s) => s.id === id);
  if (!step) throw new Error(`No step ${id} in the summary`);
  return step;
};

const ofType = <T extends RunEvent['type']>(events: RunEvent[], type: T): RunEventOf<T>[] =>
  events.filter((e): e is RunEventOf<T> => e.type === type);

/** Index of the first event matching `type` and `stepId`; fails the test when there is none. */
function indexOf(events: RunEvent[], type: RunEvent['type'], stepId: string): number {
  const at = events.findIndex((e) => e.type === type && 'stepId' in e && e.stepId === stepId);
  expect(at, `${type} for ${stepId}`).toBeGreaterThanOrEqual(0);
  return at;
}

/** Starts this test's control server (one per test). */
async function startControl(): Promise<ControlServer> {
  server = await ControlServer.start(dir);
  return server;
}

/** A wait-for-signal.js step called `id` that reports to `control` and exits when released. */
function controlled(control: ControlServer, id: string, extra: Partial<ScriptStep> = {}): StepSpec {
  return scriptStep('wait-for-signal.js', { id, args: [id], env: { CONTROL_SOCKET: control.socketPath }, ...extra });
}

describe('LocalEngine', () => {
  it('runs a script of every kind and keeps their output tails', async () => {
    const steps = [
      scriptStep('noop.py'),
      scriptStep('noop.js'),
      scriptStep('noop.ts'),
      scriptStep('noop.sh'),
      scriptStep('echo-args.sh', { scriptKind: 'executable', args: ['one', 'two words'] }),
    ];
    const summary = await submit(workflowSpec(steps)).done;
    expect(summary.steps.map((s) => [s.id, s.status, s.stdoutTail])).toEqual([
      ['noop.py', 'succeeded', 'ok\n'],
      ['noop.js', 'succeeded', 'ok\n'],
      ['noop.ts', 'succeeded', 'ok from ts\n'],
      ['noop.sh', 'succeeded', ''],
      ['echo-args.sh', 'succeeded', 'arg:one\narg:two words\n'],
    ]);
    expect(summary.status).toBe('succeeded');
    expect(summary.counts).toMatchObject({ total: 5, succeeded: 5 });
    expect(stepResult(summary, 'noop.py').command[0]).not.toContain('/shims/');
  });

  it('never runs more steps at once than the concurrency limit', async () => {
    const control = await startControl();
    const steps = ['a', 'b', 'c', 'd'].map((id) => controlled(control, id));
    let running = 0;
    let maxRunning = 0;
    const run = submit(workflowSpec(steps, { concurrency: 2 }), {
      onEvent: (event) => {
        if (event.type === 'step-started') maxRunning = Math.max(maxRunning, ++running);
        if (event.type === 'step-finished') running -= 1;
      },
    });
    const first = await control.nextStarted();
    const second = await control.nextStarted();
    expect(new Set([first, second]).size).toBe(2);
    expect(ofType(run.events, 'step-started')).toHaveLength(2);
    control.release(first);
    const third = await control.nextStarted();
    expect(ofType(run.events, 'step-started')).toHaveLength(3);
    control.release(second);
    const fourth = await control.nextStarted();
    control.release(third);
    control.release(fourth);
    const summary = await run.done;
    expect(new Set([first, second, third, fourth])).toEqual(new Set(['a', 'b', 'c', 'd']));
    expect(summary.counts.succeeded).toBe(4);
    expect(maxRunning).toBe(2);
  });

  it('with failure policy continue, runs every step after a failure', async () => {
    const steps = [scriptStep('fail.sh', { id: 'bad' }), scriptStep('noop.js', { id: 'x' }), scriptStep('noop.sh', { id: 'y' })];
    const summary = await submit(workflowSpec(steps, { concurrency: 1, failurePolicy: 'continue' })).done;
    expect(summary.steps.map((s) => s.status)).toEqual(['failed', 'succeeded', 'succeeded']);
    expect(stepResult(summary, 'bad')).toMatchObject({ reason: 'exit-non-zero', exitCode: 1, stderrTail: 'failing with 1\n' });
    expect(summary.status).toBe('failed');
  });

  it('with failure policy no-new, cancels the steps not yet started after a failure and still lists them', async () => {
    const steps = [scriptStep('fail.sh', { id: 'bad' }), scriptStep('noop.sh', { id: 'x' }), scriptStep('noop.js', { id: 'y' })];
    const run = submit(workflowSpec(steps, { concurrency: 1, failurePolicy: 'no-new' }));
    const summary = await run.done;
    expect(summary.steps.map((s) => [s.id, s.status, s.reason])).toEqual([
      ['bad', 'failed', 'exit-non-zero'],
      ['x', 'cancelled', 'fail-fast'],
      ['y', 'cancelled', 'fail-fast'],
    ]);
    expect(ofType(run.events, 'step-started').map((e) => e.stepId)).toEqual(['bad']);
    expect(stepResult(summary, 'x').command).toEqual([]);
    expect(summary.counts).toMatchObject({ total: 3, failed: 1, cancelled: 2 });
    expect(summary.status).toBe('failed');
  });

  it('with failure policy no-new, lets a step that is already running finish', async () => {
    const control = await startControl();
    const steps = [controlled(control, 'long'), controlled(control, 'bad'), scriptStep('noop.sh', { id: 'later' })];
    const run = submit(workflowSpec(steps, { concurrency: 2, failurePolicy: 'no-new' }));
    const names = new Set([await control.nextStarted(), await control.nextStarted()]);
    expect(names).toEqual(new Set(['long', 'bad']));
    control.release('bad', 1);
    await new Promise<void>((resolve) => {
      const off = run.handle.on((e) => {
        if (e.type === 'step-finished' && e.stepId === 'bad') {
          off();
          resolve();
        }
      });
    });
    control.release('long', 0);
    const summary = await run.done;
    expect(summary.steps.map((s) => [s.id, s.status])).toEqual([
      ['long', 'succeeded'],
      ['bad', 'failed'],
      ['later', 'cancelled'],
    ]);
    expect(stepResult(summary, 'later').reason).toBe('fail-fast');
  });

  it('with failure policy kill, kills a running step when another fails and marks it cancelled (fail-fast)', async () => {
    const pidFile = path.join(dir, 'forever.pid');
    const control = await startControl();
    const steps = [scriptStep('forever.sh', { id: 'forever', env: { PID_FILE: pidFile } }), controlled(control, 'trigger')];
    const run = submit(workflowSpec(steps, { concurrency: 2, failurePolicy: 'kill' }));
    const shellPid = await readPidFile(pidFile);
    const sleepPid = await waitForChild(shellPid);
    expect(await control.nextStarted()).toBe('trigger');
    control.release('trigger', 1);
    const summary = await run.done;
    expect(stepResult(summary, 'trigger')).toMatchObject({ status: 'failed', reason: 'exit-non-zero', exitCode: 1 });
    expect(stepResult(summary, 'forever')).toMatchObject({ status: 'cancelled', reason: 'fail-fast', killSignal: 'SIGTERM' });
    expect(isProcessAlive(shellPid)).toBe(false);
    expect(isProcessAlive(sleepPid)).toBe(false);
    expect(summary.status).toBe('failed');
  });

  it('gives function steps on the fast path plain result objects, the same as an object literal', async () => {
    const { done } = submit(workflowSpec([functionStep('a', () => 1), functionStep('b', () => Promise.resolve('two'), { needs: ['a'] })]));
    const summary = await done;
    for (const result of summary.steps) {
      expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
      expect(JSON.parse(JSON.stringify(result))).toStrictEqual({ ...result });
    }
    const b = stepResult(summary, 'b');
    expect(b).toStrictEqual({
      id: 'b', name: 'b', kind: 'function', group: b.group, status: 'succeeded',
      command: [], exitCode: null, signal: null, killSignal: null, timedOut: false, forcefullyKilled: false,
      attempts: 1, startedAt: b.startedAt, finishedAt: b.finishedAt, durationMs: b.durationMs,
      stdoutTail: '', stderrTail: '', stdoutBytes: 0, stderrBytes: 0, logPath: null,
      outputs: {}, tags: [], needs: ['a'], value: 'two',
    });
    expect(Object.keys(stepResult(summary, 'a'))).not.toContain('needs');
  });

  it('runs a chain a → b → c in dependency order', async () => {
    const steps = [
      scriptStep('noop.sh', { id: 'c', needs: ['b'] }),
      scriptStep('noop.js', { id: 'b', needs: ['a'] }),
      scriptStep('noop.sh', { id: 'a' }),
    ];
    const run = submit(workflowSpec(steps, { concurrency: 3 }));
    const summary = await run.done;
    expect(summary.counts.succeeded).toBe(3);
    const e = run.events;
    expect(indexOf(e, 'step-finished', 'a')).toBeLessThan(indexOf(e, 'step-started', 'b'));
    expect(indexOf(e, 'step-finished', 'b')).toBeLessThan(indexOf(e, 'step-started', 'c'));
    expect(ofType(e, 'step-started').map((s) => s.stepId)).toEqual(['a', 'b', 'c']);
  });

  it('skips the dependents of a failed step, transitively, and runs the rest', async () => {
    const steps = [
      scriptStep('fail.sh', { id: 'a' }),
      scriptStep('noop.sh', { id: 'b', needs: ['a'] }),
      scriptStep('noop.sh', { id: 'c', needs: ['b'] }),
      scriptStep('noop.js', { id: 'd' }),
    ];
    const run = submit(workflowSpec(steps));
    const summary = await run.done;
    expect(summary.steps.map((s) => [s.id, s.status, s.reason])).toEqual([
      ['a', 'failed', 'exit-non-zero'],
      ['b', 'skipped', 'dependency-failed'],
      ['c', 'skipped', 'dependency-failed'],
      ['d', 'succeeded', undefined],
    ]);
    expect(stepResult(summary, 'b').message).toContain('a failed');
    expect(ofType(run.events, 'step-started').map((s) => s.stepId).sort()).toEqual(['a', 'd']);
  });

  it('skips a step that config says to skip, with the reason in its message', async () => {
    const steps = [scriptStep('noop.sh', { id: 'skipped', skip: { reason: 'not on CI' } }), scriptStep('noop.js', { id: 'runs' })];
    const run = submit(workflowSpec(steps));
    const summary = await run.done;
    expect(stepResult(summary, 'skipped')).toMatchObject({ status: 'skipped', reason: 'skipped-by-config', command: [] });
    expect(stepResult(summary, 'skipped').message).toContain('not on CI');
    expect(stepResult(summary, 'runs').status).toBe('succeeded');
    expect(ofType(run.events, 'step-started').map((s) => s.stepId)).toEqual(['runs']);
    expect(summary.status).toBe('succeeded');
  });

  it('retries a failing step until it succeeds, with the backoff delays in step-retrying events', async () => {
    const attemptFile = path.join(dir, 'attempts');
    const step = scriptStep('fail-times.sh', {
      id: 'flaky',
      args: ['2'],
      env: { ATTEMPT_FILE: attemptFile },
      retry: retryPolicy({ maxAttempts: 5, initialDelay: 10, factor: 2 }),
    });
    const run = submit(workflowSpec([step]));
    const summary = await run.done;
    expect(stepResult(summary, 'flaky')).toMatchObject({ status: 'succeeded', attempts: 3, stdoutTail: 'attempt 3\n' });
    expect(await readFile(attemptFile, 'utf8')).toBe('3\n');
    const retrying = ofType(run.events, 'step-retrying');
    expect(retrying.map((e) => [e.attempt, e.delayMs, e.reason])).toEqual([
      [1, 10, 'exit-non-zero'],
      [2, 20, 'exit-non-zero'],
    ]);
    expect(ofType(run.events, 'step-started').map((e) => e.attempt)).toEqual([1, 2, 3]);
  });

  it('gives up after maxAttempts and says how many attempts were made', async () => {
    const step = scriptStep('fail-times.sh', {
      id: 'flaky',
      args: ['5'],
      env: { ATTEMPT_FILE: path.join(dir, 'attempts') },
      retry: retryPolicy({ maxAttempts: 2, initialDelay: 1 }),
    });
    const summary = await submit(workflowSpec([step])).done;
    expect(stepResult(summary, 'flaky')).toMatchObject({ status: 'failed', attempts: 2, reason: 'exit-non-zero' });
    expect(stepResult(summary, 'flaky').message).toContain('after 2 attempts');
  });

  it('retries only the exit codes in retryOnExitCodes', async () => {
    const policy = retryPolicy({ maxAttempts: 3, initialDelay: 1, retryOnExitCodes: [75] });
    const steps = [
      scriptStep('fail-times.sh', { id: 'exit3', args: ['5', '3'], env: { ATTEMPT_FILE: path.join(dir, 'a3') }, retry: policy }),
      scriptStep('fail-times.sh', { id: 'exit75', args: ['1', '75'], env: { ATTEMPT_FILE: path.join(dir, 'a75') }, retry: policy }),
    ];
    const run = submit(workflowSpec(steps));
    const summary = await run.done;
    expect(stepResult(summary, 'exit3')).toMatchObject({ status: 'failed', exitCode: 3, attempts: 1 });
    expect(stepResult(summary, 'exit75')).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(ofType(run.events, 'step-retrying').map((e) => e.stepId)).toEqual(['exit75']);
  });

  it('does not retry a script that is missing', async () => {
    const step = scriptStep(path.join(dir, 'gone.sh'), { id: 'gone', retry: retryPolicy({ maxAttempts: 3, initialDelay: 1 }) });
    const run = submit(workflowSpec([step]));
    const summary = await run.done;
    expect(stepResult(summary, 'gone')).toMatchObject({ status: 'failed', reason: 'script-missing', attempts: 1 });
    expect(ofType(run.events, 'step-retrying')).toEqual([]);
  });

  it('timeouts longer than 2^31-1 ms (about 24.8 days) do not end steps or the run at once', async () => {
    const long = 3_000_000_000; // about 35 days
    const inner = workflowSpec([commandStep('sleep 0.2', { id: 'inner' })]);
    const steps: StepSpec[] = [
      commandStep('sleep 0.2', { id: 'cmd', timeout: long }),
      functionStep('fn', () => new Promise((resolve) => setTimeout(resolve, 200)), { timeout: long }),
      { ...functionStep('sub', () => undefined), kind: 'workflow', workflow: inner, timeout: long },
    ];
    const run = submit(workflowSpec(steps, { concurrency: 3, timeout: long }));
    const summary = await run.done;
    expect(summary.steps.map((s) => [s.id, s.status])).toEqual([
      ['cmd', 'succeeded'],
      ['fn', 'succeeded'],
      ['sub', 'succeeded'],
    ]);
    expect(summary.status).toBe('succeeded');
  });

  it('a run timeout of 200 ms ends two 5 s steps in under 2 s, both timed-out, with no process left', async () => {
    const steps = [scriptStep('slow.sh', { id: 'one', args: ['5'] }), scriptStep('slow.sh', { id: 'two', args: ['5'] })];
    const started = Date.now();
    const run = submit(workflowSpec(steps, { concurrency: 2, timeout: 200 }), { runId: `timeout-${Date.now()}` });
    const summary = await run.done;
    const elapsed = Date.now() - started;
    expect(elapsed, 'a 200 ms run timeout should end the run in 150–2000 ms').toBeLessThan(2000);
    expect(elapsed, 'a 200 ms run timeout should end the run in 150–2000 ms').toBeGreaterThanOrEqual(150);
    expect(summary.steps.map((s) => [s.id, s.status, s.reason])).toEqual([
      ['one', 'timed-out', 'timed-out'],
      ['two', 'timed-out', 'timed-out'],
    ]);
    expect(summary.status).toBe('timed-out');
    expect(livePidsWithEnv('ORCHESTRATOR_RUN_ID', summary.runId)).toEqual([]);
  });

  it('handle.cancel() kills the running steps and marks them cancelled', async () => {
    const pidFiles = [path.join(dir, 'one.pid'), path.join(dir, 'two.pid')];
    const steps = pidFiles.map((file, i) => scriptStep('forever.sh', { id: `s${i}`, env: { PID_FILE: file } }));
    const run = submit(workflowSpec([...steps, scriptStep('noop.sh', { id: 'queued' })], { concurrency: 2 }));
    const pids = await Promise.all(pidFiles.map((file) => readPidFile(file)));
    const sleeps = await Promise.all(pids.map((pid) => waitForChild(pid)));
    run.handle.cancel('stopped by the test');
    const summary = await run.done;
    expect(summary.steps.map((s) => [s.id, s.status, s.reason])).toEqual([
      ['s0', 'cancelled', 'cancelled'],
      ['s1', 'cancelled', 'cancelled'],
      ['queued', 'cancelled', 'cancelled'],
    ]);
    expect(summary.status).toBe('cancelled');
    expect(summary.cancelReason).toBe('stopped by the test');
    for (const pid of [...pids, ...sleeps]) expect(isProcessAlive(pid), `pid ${pid}`).toBe(false);
    expect(ofType(run.events, 'run-cancelling').map((e) => e.reason)).toEqual(['stopped by the test']);
  });

  it('aborting the submit signal kills the running steps and marks them cancelled', async () => {
    const pidFile = path.join(dir, 'forever.pid');
    const controller = new AbortController();
    const run = submit(workflowSpec([scriptStep('forever.sh', { id: 'forever', env: { PID_FILE: pidFile } })]), {
      signal: controller.signal,
    });
    const shellPid = await readPidFile(pidFile);
    const sleepPid = await waitForChild(shellPid);
    controller.abort('user pressed ctrl-c');
    const summary = await run.done;
    expect(stepResult(summary, 'forever')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(summary.status).toBe('cancelled');
    expect(summary.cancelReason).toBe('user pressed ctrl-c');
    expect(isProcessAlive(shellPid)).toBe(false);
    expect(isProcessAlive(sleepPid)).toBe(false);
    expect(childPids(shellPid)).toEqual([]);
  });

  it('a signal already aborted at submit runs nothing', async () => {
    const run = submit(workflowSpec([scriptStep('noop.sh', { id: 'x' })]), { signal: AbortSignal.abort('too late') });
    const summary = await run.done;
    expect(stepResult(summary, 'x')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(ofType(run.events, 'step-started')).toEqual([]);
    expect(run.events[0]?.type).toBe('run-started');
    expect(run.events.at(-1)?.type).toBe('run-finished');
  });

  it('emits run-started first, run-finished last and exactly one step-finished per step', async () => {
    const steps = [
      scriptStep('noop.sh', { id: 'ok' }),
      scriptStep('fail.sh', { id: 'bad' }),
      scriptStep('noop.sh', { id: 'after-bad', needs: ['bad'] }),
      scriptStep('noop.js', { id: 'configured-off', skip: { reason: 'off' } }),
    ];
    const run = submit(workflowSpec(steps));
    const summary = await run.done;
    const types = run.events.map((e) => e.type);
    expect(types[0]).toBe('run-started');
    expect(types.at(-1)).toBe('run-finished');
    expect(types.filter((t) => t === 'run-started')).toHaveLength(1);
    expect(types.filter((t) => t === 'run-finished')).toHaveLength(1);
    const finished = ofType(run.events, 'step-finished').map((e) => e.stepId);
    expect(finished.sort()).toEqual(['after-bad', 'bad', 'configured-off', 'ok']);
    const last = run.events.at(-1);
    expect(last?.type === 'run-finished' ? last.summary : undefined).toEqual(summary);
    expect(new Set(run.events.map((e) => e.runId))).toEqual(new Set([run.handle.id]));
  });

  it('cancel() called right after submit still emits run-started first and run-finished last', async () => {
    const run = submit(workflowSpec([scriptStep('noop.sh', { id: 'x' })]));
    run.handle.cancel('changed my mind');
    const summary = await run.done;
    // Let anything scheduled for the run's start happen before looking at the events.
    await new Promise((resolve) => setImmediate(resolve));
    expect(stepResult(summary, 'x').status).toBe('cancelled');
    const types = run.events.map((e) => e.type);
    expect(types[0], `events: ${types.join(', ')}`).toBe('run-started');
    expect(types.at(-1), `events: ${types.join(', ')}`).toBe('run-finished');
  });

  it('the events iterator yields every event and ends after run-finished', async () => {
    const run = submit(workflowSpec([scriptStep('noop.sh', { id: 'a' }), scriptStep('fail.sh', { id: 'b' })]));
    const iterated: RunEvent[] = [];
    for await (const event of run.handle.events) iterated.push(event);
    await run.done;
    expect(iterated.map((e) => e.type)).toEqual(run.events.map((e) => e.type));
    expect(iterated.at(-1)?.type).toBe('run-finished');
  });

  it('writes each step log under runDir/logs/<id>.log with one section per attempt', async () => {
    const runDir = path.join(dir, 'run');
    const step = scriptStep('fail-times.sh', {
      id: 'flaky',
      args: ['1'],
      env: { ATTEMPT_FILE: path.join(dir, 'attempts') },
      retry: retryPolicy({ maxAttempts: 2, initialDelay: 1 }),
    });
    const summary = await submit(workflowSpec([step, scriptStep('noop.js', { id: 'plain' })]), { runDir }).done;
    const logPath = path.join(runDir, 'logs', 'flaky.log');
    expect(stepResult(summary, 'flaky').logPath).toBe(logPath);
    const log = await readFile(logPath, 'utf8');
    const first = log.indexOf('flaky · attempt 1');
    const second = log.indexOf('flaky · attempt 2');
    expect(first).toBeGreaterThanOrEqual(0);
    expect(second).toBeGreaterThan(first);
    expect(log.slice(first, second)).toContain('Status:     failed (exited with code 1)');
    expect(log.slice(first, second)).toContain('attempt 1\n');
    expect(log.slice(first, second)).toContain('failing attempt 1\n');
    expect(log.slice(second)).toContain('Status:     succeeded');
    expect(log.slice(second)).toContain('attempt 2\n');
    expect(await readFile(path.join(runDir, 'logs', 'plain.log'), 'utf8')).toContain('ok\n');
    // Spill files are never left behind.
    expect((await readdir(path.join(runDir, 'logs'))).sort()).toEqual(['flaky.log', 'plain.log']);
  });

  it('keeps every log inside runDir/logs: a path id gets subfolders, an id with ../ a safe file name', async () => {
    const runDir = path.join(dir, 'run');
    const steps = [commandStep('echo nested', { id: 'etl/load', cwd: dir }), commandStep('echo escape', { id: '../../escape', cwd: dir })];
    const summary = await submit(workflowSpec(steps), { runDir }).done;
    expect(stepResult(summary, 'etl/load').logPath).toBe(path.join(runDir, 'logs', 'etl', 'load.log'));
    const escape = stepResult(summary, '../../escape').logPath as string;
    expect(path.dirname(escape)).toBe(path.join(runDir, 'logs'));
    expect(await readFile(escape, 'utf8')).toContain('escape\n');
    expect(await readdir(dir)).not.toContain('escape.log');
  });

  it('writes the complete log of a step whose output spills to disk, in a fresh run folder', async () => {
    const runDir = path.join(dir, 'run');
    await mkdir(runDir);
    const bytes = 1024 * 1024;
    const step = scriptStep('big-output.js', { id: 'big', args: [String(bytes)], timeout: 3000 });
    const summary = await submit(workflowSpec([step]), { runDir }).done;
    const big = stepResult(summary, 'big');
    expect(big, big.message).toMatchObject({ status: 'succeeded', stdoutBytes: bytes + 14 });
    const log = await readFile(path.join(runDir, 'logs', 'big.log'), 'utf8');
    expect(log).toContain(`STDOUT (${bytes + 14} bytes)`);
    expect(log).toContain('END-OF-STDOUT\n');
  });

  it('fails a missing script with script-missing and runs the others', async () => {
    const steps = [scriptStep(path.join(dir, 'missing.sh'), { id: 'missing' }), scriptStep('noop.js', { id: 'present' })];
    const run = submit(workflowSpec(steps));
    const summary = await run.done;
    expect(stepResult(summary, 'missing')).toMatchObject({ status: 'failed', reason: 'script-missing', logPath: null });
    expect(stepResult(summary, 'missing').message).toContain('missing.sh');
    expect(stepResult(summary, 'present').status).toBe('succeeded');
    expect(ofType(run.events, 'step-started').map((e) => e.stepId)).toEqual(['present']);
  });

  it('passes the run id, the step id and the step env to the script, in the step cwd', async () => {
    const cwd = path.join(dir, 'work dir');
    await mkdir(cwd);
    const step = scriptStep('echo-env.sh', {
      id: 'env-step',
      args: ['ORCHESTRATOR_RUN_ID', 'ORCHESTRATOR_STEP_ID', 'ORCHESTRATOR_ATTEMPT', 'GREETING', 'FROM_BASE'],
      env: { GREETING: 'hello world' },
      cwd,
    });
    const summary = await submit(workflowSpec([step]), {
      runId: 'run-env-1',
      env: { ...process.env, FROM_BASE: 'base', GREETING: 'overridden' },
    }).done;
    expect(stepResult(summary, 'env-step').stdoutTail).toBe(
      [
        'ORCHESTRATOR_RUN_ID=run-env-1',
        'ORCHESTRATOR_STEP_ID=env-step',
        'ORCHESTRATOR_ATTEMPT=1',
        'GREETING=hello world',
        'FROM_BASE=base',
        `cwd=${cwd}`,
        '',
      ].join('\n'),
    );
    expect(summary.runId).toBe('run-env-1');
  });
  it('a step timeout kills the step and marks it timed-out with the SIGTERM that ended it', async () => {
    const pidFile = path.join(dir, 'pid');
    const step = scriptStep('forever.sh', { id: 'slow', timeout: 200, env: { PID_FILE: pidFile } });
    const summary = await submit(workflowSpec([step])).done;
    const result = stepResult(summary, 'slow');
    expect(result).toMatchObject({
      status: 'timed-out',
      reason: 'timed-out',
      timedOut: true,
      killSignal: 'SIGTERM',
      forcefullyKilled: false,
      message: 'timed out after 200ms',
      stdoutTail: 'started\n',
    });
    expect(isProcessAlive(await readPidFile(pidFile))).toBe(false);
    expect(summary.status).toBe('timed-out');
  });

  it('runs command steps through /bin/sh and honours allowedExitCodes', async () => {
    const steps = [
      commandStep('echo "$0"; exit 2', { id: 'cmd-fails' }),
      scriptStep('fail.sh', { id: 'allowed', args: ['3'], allowedExitCodes: [0, 3] }),
    ];
    const summary = await submit(workflowSpec(steps)).done;
    expect(stepResult(summary, 'cmd-fails')).toMatchObject({
      status: 'failed',
      reason: 'exit-non-zero',
      exitCode: 2,
      command: ['/bin/sh', '-c', 'echo "$0"; exit 2'],
      stdoutTail: '/bin/sh\n',
    });
    expect(stepResult(summary, 'allowed')).toMatchObject({ status: 'succeeded', exitCode: 3 });
  });

  it('emits step-output events holding every byte when emitOutput is set', async () => {
    const step = scriptStep('big-output.js', { id: 'out', args: [String(200 * 1024)] });
    const run = submit(workflowSpec([step]), { emitOutput: true });
    const summary = await run.done;
    const output = ofType(run.events, 'step-output');
    const bytes = (stream: 'stdout' | 'stderr'): number =>
      output.filter((e) => e.stream === stream).reduce((sum, e) => sum + e.chunk.length, 0);
    expect(bytes('stdout')).toBe(stepResult(summary, 'out').stdoutBytes);
    expect(bytes('stderr')).toBe(stepResult(summary, 'out').stderrBytes);
    expect(bytes('stdout')).toBe(200 * 1024 + 14);
    const finishedAt = indexOf(run.events, 'step-finished', 'out');
    expect(run.events.findIndex((e) => e.type === 'step-output')).toBeLessThan(finishedAt);
  });

  it('does not emit step-output events by default', async () => {
    const run = submit(workflowSpec([scriptStep('noop.js')]));
    await run.done;
    expect(ofType(run.events, 'step-output')).toEqual([]);
  });

  it('fails a step whose process tree grows past its memory limit', async () => {
    const step = scriptStep('memory-hog.py', { id: 'hog', memoryLimitMb: 100, timeout: 20_000 });
    const summary = await submit(workflowSpec([step])).done;
    const result = stepResult(summary, 'hog');
    expect(result).toMatchObject({ status: 'failed', reason: 'memory-limit' });
    expect(result.peakMemoryMb).toBeGreaterThan(100);
    expect(result.message).toContain('100 MiB');
  });

  it('a run cancelled before it starts does not keep the process alive until its run timeout', async () => {
    // A separate Node process, because what is under test is whether the event loop empties.
    const script = path.join(dir, 'cancelled-early.mts');
    const engineUrl = new URL('../../src/engines/local/local-engine.ts', import.meta.url);
    await writeFile(
      script,
      [
        `import { LocalEngine } from ${JSON.stringify(engineUrl.href)};`,
        `const spec = { name: 'x', steps: [], concurrency: 1, failurePolicy: 'continue', timeout: 60000 };`,
        `const summary = await new LocalEngine().submit(spec, { signal: AbortSignal.abort() }).result;`,
        `console.log(summary.status);`,
      ].join('\n'),
    );
    const started = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', import.meta.resolve('tsx'), script], {
      cwd: dir,
      timeout: 90_000,
    });
    const elapsed = Date.now() - started;
    expect(stdout).toBe('cancelled\n');
    // (The run timeout is far beyond any start-up time, even on a loaded machine.)
    expect(elapsed, 'the process should exit at once, not wait for the 60 s run timeout').toBeLessThan(30_000);
  });
});

describe('LocalEngine, two runs at once', () => {
  const leftBy = (stepId: string): string => `killed 1 process that step ${stepId} left running outside its process group (setsid)`;
  /** Lets the warnings emitted so far arrive (`process.emitWarning` emits on the next tick). */
  const warningsArrived = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('each run kills and reports, at its own end, only what its own steps left running (setsid)', async () => {
    const control = await startControl();
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.message);
    process.on('warning', onWarning);
    const escapees: number[] = [];
    try {
      // A step whose escapee is left running once it exits, then one held until the test says so.
      const held = (name: string): Collected =>
        submit(
          workflowSpec([
            commandStep(fixture('setsid-quiet-exit.sh'), { id: `leaver-${name}`, killGrace: 300, env: { PID_FILE: path.join(dir, `${name}.pid`) } }),
            controlled(control, `hold-${name}`, { needs: [`leaver-${name}`] }),
          ]),
          { runId: `run-${name}` },
        );
      const a = held('a');
      const b = held('b');
      // A hold step starts only once its run's leaver has finished: both escapees are leftovers now.
      await control.nextStarted();
      await control.nextStarted();
      for (const name of ['a', 'b']) escapees.push(await readPidFile(path.join(dir, `${name}.pid`)));
      const [escapeeA, escapeeB] = escapees as [number, number];

      control.release('hold-b');
      expect((await b.done).status).toBe('succeeded');
      await warningsArrived();
      expect(warnings, "B's end reports B's leftover, not A's").toEqual([leftBy('leaver-b')]);
      expect(isProcessAlive(escapeeB), "B's leftover is killed by the time B's result resolves").toBe(false);
      expect(isProcessAlive(escapeeA), "B's end leaves A's leftover to A").toBe(true);

      control.release('hold-a');
      expect((await a.done).status).toBe('succeeded');
      await warningsArrived();
      expect(warnings, "A's end reports A's leftover").toEqual([leftBy('leaver-b'), leftBy('leaver-a')]);
      expect(isProcessAlive(escapeeA), "A's leftover is killed by the time A's result resolves").toBe(false);
    } finally {
      process.off('warning', onWarning);
      for (const pid of escapees) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
