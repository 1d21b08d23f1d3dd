import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendLogSection, appendLogSectionSync, type LogSection } from '../../src/execution/log-file.js';
import { StreamCapture } from '../../src/execution/output-capture.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTmpDir();
});
afterEach(async () => {
  await removeTmpDir(dir);
});

const SECTION: LogSection = {
  title: 'x · attempt 1',
  command: ['x'],
  cwd: '/',
  startedAt: 0,
  finishedAt: 1,
  status: 'succeeded',
  exitCode: 0,
  signal: null,
};

/** A capture whose 300 kB went to its spill file in `dir`. */
async function spilled(name: string): Promise<StreamCapture> {
  const capture = new StreamCapture({ tailBytes: 1024, memoryBytes: 1024, spillPath: path.join(dir, name) });
  for (let i = 0; i < 300; i++) capture.push(Buffer.alloc(1000, 0x78));
  await capture.drain();
  return capture;
}

describe('appendLogSection', () => {
  it.each([
    // The log's open fails before anything is copied.
    ['the log path is a folder', (): string => path.join(dir, 'x.log'), /EISDIR/],
    // Opens fine; every write fails, so it fails while copying.
    ['the disk is full', (): string => '/dev/full', /ENOSPC/],
  ])('%s: rejects with the error and still removes the spill files', async (_name, logPath, error) => {
    await mkdir(path.join(dir, 'x.log'));
    const stdout = await spilled('x.log.1.part.stdout');
    const stderr = await spilled('x.log.1.part.stderr');
    expect((await readdir(dir)).sort()).toEqual(['x.log', 'x.log.1.part.stderr', 'x.log.1.part.stdout']);
    await expect(appendLogSection(logPath(), SECTION, stdout, stderr)).rejects.toThrow(error);
    expect(await readdir(dir)).toEqual(['x.log']);
  });
});

function capture(name: string): StreamCapture {
  return new StreamCapture({ tailBytes: 1024, memoryBytes: 262_144, spillPath: path.join(dir, name) });
}

/** Reads a file, waiting (bounded) for the write stream to have written `bytes`. */
async function readWhenWritten(file: string, bytes: number): Promise<string> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (Buffer.byteLength(text) >= bytes || Date.now() > deadline) return text;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('StreamCapture.spillNow', () => {
  it('writes what is held to the spill file at once, then each chunk as it comes', async () => {
    const out = capture('x.log.1.part.stdout');
    out.push(Buffer.from('progress 1\n'));
    expect(await readdir(dir), 'small output stays in memory').toEqual([]);
    out.spillNow();
    expect(out.held()).toBeUndefined();
    expect(await readWhenWritten(path.join(dir, 'x.log.1.part.stdout'), 11)).toBe('progress 1\n');
    out.push(Buffer.from('progress 2\n'));
    expect(await readWhenWritten(path.join(dir, 'x.log.1.part.stdout'), 22)).toBe('progress 1\nprogress 2\n');
    await out.discard();
  });

  it('before any output it creates no file; the first chunk does', async () => {
    const out = capture('x.log.1.part.stdout');
    out.spillNow();
    expect(await readdir(dir)).toEqual([]);
    expect(out.held()).toEqual([]);
    out.push(Buffer.from('late\n'));
    expect(out.held()).toBeUndefined();
    expect(await readWhenWritten(path.join(dir, 'x.log.1.part.stdout'), 5)).toBe('late\n');
    await out.discard();
    expect(await readdir(dir)).toEqual([]);
  });

  it('without a spill path it keeps nothing but the tail, as before', () => {
    const out = new StreamCapture({ tailBytes: 4, memoryBytes: 262_144 });
    out.spillNow();
    out.push(Buffer.from('abcdef'));
    expect(out.held()).toEqual([]);
    expect(out.tail()).toBe('cdef');
  });

  it('a log written from switched captures is byte for byte the log written from memory, and the spill files go', async () => {
    const chunks = ['one\n', 'two', ' and a half\n', 'no newline at the end'];
    const feed = (c: StreamCapture, from: number, to: number): void => {
      for (const text of chunks.slice(from, to)) c.push(Buffer.from(text));
    };
    const heldOut = capture('held.part.stdout');
    const heldErr = capture('held.part.stderr');
    feed(heldOut, 0, 4);
    feed(heldErr, 1, 3);
    expect(appendLogSectionSync(path.join(dir, 'held.log'), SECTION, heldOut, heldErr)).toBe(true);

    const liveOut = capture('live.log.1.part.stdout');
    const liveErr = capture('live.log.1.part.stderr');
    feed(liveOut, 0, 2);
    liveOut.spillNow();
    liveErr.spillNow();
    feed(liveOut, 2, 4);
    feed(liveErr, 1, 3);
    expect(appendLogSectionSync(path.join(dir, 'live.log'), SECTION, liveOut, liveErr), 'spilled output is streamed').toBe(false);
    await appendLogSection(path.join(dir, 'live.log'), SECTION, liveOut, liveErr);

    const held = await readFile(path.join(dir, 'held.log'));
    expect(held.toString()).toContain('STDOUT (40 bytes)');
    expect((await readFile(path.join(dir, 'live.log'))).equals(held)).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['held.log', 'live.log']);
  });
});
