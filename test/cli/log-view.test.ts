import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { printTail, SectionPrinter } from '../../src/cli/log-view.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-log-view-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function collector(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { out, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function tail(content: string, lines: number): Promise<string> {
  const file = path.join(dir, 'log');
  await writeFile(file, content);
  const { out, text } = collector();
  await printTail(out, file, lines);
  return text();
}

describe('printTail', () => {
  it('prints the last lines, ending with a newline even when the file does not', async () => {
    expect(await tail('abc\ndef\nghi\n', 2)).toBe('def\nghi\n');
    expect(await tail('a\nb', 1)).toBe('b\n');
    expect(await tail('a\n\n\nb\n', 3)).toBe('\n\nb\n');
    expect(await tail('one\ntwo\n', 10)).toBe('one\ntwo\n');
    expect(await tail('', 3)).toBe('');
  });

  it('finds lines across the chunks it reads backwards', async () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i}`);
    expect(await tail(lines.join('\n') + '\n', 3)).toBe('line 49997\nline 49998\nline 49999\n');
    const long = 'x'.repeat(200_000);
    expect(await tail(`first\n${long}\nlast\n`, 2)).toBe(`${long}\nlast\n`);
  });
});

describe('SectionPrinter', () => {
  const rule = '='.repeat(60);
  const section = (attempt: number, stdout: string, stderr: string): string =>
    [rule, `s · attempt ${attempt}`, rule, 'Status:     succeeded', rule, `STDOUT (${Buffer.byteLength(stdout)} bytes)`, rule].join('\n') +
    `\n${stdout}${stdout.endsWith('\n') || stdout === '' ? '' : '\n'}` +
    [rule, `STDERR (${Buffer.byteLength(stderr)} bytes)`, rule].join('\n') +
    `\n${stderr}${stderr.endsWith('\n') || stderr === '' ? '' : '\n'}`;

  it('skips the output an attempt already showed live, however the log arrives in chunks', async () => {
    const log = Buffer.from(section(1, 'early\n', '') + section(2, 'hello world\n', 'oops'));
    const shown = new Map([
      ['2.stdout', 6],
      ['2.stderr', 2],
    ]);
    for (const size of [1, 7, log.length]) {
      const { out, text } = collector();
      const printer = new SectionPrinter(out, (attempt, stream) => shown.get(`${attempt}.${stream}`) ?? 0);
      for (let i = 0; i < log.length; i += size) await printer.push(log.subarray(i, i + size));
      expect(text(), `chunks of ${size}`).toBe(section(1, 'early\n', '') + section(2, 'hello world\n', 'oops').replace('hello world\n', 'world\n').replace('oops', 'ps'));
      expect(printer.lastAttempt).toBe(2);
    }
  });

  it('prints a section whose body looks like a header as it is', async () => {
    const body = `${rule}\nSTDOUT (3 bytes)\n${rule}\nabc\n`;
    const log = section(1, body, '');
    const { out, text } = collector();
    await new SectionPrinter(out, () => 0).push(Buffer.from(log));
    expect(text()).toBe(log);
  });
});
