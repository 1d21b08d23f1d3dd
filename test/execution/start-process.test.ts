import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nativeStarter, startProcess, type StartedProcess } from '../../src/execution/start-process.js';
import { chooseStarter, STARTERS, useStarter } from '../helpers/starter.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

/** The built library's module (npm test builds first), loaded by the worker fixture. */
const DIST_MODULE = fileURLToPath(new URL('../../dist/execution/start-process.js', import.meta.url));
const fixturePath = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await makeTmpDir();
});
afterEach(async () => {
  await removeTmpDir(dir);
});

/** Runs `script` with /bin/sh and collects what it printed and how it ended. */
async function sh(script: string, env: Record<string, string | undefined> = { ...process.env }, cwd = dir) {
  return collect(startProcess('/bin/sh', ['-c', script], { cwd, env }));
}

async function collect(child: StartedProcess) {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const started = await child.started;
  const exit = await child.exited;
  await child.closed;
  return { pid: typeof started === 'number' ? started : undefined, exit, stdout, stderr };
}

describe('the native process starter', () => {
  it('is built by npm install and used on Linux', () => {
    // npm ci runs scripts/build-native.mjs; without it every step pays fork() of the whole
    // orchestrator (see native/spawn.c).
    if (process.platform !== 'linux') return;
    const restore = chooseStarter('native');
    try {
      expect(nativeStarter()).not.toBeNull();
    } finally {
      restore();
    }
  });

  it('outlives worker threads that end while their child runs, and keeps none of their descriptors', () => {
    if (nativeStarter() === null) return;
    // (Node unloads an addon when the worker that loaded it ends; its waiting threads still run.)
    const result = spawnSync(process.execPath, [fixturePath('native-spawn-workers.mjs'), pathToFileURL(DIST_MODULE).href], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const { before, after, children } = JSON.parse(result.stdout) as { before: number; after: number; children: number };
    expect(children).toBe(5);
    expect(after).toBe(before);
  });

  it('is left alone while ORCHESTRATOR_NATIVE_SPAWN=0', () => {
    const restore = chooseStarter('child_process');
    try {
      expect(nativeStarter()).toBeNull();
    } finally {
      restore();
    }
  });
});

// What a step's process is given must not depend on which starter made it.
describe.each(STARTERS)('startProcess through %s', (starter) => {
  useStarter(starter);

  it('reports exit codes, and signals by name', async () => {
    expect((await sh('echo out; echo err >&2; exit 7')).exit).toEqual({ code: 7, signal: null });
    const run = await sh('echo out; echo err >&2; exit 7');
    expect([run.stdout, run.stderr]).toEqual(['out\n', 'err\n']);
    expect((await sh('kill -USR1 $$')).exit).toEqual({ code: null, signal: 'SIGUSR1' });
    // The name Node gives a number, not a later alias of it (SIGIOT).
    expect((await sh('kill -ABRT $$')).exit).toEqual({ code: null, signal: 'SIGABRT' });
  });

  it('runs a file without `#!` through /bin/sh, as execvp does', async () => {
    writeFileSync(path.join(dir, 'plain'), 'echo "plain $1"\n');
    chmodSync(path.join(dir, 'plain'), 0o755);
    const run = await collect(startProcess('./plain', ['x'], { cwd: dir, env: { ...process.env } }));
    expect(run).toMatchObject({ exit: { code: 0, signal: null }, stdout: 'plain x\n' });
  });

  it('makes the process the leader of a new session and process group', async () => {
    const run = await sh('cat /proc/$$/stat');
    // pid (comm) state ppid pgrp session ...
    const fields = run.stdout.slice(run.stdout.lastIndexOf(')') + 2).split(' ');
    expect(Number(fields[2])).toBe(run.pid);
    expect(Number(fields[3])).toBe(run.pid);
  });

  it('gives stdin /dev/null, every signal at its default and none blocked', async () => {
    // Node itself ignores SIGPIPE: a child that inherited that would never die of a closed pipe.
    // (grep reads its own status: dash blocks every signal for a moment while it forks.)
    const run = await sh('readlink /proc/$$/fd/0; ls /proc/$$/fd; exec grep -E "^Sig(Ign|Blk)" /proc/self/status');
    const [stdin, ...rest] = run.stdout.trim().split('\n');
    expect(stdin).toBe('/dev/null');
    const fds = rest.filter((line) => /^\d+$/.test(line));
    expect(fds.slice(0, 3)).toEqual(['0', '1', '2']);
    // The native starter closes every other descriptor; child_process passes on those opened
    // without O_CLOEXEC (a test runner's, here).
    if (starter === 'native') expect(fds).toEqual(['0', '1', '2']);
    const mask = (name: string): bigint => BigInt(`0x${rest.find((line) => line.startsWith(name))?.split('\t')[1] ?? 'ff'}`);
    expect(mask('SigBlk:')).toBe(0n);
    // Signals 32 and 33 are glibc's own (thread cancellation, setxid): posix_spawn leaves them
    // ignored until the program's libc installs its handlers; no program can use them otherwise.
    expect(mask('SigIgn:') & ~0x180000000n).toBe(0n);
  });

  it('runs in the working directory with the environment given, inherited properties included', async () => {
    const base = { ...process.env, SHARED: 'base', GONE: 'base' };
    const env = Object.create(base) as Record<string, string | undefined>;
    env.SHARED = 'own';
    env.GONE = undefined;
    const run = await sh('pwd; echo "$SHARED ${GONE-unset}"', env);
    expect(run.stdout).toBe(`${dir}\nown unset\n`);
  });

  it('takes a relative working directory from where the orchestrator is when it starts the process', async () => {
    mkdirSync(path.join(dir, 'a', 'sub'), { recursive: true });
    mkdirSync(path.join(dir, 'b'));
    const before = process.cwd();
    const starts: StartedProcess[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        process.chdir(path.join(dir, 'a'));
        starts.push(startProcess('/bin/pwd', [], { cwd: 'sub', env: { ...process.env } }));
        // The native starter's thread may run only after this.
        process.chdir(path.join(dir, 'b'));
      }
    } finally {
      process.chdir(before);
    }
    const runs = await Promise.all(starts.map(collect));
    expect(new Set(runs.map((run) => run.stdout))).toEqual(new Set([`${path.join(dir, 'a', 'sub')}\n`]));
  });

  it("looks a bare program name up in the PATH of the child's environment", async () => {
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'hello-from-path'), '#!/bin/sh\necho found "$@"\n');
    chmodSync(path.join(bin, 'hello-from-path'), 0o755);
    writeFileSync(path.join(bin, 'not-executable'), '#!/bin/sh\necho no\n');
    const env = { ...process.env, PATH: `${bin}:/usr/bin:/bin` };
    const run = await collect(startProcess('hello-from-path', ['a b'], { cwd: dir, env }));
    expect(run.stdout).toBe('found a b\n');
    await expect(startError(() => startProcess('not-executable', [], { cwd: dir, env }))).resolves.toMatchObject({ code: 'EACCES' });
    // The parent's PATH is not searched.
    await expect(
      startError(() => startProcess('hello-from-path', [], { cwd: dir, env: { ...process.env, PATH: '/usr/bin:/bin' } })),
    ).resolves.toMatchObject({ code: 'ENOENT', message: 'spawn hello-from-path ENOENT', syscall: 'spawn hello-from-path', path: 'hello-from-path' });
  });

  it('fails with ENOENT for a missing program or working directory', async () => {
    await expect(startError(() => startProcess('/no/such/program', [], { cwd: dir, env: { ...process.env } }))).resolves.toMatchObject({
      code: 'ENOENT',
      message: 'spawn /no/such/program ENOENT',
    });
    await expect(startError(() => startProcess('/bin/sh', ['-c', 'true'], { cwd: path.join(dir, 'missing'), env: { ...process.env } }))).resolves.toMatchObject({
      code: 'ENOENT',
    });
    // A working directory that is a file is that, not a program missing from every PATH entry.
    writeFileSync(path.join(dir, 'file'), '');
    await expect(startError(() => startProcess('sh', ['-c', 'true'], { cwd: path.join(dir, 'file'), env: { ...process.env } }))).resolves.toMatchObject({
      code: 'ENOTDIR',
    });
  });

  it('delivers large output whole', async () => {
    const run = await sh('head -c 3000000 /dev/zero | tr "\\0" x; head -c 100000 /dev/zero | tr "\\0" y >&2');
    expect(run.exit).toEqual({ code: 0, signal: null });
    expect(run.stdout.length).toBe(3_000_000);
    expect(run.stderr.length).toBe(100_000);
  });
});

/**
 * The error of a start that failed, told through `started` (and `exited` says the same), or
 * thrown at once (child_process throws some, ENOTDIR among them).
 */
async function startError(start: () => StartedProcess): Promise<NodeJS.ErrnoException> {
  let child: StartedProcess;
  try {
    child = start();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  const started = await child.started;
  if (typeof started === 'number') throw new Error(`started as pid ${started}`);
  expect(await child.exited).toBe(started);
  await child.closed;
  return started;
}
