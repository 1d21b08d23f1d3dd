import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunError, Workflow, batch, getStepResult, moduleFunc, pythonFunc, script, step } from '../../src/dsl/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixture = (name: string): string => path.join(FIXTURES, name);

describe('pythonFunc', () => {
  it('runs pkg.module:fn in Python with JSON args, the return value as `value`', async () => {
    const result = await pythonFunc('mathops:add', [2, 3], { pythonPath: [FIXTURES] }).run();
    expect(result).toMatchObject({ kind: 'python', status: 'succeeded', value: 5 });
  });

  it('passes kwargs and feeds the value to dependent steps', async () => {
    const summary = await new Workflow('python')
      .step('scaled', pythonFunc('mathops:scale', [[1, 2, 3]], { kwargs: { factor: 10 }, pythonPath: [FIXTURES] }))
      .step('total', (ctx) => (ctx.needs.scaled?.value as number[]).reduce((a, b) => a + b, 0), { needs: 'scaled' })
      .run();
    expect(getStepResult(summary, 'scaled')?.value).toEqual([10, 20, 30]);
    expect(getStepResult(summary, 'total')?.value).toBe(60);
  });

  it('fails the step with the exception and its traceback', async () => {
    const result = await pythonFunc('mathops:boom', ['no good'], { pythonPath: [FIXTURES] }).run();
    expect(result).toMatchObject({ status: 'failed', reason: 'function-threw' });
    expect(result.message).toContain('ValueError: no good');
    expect(result.stderrTail).toContain('Traceback');
  });

  it('rejects a target without a colon, suggesting one', () => {
    expect(() => pythonFunc('mathops.add', [1, 2])).toThrow('did you mean "mathops:add"?');
    expect(() => pythonFunc('mathops:add', [1n] as never)).toThrow('the arguments of pythonFunc()[0] is a bigint');
  });

  it('refuses arguments that JSON would change without a word, naming where they are', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const [args, where] of [
      [[undefined], '[0] is undefined'],
      [[1, Number.NaN], '[1] is NaN'],
      [[{ when: new Date(0) }], '[0].when is a Date'],
      [[{ m: new Map() }], '[0].m is a Map'],
      [[cyclic], '[0].self refers back to itself'],
    ] as const) {
      expect(() => pythonFunc('mathops:add', args as never)).toThrow(where);
      expect(() => moduleFunc(fixture('strings.mjs'), 'shout', args as never)).toThrow(where);
    }
    expect(() => pythonFunc('mathops:add', [{ a: [1, 'x', null, true] }])).not.toThrow();
  });

  it('fails a Python function that returns NaN with a clear message, not a missing result', async () => {
    const result = await pythonFunc('mathops:ratio', [1, 0], { pythonPath: [FIXTURES] }).run();
    expect(result).toMatchObject({ status: 'failed', reason: 'function-threw' });
    expect(result.message).toContain('not JSON-serialisable');
  });
});

describe('moduleFunc', () => {
  it('runs an exported function of a module file in a child process', async () => {
    const summary = await new Workflow('modules')
      .step('shout', moduleFunc(fixture('strings.mjs'), 'shout', ['hey']))
      .step('multiply', moduleFunc(fixture('strings.mjs'), 'default', [6, 7]))
      .step('fail', moduleFunc(fixture('strings.mjs'), 'fail', ['nope']))
      .run();
    expect(getStepResult(summary, 'shout')).toMatchObject({ kind: 'module', status: 'succeeded', value: 'HEY!' });
    expect(getStepResult(summary, 'multiply')?.value).toBe(42);
    expect(getStepResult(summary, 'fail')).toMatchObject({ status: 'failed', reason: 'function-threw' });
    expect(getStepResult(summary, 'fail')?.message).toContain('nope');
  });

  it('a module file that does not exist fails with script-missing; a missing export names the exports there are', async () => {
    const missing = await moduleFunc(fixture('no-such-module.mjs'), 'shout', ['hey']).run();
    expect(missing).toMatchObject({
      status: 'failed',
      reason: 'script-missing',
      message: `script file is missing: module ${fixture('no-such-module.mjs')} does not exist`,
    });
    const noExport = await moduleFunc(fixture('strings.mjs'), 'whisper', ['hey']).run();
    expect(noExport).toMatchObject({ status: 'failed', reason: 'function-threw' });
    expect(noExport.message).toBe(`threw: TypeError: ${fixture('strings.mjs')} has no export "whisper" (its exports: default, fail, shout)`);
  });
});

describe('script', () => {
  it('runs a script file as a step; a missing one fails with script-missing', async () => {
    const ok = await script(fixture('ok.sh')).run();
    expect(ok).toMatchObject({ kind: 'script', status: 'succeeded' });
    expect(ok.stdoutTail).toContain('ok ');
    const missing = await step('missing', script(fixture('does-not-exist.sh'))).run();
    // It never existed: not "no longer exists".
    expect(missing).toMatchObject({
      id: 'missing',
      status: 'failed',
      reason: 'script-missing',
      message: `script file is missing: ${fixture('does-not-exist.sh')} does not exist`,
    });
  });
});

describe('batch', () => {
  it('runs scripts in parallel and reports nonexistent targets as script-missing', async () => {
    const summary = await batch([fixture('ok.sh'), fixture('missing.py'), fixture('fail.sh')], { workers: 2, timeout: 10_000 }).run();
    expect(summary.counts.total).toBe(3);
    expect(summary.steps.map((s) => [s.id, s.status, s.reason])).toEqual([
      ['ok.sh', 'succeeded', undefined],
      ['missing.py', 'failed', 'script-missing'],
      ['fail.sh', 'failed', 'exit-non-zero'],
    ]);
  });

  it('is a function step: the summary is its value, a failure throws RunError', async () => {
    const summary = await new Workflow('batches', { failurePolicy: 'continue' })
      .step('good', batch([fixture('ok.sh')]))
      .step('bad', batch([fixture('ok.sh'), fixture('fail.sh')]))
      .run();
    expect(getStepResult(summary, 'good')?.value).toMatchObject({ status: 'succeeded', counts: { total: 1 } });
    expect(getStepResult(summary, 'bad')).toMatchObject({ status: 'failed', reason: 'function-threw' });
    expect(getStepResult(summary, 'bad')?.message).toContain(`${RunError.name}: Run scripts failed: fail.sh exited with code 3`);
  });
});
