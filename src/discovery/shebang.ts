import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import type { ScriptKind } from './types.js';

/** Script kinds by file extension. `.d.ts` files are excluded before this is consulted. */
export const KIND_BY_EXTENSION: ReadonlyMap<string, ScriptKind> = new Map([
  ['.py', 'python'],
  ['.sh', 'shell'],
  ['.bash', 'shell'],
  ['.js', 'node'],
  ['.mjs', 'node'],
  ['.cjs', 'node'],
  ['.ts', 'typescript'],
]);

/** The most discovery ever reads from a file. */
export const SHEBANG_BYTES = 256;

/**
 * Reads at most the first {@link SHEBANG_BYTES} bytes of a file and returns its shebang line without
 * `#!`, trimmed, or `undefined` when the file does not start with `#!`.
 *
 * Synchronous on purpose: open, read and close through the promise API are three thread-pool round
 * trips per file, which made 10,000 files take over a second. Callers read in small batches and yield
 * between them.
 */
export function readShebangSync(file: string, buffer: Buffer = Buffer.alloc(SHEBANG_BYTES)): string | undefined {
  const descriptor = openSync(file, 'r');
  try {
    const bytesRead = readSync(descriptor, buffer, 0, SHEBANG_BYTES, 0);
    return parseShebang(buffer.subarray(0, bytesRead));
  } finally {
    closeSync(descriptor);
  }
}

export function parseShebang(bytes: Uint8Array): string | undefined {
  if (bytes[0] !== 0x23 || bytes[1] !== 0x21) return undefined;
  const newline = bytes.indexOf(0x0a);
  const line = Buffer.from(bytes.subarray(2, newline === -1 ? bytes.length : newline));
  return line.toString('utf8').trim();
}

/**
 * The kind a shebang names (`python`, `node`, `bash` or `sh`, directly or through `env`), or
 * `undefined` for any other interpreter.
 */
export function kindFromShebang(shebang: string): ScriptKind | undefined {
  const words = shebang.split(/\s+/).filter((word) => word !== '');
  let program = words[0];
  if (program !== undefined && path.posix.basename(program) === 'env') {
    // `#!/usr/bin/env -S node --flag` and `#!/usr/bin/env VAR=1 python3`: the program is the first
    // word that is neither an option nor an assignment.
    program = words.slice(1).find((word) => !word.startsWith('-') && !word.includes('='));
  }
  if (program === undefined) return undefined;
  const name = path.posix.basename(program);
  if (/^python[0-9.]*$/.test(name)) return 'python';
  if (name === 'node' || name === 'nodejs') return 'node';
  if (name === 'bash' || name === 'sh') return 'shell';
  return undefined;
}
