import { realpathSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, formatDiagnostic, parseConfigText } from '../../src/config/index.js';
import type { Diagnostic } from '../../src/config/index.js';
import { createConfigRig } from './config-rig.js';
import type { ConfigRig } from './config-rig.js';

// Outside the symlink tests these paths only name the file and the project root: none exists on disk.
const ROOT = path.resolve('/work/project');
const FILE = path.join(ROOT, 'jobs', 'orchestrator.yaml');

function diagnose(text: string, file = FILE): Diagnostic[] {
  return parseConfigText(text, file, ROOT).diagnostics;
}

/** `line:column field: message`, short enough to compare whole lists. */
function brief(diagnostics: Diagnostic[]): string[] {
  return diagnostics.map((d) => `${d.line}:${d.column} ${d.field}: ${d.message}`);
}

describe('parseConfigText', () => {
  it('reports every problem at once, each at the line and column of the offending node', () => {
    const text = [
      'version: 1', // 1
      'defaults:', // 2
      '  timeout: 60', // 3
      '  retries: two', // 4
      '  colour: red', // 5
      'scripts:', // 6
      '  etl/load.py:', // 7
      '    timeout: soon', // 8
      '    tags: [a, 2, c]', // 9
      'run:', // 10
      '  fail_fast: yes', // 11
      '',
    ].join('\n');

    const result = parseConfigText(text, FILE, ROOT);

    expect(result.file).toBeUndefined();
    expect(result.diagnostics.every((d) => d.severity === 'error' && d.file === FILE)).toBe(true);
    expect(brief(result.diagnostics)).toEqual([
      '4:12 defaults.retries: expected a whole number of 0 or more, got "two" (string)',
      expect.stringMatching(/^5:3 defaults\.colour: unknown key `colour`; allowed keys: `timeout`, `args`, /),
      '8:14 scripts.etl/load.py.timeout: expected a number of seconds or a duration such as "90s", got "soon" (string)',
      '9:15 scripts.etl/load.py.tags[1]: expected a string, got 2 (number)',
      '11:14 run.fail_fast: expected true or false, got "yes" (string)',
    ]);
    expect(formatDiagnostic(result.diagnostics[2] as Diagnostic)).toBe(
      `${FILE}:8:14: scripts.etl/load.py.timeout: expected a number of seconds or a duration such as "90s", got "soon" (string)`,
    );
  });

  it.each([
    ['default', '', 'defaults'],
    ['Defaults', '', 'defaults'],
    ['scirpts', '', 'scripts'],
    ['timeout_seconds', 'defaults', 'timeout'],
    ['allowedExitCodes', 'defaults', 'allowed_exit_codes'],
    ['retry-delay', 'defaults', 'retry_delay'],
    ['memory_limit', 'defaults', 'memory_limit_mb'],
    ['maxDepth', 'discovery', 'max_depth'],
    ['skipReason', 'scripts.a.py', 'skip_reason'],
  ])('suggests a known key for the unknown key %j under %j', (key, parent, suggestion) => {
    const text = parent === '' ? `${key}: 1\n` : parent === 'scripts.a.py' ? `scripts:\n  a.py:\n    ${key}: 1\n` : `${parent}:\n  ${key}: 1\n`;
    const [diagnostic, ...rest] = diagnose(text);
    const line = parent === '' ? 1 : parent === 'scripts.a.py' ? 3 : 2;
    const column = parent === '' ? 1 : parent === 'scripts.a.py' ? 5 : 3;
    expect(rest).toEqual([]);
    expect(diagnostic).toEqual({
      severity: 'error',
      file: FILE,
      line,
      column,
      field: parent === '' ? key : `${parent}.${key}`,
      message: `unknown key \`${key}\`, did you mean \`${suggestion}\`?`,
    });
  });

  it('lists the allowed keys when no known key is close', () => {
    expect(brief(diagnose('run:\n  parallelism: 4\n'))).toEqual([
      '2:3 run.parallelism: unknown key `parallelism`; allowed keys: `concurrency`, `fail_fast`, `timeout`, `output_dir`',
    ]);
  });

  it('rejects skip under defaults and says where it belongs', () => {
    expect(brief(diagnose('defaults:\n  timeout: 5\n  skip: true\n'))).toEqual([
      '3:3 defaults.skip: `skip` is not allowed under `defaults` (it would skip every script); put it under `scripts.<path>` or list the scripts under the top-level `skip`',
    ]);
  });

  it.each([
    ['defaults:\n  timeout: -5\n', '2:12 defaults.timeout: expected a number of seconds or a duration such as "90s", got -5 (number)'],
    ['defaults:\n  timeout: true\n', '2:12 defaults.timeout: expected a number of seconds or a duration such as "90s", got true (boolean)'],
    ['defaults:\n  timeout: 5 min\n', '2:12 defaults.timeout: expected a number of seconds or a duration such as "90s", got "5 min" (string)'],
    ['defaults:\n  timeout:\n', '2:11 defaults.timeout: expected a number of seconds or a duration such as "90s", got nothing (null)'],
    ['defaults:\n  args: --verbose\n', '2:9 defaults.args: expected a list of strings, got "--verbose" (string)'],
    ['defaults:\n  args: [a, {b: 1}]\n', '2:13 defaults.args[1]: expected a string, got a mapping'],
    ['defaults:\n  env: [A]\n', '2:8 defaults.env: expected a mapping of variable names to values, got a list'],
    ['defaults:\n  env: {A: [1]}\n', '2:12 defaults.env.A: expected a string, number or boolean, got a list'],
    ['defaults:\n  interpreter: ["", 3]\n', '2:21 defaults.interpreter[1]: expected a string, got 3 (number)'],
    ['defaults:\n  interpreter: 3\n', '2:16 defaults.interpreter: expected a command as a string or a list of strings, got 3 (number)'],
    ['defaults:\n  allowed_exit_codes: [0, 300]\n', '2:27 defaults.allowed_exit_codes[1]: expected an exit code from 0 to 255, got 300 (number)'],
    ['defaults:\n  retries: 1.5\n', '2:12 defaults.retries: expected a whole number of 0 or more, got 1.5 (number)'],
    ['defaults:\n  memory_limit_mb: 0\n', '2:20 defaults.memory_limit_mb: expected a whole number of 1 or more, got 0 (number)'],
    ['defaults: 3\n', '1:11 defaults: expected a mapping of settings, got 3 (number)'],
    ['skip: old.sh\n', '1:7 skip: expected a list of paths or globs, got "old.sh" (string)'],
    ['skip:\n  - 5\n', '2:5 skip[0]: expected a path or glob, or a mapping with `path` and `reason`, got 5 (number)'],
    ['skip:\n  - {path: 5}\n', '2:12 skip[0].path: expected a path or glob, got 5 (number)'],
    ['skip:\n  - {path: a.py, reson: x}\n', '2:18 skip[0].reson: unknown key `reson`, did you mean `reason`?'],
    ['scripts:\n  a.py: 5\n', '2:9 scripts.a.py: expected a mapping of settings, got 5 (number)'],
    ['scripts:\n  a.py: {skip: "yes"}\n', '2:16 scripts.a.py.skip: expected true or false, got "yes" (string)'],
    ['discovery:\n  max_depth: -1\n', '2:14 discovery.max_depth: expected a whole number of 0 or more, got -1 (number)'],
    ['run:\n  concurrency: 0\n', '2:16 run.concurrency: expected a whole number of 1 or more, got 0 (number)'],
    [
      'run:\n  concurrency: 1e20\n',
      '2:16 run.concurrency: expected a whole number of 1 or more, at most 9007199254740991 (the largest safe integer), got 100000000000000000000 (number)',
    ],
    ['version: 2\n', '1:10 version: expected 1 (the only config version so far), got 2 (number)'],
    ['- a\n- b\n', '1:1 : expected a mapping of config keys, got a list'],
  ])('names what was expected and what was found for %j', (text, expected) => {
    expect(brief(diagnose(text))).toEqual([expected]);
  });

  it('quotes at most 60 characters of a long value, with its length', () => {
    // A file that is not config at all (a link to /etc/passwd, say) is one long string to YAML.
    const passwd = Array.from({ length: 40 }, (_, i) => `user${i}:x:${1000 + i}:${1000 + i}::/home/user${i}:/bin/sh`).join('\n');
    const [diagnostic] = diagnose(`${passwd}\n`);
    const folded = passwd.replaceAll('\n', ' ');
    expect(diagnostic?.message).toBe(
      `expected a mapping of config keys, got ${JSON.stringify(`${folded.slice(0, 60)}…`)} (string of ${folded.length} characters)`,
    );
    expect(diagnostic?.message).not.toContain('user39');
  });

  it('reports a YAML syntax error at its position and skips checks that would only add noise', () => {
    // `bogus` would be an unknown key, but after a syntax error only the syntax error is reported.
    expect(brief(diagnose('defaults:\n  timeout: 5\n  retries 1\nbogus: 1\n'))).toEqual([
      '3:3 : invalid YAML: Implicit map keys need to be followed by map values',
    ]);
    expect(brief(diagnose('a: b: c\n'))).toEqual(['1:4 : invalid YAML: Nested mappings are not allowed in compact mappings']);

    expect(brief(diagnose('run: {concurrency: 2\n'))).toEqual([expect.stringMatching(/^2:1 : invalid YAML: /)]);
  });

  it('reports duplicate keys at the second one, with the other problems', () => {
    expect(brief(diagnose('defaults:\n  timeout: 5\n  timeout: later\n'))).toEqual([
      '3:3 defaults.timeout: duplicate key `timeout`: each key may appear only once',
      '3:12 defaults.timeout: expected a number of seconds or a duration such as "90s", got "later" (string)',
    ]);
  });

  it('gives positions in JSON files too', () => {
    const file = path.join(ROOT, 'orchestrator.json');
    const text = ['{', '  "defaults": {', '    "timeout": "soon",', '    "tags": ["a", 1]', '  },', '  "Run": {}', '}', ''].join('\n');
    const diagnostics = diagnose(text, file);
    expect(diagnostics.every((d) => d.file === file)).toBe(true);
    expect(brief(diagnostics)).toEqual([
      '3:16 defaults.timeout: expected a number of seconds or a duration such as "90s", got "soon" (string)',
      '4:19 defaults.tags[1]: expected a string, got 1 (number)',
      '6:3 Run: unknown key `Run`, did you mean `run`?',
    ]);
  });

  it('reports duplicate keys and syntax errors in JSON files with their position', () => {
    const file = path.join(ROOT, 'orchestrator.json');
    expect(brief(diagnose('{\n  "version": 1,\n  "version": 1\n}\n', file))).toEqual([
      '3:3 version: duplicate key `version`: each key may appear only once',
    ]);
    expect(brief(diagnose('{\n  "run": {"concurrency": 2,}\n}\n', file))).toEqual([
      expect.stringMatching(/^2:28 : invalid JSON: /),
    ]);
    const unclosed = diagnose('{\n  "run": {"concurrency": 2\n', file);
    expect(unclosed.length).toBeGreaterThan(0);
    for (const line of brief(unclosed)) expect(line).toMatch(/^3:1 : invalid JSON: /);
    // JSON.parse gives no position for this one: it is found all the same.
    expect(brief(diagnose('{\n  "skip": [\n    "a.sh",\n  ]\n}\n', file))).toEqual([
      expect.stringMatching(/^4:3 : invalid JSON: Unexpected token ']'/),
    ]);
  });

  it('rejects env names that are empty or hold "=" or a null byte, and values with a null byte', () => {
    const text = ['defaults:', '  env: {"A=B": x, "": y, OK: 1}', 'scripts:', '  a.py:', '    env: {"N\\0UL": x, V: "a\\0b"}', ''].join('\n');
    expect(brief(diagnose(text))).toEqual([
      '2:9 defaults.env.A=B: expected a variable name without "=", got "A=B" (string)',
      '2:19 defaults.env.: expected a variable name, got "" (string)',
      '5:11 scripts.a.py.env.N\u0000UL: expected a variable name without null bytes, got "N\\u0000UL" (string)',
      '5:26 scripts.a.py.env.V: expected a value without null bytes, got "a\\u0000b" (string)',
    ]);
  });

  it('skips a UTF-8 byte-order mark at the start of a JSON file', () => {
    const file = path.join(ROOT, 'orchestrator.json');
    const result = parseConfigText('\uFEFF{"run": {"concurrency": 2}}', file, ROOT);
    expect(result.diagnostics).toEqual([]);
    expect(result.file?.run.concurrency).toBe(2);
    expect(brief(diagnose('\uFEFF{"run": {"concurrency": 0}}', file))).toEqual([
      '1:25 run.concurrency: expected a whole number of 1 or more, got 0 (number)',
    ]);
  });

  it('rejects a .json file written in YAML syntax', () => {
    const file = path.join(ROOT, 'orchestrator.json');
    const result = parseConfigText('run:\n  concurrency: 2\n', file, ROOT);
    expect(result.file).toBeUndefined();
    expect(brief(result.diagnostics)).toEqual([expect.stringMatching(/^1:1 : invalid JSON: /)]);
  });

  it('rejects cwd, scripts keys and skip patterns that leave the project root', () => {
    const text = [
      'defaults:', // 1
      '  cwd: ../..', // 2
      'scripts:', // 3
      '  ../../x.py: {}', // 4
      '  /etc/*.sh: {}', // 5
      '  ok.py:', // 6
      `    cwd: /tmp`, // 7
      'skip:', // 8
      '  - ../../../y.sh', // 9
      '  - path: /outside/z.py', // 10
      '',
    ].join('\n');
    expect(brief(diagnose(text))).toEqual([
      `2:8 defaults.cwd: expected a folder inside the project root ${ROOT}, got "../.." (string), which is ${path.resolve('/work')}`,
      `4:3 scripts.../../x.py: expected a path or glob inside the project root ${ROOT}, got "../../x.py" (string)`,
      `5:3 scripts./etc/*.sh: expected a path or glob inside the project root ${ROOT}, got "/etc/*.sh" (string)`,
      `7:10 scripts.ok.py.cwd: expected a folder inside the project root ${ROOT}, got "/tmp" (string), which is /tmp`,
      `9:5 skip[0]: expected a path or glob inside the project root ${ROOT}, got "../../../y.sh" (string)`,
      `10:11 skip[1].path: expected a path or glob inside the project root ${ROOT}, got "/outside/z.py" (string)`,
    ]);
  });

  it('accepts folders and patterns inside the project root, absolute ones included', () => {
    const result = parseConfigText(
      `defaults:\n  cwd: ..\nscripts:\n  ${ROOT}/jobs/etl/*.py: {cwd: ${ROOT}/data}\nskip: [./old.sh]\n`,
      FILE,
      ROOT,
    );
    expect(result.diagnostics).toEqual([]);
    expect(result.file?.defaults.cwd).toBe(ROOT);
    expect(result.file?.scripts).toEqual([{ pattern: 'etl/*.py', config: { cwd: path.join(ROOT, 'data') } }]);
    expect(result.file?.skip).toEqual([{ pattern: 'old.sh', reason: 'listed in skip' }]);
  });

  it('warns about a pattern inside the project root but outside the file\'s folder, which never matches', () => {
    const result = parseConfigText('scripts:\n  ../tools/a.py: {timeout: 1}\n', FILE, ROOT);
    expect(result.file).toBeDefined();
    expect(result.diagnostics).toEqual([
      expect.objectContaining({ severity: 'warning', line: 2, column: 3, field: 'scripts.../tools/a.py' }),
    ]);
    expect(result.diagnostics[0]?.message).toMatch(/outside this file's folder/);
  });

  it.each([
    [60, 60_000],
    [0.5, 500],
    [0, 0],
    ['90', 90_000],
    ['90s', 90_000],
    ['2m', 120_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
  ])('reads the duration %j as %i ms', (value, ms) => {
    const text = `defaults:\n  timeout: ${JSON.stringify(value)}\n  retry_delay: ${JSON.stringify(value)}\n  kill_grace: ${JSON.stringify(value)}\nrun:\n  timeout: ${JSON.stringify(value)}\n`;
    const result = parseConfigText(text, FILE, ROOT);
    expect(result.diagnostics).toEqual([]);
    expect(result.file?.defaults).toEqual({ timeout: ms, retryDelay: ms, killGrace: ms });
    expect(result.file?.run.timeout).toBe(ms);
  });

  it.each(['', '# only a comment\n', '---\n', '\n\n'])('reads %j as a config with no settings', (text) => {
    expect(parseConfigText(text, FILE, ROOT)).toEqual({
      file: { path: FILE, dir: path.dirname(FILE), defaults: {}, skip: [], scripts: [], discovery: {}, run: {} },
      diagnostics: [],
    });
  });

  it('turns numbers and booleans in args and env into strings', () => {
    const result = parseConfigText('defaults:\n  args: [--n, 3]\n  env: {A: 1, B: true, C: text}\n', FILE, ROOT);
    expect(result.file?.defaults).toEqual({ args: ['--n', '3'], env: { A: '1', B: 'true', C: 'text' } });
  });
});

describe('ConfigError', () => {
  it('has the name ConfigError and one formatted diagnostic per line in its message', () => {
    const diagnostics: Diagnostic[] = [
      { severity: 'error', file: 'orchestrator.yaml', line: 7, column: 14, field: 'scripts.etl/load.py.timeout', message: 'expected a number' },
      { severity: 'warning', file: 'orchestrator.yaml', line: 9, column: 5, field: 'skip[0]', message: 'never matches' },
      { severity: 'error', file: 'orchestrator.yaml', line: 1, column: 1, field: '', message: 'invalid YAML: bad' },
    ];
    const error = new ConfigError(diagnostics);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
    expect(error.diagnostics).toBe(diagnostics);
    expect(error.message).toBe(
      [
        'orchestrator.yaml:7:14: scripts.etl/load.py.timeout: expected a number',
        'orchestrator.yaml:9:5: warning: skip[0]: never matches',
        'orchestrator.yaml:1:1: invalid YAML: bad',
      ].join('\n'),
    );
  });
});

describe('parseConfigText with symlinks on disk', () => {
  let rig: ConfigRig;
  beforeEach(async () => {
    rig = await createConfigRig();
    await rig.mkdir('jobs/inside');
    await symlink('/', rig.path('jobs/rootlink'));
    await symlink(rig.path('jobs/inside'), rig.path('jobs/inlink'));
  });
  afterEach(async () => {
    await rig.cleanup();
  });

  it('rejects a cwd or run.output_dir that leaves the project root through a link, and keeps links inside working', () => {
    const file = rig.path('jobs/orchestrator.yaml');
    const text = [
      'defaults:', // 1
      '  cwd: rootlink/etc', // 2
      'scripts:', // 3
      '  ok.py:', // 4
      '    cwd: inlink/new-folder', // 5
      'run:', // 6
      '  output_dir: rootlink/tmp/reports', // 7
      '',
    ].join('\n');
    const out = (written: string, real: string) =>
      `expected a folder inside the project root ${rig.root}, got "${written}" (string), which resolves through a link to ${real}, outside the project root`;
    expect(brief(parseConfigText(text, file, rig.root).diagnostics)).toEqual([
      `2:8 defaults.cwd: ${out('rootlink/etc', '/etc')}`,
      `7:15 run.output_dir: ${out('rootlink/tmp/reports', path.join(realpathSync('/tmp'), 'reports'))}`,
    ]);
    const fine = ['defaults:', '  cwd: inlink', 'run:', '  output_dir: inlink/reports', ''].join('\n');
    expect(parseConfigText(fine, file, rig.root).diagnostics).toEqual([]);
  });

  it('rejects a run.output_dir outside the project root as written', () => {
    expect(brief(parseConfigText('run:\n  output_dir: ../../out\n', rig.path('jobs/orchestrator.yaml'), rig.root).diagnostics)).toEqual([
      `2:15 run.output_dir: expected a folder inside the project root ${rig.root}, got "../../out" (string), which is ${path.resolve(rig.root, '../out')}`,
    ]);
  });
});
