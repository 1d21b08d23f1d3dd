import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheComponents, escapeUnclosedBrackets } from '../../src/execution/cache-key.js';
import { commandStep } from '../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTmpDir();
});
afterEach(async () => {
  await removeTmpDir(dir);
});

describe('escapeUnclosedBrackets', () => {
  it.each([
    ['*.csv[', '*.csv\\['],
    ['a[b/c', 'a\\[b/c'],
    ['a[b/c]', 'a\\[b/c]'],
    ['x/[', 'x/\\['],
    ['[ab].txt', '[ab].txt'],
    ['[!a]*', '[!a]*'],
    ['[]a].txt', '[]a].txt'],
    ['a\\[b', 'a\\[b'],
    ['[ab]/[c', '[ab]/\\[c'],
    ['plain/*.txt', 'plain/*.txt'],
  ])('reads %j as %j', (pattern, escaped) => {
    expect(escapeUnclosedBrackets(pattern)).toBe(escaped);
  });
});

describe('cacheComponents', () => {
  it('hashes an absolute input and a pattern with an unclosed `[` (matched literally) without reading the whole tree above', async () => {
    const work = path.join(dir, 'work');
    await mkdir(work);
    await writeFile(path.join(dir, 'outside.txt'), 'o');
    await writeFile(path.join(work, 'a.csv['), 'literal');
    await writeFile(path.join(work, 'a.csv'), 'plain');
    await writeFile(path.join(work, 'b.txt'), 'b');
    const step = commandStep('true', { id: 's', cwd: work, cache: { inputs: [path.join(dir, 'outside.txt'), '*.csv[', '[ab].txt'], env: [] } });
    const parts = await cacheComponents(step, {}, {}, 'w');
    expect(Object.keys(parts).filter((k) => k.startsWith('file:')).sort()).toEqual(['file:../outside.txt', 'file:a.csv[', 'file:b.txt']);
  });
});
