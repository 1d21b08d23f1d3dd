// The DSL's public names, listed one by one (docs/dsl.md describes each).

export { Workflow, workflow, getStepResult, stepValues } from './workflow.js';
export type { WorkflowOptions, AddTaskOptions, StepIdsOf } from './workflow.js';
export { StepDescriptor } from './step-descriptor.js';
export type { StepFn, StepAction, StepConvertible, StepBody } from './step-descriptor.js';
export type { StepOptions, StepRef } from './step-options.js';
export type { RunOptions } from './run-spec.js';
export type { ProgressUpdate, ProgressListener } from './progress.js';

export { chain, chainWith, parallel, parallelWith, fanOutFanIn, uniqueStepIds } from './compose.js';
export type { ComposeOptions, FanOutFanInOptions } from './compose.js';
export { step, retry, timeout, condition } from './modifiers.js';
export type { RetryOptions, StepPredicate } from './modifiers.js';
export { script, pythonFunc, moduleFunc } from './process-steps.js';
export type { ScriptOptions, PythonFuncOptions } from './process-steps.js';

export { shell, ShellCommand, ShellError } from './shell.js';
export type { ShellOptions, ShellResult, ShellRunOptions } from './shell.js';
export { pipe, Pipe, PipeError } from './pipe.js';
export type { PipeOptions, PipeResult, PipeCommandResult, PipeRunOptions } from './pipe.js';
export { batch, Batch } from './batch.js';
export type { BatchOptions, BatchRunOptions } from './batch.js';

export { ParallelRunner, BatchRunner, runParallel } from './parallel-runner.js';
export type {
  ParallelRunnerOptions,
  ParallelRunOptions,
  BatchRunnerOptions,
  RunBatchesOptions,
  RunParallelOptions,
} from './parallel-runner.js';

// Re-exported so DSL users need one import for failures they throw or catch.
export { NonRetryableError, RunError } from '../core/errors.js';
