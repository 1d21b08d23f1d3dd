import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PipeError, ShellError, Workflow, getStepResult, pipe, retry, shell } from '../../src/dsl/index.js';
import type { PipeResult } from '../../src/dsl/index.js';
import { Deferred } from '../../src/util/deferred.js';
import { isProcessAlive, readPidFile } from '../helpers/processes.js';
import { fixture } from '../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTmpDir('orch-dsl-');
});
afterEach(async () => {
  await removeTmpDir(dir);
});

describe('shell', () => {
  it('resolves with the result object: exit code, stdout, stderr, duration', async () => {
    const result = await shell('echo out; echo err >&2; exit 3').run();
    expect(result).toMatchObject({
      success: false,
      command: 'echo out; echo err >&2; exit 3',
      exitCode: 3,
      signal: null,
      stdout: 'out\n',
      stderr: 'err\n',
      timedOut: false,
      error: 'exited with code 3',
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    const ok = await shell('printf "$GREETING"', { env: { GREETING: 'hi' }, cwd: dir }).run();
    expect(ok).toMatchObject({ success: true, exitCode: 0, stdout: 'hi' });
    expect(ok.error).toBeUndefined();
  });

  it('with check: true, a non-zero exit rejects with ShellError carrying the result', async () => {
    const error = await shell('echo nope >&2; exit 2', { check: true })
      .run()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShellError);
    expect((error as ShellError).result).toMatchObject({ success: false, exitCode: 2, stderr: 'nope\n' });
    expect((error as ShellError).message).toContain('exited with code 2');
    await expect(shell('true', { check: true }).run()).resolves.toMatchObject({ success: true });
  });

  it('kills the whole process group on timeout', async () => {
    const pidFile = path.join(dir, 'grandchild.pid');
    const started = Date.now();
    const result = await shell(`sleep 30 & echo $! > ${pidFile}; wait`, { timeout: 200, killGrace: 200 }).run();
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ success: false, timedOut: true, exitCode: null });
    expect(result.error).toContain('timed out after');
    expect(elapsed, 'expected the timeout to end the command within 200–5000 ms').toBeLessThan(5000);
    const grandchild = Number((await readFile(pidFile, 'utf8')).trim());
    expect(isProcessAlive(grandchild)).toBe(false);
  });

  it('leaves nothing running once run() resolves, not even a process that left its group with setsid, and warns that it killed it', async () => {
    const pidFile = path.join(dir, 'escapee.pid');
    const warned = once(process, 'warning') as Promise<[Error]>;
    const command = fixture('setsid-quiet-exit.sh');
    const result = await shell(command, { env: { PID_FILE: pidFile } }).run();
    const escapee = await readPidFile(pidFile);
    try {
      expect(result).toMatchObject({ success: true, stdout: 'started\n' });
      expect(isProcessAlive(escapee), 'the setsid escapee was killed').toBe(false);
      const [warning] = await warned;
      expect(warning.message).toBe(`killed 1 process that \`${command}\` left running outside its process group (setsid)`);
    } finally {
      if (isProcessAlive(escapee)) process.kill(escapee, 'SIGKILL');
    }
  });

  it('names a working directory that does not exist, not the shell', async () => {
    const missing = path.join(dir, 'nonexistent');
    const result = await shell('pwd', { cwd: missing }).run();
    expect(result).toMatchObject({ success: false, exitCode: null, error: `could not be started: working directory ${missing} does not exist` });
    expect(await shell('pwd', { cwd: dir, shell: path.join(dir, 'no-such-shell') }).run()).toMatchObject({
      error: `could not be started: spawn ${path.join(dir, 'no-such-shell')} ENOENT`,
    });
  });

  it('is a `command` step in a workflow, with env, retries and output tails', async () => {
    const counter = path.join(dir, 'count');
    const summary = await new Workflow('shells', { env: { WHO: 'world' } })
      .step('greet', shell('echo "hello $WHO"'))
      .step('flaky', retry(shell(`echo x >> ${counter}; [ $(wc -l < ${counter}) -ge 2 ]`), { maxAttempts: 3, initialDelay: 1 }), {
        needs: 'greet',
      })
      .run();
    expect(getStepResult(summary, 'greet')).toMatchObject({ kind: 'command', status: 'succeeded', stdoutTail: 'hello world\n' });
    expect(getStepResult(summary, 'flaky')).toMatchObject({ status: 'succeeded', attempts: 2 });
  });
});

