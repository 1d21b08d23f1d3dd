import { describe, expect, it } from 'vitest';
import { extractDescription, renderScriptDocumentation } from '../../src/reporters/script-docs.js';

const py = String.raw;

describe('extractDescription for Python', () => {
  it('reads the module docstring after a shebang, encoding line and comments', () => {
    const source = py`#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright 2024 Example Corp.

"""Load the daily extract into the warehouse.

    Reads ./in/*.csv and writes to the "facts" table.
    Usage: load.py --date 2024-01-01
"""
import sys

def main():
    """Not this one."""
`;
    expect(extractDescription(source, 'python')).toBe(
      'Load the daily extract into the warehouse.\n\nReads ./in/*.csv and writes to the "facts" table.\nUsage: load.py --date 2024-01-01',
    );
  });

  it("reads ''' and raw docstrings, and single-line string docstrings", () => {
    expect(extractDescription("'''Sum the numbers.'''\nprint(1)\n", 'python')).toBe('Sum the numbers.');
    expect(extractDescription(py`r"""Match \d+ digits."""` + '\n', 'python')).toBe(py`Match \d+ digits.`);
    expect(extractDescription(py`"""Say \"hi\" twice."""`, 'python')).toBe('Say "hi" twice.');
    expect(extractDescription('"Short one."\nx = 1\n', 'python')).toBe('Short one.');
  });

  it('returns undefined when the first statement is not a string', () => {
    expect(extractDescription('import os\n"""Too late."""\n', 'python')).toBeUndefined();
    expect(extractDescription('#!/usr/bin/env python3\n# just a comment\nprint("hi")\n', 'python')).toBeUndefined();
    expect(extractDescription('f"""not a docstring"""\n', 'python')).toBeUndefined();
    expect(extractDescription('"""unterminated\n', 'python')).toBeUndefined();
    expect(extractDescription('""""""\n', 'python')).toBeUndefined();
  });

  it('handles CRLF files and a byte-order mark', () => {
    expect(extractDescription('\uFEFF"""Windows file.\r\n\r\nSecond paragraph."""\r\n', 'python')).toBe(
      'Windows file.\n\nSecond paragraph.',
    );
  });
});

describe('extractDescription for shell', () => {
  it('reads the comment block after the shebang', () => {
    const source = `#!/usr/bin/env bash
# shellcheck disable=SC2034
#
# Back up the database to S3.
#   Needs AWS_PROFILE.
#
set -euo pipefail
# not part of it
`;
    expect(extractDescription(source, 'shell')).toBe('Back up the database to S3.\n  Needs AWS_PROFILE.');
  });

  it('skips blank lines before the block, drops rules and returns undefined without comments', () => {
    expect(extractDescription('#!/bin/sh\n\n########\n# Rotate logs.\n########\nexit 0\n', 'shell')).toBe('Rotate logs.');
    expect(extractDescription('#!/bin/sh\necho hi\n# late comment\n', 'shell')).toBeUndefined();
  });
});

describe('extractDescription for JavaScript and TypeScript', () => {
  it('reads leading // lines', () => {
    const source = `#!/usr/bin/env node
// @ts-check
// Send the weekly report email.
// Uses SMTP_URL.
import nodemailer from 'nodemailer';
`;
    expect(extractDescription(source, 'node')).toBe('Send the weekly report email.\nUses SMTP_URL.');
  });

  it('reads a /** */ block, keeping @file text and dropping other tags', () => {
    const source = `/**
 * @file Rebuild the search index.
 *
 * Runs in about a minute.
 * @param none
 * @author someone
 */
'use strict';
export {};
`;
    expect(extractDescription(source, 'typescript')).toBe('Rebuild the search index.\n\nRuns in about a minute.');
    expect(extractDescription('/* Plain block. */\nconsole.log(1);\n', 'node')).toBe('Plain block.');
    expect(extractDescription('/* eslint-disable */\n/** Real one. */\n', 'typescript')).toBe('Real one.');
  });

  it('returns undefined when code comes first', () => {
    expect(extractDescription("import fs from 'node:fs';\n// later\n", 'typescript')).toBeUndefined();
  });
});

describe('extractDescription for executables', () => {
  it('follows the shebang', () => {
    expect(extractDescription('#!/usr/bin/python3\n"""From Python."""\n', 'executable')).toBe('From Python.');
    expect(extractDescription('#!/usr/bin/env node\n// From Node.\n', 'executable')).toBe('From Node.');
    expect(extractDescription('#!/bin/bash\n# From bash.\n', 'executable')).toBe('From bash.');
  });
});

describe('renderScriptDocumentation', () => {
  const markdown = renderScriptDocumentation(
    [
      { relativePath: 'etl/load.py', group: 'etl', kind: 'python', description: 'Load data.\n\n# Not a heading', help: 'usage: load.py [-h]\n```\ncode in help\n```\n' },
      { relativePath: 'backup.sh', group: '.', kind: 'shell', helpError: 'timed out after 5.00s' },
      { relativePath: 'etl/extract_all.py', group: 'etl', kind: 'python' },
      { relativePath: 'etl-old/load.py', group: 'etl-old', kind: 'python' },
    ],
    { title: 'Nightly scripts', generatedAt: new Date('2024-05-01T10:00:00Z') },
  );

  it('has a title and the generation time', () => {
    expect(markdown.split('\n').slice(0, 3)).toEqual([
      '# Nightly scripts',
      '',
      'Generated 2024-05-01T10:00:00.000Z. 4 scripts in 3 folders.',
    ]);
  });

  it('lists contents by folder, linking to GitHub-style heading anchors', () => {
    const contents = markdown.slice(markdown.indexOf('## Contents'), markdown.indexOf('## Top level'));
    expect(contents.trim().split('\n').slice(2)).toEqual([
      '- [Top level](#top-level)',
      '  - [backup.sh](#backupsh)',
      '- [etl](#etl)',
      '  - [etl/extract\\_all.py](#etlextract_allpy)',
      '  - [etl/load.py](#etlloadpy)',
      '- [etl-old](#etl-old)',
      '  - [etl-old/load.py](#etl-oldloadpy)',
    ]);
  });

  it('writes a section per folder and script with kind, description and fenced help', () => {
    const load = markdown.slice(markdown.indexOf('### `etl/load.py`'), markdown.indexOf('## etl-old'));
    expect(load).toContain('**Kind:** python');
    expect(load).toContain('Load data.\n\n\\# Not a heading');
    expect(load).toContain('````text\nusage: load.py [-h]\n```\ncode in help\n```\n````');
    expect(markdown).toContain('### `backup.sh`\n\n**Kind:** shell\n\n_No `--help` output: timed out after 5.00s_');
    expect(markdown.match(/^## /gm)).toHaveLength(4);
    expect(markdown.match(/^### /gm)).toHaveLength(4);
  });

  it('gives repeated headings numbered anchors', () => {
    const doc = renderScriptDocumentation([
      { relativePath: 'a.sh', group: 'contents', kind: 'shell' },
    ]);
    expect(doc).toContain('- [contents](#contents-1)');
  });

  it('renders an empty list', () => {
    expect(renderScriptDocumentation([], { generatedAt: new Date(0) })).toBe(
      '# Scripts\n\nGenerated 1970-01-01T00:00:00.000Z. 0 scripts in 0 folders.\n',
    );
  });
});
