import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AttemptContext } from '../../src/execution/attempt-context.js';
import { InterpreterResolver } from '../../src/execution/interpreter.js';
import { ProcessExecutor } from '../../src/execution/process-executor.js';
import type { ExecutionContext } from '../../src/execution/step-executor.js';
import { AbortHandle } from '../../src/util/abort-handle.js';
import { isProcessAlive, readPidFile, waitFor } from '../helpers/processes.js';
import { commandStep, fixture, scriptStep } from '../helpers/step-factory.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-executor-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function context(logPath: string, attempt: number, runId = 'r'): ExecutionContext {
  return {
    runId,
    attempt,
    signal: new AbortController().signal,
    onAbort: () => () => undefined,
    abortCause: undefined,
    baseEnv: process.env,
    logPath,
    resolver: new InterpreterResolver({ projectRoot: dir }),
    scratchDir: path.join(dir, 'scratch'),
    needs: {},
  };
}

describe('ProcessExecutor logs', () => {
  // Small logs are appended synchronously; after three slow appends (here: any, with a 0 ms limit)
  // the rest go through the thread pool. Both ways, every attempt lands whole and in order.
  it.each([
    ['synchronous appends', 60_000],
    ['thread-pool appends after the third', 0],
  ])('%s: one section per attempt, in order, complete once flush() resolves', async (_name, slowLogWriteMs) => {
    const executor = new ProcessExecutor({ slowLogWriteMs });
    const logPath = path.join(dir, 'logs', 'x.log');
    const step = commandStep('echo "out $ORCHESTRATOR_ATTEMPT"; echo "err $ORCHESTRATOR_ATTEMPT" >&2', { id: 'x', cwd: dir });
    for (let attempt = 1; attempt <= 6; attempt++) {
      const result = await executor.execute(step, context(logPath, attempt));
      expect(result.status).toBe('succeeded');
    }
    expect(await executor.flush()).toEqual([]);
    const log = await readFile(logPath, 'utf8');
    const positions = [1, 2, 3, 4, 5, 6].map((n) => log.indexOf(`x · attempt ${n}\n`));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    for (const n of [1, 2, 3, 4, 5, 6]) {
      const section = log.slice(positions[n - 1], positions[n] ?? undefined);
      expect(section).toContain(`STDOUT (6 bytes)\n${'='.repeat(60)}\nout ${n}\n`);
      expect(section).toContain(`err ${n}\n`);
    }
  });

  it('reports a log that cannot be written, and the step still succeeds', async () => {
    const executor = new ProcessExecutor();
    const logPath = path.join(dir, 'logs', 'x.log');
    await mkdir(logPath, { recursive: true }); // a folder where the log file should be
    const result = await executor.execute(commandStep('true', { id: 'x', cwd: dir }), context(logPath, 1));
    expect(result.status).toBe('succeeded');
    const problems = await executor.flush();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^could not write the log ${logPath}: .*EISDIR`));
  });

  it('flush(runId) reports the logs of that run only', async () => {
    const executor = new ProcessExecutor();
    const logPath = path.join(dir, 'a', 'x.log');
    await mkdir(logPath, { recursive: true }); // a folder where the log file should be
    await executor.execute(commandStep('true', { id: 'x', cwd: dir }), context(logPath, 1, 'a'));
    await executor.execute(commandStep('true', { id: 'x', cwd: dir }), context(path.join(dir, 'b', 'x.log'), 1, 'b'));
    expect(await executor.flush('b')).toEqual([]);
    const problems = await executor.flush('a');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^could not write the log ${logPath}: .*EISDIR`));
  });
});

describe('ProcessExecutor environment', () => {
  it('gives the step the run environment, its own variables over it (undefined unsets one), and its ids', async () => {
    const executor = new ProcessExecutor();
    const logPath = path.join(dir, 'logs', 'env.log');
    const base = { PATH: process.env.PATH, KEEP: 'base', OVERRIDE: 'base', DROP: 'base' };
    const step = commandStep('echo "[$KEEP] [$OVERRIDE] [${DROP-unset}] [$ORCHESTRATOR_STEP_ID] [$ORCHESTRATOR_TREE_ID]"; env | grep -c "^OVERRIDE="', {
      id: 'env',
      cwd: dir,
      env: { OVERRIDE: 'step', DROP: undefined as unknown as string },
    });
    const result = await executor.execute(step, { ...context(logPath, 1), baseEnv: base });
    expect(result.status).toBe('succeeded');
    expect(result.stdoutTail).toMatch(/^\[base\] \[step\] \[unset\] \[env\] \[[0-9a-f-]{36}\]\n1\n$/);
    // The run's environment object is not written to.
    expect(base).toEqual({ PATH: process.env.PATH, KEEP: 'base', OVERRIDE: 'base', DROP: 'base' });
  });
});

