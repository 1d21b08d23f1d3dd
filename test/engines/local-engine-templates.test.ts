import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunSummary, StepResult } from '../../src/core/result.js';
import { LocalEngine } from '../../src/engines/local/local-engine.js';
import { loadWorkflowFile } from '../../src/workflow-file/index.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTmpDir('orch-templates-');
  await mkdir(path.join(dir, '.git'));
});
afterEach(async () => {
  await removeTmpDir(dir);
});

async function runFile(lines: string[]): Promise<RunSummary> {
  const file = path.join(dir, 'wf.yaml');
  await writeFile(file, `${lines.join('\n')}\n`);
  const spec = await loadWorkflowFile(file, { projectRoot: dir });
  return new LocalEngine().submit(spec, { projectRoot: dir }).result;
}

function step(summary: RunSummary, id: string): StepResult | undefined {
  return summary.steps.find((s) => s.id === id);
}

describe('env values built from other env values', () => {
  it('`if` and templates see the evaluated env: workflow env, then defaults.env, then the step env, each in order', async () => {
    const summary = await runFile([
      'name: env3',
      'env: { BASE: /data, OUT: "${{ env.BASE }}/out", EARLY: "[${{ env.LATE }}]", LATE: late }',
      'defaults:',
      '  env: { A: def, C: "${{ env.A }}-c", OUT: "${{ env.OUT }}/d" }',
      'fail_fast: false',
      'steps:',
      '  - id: raw',
      "    if: startsWith(env.OUT, '$')",
      '    run: echo "if saw the raw template"',
      '  - id: evaluated',
      "    if: env.OUT == '/data/out/d' && env.C == 'def-c'",
      '    env: { D: "${{ env.C }}", A: "${{ env.A }}2", E: "${{ env.A }}" }',
      '    run: echo "D=$D A=$A E=$E OUT=$OUT EARLY=$EARLY ${{ env.D }}"',
    ]);
    expect(step(summary, 'raw')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
    expect(step(summary, 'evaluated')).toMatchObject({ status: 'succeeded' });
    // Defaults read the defaults (C sees A=def though the step sets A), a step value replacing a
    // default reads it, and a forward reference within one map reads what is above it (nothing).
    expect(step(summary, 'evaluated')?.stdoutTail).toBe('D=def-c A=def2 E=def2 OUT=/data/out/d EARLY=[] def-c\n');
  });
});

describe('outputs of needs in env templates, and sub-workflows', () => {
  it('an env value reads an output of a need through env, as a plain value that is never rendered', async () => {
    const summary = await runFile([
      'name: outs',
      'env: { BASE: /data }',
      'steps:',
      '  - id: build',
      // (Written so that the step's own command holds no template: the output's value does.)
      `    run: 'echo "ver=1.2.3" >> "$ORCHESTRATOR_OUTPUT"; echo "inj=\\$""{{ env.BASE }}" >> "$ORCHESTRATOR_OUTPUT"'`,
      '  - id: use',
      '    needs: build',
      '    env: { V: "v=${{ env.ORCHESTRATOR_OUTPUT_BUILD_VER }}" }',
      '    run: echo "V=[$V] inj=[$ORCHESTRATOR_OUTPUT_BUILD_INJ]"',
    ]);
    expect(step(summary, 'use')?.stdoutTail).toBe('V=[v=1.2.3] inj=[${{ env.BASE }}]\n');
  });

  it('a sub-workflow gets the env its step got, evaluated in the parent, and renders only its own templates', async () => {
    await writeFile(
      path.join(dir, 'child.yaml'),
      ['name: child', 'env: { OWN: "${{ env.FROM_PARENT }}-own" }', 'steps:', '  - id: inner', `    run: echo "inner inj=[$ORCHESTRATOR_OUTPUT_BUILD_INJ] p=[$FROM_PARENT] own=[$OWN]" > "${path.join(dir, 'inner.txt')}"`, ''].join('\n'),
    );
    const summary = await runFile([
      'name: parent',
      'env: { BASE: /data, FROM_PARENT: "${{ env.BASE }}/p" }',
      'steps:',
      '  - id: build',
      `    run: 'echo "inj=\\$""{{ env.BASE }}" >> "$ORCHESTRATOR_OUTPUT"'`,
      '  - id: sub',
      '    needs: build',
      '    workflow: child.yaml',
    ]);
    expect(step(summary, 'sub')).toMatchObject({ status: 'succeeded' });
    expect(await readFile(path.join(dir, 'inner.txt'), 'utf8')).toBe('inner inj=[${{ env.BASE }}] p=[/data/p] own=[/data/p-own]\n');
  });
});

describe('templates in the args and kwargs of python and function steps', () => {
  it('renders every string inside them, as script args are', async () => {
    await writeFile(path.join(dir, 'echo.py'), 'def echo(*args, **kwargs):\n    return {"args": list(args), "kwargs": kwargs}\n');
    await writeFile(path.join(dir, 'fns.mjs'), 'export default (...args) => args;\n');
    const summary = await runFile([
      'name: p',
      'steps:',
      '  - id: n',
      '    run: echo n=5 >> "$ORCHESTRATOR_OUTPUT"',
      '  - id: p',
      '    needs: n',
      '    matrix: { x: [q] }',
      '    python:',
      '      target: echo:echo',
      '      args: ["${{ needs.n.outputs.n }}", ["<${{ matrix.x }}>", 3], { "${{ x }}": "${{ matrix.x }}" }]',
      '      kwargs: { k: "${{ matrix.x }}", n: 1 }',
      '      python_path: ["."]',
      '  - id: f',
      '    needs: n',
      '    function: { module: fns.mjs, args: ["${{ needs.n.outputs.n }}", { k: ["${{ needs.n.result }}"] }] }',
    ]);
    expect(step(summary, 'p (x=q)')).toMatchObject({ status: 'succeeded' });
    expect(step(summary, 'p (x=q)')?.value).toEqual({ args: ['5', ['<q>', 3], { '${{ x }}': 'q' }], kwargs: { k: 'q', n: 1 } });
    expect(step(summary, 'f')?.value).toEqual(['5', { k: ['success'] }]);
  });
});

describe('expressions that fail when the step starts', () => {
  it('fail the step as invalid-config, naming the field and the expression', async () => {
    await writeFile(path.join(dir, 'echo.py'), 'def echo(*args, **kwargs):\n    return 1\n');
    const bad = '${{ fromJSON(needs.a.outputs.j).x }}';
    const summary = await runFile([
      'name: inrun',
      'fail_fast: false',
      'steps:',
      '  - id: a',
      '    run: echo "j=not json" >> "$ORCHESTRATOR_OUTPUT"',
      `  - { id: inrun, needs: a, run: 'echo "${bad}"' }`,
      `  - { id: inenv, needs: a, run: "true", env: { X: "${bad}" } }`,
      `  - { id: incwd, needs: a, run: "true", cwd: "${bad}" }`,
      `  - { id: inif, needs: a, run: "true", env: { X: "${bad}" }, if: "env.X == 1" }`,
      `  - { id: inkwargs, needs: a, python: { target: "echo:echo", kwargs: { k: ["${bad}"] }, python_path: ["."] } }`,
    ]);
    const cannot = "cannot evaluate `fromJSON(needs.a.outputs.j).x`: ";
    for (const [id, field] of [['inrun', 'run'], ['inenv', 'env.X'], ['incwd', 'cwd'], ['inif', 'env.X'], ['inkwargs', 'kwargs.k[0]']] as const) {
      const result = step(summary, id);
      expect(result, id).toMatchObject({ status: 'failed', reason: 'invalid-config' });
      expect(result?.message, id).toContain(`\`${field}\`: ${cannot}`);
    }
  });
});
