import { linkSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discoverScripts } from '../../src/discovery/index.js';
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

describe('discoverScripts', () => {
  it('gives each script extension its kind and fills in path, name and group', async () => {
    await writeFiles(tree, ['a.py', 'b.sh', 'c.bash', 'd.js', 'e.mjs', 'f.cjs', 'g.ts', 'etl/load.py']);
    const { scripts, warnings } = await discoverScripts(tree.root);
    expect(warnings).toEqual([]);
    expect(scripts.map((script) => [script.relativePath, script.kind])).toEqual([
      ['a.py', 'python'],
      ['b.sh', 'shell'],
      ['c.bash', 'shell'],
      ['d.js', 'node'],
      ['e.mjs', 'node'],
      ['etl/load.py', 'python'],
      ['f.cjs', 'node'],
      ['g.ts', 'typescript'],
    ]);
    expect(scripts.find((script) => script.relativePath === 'etl/load.py')).toEqual({
      path: path.join(tree.root, 'etl', 'load.py'),
      relativePath: 'etl/load.py',
      name: 'load.py',
      group: 'etl',
      kind: 'python',
    });
    expect(scripts[0]?.group).toBe('.');
  });

  it('leaves out files without a script extension, and .d.ts files', async () => {
    await writeFiles(tree, ['notes.md', 'data.json', 'types.d.ts', 'real.ts', 'Makefile']);
    expect(await relativePaths()).toEqual(['real.ts']);
  });

  it('leaves out .d.ts files even when the skip list no longer names them', async () => {
    await writeFiles(tree, ['types.d.ts', 'real.ts']);
    expect(await relativePaths({ skipFiles: [] })).toEqual(['real.ts']);
  });

  it('records the shebang of a script with an extension without changing its kind', async () => {
    await tree.file('tool.js', '#!/usr/bin/env bash  \r\necho hi\n');
    await tree.file('plain.py', 'print(1)\n');
    const { scripts } = await discoverScripts(tree.root);
    expect(scripts).toMatchObject([
      { name: 'plain.py', kind: 'python' },
      { name: 'tool.js', kind: 'node', shebang: '/usr/bin/env bash' },
    ]);
    expect(scripts[0]).not.toHaveProperty('shebang');
  });

  it('finds executables with a shebang and takes the kind from the interpreter it names', async () => {
    await tree.file('bin/report', '#!/usr/bin/env python3\nprint(1)\n', 0o755);
    await tree.file('bin/serve', '#!/usr/bin/node\n', 0o700);
    await tree.file('bin/deploy', '#!/bin/sh\n', 0o744);
    await tree.file('bin/lint', '#! /usr/bin/env -S bash -eu\n', 0o755);
    await tree.file('bin/rb-tool', '#!/usr/bin/env ruby\n', 0o755);
    await tree.file('bin/group-only', '#!/bin/sh\n', 0o610);
    const { scripts } = await discoverScripts(tree.root);
    expect(scripts.map(({ name, kind, shebang }) => ({ name, kind, shebang }))).toEqual([
      { name: 'deploy', kind: 'shell', shebang: '/bin/sh' },
      { name: 'group-only', kind: 'shell', shebang: '/bin/sh' },
      { name: 'lint', kind: 'shell', shebang: '/usr/bin/env -S bash -eu' },
      { name: 'rb-tool', kind: 'executable', shebang: '/usr/bin/env ruby' },
      { name: 'report', kind: 'python', shebang: '/usr/bin/env python3' },
      { name: 'serve', kind: 'node', shebang: '/usr/bin/node' },
    ]);
  });

  it('does not find an extensionless file that is not executable, or an executable without a shebang', async () => {
    await tree.file('not-executable', '#!/bin/sh\n', 0o644);
    await tree.file('no-shebang', 'echo hi\n', 0o755);
    await tree.file('binary', '\x7fELF', 0o755);
    expect(await relativePaths()).toEqual([]);
  });

  it('reads only the first 256 bytes when looking for a shebang', async () => {
    const long = `/usr/bin/env ${'x'.repeat(400)}`;
    await tree.file('long', `#!${long}\n`, 0o755);
    const { scripts } = await discoverScripts(tree.root);
    expect(scripts[0]?.shebang).toBe(long.slice(0, 254));
  });

  it('includes files down to maxDepth levels and no deeper (default 2)', async () => {
    await writeFiles(tree, ['d0.py', 'a/d1.py', 'a/b/d2.py', 'a/b/c/d3.py']);
    expect(await relativePaths()).toEqual(['a/b/d2.py', 'a/d1.py', 'd0.py']);
    expect(await relativePaths({ maxDepth: 0 })).toEqual(['d0.py']);
    expect(await relativePaths({ maxDepth: 1 })).toEqual(['a/d1.py', 'd0.py']);
    expect(await relativePaths({ maxDepth: 3 })).toEqual([
      'a/b/c/d3.py',
      'a/b/d2.py',
      'a/d1.py',
      'd0.py',
    ]);
    expect(await relativePaths({ maxDepth: Infinity })).toHaveLength(4);
  });

  it('searches only the given subdirs, by name or relative path, and leaves out top-level files', async () => {
    await writeFiles(tree, ['top.py', 'etl/load.py', 'etl/daily/run.sh', 'etl/daily/deep/x.py', 'web/app.js']);
    expect(await relativePaths({ subdirs: ['etl'] })).toEqual(['etl/daily/run.sh', 'etl/load.py']);
    expect(await relativePaths({ subdirs: ['./etl/daily/', 'web'] })).toEqual(['etl/daily/run.sh', 'web/app.js']);
    // Overlapping subdirs do not list a script twice.
    expect(await relativePaths({ subdirs: ['etl', 'etl/daily'], maxDepth: 3 })).toEqual([
      'etl/daily/deep/x.py',
      'etl/daily/run.sh',
      'etl/load.py',
    ]);
  });

  it('warns about a subdir that does not exist, is a file, or lies deeper than maxDepth', async () => {
    await writeFiles(tree, ['etl/load.py', 'file.py', 'a/b/c/x.py']);
    const { scripts, warnings } = await discoverScripts(tree.root, {
      subdirs: ['etl', 'missing', 'file.py', 'a/b/c'],
    });
    expect(scripts.map((script) => script.relativePath)).toEqual(['etl/load.py']);
    expect(warnings).toEqual([
      {
        path: path.join(tree.root, 'a', 'b', 'c'),
        message: 'subdir "a/b/c" is 3 levels deep, deeper than maxDepth 2; it was not searched',
      },
      { path: path.join(tree.root, 'file.py'), message: 'subdir "file.py" is not a folder' },
      { path: path.join(tree.root, 'missing'), message: 'subdir "missing" does not exist' },
    ]);
  });

  it('still applies the skip-dir rules inside subdirs, but enters a subdir that is named explicitly', async () => {
    await writeFiles(tree, ['etl/node_modules/x.js', 'etl/.cache/y.sh', 'etl/ok.py', 'build/gen.py']);
    expect(await relativePaths({ subdirs: ['etl', 'build'] })).toEqual(['build/gen.py', 'etl/ok.py']);
  });

  it('rejects subdirs outside the folder', async () => {
    await expect(discoverScripts(tree.root, { subdirs: ['../elsewhere'] })).rejects.toThrow(TypeError);
    await expect(discoverScripts(tree.root, { subdirs: ['/etc'] })).rejects.toThrow(
      'Expected the `subdirs` option to name folders inside the discovered folder, got `/etc` (string)',
    );
  });

  it('keeps only scripts matching an include glob on the file name or the relative path', async () => {
    await writeFiles(tree, ['test_a.py', 'b.py', 'run.sh', 'etl/test_c.py', 'etl/d.sh', 'web/e.js']);
    expect(await relativePaths({ include: ['test_*'] })).toEqual(['etl/test_c.py', 'test_a.py']);
    expect(await relativePaths({ include: ['*.sh'] })).toEqual(['etl/d.sh', 'run.sh']);
    expect(await relativePaths({ include: ['etl/*'] })).toEqual(['etl/d.sh', 'etl/test_c.py']);
    expect(await relativePaths({ include: ['**/*.{js,sh}'] })).toEqual(['etl/d.sh', 'run.sh', 'web/e.js']);
  });

  it('matches a pattern without glob characters as a substring of the relative path', async () => {
    await writeFiles(tree, ['load_users.py', 'etl/load.py', 'etl/other.sh', 'web/app.js']);
    expect(await relativePaths({ include: ['load'] })).toEqual(['etl/load.py', 'load_users.py']);
    expect(await relativePaths({ include: ['etl/'] })).toEqual(['etl/load.py', 'etl/other.sh']);
    expect(await relativePaths({ exclude: ['etl'] })).toEqual(['load_users.py', 'web/app.js']);
  });

  it('leaves out scripts matching an exclude pattern, and exclude wins over include', async () => {
    await writeFiles(tree, ['test_a.py', 'b.py', 'etl/test_c.py', 'etl/d.py']);
    expect(await relativePaths({ exclude: ['test_*'] })).toEqual(['b.py', 'etl/d.py']);
    expect(await relativePaths({ include: ['etl/*'], exclude: ['test_*'] })).toEqual(['etl/d.py']);
    expect(await relativePaths({ include: ['*.py'], exclude: ['*.py'] })).toEqual([]);
  });

  it('treats a negated name glob as "every file name but these", in subfolders too', async () => {
    await writeFiles(tree, ['a.py', 'b.sh', 'etl/c.py', 'etl/d.sh']);
    expect(await relativePaths({ exclude: ['!*.py'] })).toEqual(['a.py', 'etl/c.py']);
  });

  it('sorts scripts by relative path with a plain code-unit comparison', async () => {
    await writeFiles(tree, ['b.py', 'B.py', 'a/z.py', 'a.py', 'a-b.py', '_x.py', 'é.py', 'Z/y.py']);
    expect(await relativePaths()).toEqual([
      'B.py',
      'Z/y.py',
      '_x.py',
      'a-b.py',
      'a.py',
      'a/z.py',
      'b.py',
      'é.py',
    ]);
  });

  it('throws a TypeError naming the path when the folder does not exist', async () => {
    const missing = path.join(tree.root, 'nope');
    await expect(discoverScripts(missing)).rejects.toThrow(
      new TypeError(`Expected a folder of scripts, got "${missing}" (does not exist)`),
    );
  });

  it('throws a TypeError naming the path when the folder is a file', async () => {
    const file = await tree.file('a.py');
    await expect(discoverScripts(file)).rejects.toThrow(`Expected a folder of scripts, got "${file}" (not a folder)`);
  });

  it('throws a TypeError that names the option for invalid options', async () => {
    await expect(discoverScripts(tree.root, { maxDepth: -1 })).rejects.toThrow(
      'Expected the `maxDepth` option to be a non-negative integer or Infinity, got `-1` (number)',
    );
    await expect(discoverScripts(tree.root, { include: 'a' as unknown as string[] })).rejects.toThrow(
      'Expected the `include` option to be an array of strings, got `a` (string)',
    );
  });

  it('discovers 10,000 scripts in well under a second', async () => {
    // Hard links to one file: creating 10,000 inodes takes over ten seconds on some CI disks, and
    // discovery still lists, opens and reads every path on its own.
    const source = await tree.file('source.py', '#!/usr/bin/env python3\n');
    for (let group = 0; group < 100; group++) {
      const folder = path.join(tree.root, `group-${group}`, 'sub');
      mkdirSync(folder, { recursive: true });
      for (let index = 0; index < 100; index++) {
        linkSync(source, path.join(folder, `script-${index}.py`));
      }
    }
    const started = performance.now();
    const { scripts } = await discoverScripts(tree.root);
    const elapsed = performance.now() - started;
    expect(scripts).toHaveLength(10_001);
    // Typically 150-350 ms; the bound leaves room for a busy two-core CI machine.
    expect(elapsed, `expected under 1000 ms, took ${Math.round(elapsed)} ms`).toBeLessThan(1000);
  });
});
