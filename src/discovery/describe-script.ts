import { statSync } from 'node:fs';
import path from 'node:path';
import { KIND_BY_EXTENSION, kindFromShebang, readShebangSync } from './shebang.js';
import type { DiscoveredScript } from './types.js';

/**
 * Describes one script file given by path, the way discovery would (kind from the extension, else from
 * the shebang, else `executable`), with `relativePath` and `name` set to the file name and `group` `.`.
 * It applies no skip rules and does not throw for a missing or unreadable file: running it is what
 * fails, and that failure is reported as a run outcome.
 *
 * @example
 * const script = await describeScript('/repo/scripts/report');
 * // { kind: 'python', shebang: '/usr/bin/env python3', relativePath: 'report', ... }
 */
export function describeScript(file: string): Promise<DiscoveredScript> {
  if (typeof file !== 'string' || file === '') {
    return Promise.reject(
      new TypeError(`Expected a script path to be a non-empty string, got \`${String(file)}\` (${typeof file})`),
    );
  }
  const absolute = path.resolve(file);
  const name = path.basename(absolute);
  let shebang: string | undefined;
  try {
    // Only regular files are opened: opening a FIFO would block.
    if (statSync(absolute).isFile()) shebang = readShebangSync(absolute);
  } catch {
    shebang = undefined;
  }
  const fromShebang = shebang === undefined ? undefined : kindFromShebang(shebang);
  const kind = KIND_BY_EXTENSION.get(path.extname(name)) ?? fromShebang ?? 'executable';
  const script: DiscoveredScript = { path: absolute, relativePath: name, name, group: '.', kind };
  if (shebang !== undefined) script.shebang = shebang;
  return Promise.resolve(script);
}
