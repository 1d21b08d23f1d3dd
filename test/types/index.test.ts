import { describe, expectTypeOf, it } from 'vitest';
import {
  runScript,
  runScripts,
  discoverScripts,
  getScriptConfig,
  LocalEngine,
  type Engine,
  type RunEvent,
  type RunStatus,
  type RunSummary,
  type StepResult,
  type DiscoveryResult,
  type ScriptConfig,
} from '../../src/index.js';

describe('public types', () => {
  it('runScript resolves to a StepResult and runScripts to a RunSummary', () => {
    expectTypeOf(runScript).returns.resolves.toEqualTypeOf<StepResult>();
    expectTypeOf(runScripts).returns.resolves.toEqualTypeOf<RunSummary>();
    expectTypeOf(discoverScripts).returns.resolves.toEqualTypeOf<DiscoveryResult>();
    expectTypeOf(getScriptConfig).returns.toEqualTypeOf<ScriptConfig>();
  });

  it('the status enum is the eight documented tokens', () => {
    expectTypeOf<RunStatus>().toEqualTypeOf<
      'pending' | 'running' | 'succeeded' | 'failed' | 'timed-out' | 'cancelled' | 'skipped' | 'cached'
    >();
  });

  it('events narrow on their type', () => {
    const handle = (event: RunEvent): void => {
      if (event.type === 'step-finished') expectTypeOf(event.result).toEqualTypeOf<StepResult>();
      if (event.type === 'run-finished') expectTypeOf(event.summary).toEqualTypeOf<RunSummary>();
    };
    expectTypeOf(handle).parameter(0).toEqualTypeOf<RunEvent>();
  });

  it('LocalEngine is an Engine', () => {
    expectTypeOf<LocalEngine>().toExtend<Engine>();
  });
});
