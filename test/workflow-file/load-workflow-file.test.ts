import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/index.js';
import { DEFAULT_RETRY_POLICY } from '../../src/core/retry.js';
import type { CommandStep, ModuleStep, PythonStep, ScriptStep, SubWorkflowStep } from '../../src/core/spec.js';
import { loadWorkflowFile, parseWorkflowText, validateWorkflowFile } from '../../src/workflow-file/index.js';
import { createConfigRig } from '../config/config-rig.js';
import type { ConfigRig } from '../config/config-rig.js';

let rig: ConfigRig;

beforeEach(async () => {
  rig = await createConfigRig();
  await rig.write('package.json', '{}');
  await rig.write('flows/scripts/report', '#!/usr/bin/env python3\nprint("report")\n');
  await rig.write('flows/scripts/build.sh', '#!/bin/sh\necho build\n');
  await rig.write('flows/lib/fns.mjs', 'export function main(a, b) { return a + b; }\n');
});
afterEach(async () => {
  await rig.cleanup();
});

const FULL = `
name: release
concurrency: 3
timeout: 10m
fail_fast: kill
env:
  REGION: eu-west-1
  RETRIES: 3
defaults:
  timeout: 60s
  kill_grace: 2s
  cwd: scripts
  retry: { max_attempts: 2, initial_delay: 500ms }
  env: { LOG_LEVEL: info, SHARED: defaults }
concurrency_groups:
  db: 1
steps:
  - id: build
    name: Build
    description: Compiles everything.
    script: scripts/build.sh
    args: [--fast, 2, "\${{ env.REGION }}"]
    interpreter: bash -x
    env: { SHARED: step }
    tags: [ci]
  - id: report
    script: scripts/report
    needs: build
  - id: sum
    function: { module: lib/fns.mjs, export: main, args: [1, 2] }
    needs: [build]
    cwd: .
  - id: py
    python:
      target: pkg.mod:fn
      args: [1]
      kwargs: { verbose: true }
      python_path: [src, lib]
  - id: migrate
    run: ./migrate --region "\${{ env.REGION }}"
    shell: /bin/bash
    needs: [build, sum]
    if: \${{ steps.build.outputs.ok == 'true' }}
    retry:
      max_attempts: 4
      max_delay: 10s
      factor: 3
      jitter: full
      on_exit_codes: [75]
    timeout: 0
    kill_grace: 0
    allowed_exit_codes: [0, 3]
    memory_limit_mb: 512
    continue_on_error: true
    concurrency_group: db
    cwd: "\${{ matrix.dir }}/work"
`;

