import { describe, expectTypeOf, it } from 'vitest';
import type { RunSummary, StepResult } from '../../src/core/result.js';
import type { StepContext, WorkflowSpec } from '../../src/core/spec.js';
import {
  Batch,
  Pipe,
  ShellCommand,
  StepDescriptor,
  Workflow,
  batch,
  chain,
  fanOutFanIn,
  getStepResult,
  moduleFunc,
  parallel,
  pipe,
  pythonFunc,
  retry,
  runParallel,
  shell,
  step,
  timeout,
  workflow,
  type PipeResult,
  type ShellResult,
  type StepFn,
  type StepIdsOf,
} from '../../src/dsl/index.js';

describe('DSL types', () => {
  it('shell() runs to a ShellResult, pipe() to a PipeResult, batch() to a RunSummary', () => {
    expectTypeOf(shell('ls')).toEqualTypeOf<ShellCommand>();
    expectTypeOf(shell('ls').run()).resolves.toEqualTypeOf<ShellResult>();
    expectTypeOf<ShellResult['exitCode']>().toEqualTypeOf<number | null>();
    expectTypeOf<ShellResult['success']>().toEqualTypeOf<boolean>();
    expectTypeOf(pipe(['a', 'b'])).toEqualTypeOf<Pipe>();
    expectTypeOf(pipe(['a', 'b']).run()).resolves.toEqualTypeOf<PipeResult>();
    expectTypeOf(batch(['a.py'])).toEqualTypeOf<Batch>();
    expectTypeOf(batch(['a.py']).run()).resolves.toEqualTypeOf<RunSummary>();
    expectTypeOf(runParallel).returns.resolves.toEqualTypeOf<RunSummary>();
  });

  it('step descriptors run alone to a StepResult', () => {
    expectTypeOf(pythonFunc('m:f', [1])).toEqualTypeOf<StepDescriptor>();
    expectTypeOf(moduleFunc('./m.mjs', 'f')).toEqualTypeOf<StepDescriptor>();
    expectTypeOf(retry(() => 1, 3).run()).resolves.toEqualTypeOf<StepResult>();
    expectTypeOf(timeout(shell('x'), 10)).toEqualTypeOf<StepDescriptor>();
  });

  it('Workflow.run() resolves to a RunSummary and toSpec() gives plain data', () => {
    const wf = new Workflow('w').step('a', () => 1);
    expectTypeOf(wf.run()).resolves.toEqualTypeOf<RunSummary>();
    expectTypeOf(wf.runOrThrow()).resolves.toEqualTypeOf<RunSummary>();
    expectTypeOf(wf.toSpec()).toEqualTypeOf<WorkflowSpec>();
    expectTypeOf(getStepResult).returns.toEqualTypeOf<StepResult | undefined>();
    expectTypeOf(chain(() => 1)).toEqualTypeOf<Workflow>();
    expectTypeOf(parallel(() => 1)).toEqualTypeOf<Workflow>();
    expectTypeOf(fanOutFanIn(() => 1, [], () => 2)).toEqualTypeOf<Workflow>();
  });

  it('functions get one StepContext, sync or async', () => {
    expectTypeOf<Parameters<StepFn>[0]>().toEqualTypeOf<StepContext>();
    new Workflow('ctx')
      .step('sync', (ctx) => {
        expectTypeOf(ctx).toEqualTypeOf<StepContext>();
        expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
        return 1;
      })
      .step('async', async (ctx) => {
        expectTypeOf(ctx.needs).toEqualTypeOf<StepContext['needs']>();
        await Promise.resolve();
        return 2;
      });
  });

  it('workflow() tracks step ids: needs must name a step declared earlier', () => {
    const wf = workflow('typed')
      .step('build', () => 1)
      .step('test', () => 2, { needs: 'build' })
      .step('ship', () => 3, { needs: ['build', 'test'] });
    expectTypeOf<StepIdsOf<typeof wf>>().toEqualTypeOf<'build' | 'test' | 'ship'>();
    expectTypeOf(wf.stepIds).toEqualTypeOf<('build' | 'test' | 'ship')[]>();
    // @ts-expect-error "tset" is not a step of this workflow
    wf.step('deploy', () => 4, { needs: 'tset' });
    // A plain Workflow accepts any id (checked by toSpec at run time), and typed ones fit in it.
    const loose: Workflow = new Workflow('loose').step('a', () => 1, { needs: 'declared-later' });
    const widened: Workflow = wf;
    expectTypeOf(loose).toEqualTypeOf<Workflow>();
    expectTypeOf(widened.stepIds).toEqualTypeOf<string[]>();
  });

  it('step() names a descriptor that a workflow can take as is', () => {
    const named = step('fetch', () => 1, { timeout: 10 });
    expectTypeOf(named).toEqualTypeOf<StepDescriptor>();
    expectTypeOf(new Workflow('w').step(named)).toEqualTypeOf<Workflow>();
  });
});
