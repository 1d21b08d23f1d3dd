import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { appendLogSection } from '../../src/execution/log-file.js';
import { killLeftovers, runProcess, type ProcessOptions } from '../../src/execution/process-runner.js';
import { childPids, isProcessAlive, readPidFile, readStat, waitForChild } from '../helpers/processes.js';
import { fixture } from '../helpers/step-factory.js';
import { STARTERS, useStarter } from '../helpers/starter.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

const MiB = 1024 * 1024;

/** The interpreter behind the pyenv shim, so a Python fixture starts without the shim's cost. */
const realPython = (): string =>
  execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

/** Bytes big-output.js writes to each stream for `total` (a multiple of its 1024-byte line). */
function bigOutputBytes(total: number): { stdout: number; stderr: number } {
  const lines = total / 1024;
  const bad = Math.floor(lines / 100);
  return {
    stdout: total + 'END-OF-STDOUT\n'.length,
    stderr: (lines - bad) * 1024 + bad * 3 + 'END-OF-STDERR\n'.length,
  };
}

let dir: string;
beforeEach(async () => {
  dir = await makeTmpDir();
});
afterEach(async () => {
  await removeTmpDir(dir);
});

function options(command: string, args: string[], overrides: Partial<ProcessOptions> = {}): ProcessOptions {
  return {
    command,
    args,
    cwd: dir,
    env: { ...process.env },
    timeout: 10_000,
    killGrace: 1_000,
    ...overrides,
  };
}

