import { chmod, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discoverWithHooks } from '../../src/discovery/discover-scripts.js';
import { discoverScripts } from '../../src/discovery/index.js';
import { createTempTree, writeFiles, type TempTree } from './temp-tree.js';

const isRoot = process.getuid?.() === 0;

let tree: TempTree;
beforeEach(async () => {
  tree = await createTempTree();
});
afterEach(async () => {
  await tree.remove();
});

describe('odd entries', () => {
  it('follows symlinked files and folders and lists them under the link name', async () => {
    await writeFiles(tree, ['real/tool.py', 'lib/helper.sh']);
    await tree.link('linked.py', 'real/tool.py');
    await tree.link('shared', 'lib');
    const { scripts, warnings } = await discoverScripts(tree.root);
    expect(warnings).toEqual([]);
    expect(scripts.map((script) => [script.relativePath, script.path])).toEqual([
      ['lib/helper.sh', path.join(tree.root, 'lib', 'helper.sh')],
      ['linked.py', path.join(tree.root, 'linked.py')],
      ['real/tool.py', path.join(tree.root, 'real', 'tool.py')],
      ['shared/helper.sh', path.join(tree.root, 'shared', 'helper.sh')],
    ]);
  });

  it('finds an executable through a symlink, using the mode of its target', async () => {
    await tree.file('bin/real-tool', '#!/bin/bash\n', 0o755);
    await tree.link('tool', 'bin/real-tool');
    const { scripts } = await discoverScripts(tree.root);
    expect(scripts.map((script) => [script.relativePath, script.kind])).toEqual([
      ['bin/real-tool', 'shell'],
      ['tool', 'shell'],
    ]);
  });

  it('warns about a symlink loop instead of following it, even without a depth limit', async () => {
    await writeFiles(tree, ['top.py', 'a/inner.py']);
    const loop = await tree.link('a/back-to-root', '..');
    const self = await tree.link('a/self', '.');
    const { scripts, warnings } = await discoverScripts(tree.root, { maxDepth: Infinity });
    expect(scripts.map((script) => script.relativePath)).toEqual(['a/inner.py', 'top.py']);
    expect(warnings).toEqual([
      { path: loop, message: 'symlink loop: points back to ".", not followed' },
      { path: self, message: 'symlink loop: points back to "a", not followed' },
    ]);
  });

  it('warns about a symlink loop that starts inside a subdir', async () => {
    await writeFiles(tree, ['etl/daily/run.sh']);
    const loop = await tree.link('etl/daily/up', '..');
    const { scripts, warnings } = await discoverScripts(tree.root, { subdirs: ['etl/daily'], maxDepth: Infinity });
    expect(scripts.map((script) => script.relativePath)).toEqual(['etl/daily/run.sh']);
    expect(warnings).toEqual([{ path: loop, message: 'symlink loop: points back to "etl", not followed' }]);
  });

  it('warns about a broken symlink and keeps going', async () => {
    await writeFiles(tree, ['ok.py']);
    const broken = await tree.link('gone.py', 'does-not-exist.py');
    const brokenFolder = await tree.link('gone-folder', 'missing-folder');
    const { scripts, warnings } = await discoverScripts(tree.root);
    expect(scripts.map((script) => script.relativePath)).toEqual(['ok.py']);
    expect(warnings).toEqual([
      { path: brokenFolder, message: 'broken symlink: its target does not exist' },
      { path: broken, message: 'broken symlink: its target does not exist' },
    ]);
  });

  it('warns about a folder that vanishes while the walk is under way', async () => {
    await writeFiles(tree, ['keep/a.py', 'doomed/b.py', 'top.py']);
    const doomed = path.join(tree.root, 'doomed');
    const { scripts, warnings } = await discoverWithHooks(
      tree.root,
      {},
      {
        // The parent has listed `doomed`; delete it just before it is read.
        beforeReadDir: async (folder) => {
          if (folder === doomed) await rm(doomed, { recursive: true });
        },
      },
    );
    expect(scripts.map((script) => script.relativePath)).toEqual(['keep/a.py', 'top.py']);
    expect(warnings).toEqual([{ path: doomed, message: 'folder vanished while it was being searched (ENOENT)' }]);
  });

  it('leaves out a file that vanishes between the listing and the read, with a warning', async () => {
    await writeFiles(tree, ['b/gone.py', 'b/c/keep.py']);
    const gone = path.join(tree.root, 'b', 'gone.py');
    const { scripts, warnings } = await discoverWithHooks(
      tree.root,
      {},
      {
        // `b/c` is only known once `b` has been listed, and files are read after the whole walk.
        beforeReadDir: async (folder) => {
          if (folder === path.join(tree.root, 'b', 'c')) await rm(gone);
        },
      },
    );
    expect(scripts.map((script) => script.relativePath)).toEqual(['b/c/keep.py']);
    expect(warnings).toEqual([{ path: gone, message: 'file vanished while it was being read' }]);
  });

  // Root reads any folder whatever its mode, so this only runs as a normal user.
  it.skipIf(isRoot)('warns about a folder it is not allowed to read', async () => {
    await writeFiles(tree, ['locked/a.py', 'open/b.py']);
    const locked = path.join(tree.root, 'locked');
    await chmod(locked, 0o000);
    try {
      const { scripts, warnings } = await discoverScripts(tree.root);
      expect(scripts.map((script) => script.relativePath)).toEqual(['open/b.py']);
      expect(warnings).toEqual([{ path: locked, message: 'folder cannot be read (EACCES)' }]);
    } finally {
      await chmod(locked, 0o755);
    }
  });
});
