import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendLogSection, type LogSection } from '../../src/execution/log-file.js';
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
