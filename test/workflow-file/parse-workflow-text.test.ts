import { realpathSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/config/index.js';
import type { Diagnostic } from '../../src/config/index.js';
import { parseWorkflowText } from '../../src/workflow-file/index.js';
import { createConfigRig } from '../config/config-rig.js';
import type { ConfigRig } from '../config/config-rig.js';

let rig: ConfigRig;
let file: string;

beforeEach(async () => {
  rig = await createConfigRig();
  file = rig.path('flows/ci.yaml');
  await rig.write('flows/scripts/build.sh', '#!/bin/sh\necho build\n');
});
afterEach(async () => {
  await rig.cleanup();
});

function lines(...rows: string[]): string {
  return `${rows.join('\n')}\n`;
}

function diagnose(text: string, name = file): Diagnostic[] {
  return parseWorkflowText(text, name, rig.root).diagnostics;
}

/** `line:column field: message`, short enough to compare whole lists. */
function brief(diagnostics: Diagnostic[]): string[] {
  return diagnostics.map((d) => `${d.line}:${d.column} ${d.field}: ${d.message}`);
}

describe('parseWorkflowText', () => {
  it('reports every problem at once, each at its line and column, and yields no spec', () => {
    const text = lines(
      'name: ci', // 1
      'timeout: soon', // 2
      'fail_fast: maybe', // 3
      'steps:', // 4
      '  - id: build', // 5
      '    script: scripts/build.sh', // 6
      '    neeeds: [lint]', // 7
      '  - id: deploy', // 8
      '    run: ./deploy.sh', // 9
      '    needs: [buid]', // 10
      '    timeout: 5 minutes', // 11
      '    retry: { max_attempts: 0 }', // 12
    );
    const result = parseWorkflowText(text, file, rig.root);
    expect(result.spec).toBeUndefined();
    expect(result.diagnostics.every((d) => d.severity === 'error' && d.file === file)).toBe(true);
    expect(brief(result.diagnostics)).toEqual([
      '2:10 timeout: expected a number of seconds or a duration such as "90s", got "soon" (string)',
      '3:12 fail_fast: expected true, false, "no-new", "kill" or "continue", got "maybe" (string)',
      '7:5 steps[0].neeeds: unknown key `neeeds`, did you mean `needs`?',
      '10:13 steps[1].needs[0]: step "deploy" needs unknown step "buid" (did you mean "build"?)',
      '11:14 steps[1].timeout: expected a number of seconds or a duration such as "90s", got "5 minutes" (string)',
      '12:28 steps[1].retry.max_attempts: expected a whole number of 1 or more, got 0 (number)',
    ]);
    expect(formatDiagnostic(result.diagnostics[3] as Diagnostic)).toBe(
      `${file}:10:13: steps[1].needs[0]: step "deploy" needs unknown step "buid" (did you mean "build"?)`,
    );
  });

  it('reports wrong types as expected-versus-found, and a missing name or steps', () => {
    expect(brief(diagnose(lines('concurrency: two', 'env: [A]', 'steps: {}')))).toEqual([
      '1:1 name: missing, expected a workflow name',
      '1:14 concurrency: expected a whole number of 1 or more, got "two" (string)',
      '2:6 env: expected a mapping of variable names to values, got a list',
      '3:8 steps: expected a list of steps, got a mapping',
    ]);
    expect(brief(diagnose(lines('name: x', 'steps: []')))).toEqual(['2:8 steps: expected a non-empty list of steps, got an empty list']);
    expect(brief(diagnose(lines('name: x', 'steps:', '  - id: a', '    run: x', '    tags: [ok, 3]', '    continue_on_error: "no"')))).toEqual([
      '5:16 steps[0].tags[1]: expected a string, got 3 (number)',
      '6:24 steps[0].continue_on_error: expected true or false, got "no" (string)',
    ]);
  });

  it('suggests the key that was meant, at every level', () => {
    const text = lines(
      'name: x',
      'default: { timeout: 1s }',
      'steps:',
      '  - id: a',
      '    run: x',
      '    retry: { max_attempt: 2, jiter: full }',
      '    allowedExitCodes: [0, 1]',
      '    function_: {}',
    );
    expect(brief(diagnose(text))).toEqual([
      '2:1 default: unknown key `default`, did you mean `defaults`?',
      '6:14 steps[0].retry.max_attempt: unknown key `max_attempt`, did you mean `max_attempts`?',
      '6:30 steps[0].retry.jiter: unknown key `jiter`, did you mean `jitter`?',
      '7:5 steps[0].allowedExitCodes: unknown key `allowedExitCodes`, did you mean `allowed_exit_codes`?',
      '8:5 steps[0].function_: unknown key `function_`, did you mean `function`?',
    ]);
  });

  it('wants exactly one of run, script, function, python and workflow', () => {
    const text = lines('name: x', 'steps:', '  - id: none', '    name: Nothing', '  - id: two', '    run: make', '    script: scripts/build.sh');
    expect(brief(diagnose(text))).toEqual([
      '3:5 steps[0]: a step needs one of `run`, `script`, `function`, `python`, `workflow` (step "none" has none)',
      '7:5 steps[1].script: a step has exactly one of `run`, `script`, `function`, `python`, `workflow`; this one has `run` and `script`',
    ]);
  });

  it('rejects keys that belong to another kind of step', () => {
    const text = lines('name: x', 'steps:', '  - id: a', '    run: make', '    args: [x]', '  - id: b', '    script: scripts/build.sh', '    shell: /bin/bash');
    expect(brief(diagnose(text))).toEqual([
      '5:5 steps[0].args: `args` only applies to `script` steps; for `run`, put arguments in the command line; for `function` and `python`, use their own `args`',
      '8:5 steps[1].shell: `shell` only applies to `run` steps; for `script`, use `interpreter`',
    ]);
  });

  it('reports duplicate ids at each repeat, and ids with characters expressions cannot use', () => {
    const text = lines('name: x', 'steps:', '  - { id: a, run: x }', '  - { id: a, run: y }', '  - { id: "b c", run: z }');
    expect(brief(diagnose(text))).toEqual([
      '4:11 steps[1].id: duplicate step id "a": each step needs its own id',
      '5:11 steps[2].id: expected a step id of letters, digits, `_`, `.` and `-`, got "b c" (string)',
    ]);
  });

  it('reports step ids that differ only by case at the later one: expressions read ids ignoring case', () => {
    const text = lines('name: x', 'steps:', '  - { id: build, run: x }', '  - { id: test, run: y }', '  - { id: Build, run: z }', '  - { id: TEST, run: z }');
    expect(brief(diagnose(text))).toEqual([
      '5:11 steps[2].id: step id "Build" differs from step "build" only by case: step ids must differ other than by case, because expressions read them ignoring case (`steps.build` would name both)',
      '6:11 steps[3].id: step id "TEST" differs from step "test" only by case: step ids must differ other than by case, because expressions read them ignoring case (`steps.test` would name both)',
    ]);
  });

  it('reports a cycle with its whole path, at the first need on it', () => {
    const text = lines(
      'name: x',
      'steps:',
      '  - { id: a, run: x, needs: [c] }',
      '  - { id: b, run: x, needs: a }',
      '  - { id: c, run: x, needs: [start, b] }',
      '  - { id: start, run: x }',
    );
    expect(brief(diagnose(text))).toEqual(['3:30 steps[0].needs[0]: dependency cycle: a -> c -> b -> a']);
    expect(brief(diagnose(lines('name: x', 'steps:', '  - { id: self, run: x, needs: self }')))).toEqual([
      '3:32 steps[0].needs: dependency cycle: self -> self',
    ]);
  });

  it('points into an expression at the column of the problem', () => {
    const text = lines(
      'name: x',
      'steps:',
      '  - id: a',
      '    run: echo ${{ steps.a.outputs.x ==== 1 }}',
      "    if: matrix.os == 'linux' && secrets.X",
      '  - id: b',
      '    needs: a',
      "    if: '${{ always() && nope }}'",
      '    env:',
      '      V: "${{ needs.a.outputs.v }} ${{ fromJSON( }}"',
      '    run: |',
      '      echo one',
      '      echo ${{ steps.a.outputs.n >< 2 }}',
    );
    expect(brief(diagnose(text))).toEqual([
      "4:39 steps[0].run: invalid expression `steps.a.outputs.x ==== 1`: unexpected symbol: '=='",
      "5:33 steps[0].if: invalid expression `matrix.os == 'linux' && secrets.X`: unknown context `secrets`; available: steps, needs, env, matrix, workflow, run, inputs",
      '8:26 steps[1].if: invalid expression `always() && nope`: unknown context `nope`; available: steps, needs, env, matrix, workflow, run, inputs',
      "10:48 steps[1].env.V: invalid expression `fromJSON(`: unexpected end of expression: '('",
      "13:35 steps[1].run: invalid expression `steps.a.outputs.n >< 2`: unexpected symbol: '<'",
    ]);
  });

  it('checks that expressions read known steps, and needs only of dependencies', () => {
    const text = lines(
      'name: x',
      'env:',
      '  TOP: ${{ needs.a.outputs.x }}',
      'steps:',
      '  - id: build',
      '    run: make',
      '  - id: a',
      '    run: echo ${{ steps.buidl.outputs.v }}',
      '  - id: b',
      '    needs: a',
      "    if: needs.a.result == 'success' && needs.build.result == 'success'",
      '    args: []',
      '    script: scripts/build.sh',
      '    env: { V: "${{ steps.build.outputs.v }}", W: "${{ steps.a.outputs.w }}" }',
    );
    const diagnostics = diagnose(text);
    expect(brief(diagnostics)).toEqual([
      '3:18 env.TOP: `needs.a`: `needs` is only known inside a step; use `steps.a`',
      '8:25 steps[1].run: `steps.buidl` names no step (did you mean "build"?)',
      '11:46 steps[2].if: `needs.build`: step "b" does not need "build"; add it to `needs`',
      '14:26 steps[2].env.V: `steps.build`: "build" is not a dependency of step "b", so it may not have run when this is evaluated; add it to `needs`',
    ]);
    expect(diagnostics.map((d) => d.severity)).toEqual(['error', 'error', 'error', 'warning']);
  });

  it('reads step ids case-insensitively in expressions, as the run does', () => {
    const text = lines(
      'name: x',
      'steps:',
      '  - { id: build, run: x }',
      '  - id: b',
      '    needs: build',
      "    if: STEPS.Build.OUTPUTS.VERSION != '' && needs.BUILD.result == 'success'",
      '    run: echo ${{ Steps.bUild.outputs.v }}',
      '  - { id: c, run: "echo ${{ steps.BUILD.outputs.v }}" }',
      '  - { id: d, run: "echo ${{ steps.Biuld.outputs.v }}" }',
    );
    const result = parseWorkflowText(text, file, rig.root);
    expect(brief(result.diagnostics)).toEqual([
      '8:35 steps[2].run: `steps.BUILD`: "build" is not a dependency of step "c", so it may not have run when this is evaluated; add it to `needs`',
      '9:35 steps[3].run: `steps.Biuld` names no step (did you mean "build"?)',
    ]);
  });

  it('checks ${{ }} in the args and kwargs of function and python steps, at any depth', async () => {
    await rig.write('flows/lib/fns.mjs', 'export default () => 1;\n');
    const text = lines(
      'name: x',
      'steps:',
      '  - { id: n, run: x }',
      '  - id: p',
      '    needs: n',
      '    python:',
      '      target: stats:echo',
      '      args: ["${{ nosuch( }}", [{ deep: "${{ needs.m.outputs.n }}" }]]',
      '      kwargs: { k: "${{ matrix.x }} ${{ steps.p.outputs.o }}" }',
      '  - id: f',
      '    function: { module: lib/fns.mjs, args: ["${{ needs.n.outputs.n }}"] }',
    );
    expect(brief(diagnose(text))).toEqual([
      '8:25 steps[1].python.args[0]: invalid expression `nosuch(`: unexpected end of expression: \'(\'',
      '8:52 steps[1].python.args[1][0].deep: `needs.m` names no step (did you mean "n"?)',
      '9:47 steps[1].python.kwargs.k: `steps.p`: step "p" reads its own results, which are not known before it has run',
      '11:56 steps[2].function.args[0]: `needs.n`: step "f" does not need "n"; add it to `needs`',
    ]);
  });

  it('lets a step read any ancestor, not only direct needs, and returns the spec with warnings', () => {
    const text = lines(
      'name: x',
      'steps:',
      '  - { id: a, run: x }',
      '  - { id: b, run: x, needs: a }',
      '  - { id: c, run: "echo ${{ steps.a.outputs.v }}", needs: b }',
      '  - { id: d, run: "echo ${{ steps.c.outputs.v }}" }',
    );
    const result = parseWorkflowText(text, file, rig.root);
    expect(brief(result.diagnostics)).toEqual([
      '6:35 steps[3].run: `steps.c`: "c" is not a dependency of step "d", so it may not have run when this is evaluated; add it to `needs`',
    ]);
    expect(result.spec?.steps.map((step) => step.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('says a step cannot read its own results, instead of advising a `needs` that would be a cycle', () => {
    const text = lines(
      'name: x',
      'steps:',
      '  - id: a',
      '    run: echo ${{ steps.a.outputs.v }}',
      "    if: needs.a.result == 'success'",
    );
    const diagnostics = diagnose(text);
    expect(brief(diagnostics)).toEqual([
      '4:25 steps[0].run: `steps.a`: step "a" reads its own results, which are not known before it has run',
      '5:15 steps[0].if: `needs.a`: step "a" reads its own result, which is not known before it has run',
    ]);
    expect(diagnostics.map((d) => d.severity)).toEqual(['warning', 'error']);
  });

  it('places an expression problem in a block-scalar condition at the bad token, not at the indicator', () => {
    for (const indicator of ['|', '|-', '>', '>-']) {
      const text = lines('name: x', 'steps:', '  - id: a', '    run: x', `    if: ${indicator}`, '      success() &&', '      nosuch(1)');
      const expression = indicator.startsWith('|') ? 'success() &&\nnosuch(1)' : 'success() && nosuch(1)';
      expect(brief(diagnose(text))).toEqual([`7:7 steps[0].if: invalid expression \`${expression}\`: unknown function \`nosuch\``]);
      const wrapped = lines('name: x', 'steps:', '  - id: a', '    run: x', `    if: ${indicator}`, '      ${{ success() &&', '          steps.bogus.ok }}');
      expect(brief(diagnose(wrapped))).toEqual(['7:17 steps[0].if: `steps.bogus` names no step']);
    }
  });

  it('rejects a condition that mixes text and ${{ }}', () => {
    const text = lines('name: x', 'steps:', '  - id: a', '    run: x', '    if: ${{ success() }} && ${{ true }}');
    expect(brief(diagnose(text))).toEqual([
      '5:9 steps[0].if: a condition must be one expression: write `a && b` or `${{ a && b }}`, not text mixed with `${{ }}`',
    ]);
  });

  it('reports a ${{ without }}', () => {
    expect(brief(diagnose(lines('name: x', 'steps:', '  - id: a', '    run: echo ${{ env.A } done')))).toEqual([
      '4:15 steps[0].run: `${{` has no closing `}}`',
    ]);
  });

  it('keeps paths inside the project root and wants script files to exist', async () => {
    await rig.write('outside.txt', '');
    const text = lines(
      'name: x',
      'defaults:',
      '  cwd: ../..',
      'steps:',
      '  - id: a',
      '    script: scripts/missing.py',
      '  - id: b',
      '    script: ../../../etc/passwd',
      '  - id: c',
      '    function: { module: lib/fns.mjs }',
      '  - id: d',
      '    python: { target: "pkg.mod:fn", python_path: [src, /opt/py] }',
      '  - id: e',
      '    run: x',
      '    cwd: ${{ matrix.dir }}/../..',
    );
    const root = rig.root;
    expect(brief(diagnose(text))).toEqual([
      `3:8 defaults.cwd: expected a folder inside the project root ${root}, got "../.." (string), which is ${path.dirname(root)}`,
      `6:13 steps[0].script: script not found: ${rig.path('flows/scripts/missing.py')}`,
      `8:13 steps[1].script: expected a script inside the project root ${root}, got "../../../etc/passwd" (string), which is ${path.resolve(rig.path('flows'), '../../../etc/passwd')}`,
      `10:25 steps[2].function.module: module not found: ${rig.path('flows/lib/fns.mjs')}`,
      `12:56 steps[3].python.python_path[1]: expected a folder inside the project root ${root}, got "/opt/py" (string), which is /opt/py`,
    ]);
  });

  it('reports a missing or outside file at every step that names it, when many steps name one file', async () => {
    await rig.write('flows/lib/ok.mjs', 'export default () => 1;\n');
    const text = lines(
      'name: x',
      'steps:',
      '  - id: a',
      '    function: { module: lib/gone.mjs }',
      '  - id: b',
      '    function: { module: lib/ok.mjs }',
      '  - id: c',
      '    function: { module: lib/gone.mjs }',
      '  - id: d',
      '    script: ../../../etc/passwd',
      '  - id: e',
      '    function: { module: lib/ok.mjs }',
      '  - id: f',
      '    script: ../../../etc/passwd',
    );
    const root = rig.root;
    const outside = `expected a script inside the project root ${root}, got "../../../etc/passwd" (string), which is ${path.resolve(rig.path('flows'), '../../../etc/passwd')}`;
    expect(brief(diagnose(text))).toEqual([
      `4:25 steps[0].function.module: module not found: ${rig.path('flows/lib/gone.mjs')}`,
      `8:25 steps[2].function.module: module not found: ${rig.path('flows/lib/gone.mjs')}`,
      `10:13 steps[3].script: ${outside}`,
      `14:13 steps[5].script: ${outside}`,
    ]);
  });

  it('resolves symlinks before the project-root check: links out are errors, links inside still work', async () => {
    await symlink('/etc/hostname', rig.path('flows/host.sh'));
    await symlink('/', rig.path('flows/rootlink'));
    await symlink('/tmp', rig.path('flows/tmplink'));
    await rig.write('flows/lib/fns.mjs', 'export const x = 1;\n');
    await rig.write('flows/sub.yaml', 'name: s\nsteps: [{ id: a, run: x }]\n');
    await symlink(rig.path('flows/scripts'), rig.path('flows/inner'));
    await symlink('scripts/build.sh', rig.path('flows/build-link.sh'));
    const text = lines(
      'name: x',
      'steps:',
      '  - id: a',
      '    script: host.sh',
      '    interpreter: cat',
      '    cwd: rootlink/etc',
      '  - id: b',
      '    workflow: rootlink/etc/hostname',
      '  - id: c',
      '    function: { module: rootlink/etc/hostname }',
      '  - id: d',
      '    python: { target: "pkg.mod:fn", python_path: [tmplink/not-yet] }',
      '  - id: e',
      '    script: inner/build.sh',
      '    cwd: inner',
      '  - id: f',
      '    script: build-link.sh',
      '    cwd: inner/made-later',
    );
    const root = rig.root;
    const out = (what: string, written: string, real: string) =>
      `expected a ${what} inside the project root ${root}, got "${written}" (string), which resolves through a link to ${real}, outside the project root`;
    const hostname = realpathSync('/etc/hostname');
    expect(brief(diagnose(text))).toEqual([
      `4:13 steps[0].script: ${out('script', 'host.sh', hostname)}`,
      `6:10 steps[0].cwd: ${out('folder', 'rootlink/etc', '/etc')}`,
      `8:15 steps[1].workflow: ${out('workflow file', 'rootlink/etc/hostname', hostname)}`,
      `10:25 steps[2].function.module: ${out('module', 'rootlink/etc/hostname', hostname)}`,
      `12:51 steps[3].python.python_path[0]: ${out('folder', 'tmplink/not-yet', path.join(realpathSync('/tmp'), 'not-yet'))}`,
    ]);
  });

  it('checks matrices and concurrency groups', () => {
    const text = lines(
      'name: x',
      'concurrency_groups: { db: 1 }',
      'steps:',
      '  - id: a',
      '    run: x',
      '    matrix: { os: [linux, mac], exclude: [{ arch: arm }] }',
      '    concurrency_group: dbb',
      '  - id: b',
      '    run: x',
      '    matrix: { os: [], py: [[1]] }',
      '    concurrency_group: frontend',
    );
    expect(brief(diagnose(text))).toEqual([
      '6:13 steps[0].matrix: matrix `exclude[0]` names "arch", which is not an axis (axes: "os")',
      '7:24 steps[0].concurrency_group: unknown concurrency group "dbb" (did you mean "db"?)',
      '10:19 steps[1].matrix.os: expected a non-empty list of values, got an empty list',
      '10:28 steps[1].matrix.py[0]: expected a string, number or boolean, got a list',
      '11:24 steps[1].concurrency_group: unknown concurrency group "frontend"; list its limit under `concurrency_groups`',
    ]);
  });

  it('reports matrix steps whose expanded ids another step already has, at the matrix', () => {
    const text = lines(
      'name: x',
      'steps:',
      '  - id: a',
      '    run: x',
      '    matrix: { x: [1], y: [2], exclude: [{ x: 1 }], include: [{ x: 1, y: 2 }, { "x=1, y": 2 }] }',
      '  - id: b',
      '    run: x',
      '    matrix: { os: ["1", "2"], include: [{ os: 1 }] }',
    );
    expect(brief(diagnose(text))).toEqual([
      '5:5 steps[0].matrix: the matrix expands to step id "a (x=1, y=2)", which another combination of this matrix already has: each step needs its own id',
    ]);
  });

  it('refuses ${{ }} in python_path, which is never rendered', () => {
    const text = lines('name: x', 'steps:', '  - id: a', '    python: { target: "m:f", python_path: ["${{ env.HOME }}/../.."] }');
    expect(brief(diagnose(text))).toEqual([
      '4:44 steps[0].python.python_path[0]: `python_path` entries are used as written, so `${{ }}` is not allowed here; got "${{ env.HOME }}/../.." (string)',
    ]);
  });

  it('reports YAML syntax errors and duplicate keys with their position', () => {
    expect(brief(diagnose(lines('name: x', 'steps:', '  - id: a', '    run: [unclosed')))).toEqual([
      expect.stringMatching(/^5:1 : invalid YAML: /),
    ]);
    expect(brief(diagnose(lines('name: x', 'steps:', '  - id: a', '    run: x', '    run: y')))).toEqual([
      '5:5 steps[0].run: duplicate key `run`: each key may appear only once',
    ]);
  });

  it('reads JSON files with the same positions', () => {
    const json = file.replace(/\.yaml$/, '.json');
    const text = [
      '{',
      '  "name": "j",',
      '  "steps": [',
      '    { "id": "a", "run": "echo ${{ steps.a.outputs.x ==== 1 }}" },',
      '    { "id": "b", "runn": "x", "needs": ["a", "z"] }',
      '  ]',
      '}',
      '',
    ].join('\n');
    expect(brief(diagnose(text, json))).toEqual([
      "4:55 steps[0].run: invalid expression `steps.a.outputs.x ==== 1`: unexpected symbol: '=='",
      '5:5 steps[1]: a step needs one of `run`, `script`, `function`, `python`, `workflow` (step "b" has none)',
      '5:18 steps[1].runn: unknown key `runn`, did you mean `run`?',
      '5:46 steps[1].needs[1]: step "b" needs unknown step "z" (did you mean "a"?)',
    ]);
    const broken = brief(diagnose('{"name": "j", "steps": [}', json));
    expect(broken.length).toBeGreaterThan(0);
    for (const line of broken) expect(line).toMatch(/^1:25 : invalid JSON: /);
  });

  it('rejects env names that are empty or hold "=" or a null byte, and values with a null byte', () => {
    const text = lines(
      'name: x',
      'env: {"A=B": x}',
      'defaults:',
      '  env: {"": y}',
      'steps:',
      '  - id: a',
      '    run: x',
      '    env: {"N\\0UL": x, V: "a\\0b"}',
    );
    expect(brief(diagnose(text))).toEqual([
      '2:7 env.A=B: expected a variable name without "=", got "A=B" (string)',
      '4:9 defaults.env.: expected a variable name, got "" (string)',
      '8:11 steps[0].env.N\u0000UL: expected a variable name without null bytes, got "N\\u0000UL" (string)',
      '8:26 steps[0].env.V: expected a value without null bytes, got "a\\u0000b" (string)',
    ]);
  });

  it('names the largest whole number it takes when one is too big to hold exactly', () => {
    expect(brief(diagnose(lines('name: x', 'concurrency: 1e20', 'steps:', '  - id: a', '    run: x')))).toEqual([
      '2:14 concurrency: expected a whole number of 1 or more, at most 9007199254740991 (the largest safe integer), got 100000000000000000000 (number)',
    ]);
  });

  it('reports duplicate keys in JSON files, which JSON.parse would silently merge', () => {
    const json = file.replace(/\.yaml$/, '.json');
    const result = parseWorkflowText('{"name":"t","steps":[{"id":"a","run":"echo SAFE","run":"echo DANGER"}]}', json, rig.root);
    expect(result.spec).toBeUndefined();
    expect(brief(result.diagnostics)).toEqual(['1:50 steps[0].run: duplicate key `run`: each key may appear only once']);
    // The same key written with an escape is the same key.
    expect(brief(diagnose('{"name":"t","n\\u0061me":"u","steps":[{"id":"a","run":"x"}]}', json))).toEqual([
      '1:13 name: duplicate key `name`: each key may appear only once',
    ]);
    // Keys repeated in different objects, and strings that look like keys, are fine.
    expect(diagnose('{"name":"t","steps":[{"id":"a","run":"x"},{"id":"b","run":"\\"id\\": 1"}]}', json)).toEqual([]);
  });

  it('places JSON syntax errors whose JSON.parse message has no position', () => {
    const json = file.replace(/\.yaml$/, '.json');
    const text = ['{', '  "name": "t",', '  "steps": [', '    {"id": "a", "run": "echo hi"},', '  ]', '}', ''].join('\n');
    expect(brief(diagnose(text, json))).toEqual([expect.stringMatching(/^5:3 : invalid JSON: Unexpected token ']'/)]);
  });

  it('skips a UTF-8 byte-order mark at the start of a JSON file', () => {
    const json = file.replace(/\.yaml$/, '.json');
    const result = parseWorkflowText('\uFEFF{"name":"t","steps":[{"id":"a","run":"echo hi"}]}', json, rig.root);
    expect(result.diagnostics).toEqual([]);
    expect(result.spec?.steps.map((step) => step.id)).toEqual(['a']);
    // Columns count from after the mark, as editors show them.
    expect(brief(diagnose('\uFEFF{"name":"t","steps":[{"id":"a","runn":"x"}]}', json))).toContainEqual(
      '1:32 steps[0].runn: unknown key `runn`, did you mean `run`?',
    );
  });
});
