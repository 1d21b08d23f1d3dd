import { closeSync, constants, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';

/** What a file that is not a regular one is, for messages: `a FIFO`, `a folder`… */
export function describeFileType(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** Thrown by `readRegularFile` for a FIFO, socket, device or folder, which it never reads. */
export class NotRegularFileError extends Error {
  constructor(readonly type: string) {
    super(`expected a regular file, got ${type}`);
    this.name = 'NotRegularFileError';
  }
}

// Opening a FIFO waits for a writer; without blocking it returns at once, and fstat then says what
// was opened (the path may have been swapped for a FIFO after the stat).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Reads a file as UTF-8 only when it is a regular file (links followed): a FIFO would hang the
 * reader, a device never end. Throws `NotRegularFileError` for anything else, as `readFile` throws.
 */
export async function readRegularFile(file: string): Promise<string> {
  const before = await stat(file);
  if (!before.isFile()) throw new NotRegularFileError(describeFileType(before));
  const handle = await open(file, OPEN_FLAGS);
  try {
    const opened = await handle.stat();
    if (!opened.isFile()) throw new NotRegularFileError(describeFileType(opened));
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** `readRegularFile`, synchronous. */
export function readRegularFileSync(file: string): string {
  const before = statSync(file);
  if (!before.isFile()) throw new NotRegularFileError(describeFileType(before));
  const fd = openSync(file, OPEN_FLAGS);
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw new NotRegularFileError(describeFileType(opened));
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
