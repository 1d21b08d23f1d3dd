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
 * - Cached code is code: it is read only from folders of this user's that nobody else can write,
 *   from the cache root down (`$XDG_CACHE_HOME` or ~/.cache, else a private folder in the temp
 *   dir), never through a link, and each file names the exact build it was made from (a hash of
 *   the bundle's content stamped at build time, its size, the Node version).
 * - ORCHESTRATOR_CODE_CACHE=0 turns it off; =debug says on stderr what became of it. Any problem
 *   with the cache only costs the speed-up.
 */
import { isAscii } from 'node:buffer';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import vm from 'node:vm';

const bundle = path.join(__dirname, 'cli.cjs');

// import() inside a code-cached vm script fails on Node 20 once the cache is used: the bundle
// imports through this module's import() instead (src/util/dynamic-import.ts).
(globalThis as Record<symbol, unknown>)[Symbol.for('codomyrmex-orchestrator.import')] = (specifier: string) => import(specifier);

/** Node's own flags, from the command line and NODE_OPTIONS. */
const nodeFlags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ').trim();
const uid = process.getuid?.() ?? -1;

// Node maps stack traces of vm scripts to no source map: with --enable-source-maps, load it plainly.
const sourceMaps = (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true || nodeFlags.includes('--enable-source-maps');
if (process.env.ORCHESTRATOR_CODE_CACHE === '0' || sourceMaps) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle is a CommonJS file on disk
  require(bundle);
} else {
  runCached();
}

function runCached(): void {
  // The CommonJS wrapper and the bundle are read into one buffer and decoded once: the source
  // string is the only copy of the bundle left (V8 keeps it for lazily compiled functions), and
  // every megabyte less makes each fork() of this process, one per step, cheaper.
  const head = Buffer.from('(function (exports, require, module, __filename, __dirname) {');
  const tail = Buffer.from('\n})');
  // One open file for the bytes and the key, so a bundle replaced meanwhile cannot be cached under
  // the other one's key.
  const fd = openSync(bundle, 'r');
  let bytes: Buffer;
  let info: { size: number; mtimeMs: number; ino: number };
  try {
    info = fstatSync(fd);
    bytes = Buffer.allocUnsafeSlow(head.length + info.size + tail.length);
    head.copy(bytes, 0);
    let read = 0;
    while (read < info.size) {
      const n = readSync(fd, bytes, head.length + read, info.size - read, read);
      if (n === 0) throw new Error(`${bundle} was cut short while it was read`);
      read += n;
    }
    tail.copy(bytes, head.length + info.size);
  } finally {
    closeSync(fd);
  }
  // The shebang is not JavaScript inside the function wrapper; `//` keeps the length V8 checks.
  if (bytes[head.length] === 0x23 && bytes[head.length + 1] === 0x21) bytes.write('//', head.length, 'latin1');
  // V8 checks only the source's length: the key must tell builds apart. The build stamps a hash
  // of the bundle's content on its last line (tsup.config.ts), which a copy with the same size,
  // mtime and inode (a tarball unpacked over an install) still changes.
  const end = head.length + info.size;
  const build = /\/\/ build ([0-9a-f]{16,})\n?$/.exec(bytes.toString('latin1', Math.max(head.length, end - 80), end))?.[1] ?? 'unstamped';
  // mtime and inode catch an edit by hand that keeps the length (and the stamp).
  const key = `${process.version} ${process.arch} ${build} ${info.size} ${info.mtimeMs} ${info.ino}`;
  const file = cacheFile();
  let cachedData = file ? readCache(file, key) : undefined;
  // esbuild writes ASCII (comments aside, escaped at build time): Latin-1 decodes 4x faster.
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  bytes = Buffer.alloc(0);
  const script = new vm.Script(source, { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  const state = cachedData === undefined ? 'none' : script.cachedDataRejected === true ? 'rejected' : 'used';
  cachedData = undefined;
  const debug = process.env.ORCHESTRATOR_CODE_CACHE === 'debug';
  if (debug) process.stderr.write(`code cache: ${file ?? 'no private folder'}: ${state}\n`);
  if (file && state !== 'used') {
    process.once('exit', () => {
      const written = writeCache(file, key, script);
      if (debug) process.stderr.write(`code cache: ${written ? 'written' : 'not written'}\n`);
    });
  }
  const fn = script.runInThisContext() as (...args: unknown[]) => void;
  const mod = { exports: {}, filename: bundle, id: '.', loaded: false };
  fn.call(mod.exports, mod.exports, createRequire(bundle), mod, bundle, __dirname);
}

/**
 * `<cache folder>/<install hash>-<kind>.bin`, or undefined when there is no safe folder. `run`
 * (not its help) gets a cache of its own, and other V8 flags another file rather than turns of
 * rejecting and rewriting one.
 */
function cacheFile(): string | undefined {
  const env = process.env;
  const args = process.argv.slice(2);
  const kind = args[0] === 'run' && !args.includes('--help') && !args.includes('-h') ? 'run' : 'cli';
  const name = `${hash(bundle)}${nodeFlags ? `-${hash(nodeFlags)}` : ''}-${kind}.bin`;
  const home = safeHome();
  // Each: the folder the cache root goes in, and the folders to make below it.
  const candidates: [string | undefined, string[]][] = [
    [env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : undefined, ['codomyrmex-orchestrator', 'v8']],
    [home ? path.join(home, '.cache') : undefined, ['codomyrmex-orchestrator', 'v8']],
    [tmpdir(), [`codomyrmex-orchestrator-${uid}`, 'v8']],
  ];
  for (const [base, below] of candidates) {
    if (!base) continue;
    const dir = privatePath(base, below);
    if (dir) return path.join(dir, name);
  }
  return undefined;
}

/** FNV-1a of a text, in hex (node:crypto costs milliseconds to load). */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function safeHome(): string | undefined {
  try {
    const home = homedir();
    return path.isAbsolute(home) && home !== '/' ? home : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `base/below...`, made where missing (mode 700), when no one but this user (and root) can swap
 * any folder on the way: every folder from `/` down to `base`'s parent (links resolved) is owned
 * by root or this user and writable by no one else, or is sticky and root's (/tmp); `base` and
 * the folders below it are this user's alone. So root running with another user's HOME or TMPDIR
 * gets no cache there, and no one can plant a link for the write at exit.
 */
function privatePath(base: string, below: string[]): string | undefined {
  const trusted = (dir: string): boolean => {
    const info = lstatSync(dir);
    if (!info.isDirectory()) return false;
    if (uid < 0) return true; // no uids (Windows): nothing to check against
    if (info.uid !== 0 && info.uid !== uid) return false;
    return (info.mode & 0o022) === 0 || ((info.mode & 0o1000) !== 0 && info.uid === 0);
  };
  const own = (dir: string): boolean => {
    const info = lstatSync(dir);
    return info.isDirectory() && (uid < 0 || (info.uid === uid && (info.mode & 0o022) === 0));
  };
  const make = (dir: string): void => {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  };
  try {
    // Links resolved (a ~/.cache linked to another disk is fine when its real path is).
    let real: string;
    try {
      real = realpathSync(base);
    } catch {
      real = path.join(realpathSync(path.dirname(base)), path.basename(base));
    }
    for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
      if (!trusted(dir)) return undefined;
      if (path.dirname(dir) === dir) break;
    }
    let dir = real;
    if (base !== tmpdir()) {
      make(dir);
      if (!own(dir)) return undefined;
    } else if (!trusted(dir)) {
      return undefined;
    }
    for (const name of below) {
      dir = path.join(dir, name);
      make(dir);
      if (!own(dir)) return undefined;
    }
    return dir;
  } catch {
    return undefined;
  }
}

/** The cache data after its key line, when the key matches and the file is this user's alone. */
function readCache(file: string, key: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    // Never through a link, and checked on the open file.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const info = fstatSync(fd);
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

/**
 * Written to a new file beside (`wx`: made here, never through a link) and renamed into place, so
 * a reader never sees half a file; a failed write leaves nothing behind.
 */
function writeCache(file: string, key: string, script: vm.Script): boolean {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, Buffer.concat([Buffer.from(`${key}\n`), script.createCachedData()]), { mode: 0o600, flag: 'wx' });
    renameSync(temp, file);
    return true;
  } catch (error) {
    // (EEXIST: the temp file is not ours to remove.)
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      try {
        unlinkSync(temp);
      } catch {
        // not made, or already gone
      }
    }
    // No cache this time: the next start compiles again.
    return false;
  }
}