describe('pipe', () => {
  it('streams each stdout into the next stdin', async () => {
    const result = await pipe(['printf "b\\na\\nc\\n"', 'sort', 'head -n 2']).run();
    expect(result.success).toBe(true);
    expect(result.stdout).toBe('a\nb\n');
    expect(result.completed).toBe(3);
    expect(result.exitCode).toBe(0);
    expect(result.results.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(result.results[0]?.stdoutBytes).toBe(6);
    expect(result.commands).toEqual(['printf "b\\na\\nc\\n"', 'sort', 'head -n 2']);
  });

  it('reports a failing middle command with its exit code and stderr', async () => {
    const result = await pipe(['printf "x\\n"', 'cat >/dev/null; echo broken >&2; exit 4', 'cat']).run();
    expect(result.success).toBe(false);
    const middle = result.results[1];
    expect(middle).toMatchObject({ status: 'failed', success: false, exitCode: 4, stderr: 'broken\n' });
    expect(result.error).toBe('command 2 (cat >/dev/null; echo broken >&2; exit 4) exited with code 4');
    expect(result.results[0]?.status).toBe('succeeded');
    // The last command either saw EOF and finished, or was stopped because of the failure.
    expect(['succeeded', 'cancelled']).toContain(result.results[2]?.status);
    await expect(pipe(['exit 1', 'cat'], { check: true }).run()).rejects.toBeInstanceOf(PipeError);
  });

  it('reports an upstream failure even when its reader finishes first (exit events race)', async () => {
    // Exit events of the two processes arrive in either order; run several at once to hit both.
    const results = await Promise.all(Array.from({ length: 12 }, () => pipe(['printf x; exit 1', 'cat']).run()));
    for (const result of results) {
      expect(result.success).toBe(false);
      expect(result.results[0]).toMatchObject({ status: 'failed', exitCode: 1 });
      expect(result.error).toBe('command 1 (printf x; exit 1) exited with code 1');
    }
  });

  it('does not fail a producer whose reader finished early (yes | head)', async () => {
    const result = await pipe(['yes', 'head -n 3']).run();
    expect(result.success).toBe(true);
    expect(result.stdout).toBe('y\ny\ny\n');
    expect(result.results.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(result.results[1]?.exitCode).toBe(0);
  });

  it('fails an upstream command that exits non-zero after its reader finished, like pipefail', async () => {
    // bash: `set -o pipefail; (sleep 0.3; exit 3) | true` exits 3. The reader leaving is no excuse
    // for an exit status that has nothing to do with a broken pipe.
    const command = 'sleep 0.3; echo "real error" >&2; exit 3';
    const error: unknown = await pipe([command, 'true'], { check: true }).run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipeError);
    const result = (error as PipeError).result;
    expect(result.success).toBe(false);
    expect(result.results[0]).toMatchObject({ status: 'failed', success: false, exitCode: 3, stderr: 'real error\n' });
    expect(result.results[1]?.status).toBe('succeeded');
    expect(result.error).toBe(`command 1 (${command}) exited with code 3`);
    // Also exit 1 after output the reader took, and a signal other than SIGPIPE.
    const took = await pipe(['echo taken; sleep 0.3; exit 1', 'head -n 1']).run();
    expect(took.stdout).toBe('taken\n');
    expect(took.results[0]).toMatchObject({ status: 'failed', exitCode: 1 });
    const killed = await pipe(['sleep 0.3; kill -TERM $$', 'true']).run();
    expect(killed.results[0]).toMatchObject({ status: 'failed', signal: 'SIGTERM' });
  });

  it('forgives only a broken pipe: producers cut off by their reader still succeed', async () => {
    // Run several at once: the reader's exit and the failed write into it arrive in either order.
    const pipes = [
      ...Array.from({ length: 6 }, () => ['yes', 'head -n 1']),
      ...Array.from({ length: 6 }, () => ['seq 1 1000000', 'head -n 1']),
      ['cat /dev/zero', 'head -c 10'],
      ['yes', 'true'],
    ];
    const results = await Promise.all(pipes.map((commands) => pipe(commands, { check: true }).run()));
    for (const result of results) {
      expect(result.success).toBe(true);
      expect(result.results.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
      const producer = result.results[0];
      // SIGPIPE (141 from the shell), or EPIPE/ECONNRESET (exit 1) after output the reader did not take.
      expect(producer?.signal === 'SIGPIPE' || [0, 1, 141].includes(producer?.exitCode ?? -1)).toBe(true);
    }
    expect(results[0]?.stdout).toBe('y\n');
    expect(results[6]?.stdout).toBe('1\n');
  });

  it('kills a command that exceeds timeoutPerCommand, and stops the rest', async () => {
    const result = await pipe(['sleep 30', 'cat'], { timeoutPerCommand: 100, killGrace: 200 }).run();
    expect(result.success).toBe(false);
    expect(result.results[0]).toMatchObject({ status: 'timed-out', timedOut: true });
    expect(result.error).toContain('timed out after');
  });

  it('feeds `input` to the first command and stops on the signal', async () => {
    await expect(pipe(['tr a-z A-Z'], { input: 'abc' }).run()).resolves.toMatchObject({ stdout: 'ABC', success: true });
    const controller = new AbortController();
    const running = pipe(['sleep 30', 'cat'], { killGrace: 200 }).run({ signal: controller.signal });
    controller.abort();
    const result = await running;
    expect(result.success).toBe(false);
    expect(result.results.every((r) => r.status === 'cancelled' || r.status === 'succeeded')).toBe(true);
    expect(result.results[0]?.status).toBe('cancelled');
  });

  it('leaves nothing running once run() resolves, not even a process that left its group with setsid, and warns that it killed it', async () => {
    const pidFile = path.join(dir, 'escapee.pid');
    const warned = once(process, 'warning') as Promise<[Error]>;
    const command = fixture('setsid-quiet-exit.sh');
    const result = await pipe([command, 'cat'], { env: { PID_FILE: pidFile } }).run();
    const escapee = await readPidFile(pidFile);
    try {
      expect(result).toMatchObject({ success: true, stdout: 'started\n' });
      expect(isProcessAlive(escapee), 'the setsid escapee was killed').toBe(false);
      const [warning] = await warned;
      expect(warning.message).toBe(`killed 1 process that command 1 of the pipe (\`${command}\`) left running outside its process group (setsid)`);
    } finally {
      if (isProcessAlive(escapee)) process.kill(escapee, 'SIGKILL');
    }
  });

  it('names a working directory that does not exist, not the shell', async () => {
    const missing = path.join(dir, 'nonexistent');
    const result = await pipe(['pwd', 'cat'], { cwd: missing }).run();
    expect(result.success).toBe(false);
    expect(result.error).toBe(`command 1 (pwd) could not be started: working directory ${missing} does not exist`);
  });

  it('is a function step whose value is the pipe result; a failure fails the step', async () => {
    const seen = new Deferred<PipeResult>();
    const summary = await new Workflow('pipes', { failurePolicy: 'continue' })
      .step('count', pipe(['printf "$WORDS"', 'wc -w']), { env: { WORDS: 'one two three' } })
      .step('use', (ctx) => seen.resolve(ctx.needs.count?.value as PipeResult), { needs: 'count' })
      .step('broken', pipe(['printf x', 'exit 9']))
      .run();
    expect(getStepResult(summary, 'count')?.status).toBe('succeeded');
    expect((await seen.promise).stdout.trim()).toBe('3');
    expect(getStepResult(summary, 'broken')).toMatchObject({ status: 'failed', reason: 'function-threw' });
    expect(getStepResult(summary, 'broken')?.message).toContain('exited with code 9');
  });
});
