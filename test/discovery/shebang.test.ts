import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeScript } from '../../src/discovery/index.js';
import { kindFromShebang, parseShebang } from '../../src/discovery/shebang.js';
import { createTempTree, type TempTree } from './temp-tree.js';

describe('parseShebang', () => {
  it('returns the first line without #!, trimmed, and nothing for other files', () => {
    expect(parseShebang(Buffer.from('#!/bin/sh -e\necho\n'))).toBe('/bin/sh -e');
    expect(parseShebang(Buffer.from('#! /usr/bin/env node \r\n'))).toBe('/usr/bin/env node');
    expect(parseShebang(Buffer.from('#!/bin/sh'))).toBe('/bin/sh');
    expect(parseShebang(Buffer.from('# comment\n'))).toBeUndefined();
    expect(parseShebang(Buffer.from(' #!/bin/sh\n'))).toBeUndefined();
    expect(parseShebang(Buffer.from(''))).toBeUndefined();
  });
});

describe('kindFromShebang', () => {
  it('names the kind for python, node, bash and sh, directly or through env', () => {
    expect(kindFromShebang('/usr/bin/python3')).toBe('python');
    expect(kindFromShebang('/usr/bin/env python3.12 -u')).toBe('python');
    expect(kindFromShebang('/usr/bin/env python')).toBe('python');
    expect(kindFromShebang('/usr/local/bin/node --enable-source-maps')).toBe('node');
    expect(kindFromShebang('/usr/bin/env -S node --no-warnings')).toBe('node');
    expect(kindFromShebang('/bin/bash')).toBe('shell');
    expect(kindFromShebang('/usr/bin/env LANG=C sh')).toBe('shell');
  });

  it('returns nothing for other interpreters and empty lines', () => {
    expect(kindFromShebang('/usr/bin/env ruby')).toBeUndefined();
    expect(kindFromShebang('/bin/zsh')).toBeUndefined();
    expect(kindFromShebang('/usr/bin/env')).toBeUndefined();
    expect(kindFromShebang('/usr/bin/pythonista')).toBeUndefined();
    expect(kindFromShebang('')).toBeUndefined();
  });
});

describe('describeScript', () => {
  let tree: TempTree;
  beforeEach(async () => {
    tree = await createTempTree();
  });
  afterEach(async () => {
    await tree.remove();
  });

  it('describes one file by extension, or by shebang when it has none', async () => {
    const py = await tree.file('jobs/load.py', 'print(1)\n');
    const tool = await tree.file('jobs/tool', '#!/usr/bin/env node\n', 0o755);
    expect(await describeScript(py)).toEqual({
      path: py,
      relativePath: 'load.py',
      name: 'load.py',
      group: '.',
      kind: 'python',
    });
    expect(await describeScript(tool)).toMatchObject({ kind: 'node', shebang: '/usr/bin/env node' });
  });

  it('does not throw for a missing file, so running it is what fails', async () => {
    const missing = path.join(tree.root, 'missing');
    expect(await describeScript(missing)).toEqual({
      path: missing,
      relativePath: 'missing',
      name: 'missing',
      group: '.',
      kind: 'executable',
    });
  });
});