describe('loadWorkflowFile', () => {
  it('turns a full file into a WorkflowSpec with every field filled', async () => {
    const file = await rig.write('flows/release.yaml', FULL);
    const flows = rig.path('flows');
    const spec = await loadWorkflowFile(file, { projectRoot: rig.root });

    expect(spec).toMatchObject({
      name: 'release',
      concurrency: 3,
      timeout: 600_000,
      failurePolicy: 'kill',
      source: file,
      env: { REGION: 'eu-west-1', RETRIES: '3' },
      groupConcurrency: { db: 1 },
    });
    const [build, report, sum, py, migrate] = spec.steps as [ScriptStep, ScriptStep, ModuleStep, PythonStep, CommandStep];
    const inheritedRetry = { ...DEFAULT_RETRY_POLICY, maxAttempts: 2, initialDelay: 500 };
    expect(build).toEqual({
      kind: 'script',
      id: 'build',
      name: 'Build',
      description: 'Compiles everything.',
      needs: [],
      timeout: 60_000,
      killGrace: 2000,
      retry: inheritedRetry,
      env: { LOG_LEVEL: 'info', SHARED: 'step' },
      cwd: path.join(flows, 'scripts'),
      allowedExitCodes: [0],
      tags: ['ci'],
      group: '.',
      path: path.join(flows, 'scripts/build.sh'),
      relativePath: 'scripts/build.sh',
      args: ['--fast', '2', '${{ env.REGION }}'],
      scriptKind: 'shell',
      shebang: '/bin/sh',
      interpreter: ['bash', '-x'],
    });
    expect(report).toMatchObject({ kind: 'script', name: 'report', needs: ['build'], scriptKind: 'python', shebang: '/usr/bin/env python3', relativePath: 'scripts/report' });
    expect(sum).toMatchObject({ kind: 'module', module: path.join(flows, 'lib/fns.mjs'), export: 'main', args: [1, 2], cwd: flows, needs: ['build'] });
    expect(py).toMatchObject({
      kind: 'python',
      target: 'pkg.mod:fn',
      args: [1],
      kwargs: { verbose: true },
      pythonPath: [path.join(flows, 'src'), path.join(flows, 'lib')],
    });
    expect(migrate).toEqual({
      kind: 'command',
      id: 'migrate',
      name: 'migrate',
      command: './migrate --region "${{ env.REGION }}"',
      shell: '/bin/bash',
      needs: ['build', 'sum'],
      if: "steps.build.outputs.ok == 'true'",
      timeout: 0,
      killGrace: 0,
      retry: { maxAttempts: 4, initialDelay: 500, maxDelay: 10_000, factor: 3, jitter: 'full', retryOnExitCodes: [75] },
      env: { LOG_LEVEL: 'info', SHARED: 'defaults' },
      // A templated folder stays text for the engine to render.
      cwd: `${flows}${path.sep}\${{ matrix.dir }}/work`,
      allowedExitCodes: [0, 3],
      memoryLimitMb: 512,
      continueOnError: true,
      concurrencyGroup: 'db',
      tags: [],
      group: '.',
    });
  });

  it('applies the defaults to a minimal file', async () => {
    const file = await rig.write('flows/min.yml', 'name: min\nsteps:\n  - id: hello\n    run: echo hello\n    retry: 3\n');
    const spec = await loadWorkflowFile(file, { projectRoot: rig.root, env: { FROM_CLI: '1' } });
    expect(spec).toEqual({
      name: 'min',
      concurrency: availableParallelism(),
      failurePolicy: 'no-new',
      timeout: 0,
      source: file,
      env: { FROM_CLI: '1' },
      steps: [
        {
          kind: 'command',
          id: 'hello',
          name: 'hello',
          command: 'echo hello',
          needs: [],
          timeout: 0,
          killGrace: 5000,
          retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 3 },
          env: {},
          cwd: rig.path('flows'),
          allowedExitCodes: [0],
          tags: [],
          group: '.',
        },
      ],
    });
  });

  it.each([
    [true, 'no-new'],
    [false, 'continue'],
    ['continue', 'continue'],
    ['no-new', 'no-new'],
  ])('maps fail_fast %j to %j', async (failFast, policy) => {
    const file = await rig.write('flows/ff.yaml', `name: ff\nfail_fast: ${JSON.stringify(failFast)}\nsteps: [{ id: a, run: x }]\n`);
    expect((await loadWorkflowFile(file, { projectRoot: rig.root })).failurePolicy).toBe(policy);
  });

  it('expands a matrix into one step per combination and rewrites the needs of dependents', async () => {
    const file = await rig.write(
      'flows/matrix.yaml',
      `name: m
steps:
  - id: lint
    run: lint
  - id: test
    name: Test
    needs: lint
    run: pytest --os \${{ matrix.os }}
    matrix:
      os: [linux, mac]
      py: ["3.11", "3.12"]
      exclude: [{ os: mac, py: "3.11" }]
      include: [{ os: linux, py: "3.12", coverage: true }]
  - id: build
    needs: [test, lint]
    run: make
`,
    );
    const spec = await loadWorkflowFile(file, { projectRoot: rig.root });
    expect(spec.steps.map((step) => [step.id, step.name, step.needs, step.matrix, step.matrixOf])).toEqual([
      ['lint', 'lint', [], undefined, undefined],
      ['test (os=linux, py=3.11)', 'Test (os=linux, py=3.11)', ['lint'], { os: 'linux', py: '3.11' }, 'test'],
      ['test (os=linux, py=3.12, coverage=true)', 'Test (os=linux, py=3.12, coverage=true)', ['lint'], { os: 'linux', py: '3.12', coverage: true }, 'test'],
      ['test (os=mac, py=3.12)', 'Test (os=mac, py=3.12)', ['lint'], { os: 'mac', py: '3.12' }, 'test'],
      ['build', 'build', ['test (os=linux, py=3.11)', 'test (os=linux, py=3.12, coverage=true)', 'test (os=mac, py=3.12)', 'lint'], undefined, undefined],
    ]);
    expect((spec.steps[1] as CommandStep).command).toBe('pytest --os ${{ matrix.os }}');
  });

  it('loads sub-workflows recursively, relative to the including file', async () => {
    await rig.write('flows/sub/deploy.yaml', 'name: deploy\nsteps:\n  - id: push\n    script: ../scripts/build.sh\n  - id: tag\n    workflow: tag.yaml\n');
    await rig.write('flows/sub/tag.yaml', 'name: tag\nsteps: [{ id: t, run: git tag }]\n');
    const file = await rig.write(
      'flows/main.yaml',
      'name: main\nsteps:\n  - id: first\n    workflow: sub/deploy.yaml\n  - id: again\n    workflow: sub/deploy.yaml\n    needs: first\n',
    );
    const spec = await loadWorkflowFile(file, { projectRoot: rig.root });
    const [first, again] = spec.steps as [SubWorkflowStep, SubWorkflowStep];
    expect(first.kind).toBe('workflow');
    expect(first.workflow.name).toBe('deploy');
    expect(first.workflow.source).toBe(rig.path('flows/sub/deploy.yaml'));
    expect(first.workflow.steps[0]).toMatchObject({ kind: 'script', path: rig.path('flows/scripts/build.sh'), relativePath: '../scripts/build.sh', cwd: rig.path('flows/sub') });
    expect((first.workflow.steps[1] as SubWorkflowStep).workflow.steps[0]).toMatchObject({ id: 't', command: 'git tag' });
    expect(again.workflow).toEqual(first.workflow);
  });

  it('reports a sub-workflow cycle naming the files, and problems inside sub-workflows at their own lines', async () => {
    await rig.write('flows/a.yaml', 'name: a\nsteps:\n  - id: to-b\n    workflow: nested/b.yaml\n');
    await rig.write('flows/nested/b.yaml', 'name: b\nsteps:\n  - id: to-a\n    workflow: ../a.yaml\n  - id: bad\n    run: x\n    needs: nope\n');
    const diagnostics = await validateWorkflowFile(rig.path('flows/a.yaml'), { projectRoot: rig.root });
    expect(diagnostics.map((d) => `${path.relative(rig.root, d.file)}:${d.line}:${d.column} ${d.message}`)).toEqual([
      'flows/nested/b.yaml:4:15 sub-workflow cycle: flows/a.yaml -> flows/nested/b.yaml -> flows/a.yaml',
      'flows/nested/b.yaml:7:12 step "bad" needs unknown step "nope"',
    ]);
    await expect(loadWorkflowFile(rig.path('flows/a.yaml'), { projectRoot: rig.root })).rejects.toThrow(/sub-workflow cycle/);

    await rig.write('flows/self.yaml', 'name: self\nsteps: [{ id: me, workflow: self.yaml }]\n');
    expect((await validateWorkflowFile(rig.path('flows/self.yaml'), { projectRoot: rig.root })).map((d) => d.message)).toEqual([
      'sub-workflow cycle: flows/self.yaml -> flows/self.yaml',
    ]);
  });

  it('reports a missing sub-workflow file', async () => {
    const file = await rig.write('flows/main.yaml', 'name: main\nsteps:\n  - id: x\n    workflow: missing.yaml\n');
    expect((await validateWorkflowFile(file, { projectRoot: rig.root })).map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([
      `4:15 workflow file not found: ${rig.path('flows/missing.yaml')}`,
    ]);
  });

  it('throws ConfigError with every diagnostic and never returns part of a spec', async () => {
    const file = await rig.write('flows/bad.yaml', 'name: bad\nsteps:\n  - id: a\n    run: x\n    neeeds: b\n  - id: b\n    timeout: soon\n    run: y\n');
    const error = await loadWorkflowFile(file, { projectRoot: rig.root }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).diagnostics.map((d) => `${d.line}:${d.column}`)).toEqual(['5:5', '7:14']);
    expect((error as ConfigError).message).toBe(
      [
        `${file}:5:5: steps[0].neeeds: unknown key \`neeeds\`, did you mean \`needs\`?`,
        `${file}:7:14: steps[1].timeout: expected a number of seconds or a duration such as "90s", got "soon" (string)`,
      ].join('\n'),
    );
  });

  it('refuses step ids that differ only by case, at the second id', async () => {
    const file = await rig.write('flows/case.yaml', 'name: case\nsteps:\n  - id: build\n    run: x\n  - id: Build\n    run: y\n');
    const error = await loadWorkflowFile(file, { projectRoot: rig.root }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      `${file}:5:9: steps[1].id: step id "Build" differs from step "build" only by case: step ids must differ other than by case, because expressions read them ignoring case (\`steps.build\` would name both)`,
    );
  });

  it('reports an unreadable file as a diagnostic', async () => {
    const missing = rig.path('flows/nothing.yaml');
    const diagnostics = await validateWorkflowFile(missing, { projectRoot: rig.root });
    expect(diagnostics).toEqual([expect.objectContaining({ file: missing, line: 1, column: 1, message: expect.stringContaining('cannot read the workflow file') as string })]);
  });

  it('never opens a workflow file, script or sub-workflow that is not a regular file', async () => {
    const fifo = rig.path('flows/pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(await validateWorkflowFile(fifo, { projectRoot: rig.root })).toEqual([
      expect.objectContaining({ file: fifo, line: 1, column: 1, message: 'expected a workflow file (a regular file), got a FIFO; it is not read' }),
    ]);
    await rig.mkdir('flows/scripts/dir.sh');
    const file = await rig.write(
      'flows/main.yaml',
      'name: main\nsteps:\n  - id: a\n    script: pipe.yaml\n  - id: b\n    script: scripts/dir.sh\n  - id: c\n    workflow: pipe.yaml\n',
    );
    expect((await validateWorkflowFile(file, { projectRoot: rig.root })).map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([
      `4:13 expected a script (a regular file), got ${fifo}, which is a FIFO`,
      `6:13 expected a script (a regular file), got ${rig.path('flows/scripts/dir.sh')}, which is a folder`,
      `8:15 expected a workflow file (a regular file), got ${fifo}, which is a FIFO`,
    ]);
  });

  it('loads JSON workflow files', async () => {
    const file = await rig.write(
      'flows/ci.json',
      JSON.stringify({ name: 'json', fail_fast: false, steps: [{ id: 'a', run: 'echo a' }, { id: 'b', needs: 'a', script: 'scripts/build.sh', args: ['x'] }] }, null, 2),
    );
    const spec = await loadWorkflowFile(file, { projectRoot: rig.root });
    expect(spec.failurePolicy).toBe('continue');
    expect(spec.steps.map((step) => [step.kind, step.id, step.needs])).toEqual([
      ['command', 'a', []],
      ['script', 'b', ['a']],
    ]);
  });

  it('finds the project root itself when none is given', async () => {
    const file = await rig.write('flows/root.yaml', 'name: r\nsteps: [{ id: a, script: ../../outside.sh }]\n');
    const diagnostics = await validateWorkflowFile(file);
    expect(diagnostics.map((d) => d.message)).toEqual([expect.stringContaining(`inside the project root ${rig.root}`)]);
  });

  it('parseWorkflowText names sub-workflow files the way the top file was named', async () => {
    await rig.write('flows/sub.yaml', 'name: s\nsteps: [{ id: a, run: x, needs: zz }]\n');
    const text = 'name: t\nsteps: [{ id: s, workflow: sub.yaml }]\n';
    const result = parseWorkflowText(text, rig.path('flows/top.yaml'), rig.root);
    expect(result.spec).toBeUndefined();
    expect(result.diagnostics.map((d) => d.file)).toEqual([rig.path('flows/sub.yaml')]);
  });
});

