import { colorsFor } from './colors.js';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describeFileType } from '../util/regular-file.js';
import type { CliIo } from './types.js';

/**
 * What a command was pointed at: a folder of scripts or a workflow file; otherwise says why not.
 * A module of its own so that `validate` does not load the run command (engines, reporters, run
 * history): start-up is part of every `validate`, and CI runs it on big workflow files.
 */
export async function resolveTarget(target: string, io: CliIo): Promise<{ kind: 'file' | 'folder'; path: string } | undefined> {
  const abs = path.resolve(io.cwd, target);
  try {
    const info = await stat(abs);
    if (info.isDirectory()) return { kind: 'folder', path: abs };
    if (info.isFile() && /\.(ya?ml|json)$/i.test(abs)) return { kind: 'file', path: abs };
    // A FIFO, socket or device is named as such: it is never opened.
    const what = info.isFile() ? '' : ` (${describeFileType(info)})`;
    io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} expected a folder of scripts or a workflow file (.yaml, .yml, .json), got ${abs}${what}\n`);
  } catch {
    io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} expected a folder of scripts or a workflow file, got ${abs} (does not exist)\n`);
  }
  return undefined;
}
