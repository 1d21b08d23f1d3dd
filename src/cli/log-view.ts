import { open, stat } from 'node:fs/promises';
import type { CliIo } from './types.js';

/** Bytes read at a time: a log may be far larger than memory. */
const CHUNK = 65_536;

/** How often `logs --follow` looks for new output. */
export const FOLLOW_POLL_MS = 200;

/** Writes to the stream, waiting when it asks for a pause (a slow pipe must not fill memory). */
async function write(out: CliIo['stdout'], chunk: Buffer): Promise<void> {
  if (chunk.length === 0 || out.write(chunk)) return;
  await new Promise<void>((resolve) => out.once('drain', resolve));
}

/**
 * Feeds the bytes of `file` from `from` to its current end to `sink`, a chunk at a time. Returns
 * the offset read up to (`from` when the file is missing or shorter).
 */
export async function readRange(file: string, from: number, sink: (chunk: Buffer) => Promise<void>): Promise<number> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return from;
  }
  try {
    const end = (await handle.stat()).size;
    let offset = from;
    const buffer = Buffer.allocUnsafe(CHUNK);
    while (offset < end) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK, end - offset), offset);
      if (bytesRead === 0) break;
      // A copy: the sink may keep it while the buffer is reused.
      await sink(Buffer.from(buffer.subarray(0, bytesRead)));
      offset += bytesRead;
    }
    return offset;
  } finally {
    await handle.close();
  }
}

/** Prints a whole file (in chunks); returns its size as read, or undefined when it cannot be read. */
export async function printFile(out: CliIo['stdout'], file: string): Promise<number | undefined> {
  const size = await stat(file).then((s) => s.size, () => undefined);
  if (size === undefined) return undefined;
  return readRange(file, 0, (chunk) => write(out, chunk));
}

/**
 * Prints the last `lines` lines of a file, reading backwards from its end in chunks, so a huge log
 * costs what the lines cost. Ends with a newline, like the file's lines. Returns the size read up
 * to, or undefined when the file cannot be read.
 */
export async function printTail(out: CliIo['stdout'], file: string, lines: number): Promise<number | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return undefined;
  }
  let start = 0;
  let size: number;
  let endsWithNewline = true;
  try {
    size = (await handle.stat()).size;
    const buffer = Buffer.allocUnsafe(CHUNK);
    let position = size;
    let newlines = 0;
    // The newline that ends the last line does not start another line.
    let skipLast = true;
    search: while (position > 0) {
      const length = Math.min(CHUNK, position);
      position -= length;
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      for (let i = bytesRead - 1; i >= 0; i -= 1) {
        if (buffer[i] !== 0x0a) {
          skipLast = false;
          continue;
        }
        if (skipLast) {
          skipLast = false;
          continue;
        }
        newlines += 1;
        if (newlines === lines) {
          start = position + i + 1;
          break search;
        }
      }
    }
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      endsWithNewline = last[0] === 0x0a;
    }
  } finally {
    await handle.close();
  }
  const read = await readRange(file, start, (chunk) => write(out, chunk));
  if (!endsWithNewline) await write(out, Buffer.from('\n'));
  return read;
}

const RULE = '='.repeat(60);
const TITLE = / · attempt (\d+)$/;
const STREAM_RULE = /^(STDOUT|STDERR) \((\d+) bytes\)$/;
/** Longest line kept for recognising a section's title or stream rule; longer lines are printed only. */
const MAX_KEPT_LINE = 4096;

export type LogStream = 'stdout' | 'stderr';

/**
 * Prints a step log as it grows, section by section (one per attempt: a header, then the attempt's
 * stdout and stderr with their byte counts). Output of an attempt that `logs --follow` already
 * showed live from its spill files is skipped when the attempt's section reaches the log, so
 * nothing is printed twice. Any other byte is printed as it is, as soon as it is read.
 */
export class SectionPrinter {
  readonly #out: CliIo['stdout'];
  readonly #shownLive: (attempt: number, stream: LogStream) => number;
  /** The start of the current line (up to MAX_KEPT_LINE bytes), to recognise headers. */
  #line: Buffer[] = [];
  #lineBytes = 0;
  #expectBody: { stream: LogStream; bytes: number } | undefined;
  #bodyLeft = 0;
  #skipLeft = 0;
  /** Attempt of the section being read. */
  #attempt = 0;
  /** Highest attempt whose section has begun in the log. */
  lastAttempt = 0;

