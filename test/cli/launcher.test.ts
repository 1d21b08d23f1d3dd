import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN } from './cli-rig.js';

// The `orchestrator` bin (src/cli/launch.cts) runs the CLI bundle through a V8 code cache kept in
// a private folder of the user's. ORCHESTRATOR_CODE_CACHE=debug makes it say what it did.
const SHIM = fileURLToPath(new URL('../../dist/bin/orchestrator.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../dist/bin/cli.cjs', import.meta.url));

let home: string;
beforeEach(() => {
  home = mkdtempSync(path.join(tmpdir(), 'orch-launch-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}, bin = BIN, cwd = home) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: path.join(home, 'cache'), ORCHESTRATOR_CODE_CACHE: 'debug', ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const cacheDir = () => path.join(home, 'cache', 'codomyrmex-orchestrator', 'v8');
const cacheFiles = () => (existsSync(cacheDir()) ? readdirSync(cacheDir()).filter((f) => f.endsWith('.bin')) : []);

describe('the orchestrator bin and its code cache', () => {
  it('bundles only what the CLI uses of zod: English messages, not its 40 locales', () => {
    // Every start reads the whole bundle and keeps it as the source of lazily compiled code (and
    // every step's fork copies it): `import { z } from 'zod'` made it 600 KB bigger.
    const text = readFileSync(BUNDLE, 'latin1');
    // A word of zod's German messages, and one of its English ones.
    expect(text).not.toContain('Kreditkartennummer');
    expect(text).toContain('Invalid input');
    expect(statSync(BUNDLE).size).toBeLessThan(1_000_000);
  });

  it('writes a cache at the first start, uses it at the next, and keeps `run` apart', () => {
    const first = cli(['--version']);
    expect(first.code).toBe(0);
    expect(first.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(first.stderr).toMatch(/code cache: .*-cli\.bin: none\ncode cache: written/);
    expect(cacheFiles()).toHaveLength(1);

    const second = cli(['--version']);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toMatch(/code cache: .*-cli\.bin: used/);
    expect(second.stderr).not.toMatch(/written/);

    // `run --help` is not a run: it shares the other commands' cache.
    expect(cli(['run', '--help']).stderr).toMatch(/-cli\.bin: used/);
    const run = cli(['run', 'nowhere']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/-run\.bin: none\n[^]*code cache: written/);
    expect(cacheFiles()).toHaveLength(2);
    // The folder and the files are the user's alone: cached code is code.
    expect(readdirSync(cacheDir()).every((f) => (statSync(path.join(cacheDir(), f)).mode & 0o077) === 0)).toBe(true);
    expect(statSync(cacheDir()).mode & 0o077).toBe(0);
  });

  it('runs a bundle that holds non-ASCII text (decoded as UTF-8), cached like any other', () => {
    const copy = path.join(home, 'pkg', 'bin');
    mkdirSync(copy, { recursive: true });
    cpSync(path.dirname(BUNDLE), copy, { recursive: true });
    cpSync(fileURLToPath(new URL('../../package.json', import.meta.url)), path.join(home, 'package.json'));
    // (UTF-8 decoding instead of Latin-1; the shebang, kept from src/cli/bin.ts, becomes a comment
    // inside the wrapper.)
    const original = readFileSync(BUNDLE, 'utf8');
    expect(original.startsWith('#!')).toBe(true);
    writeFileSync(path.join(copy, 'cli.cjs'), `${original.replace('output the version number', 'output the version n\u00fcmber')}`);
    const bin = path.join(copy, 'orchestrator.cjs');
    const first = cli(['--help'], {}, bin);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('output the version n\u00fcmber');
    expect(first.stderr).toMatch(/: none\ncode cache: written/);
    const second = cli(['--help'], {}, bin);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toMatch(/: used/);
  });

  it('ignores a cache made for another build of the bundle, and one V8 rejects', () => {
    cli(['--version']);
    const [file] = cacheFiles();
    const cache = path.join(cacheDir(), file as string);

    // Another build of the same size (here: one byte of a comment changed, and its stamp): the
    // key no longer matches and the cache is made again. V8 alone would accept it.
    const original = readFileSync(BUNDLE, 'latin1');
    const copy = path.join(home, 'pkg', 'bin');
    mkdirSync(copy, { recursive: true });
    cpSync(path.dirname(BUNDLE), copy, { recursive: true });
    cpSync(fileURLToPath(new URL('../../package.json', import.meta.url)), path.join(home, 'package.json'));
    const other = original.replace(/\/\/ build ([0-9a-f])/, (_m, c: string) => `// build ${c === '0' ? '1' : '0'}`);
    expect(other.length).toBe(original.length);
    expect(other).not.toBe(original);
    writeFileSync(path.join(copy, 'cli.cjs'), other, 'latin1');
    const stale = path.join(cacheDir(), cacheFiles()[0] as string);
    const copyBin = path.join(copy, 'orchestrator.cjs');
    const first = cli(['--version'], {}, copyBin);
    expect(first.code, first.stderr).toBe(0);
    // The copy has a cache file of its own (another path); give it this build's cache instead.
    const copyCache = (/code cache: (\S+): none/.exec(first.stderr) ?? [])[1] as string;
    cpSync(stale, copyCache);
    const changed = cli(['--version'], {}, copyBin);
    expect(changed.stderr).toMatch(/: none\ncode cache: written/);
    expect(cli(['--version'], {}, copyBin).stderr).toMatch(/: used/);
    // An edit by hand that keeps the length and the stamp (patching an installed file).
    const edited = other.replace('output the version number', 'output the VERSION number');
    expect(edited.length).toBe(other.length);
    writeFileSync(path.join(copy, 'cli.cjs'), edited, 'latin1');
    const afterEdit = cli(['--help'], {}, copyBin);
    expect(afterEdit.stderr).toMatch(/: none\ncode cache: written/);
    expect(afterEdit.stdout).toContain('output the VERSION number');

    // The right key over data V8 cannot use: rejected, the CLI still works, the cache is remade.
    const key = readFileSync(cache, 'utf8').split('\n', 1)[0] as string;
    const good = cli(['--version']);
    expect(good.stderr).toMatch(/: (none|used)/);
    const current = readFileSync(cache, 'utf8').split('\n', 1)[0] as string;
    writeFileSync(cache, `${current}\n${'garbage'.repeat(100)}`);
    const rejected = cli(['--version']);
    expect(rejected.code).toBe(0);
    expect(rejected.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(rejected.stderr).toMatch(/: rejected\ncode cache: written/);
    expect(cli(['--version']).stderr).toMatch(/: used/);
    expect(key).toContain(process.version);
  });

  it('never reads a cache from a folder others can write', () => {
    mkdirSync(cacheDir(), { recursive: true });
    chmodSync(cacheDir(), 0o777);
    const result = cli(['--version']);
    expect(result.code).toBe(0);
    // Falls back to the private folder in the temp dir, never the shared one.
    expect(result.stderr).not.toContain(cacheDir());
    expect(cacheFiles()).toHaveLength(0);
  });

  it('never uses a cache folder with a folder on the way others can write', () => {
    mkdirSync(cacheDir(), { recursive: true });
    chmodSync(path.dirname(cacheDir()), 0o777);
    expect(cli(['--version']).stderr).not.toContain(cacheDir());
    chmodSync(path.dirname(cacheDir()), 0o700);
    chmodSync(path.join(home, 'cache'), 0o777);
    expect(cli(['--version']).stderr).not.toContain(cacheDir());
    chmodSync(path.join(home, 'cache'), 0o700);
    expect(cli(['--version']).stderr).toContain(cacheDir());
  });

  it('uses a cache root that is a link to a private folder; never one inside a folder of another user', () => {
    const real = path.join(home, 'real-cache');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, path.join(home, 'linked'));
    const linked = cli(['--version'], { XDG_CACHE_HOME: path.join(home, 'linked') });
    expect(linked.stderr).toContain(`code cache: ${path.join(real, 'codomyrmex-orchestrator', 'v8')}`);
    if (process.getuid?.() !== 0) return; // making a folder of another user needs root
    const other = path.join(home, 'other');
    mkdirSync(other, { mode: 0o755 });
    chownSync(other, 12345, 12345);
    const result = cli(['--version'], { XDG_CACHE_HOME: path.join(other, 'cache') });
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain(other);
    expect(existsSync(path.join(other, 'cache'))).toBe(false);
  });

  it('never reads a cache through a link', () => {
    cli(['--version']);
    const cache = path.join(cacheDir(), cacheFiles()[0] as string);
    const elsewhere = path.join(home, 'elsewhere.bin');
    renameSync(cache, elsewhere);
    symlinkSync(elsewhere, cache);
    expect(cli(['--version']).stderr).toMatch(/: none\ncode cache: written/);
    expect(lstatSync(cache).isSymbolicLink()).toBe(false);
  });

  it('runs from an install path with characters URLs encode (#, %41)', () => {
    const install = path.join(home, 'in#stall %41', 'pkg');
    mkdirSync(path.join(install, 'dist'), { recursive: true });
    cpSync(path.dirname(BIN), path.join(install, 'dist', 'bin'), { recursive: true });
    cpSync(fileURLToPath(new URL('../../package.json', import.meta.url)), path.join(install, 'package.json'));
    symlinkSync(fileURLToPath(new URL('../../node_modules', import.meta.url)), path.join(install, 'node_modules'));
    const bin = path.join(install, 'dist', 'bin', 'orchestrator.cjs');
    const version = cli(['--version'], {}, bin);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    // A run with its history: better-sqlite3 is loaded relative to the bundle's URL.
    const project = path.join(home, 'project');
    mkdirSync(path.join(project, '.git'), { recursive: true });
    writeFileSync(path.join(project, 'wf.yaml'), 'name: w\nsteps:\n  - id: a\n    run: echo hi\n');
    const run = cli(['run', 'wf.yaml', '--json', '-o', path.join(home, 'out')], {}, bin, project);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { status: string }).status).toBe('succeeded');
  });

  it('never reads a cache file others can write', () => {
    cli(['--version']);
    const cache = path.join(cacheDir(), cacheFiles()[0] as string);
    chmodSync(cache, 0o666);
    const result = cli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/: none\ncode cache: written/);
    expect(statSync(cache).mode & 0o077).toBe(0);
  });

  it('ORCHESTRATOR_CODE_CACHE=0 turns it off', () => {
    const result = cli(['--version'], { ORCHESTRATOR_CODE_CACHE: '0' });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(cacheFiles()).toHaveLength(0);
  });

  it('the path of earlier versions, dist/bin/orchestrator.js, still starts the CLI', () => {
    const result = cli(['--version'], {}, SHIM);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('imports module functions into its own process from the cached bundle (import(), tsx)', () => {
    const project = path.join(home, 'project');
    mkdirSync(path.join(project, '.git'), { recursive: true });
    writeFileSync(path.join(project, 'lib.ts'), 'export function add(a: number, b: number): number { return a + b; }\n');
    writeFileSync(path.join(project, 'lib.mjs'), 'export function mul(a, b) { return a * b; }\n');
    writeFileSync(
      path.join(project, 'wf.yaml'),
      [
        'name: inline',
        'steps:',
        '  - id: add',
        '    function: { module: lib.ts, export: add, args: [2, 3], isolation: inline }',
        '  - id: mul',
        '    function: { module: lib.mjs, export: mul, args: [2, 3], isolation: inline }',
        '',
      ].join('\n'),
    );
    for (let start = 0; start < 2; start++) {
      const result = cli(['run', 'wf.yaml', '--json', '--no-history', '-o', path.join(home, 'out')], {}, BIN, project);
      expect(result.stderr).toMatch(start === 0 ? /-run\.bin: none/ : /-run\.bin: used/);
      const summary = JSON.parse(result.stdout) as { status: string; steps: Array<{ id: string; value?: unknown }> };
      expect(summary.status, result.stderr).toBe('succeeded');
      expect(summary.steps.map((s) => [s.id, s.value])).toEqual([
        ['add', 5],
        ['mul', 6],
      ]);
    }
  });
});