describe('ProcessExecutor escapees', () => {
  // The script's escapee redirected its output, so no pipe stays open to give it away when the
  // script exits: the per-step path does not look for it; flush() (once per run) does.
  it.each([
    ['that goes on SIGTERM', []],
    ['that ignores SIGTERM (SIGKILL after the grace)', ['ignore-term']],
  ])('flush() kills a process %s, left running in its own session with its output redirected', async (_name, args) => {
    const executor = new ProcessExecutor();
    const pidFile = path.join(dir, 'pid');
    const step = commandStep(`${fixture('setsid-quiet-exit.sh')} ${args.join(' ')}`, {
      id: 'leaver',
      cwd: dir,
      killGrace: 300,
      env: { PID_FILE: pidFile },
    });
    const result = await executor.execute(step, context(path.join(dir, 'logs', 'leaver.log'), 1));
    expect(result.status).toBe('succeeded');
    const escapee = await readPidFile(pidFile);
    try {
      expect(await executor.flush()).toEqual(['killed 1 process that step leaver left running outside its process group (setsid)']);
      expect(isProcessAlive(escapee)).toBe(false);
      // Killed once: the next flush has nothing left to do.
      expect(await executor.flush()).toEqual([]);
    } finally {
      if (isProcessAlive(escapee)) process.kill(escapee, 'SIGKILL');
    }
  });

  /** Runs a step of run `runId` that leaves a process in its own session; returns its pid. */
  async function leave(executor: ProcessExecutor, runId: string): Promise<number> {
    const pidFile = path.join(dir, `${runId}.pid`);
    const step = commandStep(fixture('setsid-quiet-exit.sh'), { id: `leaver-${runId}`, cwd: dir, killGrace: 300, env: { PID_FILE: pidFile } });
    expect((await executor.execute(step, context(path.join(dir, runId, 'leaver.log'), 1, runId))).status).toBe('succeeded');
    return readPidFile(pidFile);
  }
  const leftBy = (stepId: string): string => `killed 1 process that step ${stepId} left running outside its process group (setsid)`;

  it('flush(runId) kills and reports what the steps of that run left running, and leaves the rest to their runs', async () => {
    const executor = new ProcessExecutor();
    const escapees: number[] = [];
    try {
      escapees.push(await leave(executor, 'a'), await leave(executor, 'b'));
      const [a, b] = escapees as [number, number];
      expect(await executor.flush('b')).toEqual([leftBy('leaver-b')]);
      expect(isProcessAlive(b)).toBe(false);
      expect(isProcessAlive(a), "run b's flush leaves run a's leftover alone").toBe(true);
      expect(await executor.flush('a')).toEqual([leftBy('leaver-a')]);
      expect(isProcessAlive(a)).toBe(false);
      expect(await executor.flush()).toEqual([]);
    } finally {
      for (const pid of escapees) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('an early sweep (enough finished trees) kills the leftovers of every run, and each run hears of its own at its flush', async () => {
    const executor = new ProcessExecutor({ leftoverSweepTrees: 2 });
    const escapees: number[] = [];
    try {
      escapees.push(await leave(executor, 'a'));
      const [a] = escapees as [number];
      // The second finished tree, of another run, starts the sweep; flush('b') waits for it.
      await executor.execute(commandStep('true', { id: 'quick', cwd: dir }), context(path.join(dir, 'b', 'quick.log'), 1, 'b'));
      expect(await executor.flush('b')).toEqual([]);
      expect(isProcessAlive(a), 'the early sweep killed it').toBe(false);
      expect(await executor.flush('a')).toEqual([leftBy('leaver-a')]);
    } finally {
      for (const pid of escapees) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('names what is missing: a working directory, a script that never existed, one that was there when the plan was made', async () => {
    const executor = new ProcessExecutor();
    const missingDir = path.join(dir, 'nonexistent');
    const noDir = await executor.execute(commandStep('pwd', { id: 'where', cwd: missingDir }), context(path.join(dir, 'logs', 'where.log'), 1));
    expect(noDir).toMatchObject({ status: 'failed', reason: 'spawn-error', message: `could not be started: working directory ${missingDir} does not exist` });

    const never = await executor.execute(scriptStep(path.join(dir, 'never.sh')), context(path.join(dir, 'logs', 'never.log'), 1));
    expect(never).toMatchObject({ reason: 'script-missing', message: `script file is missing: ${path.join(dir, 'never.sh')} does not exist` });

    // Its shebang was read when the step was made, so it was there then.
    const file = path.join(dir, 'gone.sh');
    await writeFile(file, '#!/bin/sh\necho hi\n');
    const step = scriptStep(file);
    expect(step.shebang).toBe('/bin/sh');
    await rm(file);
    const gone = await executor.execute(step, context(path.join(dir, 'logs', 'gone.log'), 1));
    expect(gone).toMatchObject({ reason: 'script-missing', message: `script file is missing: ${file} no longer exists` });
    expect(await executor.flush()).toEqual([]);
  });

  it('flush() leaves alone the processes of steps that are still running', async () => {
    const executor = new ProcessExecutor();
    const pidFile = path.join(dir, 'pid');
    const handle = new AbortHandle();
    const running = executor.execute(
      commandStep('echo $$ > "$PID_FILE"; exec sleep 1000', { id: 'busy', cwd: dir, env: { PID_FILE: pidFile } }),
      attemptContext(handle),
    );
    const pid = await readPidFile(pidFile);
    expect(await executor.flush()).toEqual([]);
    expect(isProcessAlive(pid)).toBe(true);
    handle.abort('cancelled');
    expect((await running).status).toBe('cancelled');
  });
});

function attemptContext(handle: AbortHandle): AttemptContext {
  return new AttemptContext('r', 1, handle, process.env, new InterpreterResolver({ projectRoot: dir }), path.join(dir, 'scratch'));
}

describe('ProcessExecutor outputs of a step that did not succeed', () => {
  // Writes half a multi-line output (no closing EOF: invalid), then blocks until it is killed.
  const halfWritten = 'printf \'notes<<EOF\\nline one\\n\' >> "$ORCHESTRATOR_OUTPUT"; : > "$READY"; exec sleep 1000';

  it.each([
    ['run-timeout', 'timed-out', 'timed-out'],
    ['cancelled', 'cancelled', 'cancelled'],
    ['fail-fast', 'cancelled', 'fail-fast'],
  ] as const)('killed for %s mid-way through writing $ORCHESTRATOR_OUTPUT: %s, not invalid-output', async (cause, status, reason) => {
    const executor = new ProcessExecutor();
    const ready = path.join(dir, 'ready');
    const handle = new AbortHandle();
    const running = executor.execute(commandStep(halfWritten, { id: 'x', cwd: dir, env: { READY: ready } }), attemptContext(handle));
    await waitFor('the half-written output', () => (existsSync(ready) ? true : undefined));
    handle.abort(cause);
    const result = await running;
    expect(result).toMatchObject({ status, reason, outputs: {} });
    expect(await readdir(path.join(dir, 'scratch'))).toEqual([]);
  });

  it('killed by its own timeout mid-way through writing $ORCHESTRATOR_OUTPUT: timed-out, not invalid-output', async () => {
    const executor = new ProcessExecutor();
    const ready = path.join(dir, 'ready');
    const step = commandStep(halfWritten, { id: 'x', cwd: dir, timeout: 300, env: { READY: ready } });
    const result = await executor.execute(step, attemptContext(new AbortHandle()));
    expect(existsSync(ready)).toBe(true); // the output file was written before the timeout
    expect(result).toMatchObject({ status: 'timed-out', reason: 'timed-out', outputs: {} });
    expect(await readdir(path.join(dir, 'scratch'))).toEqual([]);
  });

  it('over the output limit while it runs: killed at once as output-limit, not left to run on', async () => {
    const executor = new ProcessExecutor();
    const pidFile = path.join(dir, 'pid');
    // Writes past the limit, then would wait for ever: only the output watch can end it.
    const big = 'echo $$ > "$PID_FILE"; head -c 2000000 /dev/zero | tr "\\0" x >> "$ORCHESTRATOR_OUTPUT"; exec sleep 1000';
    const result = await executor.execute(commandStep(big, { id: 'x', cwd: dir, env: { PID_FILE: pidFile } }), attemptContext(new AbortHandle()));
    expect(result).toMatchObject({ status: 'failed', reason: 'output-limit', killSignal: 'SIGTERM', outputs: {} });
    expect(result.message).toContain('while it ran');
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(isProcessAlive(pid)).toBe(false);
    expect(await readdir(path.join(dir, 'scratch'))).toEqual([]);
  });

  it('a failing exit keeps its reason over an invalid output file, and keeps a valid one', async () => {
    const executor = new ProcessExecutor();
    const invalid = await executor.execute(
      commandStep('printf \'notes<<EOF\\n\' >> "$ORCHESTRATOR_OUTPUT"; exit 3', { id: 'x', cwd: dir }),
      attemptContext(new AbortHandle()),
    );
    expect(invalid).toMatchObject({ status: 'failed', reason: 'exit-non-zero', exitCode: 3, outputs: {} });
    // `if: failure() && steps.x.outputs.code == '75'` reads the outputs of a failed step.
    const valid = await executor.execute(
      commandStep('echo code=75 >> "$ORCHESTRATOR_OUTPUT"; exit 75', { id: 'x', cwd: dir }),
      attemptContext(new AbortHandle()),
    );
    expect(valid).toMatchObject({ status: 'failed', reason: 'exit-non-zero', outputs: { code: '75' } });
    expect(await readdir(path.join(dir, 'scratch'))).toEqual([]);
  });

  it('a step that succeeded is still failed by an invalid output file', async () => {
    const executor = new ProcessExecutor();
    const result = await executor.execute(
      commandStep('printf \'notes<<EOF\\n\' >> "$ORCHESTRATOR_OUTPUT"', { id: 'x', cwd: dir }),
      attemptContext(new AbortHandle()),
    );
    expect(result).toMatchObject({ status: 'failed', reason: 'invalid-output' });
  });
});