// Every case runs through both starters: the native one (native/spawn.c, posix_spawn) that
// npm install builds on Linux, and child_process, which is used where it is not built.
describe.each(STARTERS)('runProcess through %s', (starter) => {
  useStarter(starter);

  it('reports the exit code and the tail and size of each stream', async () => {
    const outcome = await runProcess(options(fixture('fail.sh'), ['3']));
    expect(outcome.exitCode).toBe(3);
    expect(outcome.signal).toBeNull();
    expect(outcome.killReason).toBeNull();
    expect(outcome.killSignal).toBeNull();
    expect(outcome.forcefullyKilled).toBe(false);
    expect(outcome.spawnError).toBeNull();
    expect(outcome.pid).toEqual(expect.any(Number));
    expect(outcome.stdout.tail()).toBe('about to fail\n');
    expect(outcome.stderr.tail()).toBe('failing with 3\n');
    expect(outcome.stdout.bytes).toBe('about to fail\n'.length);
    expect(outcome.stderr.bytes).toBe('failing with 3\n'.length);
    expect(outcome.durationMs).toBe(outcome.finishedAt - outcome.startedAt);
  });

  it('keeps only the last tailBytes of a stream', async () => {
    const outcome = await runProcess(
      options('/bin/sh', ['-c', 'for i in 1 2 3 4 5 6 7 8 9; do echo line$i; done'], { tailBytes: 12 }),
    );
    expect(outcome.stdout.bytes).toBe(54);
    expect(outcome.stdout.tail()).toBe('line8\nline9\n');
  });

  it('a timeout sends SIGTERM to the process group and kills the sleeping child', async () => {
    const pidFile = path.join(dir, 'pid');
    const running = runProcess(
      options(fixture('forever.sh'), [], { timeout: 200, env: { ...process.env, PID_FILE: pidFile } }),
    );
    const shellPid = await readPidFile(pidFile);
    const sleepPid = await waitForChild(shellPid);
    const outcome = await running;
    expect(outcome.pid).toBe(shellPid);
    expect(outcome.killReason).toBe('timed-out');
    expect(outcome.killSignal).toBe('SIGTERM');
    expect(outcome.signal).toBe('SIGTERM');
    expect(outcome.forcefullyKilled).toBe(false);
    expect(isProcessAlive(shellPid)).toBe(false);
    expect(isProcessAlive(sleepPid)).toBe(false);
    expect(outcome.durationMs, 'a 200 ms timeout should end the run in 180–1500 ms').toBeGreaterThanOrEqual(180);
    expect(outcome.durationMs, 'a 200 ms timeout should end the run in 180–1500 ms').toBeLessThan(1500);
  });

  it('a script that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
    const pidFile = path.join(dir, 'pid');
    const outcome = await runProcess(
      options(fixture('ignore-sigterm.sh'), [], {
        timeout: 200,
        killGrace: 500,
        env: { ...process.env, PID_FILE: pidFile },
      }),
    );
    const pid = await readPidFile(pidFile);
    expect(outcome.killReason).toBe('timed-out');
    expect(outcome.forcefullyKilled).toBe(true);
    expect(outcome.killSignal).toBe('SIGKILL');
    expect(outcome.signal).toBe('SIGKILL');
    expect(isProcessAlive(pid)).toBe(false);
    const expected = 'timeout 200 ms + grace 500 ms: the run should end in 680–2000 ms';
    expect(outcome.durationMs, expected).toBeGreaterThanOrEqual(680);
    expect(outcome.durationMs, expected).toBeLessThan(2000);
  });

  it('a timeout kills a grandchild that would outlive its shell', async () => {
    const pidFile = path.join(dir, 'pid');
    const running = runProcess(
      options(fixture('spawn-grandchild.sh'), [], { timeout: 300, env: { ...process.env, PID_FILE: pidFile } }),
    );
    const grandchild = await readPidFile(pidFile);
    expect(isProcessAlive(grandchild)).toBe(true);
    const outcome = await running;
    expect(outcome.killReason).toBe('timed-out');
    expect(isProcessAlive(grandchild)).toBe(false);
  });

  it('a timeout kills a descendant that escaped into a new session', async () => {
    const pidFile = path.join(dir, 'pid');
    const running = runProcess(
      options(fixture('setsid-escape.sh'), [], { timeout: 500, env: { ...process.env, PID_FILE: pidFile } }),
    );
    const escapee = await readPidFile(pidFile);
    const info = readStat(escapee);
    expect(isProcessAlive(escapee)).toBe(true);
    const outcome = await running;
    // It really left: a session and group of its own, not the script's.
    expect(info?.sid).toBe(escapee);
    expect(info?.pgid).not.toBe(outcome.pid);
    expect(outcome.killReason).toBe('timed-out');
    expect(isProcessAlive(escapee)).toBe(false);
  });

  it('a descendant in a new session is killed after the script exits normally', async () => {
    const pidFile = path.join(dir, 'pid');
    const outcome = await runProcess(
      options(fixture('setsid-escape.sh'), ['exit'], { env: { ...process.env, PID_FILE: pidFile } }),
    );
    const escapee = await readPidFile(pidFile);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.killReason).toBeNull();
    expect(outcome.stdout.tail()).toBe('escaped\n');
    expect(outcome.orphansKilled).toBeGreaterThanOrEqual(1);
    expect(isProcessAlive(escapee)).toBe(false);
  });

  it('a descendant in a new session with its output redirected is killed once the command ends, and counted as a leftover', async () => {
    // It holds no pipe and is in no group of ours: only the tree's marker finds it.
    const pidFile = path.join(dir, 'pid');
    const outcome = await runProcess(options(fixture('setsid-quiet-exit.sh'), [], { env: { ...process.env, PID_FILE: pidFile } }));
    const escapee = await readPidFile(pidFile);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.leftoversKilled).toBe(1);
    expect(isProcessAlive(escapee)).toBe(false);
  });

  it('with killLeftovers: false such a descendant is left for the caller to sweep (the process executor does, once per run)', async () => {
    const pidFile = path.join(dir, 'pid');
    const outcome = await runProcess(
      options(fixture('setsid-quiet-exit.sh'), [], { env: { ...process.env, PID_FILE: pidFile }, killLeftovers: false }),
    );
    const escapee = await readPidFile(pidFile);
    try {
      expect(outcome.leftoversKilled).toBe(0);
      expect(isProcessAlive(escapee)).toBe(true);
      expect(await killLeftovers(new Map([[outcome.treeId, { killGrace: 1000 }]]))).toEqual(new Map([[outcome.treeId, 1]]));
      expect(isProcessAlive(escapee)).toBe(false);
    } finally {
      if (isProcessAlive(escapee)) process.kill(escapee, 'SIGKILL');
    }
  });

  it('a process left behind in the group is killed after a successful exit', async () => {
    const pidFile = path.join(dir, 'pid');
    const outcome = await runProcess(
      options(fixture('orphan-exit.sh'), [], { env: { ...process.env, PID_FILE: pidFile } }),
    );
    const orphan = await readPidFile(pidFile);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.killReason).toBeNull();
    expect(outcome.orphansKilled).toBeGreaterThanOrEqual(1);
    expect(isProcessAlive(orphan)).toBe(false);
  });

  it('aborting the signal kills the tree and reports cancelled', async () => {
    const pidFile = path.join(dir, 'pid');
    const controller = new AbortController();
    const running = runProcess(
      options(fixture('forever.sh'), [], { signal: controller.signal, env: { ...process.env, PID_FILE: pidFile } }),
    );
    const shellPid = await readPidFile(pidFile);
    const sleepPid = await waitForChild(shellPid);
    controller.abort();
    const outcome = await running;
    expect(outcome.killReason).toBe('cancelled');
    expect(outcome.killSignal).toBe('SIGTERM');
    expect(isProcessAlive(shellPid)).toBe(false);
    expect(isProcessAlive(sleepPid)).toBe(false);
    expect(childPids(shellPid)).toEqual([]);
  });

  it('an already aborted signal starts nothing and reports cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const pidFile = path.join(dir, 'pid');
    const outcome = await runProcess(
      options(fixture('forever.sh'), [], { signal: controller.signal, env: { ...process.env, PID_FILE: pidFile } }),
    );
    expect(outcome.pid).toBeNull();
    expect(outcome.killReason).toBe('cancelled');
    await expect(stat(pidFile)).rejects.toThrow();
  });

  it('50 MiB of interleaved stdout and stderr finish without deadlock, with parent RSS growth under 100 MB (a sanity bound)', async () => {
    const total = 50 * MiB;
    const rssBefore = process.memoryUsage().rss;
    const outcome = await runProcess(options(process.execPath, [fixture('big-output.js'), String(total)], { timeout: 60_000 }));
    const growth = process.memoryUsage().rss - rssBefore;
    const expected = bigOutputBytes(total);
    expect(outcome.killReason).toBeNull();
    expect(outcome.exitCode).toBe(0);
    expect(outcome.stdout.bytes).toBe(expected.stdout);
    expect(outcome.stderr.bytes).toBe(expected.stderr);
    expect(outcome.stdout.tail().endsWith(`${'x'.repeat(1023)}\nEND-OF-STDOUT\n`)).toBe(true);
    expect(outcome.stdout.tail().length).toBeLessThanOrEqual(16_384);
    expect(outcome.stderr.tail().endsWith('END-OF-STDERR\n')).toBe(true);
    expect(growth, `RSS grew by ${(growth / MiB).toFixed(1)} MiB; expected < 100 MB`).toBeLessThan(100 * 1000 * 1000);
  });

  it('invalid UTF-8 in the output shows as U+FFFD in the tail', async () => {
    const outcome = await runProcess(options('/bin/sh', ['-c', "printf 'ok\\377\\376end\\n'; printf '\\300x' >&2"]));
    expect(outcome.exitCode).toBe(0);
    expect(outcome.stdout.tail()).toBe('ok\uFFFD\uFFFDend\n');
    expect(outcome.stderr.tail()).toBe('\uFFFDx');
    expect(outcome.stdout.bytes).toBe(8);
  });

  it('a tail cut inside a multi-byte character drops the broken character', async () => {
    // "aéé" is 61 c3a9 c3a9; the last 3 bytes start in the middle of the first é.
    const outcome = await runProcess(options('/bin/sh', ['-c', "printf 'a\\303\\251\\303\\251'"], { tailBytes: 3 }));
    expect(outcome.stdout.bytes).toBe(5);
    expect(outcome.stdout.tail()).toBe('é');
  });

  it('a command that does not exist comes back as spawnError ENOENT, not as an exception', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    try {
      const outcome = await runProcess(options(path.join(dir, 'no-such-command'), []));
      await new Promise((resolve) => setImmediate(resolve));
      expect(outcome.spawnError?.code).toBe('ENOENT');
      expect(outcome.pid).toBeNull();
      expect(outcome.exitCode).toBeNull();
      expect(outcome.killReason).toBeNull();
      expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      process.off('uncaughtException', onUnhandled);
    }
  });

  it('a working directory that does not exist comes back as spawnError', async () => {
    const outcome = await runProcess(options('/bin/sh', ['-c', 'exit 0'], { cwd: path.join(dir, 'missing') }));
    expect(outcome.spawnError?.code).toBe('ENOENT');
    expect(outcome.exitCode).toBeNull();
  });

  it('the memory limit kills a tree whose child grows past it', async () => {
    const outcome = await runProcess(
      options(realPython(), [fixture('memory-hog.py')], { memoryLimitMb: 100, memoryPollMs: 50, timeout: 20_000 }),
    );
    expect(outcome.killReason).toBe('memory-limit');
    expect(outcome.peakMemoryMb).toBeGreaterThan(100);
    expect(outcome.exitCode).toBeNull();
    expect(outcome.signal).toBe('SIGTERM');
  });

  it('measures peak memory below the limit without killing', async () => {
    const outcome = await runProcess(
      options('/bin/sh', ['-c', 'echo hi; sleep 0.3'], { memoryLimitMb: 1000, memoryPollMs: 20 }),
    );
    expect(outcome.exitCode).toBe(0);
    expect(outcome.killReason).toBeNull();
    expect(outcome.peakMemoryMb).toBeGreaterThan(0);
    expect(outcome.peakMemoryMb).toBeLessThan(1000);
  });

  it('output spilled to disk and copied into a log with appendLogSection keeps every byte', async () => {
    const total = 4 * MiB;
    const logPath = path.join(dir, 'step.log');
    const outcome = await runProcess(
      options(process.execPath, [fixture('big-output.js'), String(total)], {
        spillPrefix: path.join(dir, 'step.log.1.part'),
        memoryBytes: 64 * 1024,
      }),
    );
    expect(outcome.exitCode).toBe(0);
    // Spilled, not held in memory.
    expect((await readdir(dir)).sort()).toEqual(['step.log.1.part.stderr', 'step.log.1.part.stdout']);
    await appendLogSection(
      logPath,
      {
        title: 'big · attempt 1',
        command: [process.execPath, 'big-output.js'],
        cwd: dir,
        startedAt: outcome.startedAt,
        finishedAt: outcome.finishedAt,
        status: 'succeeded',
        exitCode: outcome.exitCode,
        signal: outcome.signal,
      },
      outcome.stdout,
      outcome.stderr,
    );
    const expected = bigOutputBytes(total);
    const log = await readFile(logPath);
    const stdoutHeader = Buffer.from(`STDOUT (${expected.stdout} bytes)\n${'='.repeat(60)}\n`);
    const stdoutAt = log.indexOf(stdoutHeader) + stdoutHeader.length;
    expect(stdoutAt).toBeGreaterThan(stdoutHeader.length);
    const stdoutBody = log.subarray(stdoutAt, stdoutAt + expected.stdout);
    expect(stdoutBody.subarray(0, 1024).toString()).toBe(`${'x'.repeat(1023)}\n`);
    expect(stdoutBody.subarray(-1038).toString()).toBe(`${'x'.repeat(1023)}\nEND-OF-STDOUT\n`);
    const stderrHeader = Buffer.from(`${'='.repeat(60)}\nSTDERR (${expected.stderr} bytes)\n${'='.repeat(60)}\n`);
    const afterStdout = stdoutAt + expected.stdout;
    expect(log.subarray(afterStdout, afterStdout + stderrHeader.length).toString()).toBe(stderrHeader.toString());
    const stderrBody = log.subarray(afterStdout + stderrHeader.length);
    expect(stderrBody.length).toBe(expected.stderr);
    expect(stderrBody.subarray(0, 1024).toString()).toBe(`${'x'.repeat(1023)}\n`);
    expect(stderrBody.subarray(-1038).toString()).toBe(`${'x'.repeat(1023)}\nEND-OF-STDERR\n`);
    // Every 100th stderr line is the invalid sequence ff fe 0a, copied as bytes, not re-encoded.
    expect(stderrBody.indexOf(Buffer.from([0xff, 0xfe, 0x0a]))).toBe(99 * 1024);
    // The spill files are gone once copied.
    expect(await readdir(dir)).toEqual(['step.log']);
  });

  it('a small output held in memory is copied into the log too', async () => {
    const logPath = path.join(dir, 'small.log');
    const outcome = await runProcess(options(fixture('fail.sh'), ['2'], { spillPrefix: path.join(dir, 'small.part') }));
    await appendLogSection(
      logPath,
      {
        title: 'small · attempt 1',
        command: [fixture('fail.sh'), '2'],
        cwd: dir,
        startedAt: outcome.startedAt,
        finishedAt: outcome.finishedAt,
        status: 'failed',
        message: 'exited with code 2',
        exitCode: outcome.exitCode,
        signal: outcome.signal,
      },
      outcome.stdout,
      outcome.stderr,
    );
    const log = await readFile(logPath, 'utf8');
    expect(log).toContain('small · attempt 1');
    expect(log).toContain('Status:     failed (exited with code 2)');
    expect(log).toContain('Exit code:  2');
    expect(log).toContain(`STDOUT (14 bytes)\n${'='.repeat(60)}\nabout to fail\n`);
    expect(log).toContain(`STDERR (15 bytes)\n${'='.repeat(60)}\nfailing with 2\n`);
    expect(await readdir(dir)).toEqual(['small.log']);
  });

  it('a command still running after spillAfterMs sends its small output to the spill files while it runs; a quick one writes none', async () => {
    const gate = path.join(dir, 'gate');
    const spill = path.join(dir, 'step.log.1.part.stdout');
    const running = runProcess(
      options('/bin/sh', ['-c', `echo live; while [ ! -f "${gate}" ]; do sleep 0.02; done; echo done`], {
        spillPrefix: path.join(dir, 'step.log.1.part'),
        spillAfterMs: 100,
      }),
    );
    try {
      const deadline = Date.now() + 5_000;
      let seen = '';
      while (seen !== 'live\n' && Date.now() < deadline) {
        seen = await readFile(spill, 'utf8').catch(() => '');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(seen, 'the first line, in the spill file before the command ends').toBe('live\n');
    } finally {
      await writeFile(gate, '');
    }
    const outcome = await running;
    expect(outcome.stdout.held()).toBeUndefined();
    // Nothing was written to stderr, so it has no spill file.
    expect((await readdir(dir)).sort()).toEqual(['gate', 'step.log.1.part.stdout']);
    await outcome.stdout.discard();

    const quick = await runProcess(options('/bin/sh', ['-c', 'echo quick'], { spillPrefix: path.join(dir, 'quick.log.1.part') }));
    expect(quick.stdout.held()?.map(String)).toEqual(['quick\n']);
    expect((await readdir(dir)).sort()).toEqual(['gate']);
  });

  it('output still draining to a slow spill file when the script exits is read to the end, not cut off', async () => {
    // The spill file is a FIFO whose reader opens it only a second after the script has exited:
    // until then the pipe is paused for backpressure, which is no reason to give up on it. 160 kB
    // fills what is read before the pause and leaves more than one read pending in the pipe when
    // the script exits, yet fits in the buffers, so the script is never blocked.
    const prefix = path.join(dir, 'step.log.1.part');
    execFileSync('mkfifo', [`${prefix}.stdout`]);
    const exited = path.join(dir, 'exited');
    const copy = path.join(dir, 'copy');
    const reader = spawn(process.execPath, [fixture('slow-fifo-reader.js'), `${prefix}.stdout`, exited, '1000', copy], {
      stdio: 'ignore',
    });
    const readerDone = once(reader, 'exit');
    const outcome = await runProcess(
      options('/bin/sh', ['-c', `head -c 160000 /dev/zero | tr '\\0' x; echo; echo LAST LINE; : > "$EXITED"`], {
        env: { ...process.env, EXITED: exited },
        memoryBytes: 1024,
        spillPrefix: prefix,
      }),
    );
    const total = 160_000 + '\nLAST LINE\n'.length;
    try {
      expect(outcome.exitCode).toBe(0);
      expect(outcome.stdout.bytes).toBe(total);
      expect(outcome.stdout.tail()).toMatch(/x\nLAST LINE\n$/);
    } finally {
      await outcome.stdout.discard(); // ends the FIFO: the reader sees its end
      await readerDone;
    }
    expect((await stat(copy)).size).toBe(total);
  });

  it('a spill file that cannot be created neither stalls the script nor rejects unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const outcome = await runProcess(
        options(process.execPath, [fixture('big-output.js'), String(MiB)], {
          // The folder does not exist, as `runDir/logs/` does not before the first log is written.
          spillPrefix: path.join(dir, 'no-such-folder', 'step.log.1.part'),
          timeout: 3000,
        }),
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect.soft(unhandled, 'a failed spill must not surface as an unhandled rejection').toEqual([]);
      expect.soft(outcome.killReason, 'the script must not block on a paused pipe until its timeout').toBeNull();
      expect.soft(outcome.exitCode).toBe(0);
      expect.soft(outcome.stdout.bytes).toBe(bigOutputBytes(MiB).stdout);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