  constructor(out: CliIo['stdout'], shownLive: (attempt: number, stream: LogStream) => number) {
    this.#out = out;
    this.#shownLive = shownLive;
  }

  async push(chunk: Buffer): Promise<void> {
    // Bytes are printed in runs (from `printFrom`), not line by line; only skipped output breaks a run.
    let printFrom = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, chunk.length - i);
        const skip = Math.min(this.#skipLeft, take);
        if (skip > 0) {
          await write(this.#out, chunk.subarray(printFrom, i));
          printFrom = i + skip;
        }
        this.#skipLeft -= skip;
        this.#bodyLeft -= take;
        i += take;
        continue;
      }
      const newline = chunk.indexOf(0x0a, i);
      const end = newline === -1 ? chunk.length : newline + 1;
      if (this.#lineBytes < MAX_KEPT_LINE) this.#line.push(chunk.subarray(i, Math.min(end, i + MAX_KEPT_LINE - this.#lineBytes)));
      this.#lineBytes += end - i;
      i = end;
      if (newline !== -1) this.#endLine();
    }
    await write(this.#out, chunk.subarray(printFrom));
  }

  #endLine(): void {
    const text = this.#lineBytes <= MAX_KEPT_LINE ? Buffer.concat(this.#line).toString('utf8').replace(/\r?\n$/, '') : '';
    this.#line = [];
    this.#lineBytes = 0;
    const expected = this.#expectBody;
    this.#expectBody = undefined;
    if (text === RULE && expected) {
      this.#bodyLeft = expected.bytes;
      this.#skipLeft = Math.min(expected.bytes, this.#shownLive(this.#attempt, expected.stream));
      return;
    }
    const title = TITLE.exec(text);
    if (title) {
      this.#attempt = Number(title[1]);
      this.lastAttempt = Math.max(this.lastAttempt, this.#attempt);
      return;
    }
    const rule = STREAM_RULE.exec(text);
    if (rule) this.#expectBody = { stream: rule[1] === 'STDOUT' ? 'stdout' : 'stderr', bytes: Number(rule[2]) };
  }
}

/**
 * Where a running attempt's output spills beside the log once it outgrows memory or the attempt has
 * run for a second (execution/process-runner, `spillAfterMs`).
 */
export function spillFile(logPath: string, attempt: number, stream: LogStream): string {
  return `${logPath}.${attempt}.part.${stream}`;
}

export interface FollowOptions {
  logPath: string;
  /** Offset of the log already printed. */
  from: number;
  printer: SectionPrinter;
  /** Bytes of each attempt's spill files already printed; the printer skips them in the log. */
  shownLive: Map<string, number>;
  /** False once the run is over (finished, cancelled, or its orchestrator gone). */
  running: () => Promise<boolean>;
  /** The step's latest recorded attempt (0 before it starts). */
  recordedAttempt: () => number;
  out: CliIo['stdout'];
}

/**
 * `logs --follow`: prints each attempt's section as it reaches the log, and while an attempt
 * runs, its output from the spill files (an attempt still running after a second, or whose output
 * outgrew memory, writes there; a quicker one reaches the log only when it ends, so its output
 * is printed with its section). Returns when the run is no longer running, after
 * one last read of the log: the run's status is read *before* the log, so whatever was written
 * before the run ended is printed.
 */
export async function followLog(options: FollowOptions): Promise<void> {
  const { logPath, printer, shownLive } = options;
  let offset = options.from;
  for (;;) {
    const running = await options.running();
    offset = await readRange(logPath, offset, (chunk) => printer.push(chunk));
    if (!running) return;
    // The running attempt is the one after the last section in the log; the store may know a later one.
    const next = Math.max(options.recordedAttempt(), printer.lastAttempt + 1);
    for (const attempt of [next, next + 1]) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const key = `${attempt}.${stream}`;
        const shown = shownLive.get(key) ?? 0;
        const read = await readRange(spillFile(logPath, attempt, stream), shown, (chunk) => write(options.out, chunk));
        if (read > shown) shownLive.set(key, read);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
  }
}
