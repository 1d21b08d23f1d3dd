import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { once } from 'node:events';

/**
 * Captures one output stream with bounded memory: the last `tailBytes` are kept for reports; the
 * whole stream is kept in memory only while it is smaller than `memoryBytes`, after which it spills
 * to `spillPath` on disk, or until `spillNow()` sends it there (a step that runs long, so that
 * `logs --follow` can read its output while it runs). Writes that the disk cannot keep up with
 * return false so the caller can pause the child's pipe (backpressure instead of growing memory).
 */
export class StreamCapture {
  readonly #tailBytes: number;
  readonly #memoryBytes: number;
  readonly #spillPath: string | undefined;
  #chunks: Buffer[] = [];
  #held = 0;
  #tail: Buffer[] = [];
  #tailHeld = 0;
  #spill: WriteStream | undefined;
  #spillError: Error | undefined;
  /** The spill file was copied or discarded, and removed. */
  #spillRemoved = false;
  /** `spillNow()` came before any output: the first chunk opens the spill file. */
  #spillEarly = false;
  bytes = 0;

  constructor(options: { tailBytes: number; memoryBytes: number; spillPath?: string }) {
    this.#tailBytes = options.tailBytes;
    this.#memoryBytes = options.memoryBytes;
    this.#spillPath = options.spillPath;
  }

  /** Returns false when the caller should wait for `drain()` before pushing more. */
  push(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    this.#pushTail(chunk);
    if (this.#spillError) return true;
    if (this.#spill) return this.#spill.write(chunk);
    if (this.#spillPath === undefined) return true;
    this.#chunks.push(chunk);
    this.#held += chunk.length;
    if (this.#held <= this.#memoryBytes && !this.#spillEarly) return true;
    return this.#openSpill(this.#spillPath);
  }

  /**
   * Sends the stream to the spill file from now on: what is held in memory is written there at
   * once, later chunks as they come. Without output yet, the file is created by the first chunk
   * (a silent step writes no file). Does nothing without a spill path or once spilled.
   */
  spillNow(): void {
    if (this.#spill || this.#spillPath === undefined || this.#spillRemoved) return;
    if (this.#chunks.length === 0) {
      this.#spillEarly = true;
      return;
    }
    // The caller learns of a full write buffer from its next `push`, which then returns false.
    this.#openSpill(this.#spillPath);
  }

  #openSpill(spillPath: string): boolean {
    this.#spill = createWriteStream(spillPath);
    this.#spill.on('error', (error) => {
      // A full or unwritable disk must not stall the script: keep only the tail from now on.
      this.#spillError = error;
      this.#spill?.emit('drain');
    });
    let ok = true;
    for (const held of this.#chunks) ok = this.#spill.write(held);
    this.#chunks = [];
    this.#held = 0;
    return ok;
  }

  async drain(): Promise<void> {
    const spill = this.#spill;
    if (!spill || this.#spillError || !spill.writableNeedDrain) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        spill.off('drain', done);
        spill.off('close', done);
        resolve();
      };
      spill.on('drain', done);
      spill.on('close', done);
    });
  }

  /** The error that stopped spilling to disk, if any: the log then holds only what was kept. */
  get spillError(): Error | undefined {
    return this.#spillError;
  }

  #pushTail(chunk: Buffer): void {
    if (chunk.length >= this.#tailBytes) {
      this.#tail = [chunk.subarray(chunk.length - this.#tailBytes)];
      this.#tailHeld = this.#tailBytes;
      return;
    }
    this.#tail.push(chunk);
    this.#tailHeld += chunk.length;
    while (this.#tailHeld - (this.#tail[0]?.length ?? 0) >= this.#tailBytes) {
      this.#tailHeld -= (this.#tail.shift() as Buffer).length;
    }
  }

  /** The kept tail, decoded; invalid UTF-8 becomes U+FFFD and a split first character is dropped. */
  tail(): string {
    let buffer = Buffer.concat(this.#tail);
    if (buffer.length > this.#tailBytes) buffer = buffer.subarray(buffer.length - this.#tailBytes);
    let text = buffer.toString('utf8');
    if (this.bytes > buffer.length) {
      // The cut may have split a multi-byte character.
      text = text.replace(/^\uFFFD+/, '');
    }
    return text;
  }

  /** Everything captured, when it is all still in memory (not spilled); else undefined. */
  held(): Buffer[] | undefined {
    return this.#spill ? undefined : this.#chunks;
  }

  /**
   * Copies everything captured to `out` (an open log stream), then removes the spill file. Rejects
   * when `out` fails; the spill file then stays until `discard()`.
   */
  async copyTo(out: WriteStream): Promise<void> {
    if (this.#spill && this.#spillError) {
      await writeTo(out, `[output could not be saved in full (${this.#spillError.message}); the last ${this.#tailBytes} bytes follow]\n`);
      for (const chunk of this.#tail) await writeTo(out, chunk);
      await this.discard();
      return;
    }
    if (this.#spill) {
      const spill = this.#spill;
      spill.end();
      if (!spill.closed) await once(spill, 'close');
      // Leaving the loop early (a failed write) destroys the input.
      for await (const chunk of createReadStream(this.#spillPath as string)) await writeTo(out, chunk as Buffer);
      await this.discard();
      return;
    }
    for (const chunk of this.#chunks) await writeTo(out, chunk);
  }

  /** Drops the spill file without copying it (no log is wanted, or writing it failed). */
  async discard(): Promise<void> {
    if (!this.#spill || this.#spillRemoved) return;
    this.#spillRemoved = true;
    this.#spill.end();
    if (!this.#spill.closed && !this.#spill.destroyed) await once(this.#spill, 'close').catch(() => undefined);
    await unlink(this.#spillPath as string).catch(() => undefined);
  }

  /** True when every byte of the stream ended with a newline or nothing was written. */
  get endsWithNewline(): boolean {
    const last = this.#tail[this.#tail.length - 1];
    return last === undefined || last[last.length - 1] === 0x0a;
  }
}

/** Writes to a stream, waiting for it to drain; rejects once the stream has failed. */
export async function writeTo(out: WriteStream, chunk: string | Buffer): Promise<void> {
  if (out.errored) throw out.errored;
  if (!out.write(chunk)) await once(out, 'drain');
}
