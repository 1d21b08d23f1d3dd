import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ModuleStep } from '../../src/core/spec.js';
import { moduleFunc } from '../../src/dsl/index.js';
import { LocalEngine } from '../../src/engines/local/local-engine.js';
import { moduleStep as inlineModule, workflowSpec } from '../helpers/step-factory.js';

const INLINE = fileURLToPath(new URL('../fixtures/modules/inline.mjs', import.meta.url));
const INLINE_TS = fileURLToPath(new URL('../fixtures/modules/inline-ts.ts', import.meta.url));

/** An inline module step of the fixture module (timeout 5 s, kill grace 0.5 s). */
function moduleStep(id: string, exportName: string, args: unknown[], overrides: Partial<ModuleStep> = {}): ModuleStep {
  return inlineModule(id, INLINE, exportName, args, { timeout: 5000, killGrace: 500, isolation: 'inline', ...overrides });
}

describe('module steps with isolation: inline', () => {
  it('run in this process, imported once, with the context after the arguments', async () => {
    await using engine = new LocalEngine();
    const summary = await engine.submit(
      workflowSpec([moduleStep('first', 'count', ['a']), moduleStep('second', 'count', ['b'], { needs: ['first'] })]),
    ).result;
    expect(summary.status).toBe('succeeded');
    const [first, second] = summary.steps;
    expect(first?.value).toMatchObject({ calls: 1, pid: process.pid, attempt: 1 });
    // Same module instance: its state carries over from the first call.
    expect((second?.value as { calls: number }).calls).toBe(2);
    expect(second?.outputs).toEqual({ label: 'b' });
  });

  it('a timeout aborts the signal and ends the step as timed out', async () => {
    await using engine = new LocalEngine();
    const started = Date.now();
    const summary = await engine.submit(workflowSpec([moduleStep('slow', 'waitForAbort', [], { timeout: 100 })])).result;
    expect(summary.steps[0]?.status).toBe('timed-out');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a throw, a missing export and a missing module fail the step with what went wrong', async () => {
    await using engine = new LocalEngine();
    const summary = await engine.submit(
      workflowSpec([
        moduleStep('boom', 'boom', []),
        moduleStep('not-fn', 'notAFunction', []),
        moduleStep('no-export', 'nope', []),
        moduleStep('missing', 'x', [], { module: '/nonexistent/module.mjs' }),
      ]),
    ).result;
    const [boom, notFn, noExport, missing] = summary.steps;
    expect(boom?.reason).toBe('function-threw');
    expect(boom?.message).toContain('RangeError: boom inline');
    expect(notFn?.message).toContain(`export "notAFunction" of ${INLINE} is not a function (it is number)`);
    expect(noExport?.message).toBe(`threw: TypeError: ${INLINE} has no export "nope" (its exports: boom, count, notAFunction, waitForAbort)`);
    // A missing file is a missing file, as for a script: not a function that threw.
    expect(missing).toMatchObject({ status: 'failed', reason: 'script-missing', message: 'script file is missing: module /nonexistent/module.mjs does not exist' });
  });

  it('once imported, a module is used from memory: a later step runs it after its file is gone', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'inline-module-'));
    try {
      const module = path.join(dir, 'self-deleting.mjs');
      await writeFile(
        module,
        "import { unlinkSync } from 'node:fs';\nlet calls = 0;\nexport function once() { calls += 1; if (calls === 1) unlinkSync(new URL(import.meta.url)); return calls; }\nexport function other() { return 'other'; }\n",
      );
      await using engine = new LocalEngine();
      const summary = await engine.submit(
        workflowSpec([
          moduleStep('first', 'once', [], { module }),
          moduleStep('second', 'once', [], { module, needs: ['first'] }),
          moduleStep('third', 'other', [], { module, needs: ['second'] }),
        ]),
      ).result;
      expect(existsSync(module)).toBe(false);
      expect(summary.steps.map((s) => [s.id, s.status, s.value])).toEqual([
        ['first', 'succeeded', 1],
        ['second', 'succeeded', 2],
        ['third', 'succeeded', 'other'],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('TypeScript modules load through tsx, and the DSL sets the isolation', async () => {
    await using engine = new LocalEngine();
    const summary = await engine.submit(workflowSpec([moduleStep('ts', 'double', [21], { module: INLINE_TS })])).result;
    expect(summary.steps[0]?.value).toBe(42);
    const step = moduleFunc(INLINE_TS, 'double', [2], { isolation: 'inline' });
    expect((await step.run()).value).toBe(4);
    expect(() => moduleFunc(INLINE_TS, 'double', [], { isolation: 'thread' as 'inline' })).toThrow(/isolation "process" or "inline"/);
  });
});
