import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_SKIP_DIRS,
  DEFAULT_SKIP_FILES,
  discoverScripts,
  mergeSkipList,
} from '../../src/discovery/index.js';
import { createTempTree, writeFiles, type TempTree } from './temp-tree.js';

let tree: TempTree;
beforeEach(async () => {
  tree = await createTempTree();
});
afterEach(async () => {
  await tree.remove();
});

async function relativePaths(options?: Parameters<typeof discoverScripts>[1]): Promise<string[]> {
  const { scripts } = await discoverScripts(tree.root, options);
  return scripts.map((script) => script.relativePath);
}

describe('skip rules', () => {
  it('does not enter node_modules, output, build, venv, hidden folders or .egg-info folders', async () => {
    await writeFiles(tree, [
      'keep.py',
      'node_modules/pkg/index.js',
      'output/report.py',
      'build/gen.py',
      'venv/activate.sh',
      '__pycache__/x.py',
      '.hidden/secret.sh',
      '.git/hooks/pre-commit.sh',
      'foo.egg-info/setup.py',
      'etl/node_modules/y.js',
      'etl/keep.sh',
    ]);
    expect(await relativePaths()).toEqual(['etl/keep.sh', 'keep.py']);
  });

  it('matches skip dirs by exact folder name only', async () => {
    await writeFiles(tree, ['outputs/a.py', 'my_build/b.py', 'output/c.py']);
    expect(await relativePaths()).toEqual(['my_build/b.py', 'outputs/a.py']);
  });

  it('leaves out the default skip files, config files and hidden files', async () => {
    await writeFiles(tree, [
      'main.py',
      '__init__.py',
      'conftest.py',
      'setup.py',
      '_orchestrator_utils.py',
      'run_all_scripts.py',
      'vite.config.ts',
      'eslint.config.js',
      'babel.config.cjs',
      'rollup.config.mjs',
      '.foo.sh',
      'pkg/__init__.py',
      'pkg/mod.py',
    ]);
    expect(await relativePaths()).toEqual(['main.py', 'pkg/mod.py']);
  });

  it('replaces the default skip dirs when skipDirs is given, but still skips hidden and .egg-info folders', async () => {
    await writeFiles(tree, [
      'build/a.py',
      'fixtures/b.py',
      'node_modules/c.js',
      '.hidden/d.py',
      'x.egg-info/e.py',
    ]);
    expect(await relativePaths({ skipDirs: ['fixtures'] })).toEqual(['build/a.py', 'node_modules/c.js']);
  });

  it('replaces the default skip files when skipFiles is given, accepting globs on the file name', async () => {
    await writeFiles(tree, ['setup.py', 'test_a.py', 'etl/test_b.py', 'main.py', '.hidden.py']);
    expect(await relativePaths({ skipFiles: ['test_*'] })).toEqual(['main.py', 'setup.py']);
  });

  it('uses merged skip lists that add names and remove defaults', async () => {
    await writeFiles(tree, ['build/a.py', 'fixtures/b.py', 'setup.py', 'main.py', 'scratch.py']);
    const paths = await relativePaths({
      skipDirs: mergeSkipList(DEFAULT_SKIP_DIRS, ['fixtures', '!build']),
      skipFiles: mergeSkipList(DEFAULT_SKIP_FILES, ['scratch.py', '!setup.py']),
    });
    expect(paths).toEqual(['build/a.py', 'main.py', 'setup.py']);
  });
});

describe('mergeSkipList', () => {
  it('appends additions that are not there yet and removes !name entries', () => {
    expect(mergeSkipList(['a', 'b', 'c'], ['d', 'a', '!b'])).toEqual(['a', 'c', 'd']);
  });

  it('applies entries in order, so a later entry wins', () => {
    expect(mergeSkipList(['a'], ['!a', 'a'])).toEqual(['a']);
    expect(mergeSkipList(['a'], ['x', '!x'])).toEqual(['a']);
  });

  it('ignores removals of names that are not in the list, and leaves its inputs alone', () => {
    const defaults = ['a'];
    expect(mergeSkipList(defaults, ['!zzz'])).toEqual(['a']);
    expect(mergeSkipList(defaults, [])).not.toBe(defaults);
    expect(defaults).toEqual(['a']);
  });

  it('keeps the default lists frozen', () => {
    expect(Object.isFrozen(DEFAULT_SKIP_DIRS)).toBe(true);
    expect(Object.isFrozen(DEFAULT_SKIP_FILES)).toBe(true);
    expect(DEFAULT_SKIP_DIRS).toContain('.orchestrator');
    expect(DEFAULT_SKIP_FILES).toContain('*.d.ts');
  });

  it('throws a TypeError for additions that are not an array of strings', () => {
    expect(() => mergeSkipList([], 'a' as unknown as string[])).toThrow(
      'Expected the `additions` argument to be an array of strings, got `a` (string)',
    );
  });
});
