import { describe, expect, it } from 'vitest';
import { isSimpleWorkflow } from '../../src/workflow-file/is-simple-workflow.js';
import { workflowFileSchema } from '../../src/workflow-file/index.js';

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Values, right and wrong, for every key the fast check knows and some it does not. */
const STEP_VALUES: Record<string, unknown[]> = {
  id: ['a', 'b.c-d_1', 'b c', '', 3],
  name: ['Build', '', 1],
  description: ['', 'text', null],
  run: ['make', '', ['make']],
  script: ['scripts/x.sh', ''],
  workflow: ['sub.yaml', ''],
  shell: ['/bin/bash', ''],
  cwd: ['sub', ''],
  concurrency_group: ['db', ''],
  needs: ['a', ['a', 'b'], [], [1], null],
  if: ['success()', true, 1],
  timeout: [0, 1.5, '90s', '1m30s', ' 2m ', -1, 'soon', Infinity, Number.NaN],
  kill_grace: [5, '5s', 'x'],
  retry: [1, 3, 0, 1.5, { max_attempts: 2 }],
  memory_limit_mb: [1, 512, 0, 2.5],
  env: [{ A: 'x', B: 1, C: true }, { A: null }, { A: Infinity }, [], 'x'],
  tags: [['a'], [], [1], 'a'],
  args: [['a', 1], [], [true], [Infinity]],
  allowed_exit_codes: [[0, 1], [256], [-1], [1.5], []],
  continue_on_error: [true, false, 'no'],
  cache: [true, false, { inputs: ['x'] }],
  interpreter: ['python3'],
  matrix: [{ os: ['linux'] }],
  function: [{ module: 'x.mjs' }],
  python: [{ target: 'a:b' }],
  runs_on: ['gpu'],
  unknown_key: [1],
};

const TOP_VALUES: Record<string, unknown[]> = {
  name: ['big', '', 1],
  $schema: ['x', 1],
  description: ['x', 1],
  concurrency: [1, 64, 0, 1.5],
  timeout: [10, '1h', 'x'],
  fail_fast: [true, false, 'no-new', 'kill', 'continue', 'maybe'],
  env: [{ A: 'b' }, { A: [] }],
  cache: [true, 'yes'],
  defaults: [{ timeout: '1s', kill_grace: 2, cwd: 'x', retry: 2, env: { A: 1 } }, { retry: { max_attempts: 2 } }, { runs_on: 'x' }, { cwd: '' }, []],
  concurrency_groups: [{ db: 1 }, { db: 0 }, []],
  other: [1],
};

function sample(next: () => number, values: Record<string, unknown[]>, keyChance: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, options] of Object.entries(values)) {
    if (next() >= keyChance) continue;
    // Mostly the first (valid) value, so that many samples pass.
    out[key] = next() < 0.7 ? options[0] : options[Math.floor(next() * options.length)];
  }
  return out;
}

describe('isSimpleWorkflow', () => {
  it('accepts the common shapes, as the zod schema does', () => {
    const workflow = { name: 'big', concurrency: 64, steps: [{ id: 's0', run: 'true' }, { id: 's1', run: 'true', needs: ['s0'] }] };
    expect(isSimpleWorkflow(workflow)).toBe(true);
    expect(workflowFileSchema.safeParse(workflow).success).toBe(true);
  });

  it('only says yes when the zod schema accepts the value and returns an equal one', () => {
    const next = random(4);
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const top = sample(next, TOP_VALUES, 0.3);
      if (next() < 0.95) top.name = 'flow';
      if (next() < 0.97) {
        top.steps = Array.from({ length: Math.floor(next() * 3) + (next() < 0.9 ? 1 : 0) }, () => {
          const step = sample(next, STEP_VALUES, 0.12);
          if (next() < 0.95) step.id = 'a';
          if (next() < 0.9) step.run = 'make';
          return step;
        });
      }
      if (!isSimpleWorkflow(top)) continue;
      accepted += 1;
      const result = workflowFileSchema.safeParse(top);
      expect(result.success, JSON.stringify(top)).toBe(true);
      expect(result.data).toEqual(top);
    }
    expect(accepted).toBeGreaterThan(100);
  });
});
