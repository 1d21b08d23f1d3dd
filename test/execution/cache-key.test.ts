import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheComponents, cacheDetails, cacheKey, escapeUnclosedBrackets, explainChange } from '../../src/execution/cache-key.js';
import { commandStep, moduleStep, scriptStep } from '../helpers/step-factory.js';
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

describe('explainChange', () => {
  /** The explanation between two versions of a step, as the engine makes it. */
  async function explain(
    before: Parameters<typeof cacheComponents>[0],
    now: Parameters<typeof cacheComponents>[0],
    needs: [Record<string, Record<string, string>>, Record<string, Record<string, string>>] = [{}, {}],
    env: [NodeJS.ProcessEnv, NodeJS.ProcessEnv] = [{}, {}],
  ): Promise<{ lines: string[]; old: string[] }> {
    const a = await cacheComponents(before, env[0], needs[0], 'w');
    const b = await cacheComponents(now, env[1], needs[1], 'w');
    return {
      lines: explainChange(a, b, cacheDetails(before, needs[0]), cacheDetails(now, needs[1])),
      // An entry stored before details were kept.
      old: explainChange(a, b, undefined, cacheDetails(now, needs[1])),
    };
  }

  it('keeps every key as it was: details are not part of it', async () => {
    const step = commandStep('make build', { id: 's', cwd: '/srv/project' });
    const parts = await cacheComponents(step, {}, { dep: { v: '1' } }, 'w');
    expect(Object.keys(parts).sort()).toEqual(['command', 'cwd', 'kind', 'needs:dep', 'step']);
    // The key an orchestrator from before details were kept made for this step: entries stay hits.
    expect(cacheKey(parts)).toBe('f5250f124ff638f40b09c4e18efebb7795177543a2825a8e8ce362c99e18a27b');
  });

  it('names a changed, added or removed script argument by position, and the old wording without details', async () => {
    const file = path.join(dir, 'run.sh');
    await writeFile(file, '#!/bin/sh\n');
    const step = (args: string[]) => scriptStep(file, { id: 's', cwd: dir, relativePath: 'run.sh', args });
    const changed = await explain(step(['two', '--level', '3']), step(['two', '--level', '4']));
    expect(changed.lines).toEqual(['argument 3 changed: "3" -> "4"']);
    expect(changed.old).toEqual(['arguments changed']);
    expect((await explain(step(['a', 'b']), step(['a', '--verbose', 'b']))).lines).toEqual(['argument 2 added: "--verbose"']);
    expect((await explain(step(['a', '--verbose', 'b']), step(['a', 'b']))).lines).toEqual(['argument 2 removed: "--verbose"']);
    expect((await explain(step(['a']), step(['b', 'c']))).lines).toEqual(['argument 1 changed: "a" -> "b"', 'argument 2 added: "c"']);
    const many = await explain(step([]), step(['1', '2', '3', '4', '5', '6', '7']));
    expect(many.lines).toEqual(['argument 1 added: "1"', 'argument 2 added: "2"', 'argument 3 added: "3"', 'argument 4 added: "4"', '… and 3 more argument changes']);
  });

  it('names the script file whose content changed, and a changed interpreter', async () => {
    const file = path.join(dir, 'run.sh');
    await writeFile(file, '#!/bin/sh\necho 1\n');
    const step = (interpreter?: string[]) => scriptStep(file, { id: 's', cwd: dir, relativePath: 'scripts/run.sh', ...(interpreter ? { interpreter } : {}) });
    const a = await cacheComponents(step(), {}, {}, 'w');
    const detailsA = cacheDetails(step(), {});
    await writeFile(file, '#!/bin/sh\necho 2\n');
    const b = await cacheComponents(step(), {}, {}, 'w');
    expect(explainChange(a, b, detailsA, cacheDetails(step(), {}))).toEqual(['script content changed (scripts/run.sh)']);
    expect(explainChange(a, b, undefined, undefined)).toEqual(['script changed']);
    expect((await explain(step(['bash']), step(['bash', '-x']))).lines).toEqual(['interpreter changed: "bash" -> "bash -x"']);
  });

  it('shows a command before and after, a long one cut around where it differs', async () => {
    const step = (command: string, shell?: string) => commandStep(command, { id: 's', cwd: dir, ...(shell ? { shell } : {}) });
    const short = await explain(step('make build'), step('make build -j4'));
    expect(short.lines).toEqual(['command changed: "make build" -> "make build -j4"']);
    expect(short.old).toEqual(['command changed']);
    expect((await explain(step('make'), step('make', '/bin/bash'))).lines).toEqual(['shell changed: "/bin/sh" -> "/bin/bash"']);
    const long = `make ${'target '.repeat(30)}`;
    const [line = ''] = (await explain(step(`${long}-j2 all`), step(`${long}-j4 all`))).lines;
    expect(line).toContain('-j2 all" -> …');
    expect(line).toContain('-j4 all"');
    expect(line.length).toBeLessThan(200);
  });

  it('names env variables and dependency outputs without their values', async () => {
    const step = commandStep('true', { id: 's', cwd: dir, cache: { inputs: [], env: ['TOKEN'] } });
    const { lines, old } = await explain(
      step,
      step,
      [{ dep: { version: 'secret-1', same: 'x', gone: 'y' } }, { dep: { version: 'secret-2', same: 'x', fresh: 'z' } }],
      [{ TOKEN: 'hunter2' }, { TOKEN: 'hunter3' }],
    );
    expect(lines).toEqual(['environment variable TOKEN changed', 'outputs of dependency dep changed: fresh added, version changed, gone removed']);
    expect(old).toEqual(['environment variable TOKEN changed', 'outputs of dependency dep changed']);
    expect(JSON.stringify(cacheDetails(step, { dep: { version: 'secret-2' } }))).not.toContain('secret');
  });

  it('names a module step\'s changed export and arguments', async () => {
    const file = path.join(dir, 'lib.mjs');
    await writeFile(file, 'export const a = () => 1;\n');
    const step = (exportName: string, args: unknown[]) => moduleStep('s', file, exportName, args, { cwd: dir });
    expect((await explain(step('a', [1, { x: 2 }]), step('b', [1, { x: 3 }]))).lines).toEqual([
      'export changed: "a" -> "b"',
      'argument 2 changed: {"x":2} -> {"x":3}',
    ]);
  });
});
