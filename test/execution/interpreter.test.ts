import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { execFileSync } from 'node:child_process';
import { access, chmod, constants, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InterpreterResolver } from '../../src/execution/interpreter.js';
import { runProcess } from '../../src/execution/process-runner.js';
import { fixture } from '../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

/** What `command -v` finds on this machine's PATH: the answer the resolver should give. */
const commandV = (name: string): string =>
  execFileSync('/bin/sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();

const realPython = (): string =>
  execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

async function writeExecutable(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  await chmod(file, 0o755);
}

let dir: string;
beforeEach(async () => {
  dir = await makeTmpDir();
});
afterEach(async () => {
  await removeTmpDir(dir);
});

describe('InterpreterResolver', () => {
  it('resolves python to the real executable behind the pyenv shim', async () => {
    const resolver = new InterpreterResolver({ projectRoot: dir });
    const python = await resolver.python(dir);
    expect(python).toBeDefined();
    expect(python).not.toContain('/shims/');
    expect(python).toBe(realPython());
    await access(python as string, constants.X_OK);
    const resolution = await resolver.resolve({ path: path.join(dir, 'x.py'), kind: 'python' });
    expect(resolution).toEqual({ ok: true, argv: [python] });
  });

  it('asks a python shim for the real interpreter only once per resolver', async () => {
    // A stand-in shim on PATH that counts its starts and hands over to the real interpreter.
    const counter = path.join(dir, 'count');
    await writeExecutable(
      path.join(dir, 'bin', 'python3'),
      `#!/bin/sh\necho start >> "$COUNT_FILE"\nexec ${realPython()} "$@"\n`,
    );
    const resolver = new InterpreterResolver({
      projectRoot: dir,
      env: { PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin`, COUNT_FILE: counter },
    });
    const first = await resolver.python(dir);
    const second = await resolver.python(path.join(dir, 'elsewhere'));
    expect(first).toBe(realPython());
    expect(second).toBe(first);
    expect(await readFile(counter, 'utf8')).toBe('start\n');
  });

  it('caches PATH look-ups: the same command gives the same promise', async () => {
    const resolver = new InterpreterResolver({ projectRoot: dir });
    const first = resolver.which('sh');
    expect(resolver.which('sh')).toBe(first);
    expect(await first).toBe(commandV('sh'));
  });

  it('never takes a relative PATH entry (the current folder): a local python3 or sh is not the interpreter', async () => {
    await writeExecutable(path.join(dir, 'bin', 'sh'), '#!/bin/sh\nexit 3\n');
    await writeExecutable(path.join(dir, 'bin', 'python3'), '#!/bin/sh\nexit 3\n');
    const relative = path.relative(process.cwd(), path.join(dir, 'bin'));
    const resolver = new InterpreterResolver({ projectRoot: dir, env: { PATH: `${relative}:.:${process.env.PATH ?? ''}` } });
    const sh = await resolver.which('sh');
    expect(sh).toBe(commandV('sh'));
    expect(path.isAbsolute(sh ?? '')).toBe(true);
    expect(await resolver.python(dir)).toBe(realPython());
  });

  it('prefers a .venv/bin/python in the project folder over the system python', async () => {
    const project = path.join(dir, 'project');
    const venvPython = path.join(project, '.venv', 'bin', 'python');
    await writeExecutable(venvPython, '#!/bin/sh\necho venv\n');
    const resolver = new InterpreterResolver({ projectRoot: project });
    const script = path.join(project, 'pkg', 'deep', 'tool.py');
    const resolution = await resolver.resolve({ path: script, kind: 'python' });
    expect(resolution).toEqual({ ok: true, argv: [venvPython] });
  });

  it('prefers the nearest .venv when several folders have one', async () => {
    const project = path.join(dir, 'project');
    await writeExecutable(path.join(project, '.venv', 'bin', 'python'), '#!/bin/sh\n');
    const nearer = path.join(project, 'pkg', '.venv', 'bin', 'python');
    await writeExecutable(nearer, '#!/bin/sh\n');
    const resolver = new InterpreterResolver({ projectRoot: project });
    const resolution = await resolver.resolve({ path: path.join(project, 'pkg', 'tool.py'), kind: 'python' });
    expect(resolution).toEqual({ ok: true, argv: [nearer] });
  });

  it('ignores a .venv above the project root and one whose python is not executable', async () => {
    const project = path.join(dir, 'project');
    await writeExecutable(path.join(dir, '.venv', 'bin', 'python'), '#!/bin/sh\n');
    const notExecutable = path.join(project, '.venv', 'bin', 'python');
    await mkdir(path.dirname(notExecutable), { recursive: true });
    await writeFile(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
    const resolver = new InterpreterResolver({ projectRoot: project });
    const resolution = await resolver.resolve({ path: path.join(project, 'tool.py'), kind: 'python' });
    expect(resolution).toEqual({ ok: true, argv: [realPython()] });
  });

  it('reports interpreter-not-found when no python is on PATH', async () => {
    const resolver = new InterpreterResolver({ projectRoot: dir, env: { PATH: path.join(dir, 'empty') } });
    const resolution = await resolver.resolve({ path: path.join(dir, 'x.py'), kind: 'python' });
    expect(resolution).toMatchObject({ ok: false, reason: 'interpreter-not-found' });
  });

  it('runs a `#!/usr/bin/env bash` script with bash from PATH', async () => {
    const resolver = new InterpreterResolver({ projectRoot: dir });
    const resolution = await resolver.resolve({ path: path.join(dir, 'x.sh'), kind: 'shell', shebang: '/usr/bin/env bash' });
    expect(resolution).toEqual({ ok: true, argv: [commandV('bash')] });
  });

  it('keeps the arguments of a shebang and drops `env -S`', async () => {
    const resolver = new InterpreterResolver({ projectRoot: dir });
    expect(await resolver.resolve({ path: 'x.sh', kind: 'shell', shebang: '/usr/bin/env -S bash -eu' })).toEqual({
      ok: true,
      argv: [commandV('bash'), '-eu'],
    });
    expect(await resolver.resolve({ path: 'x.sh', kind: 'shell', shebang: '/bin/sh -e' })).toEqual({
      ok: true,
      argv: ['/bin/sh', '-e'],
    });
  });

  it('runs a shell script without a shebang with sh, and a .bash one with bash', async () => {
    const resolver = new InterpreterResolver({ projectRoot: dir });
    expect(await resolver.resolve({ path: path.join(dir, 'x.sh'), kind: 'shell' })).toEqual({
      ok: true,
      argv: [commandV('sh')],
    });
    expect(await resolver.resolve({ path: path.join(dir, 'x.bash'), kind: 'shell' })).toEqual({
      ok: true,
      argv: [commandV('bash')],
    });
  });

  it('reports interpreter-not-found for a shebang program that is not on PATH', async () => {
    const resolver = new InterpreterResolver({ projectRoot: dir });
    const resolution = await resolver.resolve({ path: 'x.sh', kind: 'shell', shebang: '/usr/bin/env nonexistent-xyz' });
    expect(resolution).toMatchObject({ ok: false, reason: 'interpreter-not-found' });
  });

  it('reports interpreter-not-found for a configured interpreter that is not on PATH', async () => {
    const resolver = new InterpreterResolver({ projectRoot: dir });
    const resolution = await resolver.resolve({ path: fixture('noop.sh'), kind: 'shell', interpreter: ['nonexistent-xyz'] });
    expect(resolution.ok).toBe(false);
    if (resolution.ok) return;
    expect(resolution.reason).toBe('interpreter-not-found');
    expect(resolution.detail).toContain('nonexistent-xyz');
  });

  it('looks up a configured interpreter on PATH and keeps its arguments', async () => {
    const resolver = new InterpreterResolver({ projectRoot: dir });
    const resolution = await resolver.resolve({ path: fixture('noop.py'), kind: 'python', interpreter: ['bash', '-x'] });
    expect(resolution).toEqual({ ok: true, argv: [commandV('bash'), '-x'] });
  });

  it('reports not-executable for an executable-kind file without an x bit', async () => {
    const file = path.join(dir, 'tool');
    await writeFile(file, '#!/bin/sh\necho hi\n', { mode: 0o644 });
    const resolver = new InterpreterResolver({ projectRoot: dir });
    const resolution = await resolver.resolve({ path: file, kind: 'executable' });
    expect(resolution).toMatchObject({ ok: false, reason: 'not-executable' });
  });

  it('execs an executable-kind file with an x bit directly', async () => {
    const file = path.join(dir, 'tool');
    await writeExecutable(file, '#!/bin/sh\necho hi\n');
    const resolver = new InterpreterResolver({ projectRoot: dir });
    expect(await resolver.resolve({ path: file, kind: 'executable' })).toEqual({ ok: true, argv: [] });
  });

  it('runs JavaScript with this node', async () => {
    const resolver = new InterpreterResolver({ projectRoot: dir });
    expect(await resolver.resolve({ path: fixture('noop.js'), kind: 'node' })).toEqual({
      ok: true,
      argv: [process.execPath],
    });
  });

  it('runs TypeScript with this node and the tsx loader, which really runs a .ts file', async () => {
    const resolver = new InterpreterResolver({ projectRoot: dir });
    const resolution = await resolver.resolve({ path: fixture('noop.ts'), kind: 'typescript' });
    expect(resolution.ok).toBe(true);
    if (!resolution.ok) return;
    const [node, flag, loader, ...rest] = resolution.argv;
    expect(node).toBe(process.execPath);
    expect(flag).toBe('--import');
    expect(loader).toMatch(/tsx/);
    expect(rest).toEqual([]);
    await access(fileURLToPath(loader as string), constants.R_OK);
    const outcome = await runProcess({
      command: node as string,
      args: [flag as string, loader as string, fixture('noop.ts')],
      cwd: dir,
      env: { ...process.env },
      timeout: 20_000,
      killGrace: 1000,
    });
    expect(outcome.stderr.tail()).toBe('');
    expect(outcome.exitCode).toBe(0);
    expect(outcome.stdout.tail()).toBe('ok from ts\n');
  });
});
