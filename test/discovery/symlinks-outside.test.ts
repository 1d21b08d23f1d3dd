import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discoverScripts } from '../../src/discovery/index.js';
import { createTempTree, writeFiles, type TempTree } from './temp-tree.js';

// `tree` is the project; `outside` is a second temporary folder next to it, never below it.
let tree: TempTree;
let outside: TempTree;
let outsideReal: string;
beforeEach(async () => {
  tree = await createTempTree();
  outside = await createTempTree();
  outsideReal = await realpath(outside.root);
});
afterEach(async () => {
  await Promise.all([tree.remove(), outside.remove()]);
});

function outsideWarning(link: string, root: string, real: string) {
  return { path: link, message: `symlink points outside "${root}" (to "${real}"), not followed` };
}

describe('symlinks that lead outside the root', () => {
  it('does not walk a link to a folder outside the root, and warns', async () => {
    await writeFiles(tree, ['top.py']);
    await writeFiles(outside, ['evil.sh', 'deep/evil.py']);
    const link = await tree.link('elsewhere', outside.root);
    const { scripts, warnings } = await discoverScripts(tree.root, { maxDepth: Infinity });
    expect(scripts.map((script) => script.relativePath)).toEqual(['top.py']);
    expect(warnings).toEqual([outsideWarning(link, tree.root, outsideReal)]);
  });

  it('does not walk a link to / however deep the walk may go', async () => {
    const link = await tree.link('disk', '/');
    // Depth 1 is enough to enter `/`; with the fix the link is never entered at any depth.
    const { scripts, warnings } = await discoverScripts(tree.root, { maxDepth: 1 });
    expect(scripts).toEqual([]);
    expect(warnings).toEqual([outsideWarning(link, tree.root, '/')]);
  });

  it('does not list a link to a script outside the root, and warns', async () => {
    await writeFiles(tree, ['top.py']);
    await outside.file('evil.sh', 'echo pwned\n');
    await outside.file('tool', '#!/bin/sh\n', 0o755);
    await outside.file('data.csv', 'a,b\n');
    const script = await tree.link('evil.sh', path.join(outside.root, 'evil.sh'));
    const executable = await tree.link('tool', path.join(outside.root, 'tool'));
    // A data file could never be a script: it is left out quietly, as before.
    await tree.link('data.csv', path.join(outside.root, 'data.csv'));
    const { scripts, warnings } = await discoverScripts(tree.root);
    expect(scripts.map((entry) => entry.relativePath)).toEqual(['top.py']);
    expect(warnings).toEqual([
      outsideWarning(script, tree.root, path.join(outsideReal, 'evil.sh')),
      outsideWarning(executable, tree.root, path.join(outsideReal, 'tool')),
    ]);
  });

  it('keeps following links to a folder and a file inside the root, next to one that leads outside', async () => {
    await writeFiles(tree, ['lib/helper.sh', 'real/tool.py']);
    await writeFiles(outside, ['evil.sh']);
    await tree.link('shared', 'lib');
    await tree.link('linked.py', 'real/tool.py');
    await tree.link('nested/up.py', '../real/tool.py');
    const link = await tree.link('nested/out', outside.root);
    const { scripts, warnings } = await discoverScripts(tree.root, { maxDepth: Infinity });
    expect(scripts.map((script) => [script.relativePath, script.path])).toEqual([
      ['lib/helper.sh', path.join(tree.root, 'lib', 'helper.sh')],
      ['linked.py', path.join(tree.root, 'linked.py')],
      ['nested/up.py', path.join(tree.root, 'nested', 'up.py')],
      ['real/tool.py', path.join(tree.root, 'real', 'tool.py')],
      ['shared/helper.sh', path.join(tree.root, 'shared', 'helper.sh')],
    ]);
    expect(warnings).toEqual([outsideWarning(link, tree.root, outsideReal)]);
  });

  it('judges a link chain by its real path: out and back in is followed, in and then out is not', async () => {
    await writeFiles(tree, ['lib/helper.sh']);
    await writeFiles(outside, ['evil/evil.sh']);
    // root/hop -> outside/bounce -> root/lib
    await outside.link('bounce', path.join(tree.root, 'lib'));
    await tree.link('hop', path.join(outside.root, 'bounce'));
    // root/first -> root/second -> outside/evil, and the same for a file.
    await tree.link('second', path.join(outside.root, 'evil'));
    const first = await tree.link('first', 'second');
    await tree.link('second.sh', path.join(outside.root, 'evil', 'evil.sh'));
    const firstFile = await tree.link('first.sh', 'second.sh');
    const { scripts, warnings } = await discoverScripts(tree.root);
    expect(scripts.map((script) => script.relativePath)).toEqual(['hop/helper.sh', 'lib/helper.sh']);
    const evil = path.join(outsideReal, 'evil');
    expect(warnings).toEqual([
      outsideWarning(first, tree.root, evil),
      outsideWarning(firstFile, tree.root, path.join(evil, 'evil.sh')),
      outsideWarning(path.join(tree.root, 'second'), tree.root, evil),
      outsideWarning(path.join(tree.root, 'second.sh'), tree.root, path.join(evil, 'evil.sh')),
    ]);
  });

  it('does not search a subdir that is a link outside the root', async () => {
    await writeFiles(tree, ['etl/load.py']);
    await writeFiles(outside, ['evil.sh']);
    const link = await tree.link('linked', outside.root);
    const { scripts, warnings } = await discoverScripts(tree.root, { subdirs: ['etl', 'linked'] });
    expect(scripts.map((script) => script.relativePath)).toEqual(['etl/load.py']);
    expect(warnings).toEqual([
      { path: link, message: `subdir "linked" points outside "${tree.root}" (to "${outsideReal}"), not followed` },
    ]);
  });

  it('lets links lead anywhere inside `projectRoot`, and nowhere outside it', async () => {
    await writeFiles(tree, ['lib/helper.sh', 'scripts/run.py']);
    await writeFiles(outside, ['evil.sh']);
    await tree.link('scripts/shared', '../lib');
    const out = await tree.link('scripts/out', outside.root);
    const folder = path.join(tree.root, 'scripts');
    const withProject = await discoverScripts(folder, { projectRoot: tree.root });
    expect(withProject.scripts.map((script) => script.relativePath)).toEqual(['run.py', 'shared/helper.sh']);
    expect(withProject.warnings).toEqual([outsideWarning(out, tree.root, outsideReal)]);
    // Without it, the folder being run is the limit.
    const alone = await discoverScripts(folder);
    expect(alone.scripts.map((script) => script.relativePath)).toEqual(['run.py']);
    expect(alone.warnings).toEqual([
      outsideWarning(out, folder, outsideReal),
      outsideWarning(path.join(folder, 'shared'), folder, await realpath(path.join(tree.root, 'lib'))),
    ]);
  });

  it('follows links inside the real tree of a folder that is itself a link out of the project', async () => {
    await writeFiles(outside, ['scripts/lib/helper.sh']);
    await writeFiles(tree, ['secret/keys.sh']);
    await outside.link('scripts/shared', 'lib');
    await outside.link('scripts/back', path.join(tree.root, 'secret'));
    const folder = await tree.link('scripts', path.join(outside.root, 'scripts'));
    const { scripts, warnings } = await discoverScripts(folder);
    expect(scripts.map((script) => script.relativePath)).toEqual(['lib/helper.sh', 'shared/helper.sh']);
    expect(warnings).toEqual([
      outsideWarning(path.join(folder, 'back'), folder, await realpath(path.join(tree.root, 'secret'))),
    ]);
  });

  it('rejects a `projectRoot` that does not hold the folder', async () => {
    await writeFiles(tree, ['top.py']);
    await expect(discoverScripts(tree.root, { projectRoot: outside.root })).rejects.toThrow(
      new TypeError(
        `Expected the \`projectRoot\` option to be "${tree.root}" or one of its parents, got \`${outside.root}\` (string)`,
      ),
    );
    await expect(discoverScripts(tree.root, { projectRoot: 3 as unknown as string })).rejects.toThrow(
      new TypeError('Expected the `projectRoot` option to be a folder path, got `3` (number)'),
    );
  });
});
