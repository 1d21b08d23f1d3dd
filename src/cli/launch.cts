#!/usr/bin/env node
/*
 * The `orchestrator` command: runs the CLI bundle (`cli.cjs`, beside this file) with a V8 code
 * cache, so a start deserialises the bundle's compiled functions instead of parsing and compiling
 * them again (about 75 ms of each start on a 2-core machine, every command). Node 20 has no
 * built-in compile cache (module.enableCompileCache is Node 22), so this is the same technique as
 * the `v8-compile-cache` package, for one file:
 *
 * - The cache is written at the first exit after the bundle changed (or when V8 rejected it: a
 *   different Node, other V8 flags), with the functions that run compiled, so it covers the
 *   commands that were run. `run` gets a cache of its own: it is the command whose start matters.
 * - Cached code is code: it is read only from a folder of this user's that nobody else can
 *   write (`$XDG_CACHE_HOME` or ~/.cache, else a private folder in the temp dir), and each file
 *   names the exact bundle it was made from (size, mtime, inode, Node version).
 * - ORCHESTRATOR_CODE_CACHE=0 turns it off; =debug says on stderr what became of it. Any problem
 *   with the cache only costs the speed-up.
 */
import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import vm from 'node:vm';

const bundle = path.join(__dirname, 'cli.cjs');

// import() inside a code-cached vm script fails on Node 20 once the cache is used: the bundle
// imports through this module's import() instead (src/util/dynamic-import.ts).
(globalThis as Record<symbol, unknown>)[Symbol.for('codomyrmex-orchestrator.import')] = (specifier: string) => import(specifier);

if (process.env.ORCHESTRATOR_CODE_CACHE === '0') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle is a CommonJS file on disk
  require(bundle);
} else {
  runCached();
}

function runCached(): void {
  // esbuild writes ASCII (comments aside): decoding it as Latin-1 is 4x faster than as UTF-8.
  const bytes = readFileSync(bundle);
  let source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  // The shebang is not JavaScript inside the function wrapper; `//` keeps the length V8 checks.
  if (source.startsWith('#!')) source = `//${source.slice(2)}`;
  const stat = statSync(bundle);
  const key = `${process.version} ${process.arch} ${stat.size} ${stat.mtimeMs} ${stat.ino}`;
  const file = cacheFile(process.argv[2] === 'run' ? 'run' : 'cli');
  const cachedData = file ? readCache(file, key) : undefined;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    ...(cachedData ? { cachedData } : {}),
  });
  const debug = process.env.ORCHESTRATOR_CODE_CACHE === 'debug';
  if (debug) process.stderr.write(`code cache: ${file ?? 'no private folder'}: ${!cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'}\n`);
  if (file && (!cachedData || script.cachedDataRejected)) {
    process.once('exit', () => {
      const written = writeCache(file, key, script);
      if (debug) process.stderr.write(`code cache: ${written ? 'written' : 'not written'}\n`);
    });
  }
  const fn = script.runInThisContext() as (...args: unknown[]) => void;
  const mod = { exports: {}, filename: bundle, id: '.', loaded: false };
  fn.call(mod.exports, mod.exports, createRequire(bundle), mod, bundle, __dirname);
}

/** `<cache folder>/<bundle path hash>-<kind>.bin`, or undefined when there is no safe folder. */
function cacheFile(kind: string): string | undefined {
  const env = process.env;
  const uid = process.getuid?.() ?? -1;
  const candidates = [
    env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : undefined,
    safeHome() ? path.join(homedir(), '.cache') : undefined,
    path.join(tmpdir(), `codomyrmex-orchestrator-${uid}`),
  ];
  const name = `${hash(bundle)}-${kind}.bin`;
  for (const base of candidates) {
    if (!base) continue;
    const dir = base.endsWith(`-${uid}`) ? path.join(base, 'v8') : path.join(base, 'codomyrmex-orchestrator', 'v8');
    if (privateDir(dir, uid)) return path.join(dir, name);
  }
  return undefined;
}

/** FNV-1a of a path, in hex: names the cache of one installed bundle (node:crypto costs ms to load). */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function safeHome(): boolean {
  try {
    return homedir() !== '' && homedir() !== '/';
  } catch {
    return false;
  }
}

/** True when `dir` exists (made if need be, mode 700) as a real folder of this user that only they can write. */
function privateDir(dir: string, uid: number): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const info = lstatSync(dir);
    return info.isDirectory() && (uid < 0 || info.uid === uid) && (info.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** The cache data after its key line, when the key matches and the file is this user's alone. */
function readCache(file: string, key: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    // Checked on the open file, not the path: the folder was checked, but a path can be swapped.
    const info = fstatSync(fd);
    const uid = process.getuid?.() ?? -1;
    if (!info.isFile() || (uid >= 0 && info.uid !== uid) || (info.mode & 0o022) !== 0) return undefined;
    const data = readFileSync(fd);
    const newline = data.indexOf(10);
    if (newline < 0 || data.toString('utf8', 0, newline) !== key) return undefined;
    return data.subarray(newline + 1);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Written beside and renamed into place, so a reader never sees half a file. */
function writeCache(file: string, key: string, script: vm.Script): boolean {
  try {
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, Buffer.concat([Buffer.from(`${key}\n`), script.createCachedData()]), { mode: 0o600 });
    renameSync(temp, file);
    return true;
  } catch {
    // No cache this time: the next start compiles again.
    return false;
  }
}
