import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { useColor } from '../../src/cli/colors.js';
import { main } from '../../src/cli/main.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };

describe('useColor', () => {
  it.each([
    ['a terminal', tty, {}, undefined, true],
    ['a pipe', pipe, {}, undefined, false],
    ['--no-color on a terminal', tty, {}, false, false],
    ['NO_COLOR=1 on a terminal', tty, { NO_COLOR: '1' }, undefined, false],
    ['an empty NO_COLOR on a terminal (the convention: empty means unset)', tty, { NO_COLOR: '' }, undefined, true],
    ['TERM=dumb', tty, { TERM: 'dumb' }, undefined, false],
    ['FORCE_COLOR=1 on a pipe', pipe, { FORCE_COLOR: '1' }, undefined, true],
    ['FORCE_COLOR=0 on a terminal', tty, { FORCE_COLOR: '0' }, undefined, false],
    ['FORCE_COLOR=1 with --no-color', pipe, { FORCE_COLOR: '1' }, false, false],
    ['FORCE_COLOR=1 with NO_COLOR=1', pipe, { FORCE_COLOR: '1', NO_COLOR: '1' }, undefined, false],
    ['CI set, on a pipe', pipe, { CI: 'true' }, undefined, false],
  ] as const)('%s', (_name, stream, env, flag, expected) => {
    expect(useColor(stream, env, flag)).toBe(expected);
  });
});

describe('CLI messages', () => {
  async function stderrOf(argv: string[]): Promise<string> {
    let text = '';
    const stderr = Object.assign(new PassThrough(), { isTTY: true, write: (chunk: string) => ((text += chunk), true) });
    const code = await main(argv, { stderr: stderr as unknown as NodeJS.WritableStream, stdout: new PassThrough(), env: {}, cwd: process.cwd() });
    expect(code).toBe(2);
    return text;
  }

  it('colour an error on a terminal, and not with --no-color (whichever command writes it)', async () => {
    expect(await stderrOf(['run', 'no-such-folder'])).toContain('\u001b[31merror:');
    const plain = await stderrOf(['run', 'no-such-folder', '--no-color']);
    expect(plain).toMatch(/^error: expected a folder of scripts/);
    expect(plain).not.toContain('\u001b[');
  });
});