describe('issue #4: big workflow files', () => {
  /** `n` steps in layers of 100, each needing two steps of the layer before, as bench/scale.mjs writes them. */
  function layered(n: number, yaml: boolean, extra = ''): string {
    const steps: string[] = [];
    const json: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const layer = Math.floor(i / 100);
      const needs = layer === 0 ? [] : [`s${(layer - 1) * 100 + (i % 100)}`, `s${(layer - 1) * 100 + ((i + 1) % 100)}`];
      steps.push(`  - id: s${i}\n    run: "true"\n${needs.length ? `    needs: [${needs.join(', ')}]\n` : ''}`);
      json.push({ id: `s${i}`, run: 'true', ...(needs.length ? { needs } : {}) });
    }
    return yaml ? `name: big\nconcurrency: 64\nsteps:\n${steps.join('')}${extra}` : JSON.stringify({ name: 'big', concurrency: 64, steps: json });
  }

  it('validates a 20,000-step YAML or JSON file without problems, and loads it', async () => {
    for (const [name, text] of [['flows/big.yaml', layered(20_000, true)], ['flows/big.json', layered(20_000, false)]] as const) {
      await rig.write(name, text);
      expect(await validateWorkflowFile(rig.path(name))).toEqual([]);
      const spec = await loadWorkflowFile(rig.path(name));
      expect(spec.steps).toHaveLength(20_000);
      expect(spec.steps[19_999]).toMatchObject({ id: 's19999', kind: 'command', command: 'true', needs: ['s19899', 's19800'] });
    }
  });

  it('reports problems in a big file exactly as parseWorkflowText does, each at its position', async () => {
    const extra = ['  - id: s1', '    run: "true"', '  - id: last', '    run: echo ${{ steps.s1.outputs.v }}', '    needs: [s19999, s2000O, last]', '    timeout: soon', ''].join('\n');
    const text = layered(2_000, true, extra);
    await rig.write('flows/bad.yaml', text);
    const diagnostics = await validateWorkflowFile(rig.path('flows/bad.yaml'));
    expect(diagnostics).toEqual(parseWorkflowText(text, rig.path('flows/bad.yaml'), rig.root).diagnostics);
    expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.field}: ${d.message}`)).toEqual([
      '5904:9 steps[2000].id: duplicate step id "s1": each step needs its own id',
      '5907:25 steps[2001].run: `steps.s1`: "s1" is not a dependency of step "last", so it may not have run when this is evaluated; add it to `needs`',
      '5908:13 steps[2001].needs[0]: step "last" needs unknown step "s19999" (did you mean "s1999"?)',
      '5908:21 steps[2001].needs[1]: step "last" needs unknown step "s2000O" (did you mean "s200"?)',
      '5908:29 steps[2001].needs[2]: dependency cycle: last -> last',
      '5909:14 steps[2001].timeout: expected a number of seconds or a duration such as "90s", got "soon" (string)',
    ]);
  });
});
