import type { StepContext, WorkflowSpec } from '../core/spec.js';

/**
 * An in-process step: sync or async, it gets one {@link StepContext} (dependencies' results,
 * `signal`, `attempt`, `env`, `matrix`, `setOutput`, `log`) and its return value becomes the
 * step's `value`.
 */
export type StepFn<T = unknown> = (context: StepContext) => T | Promise<T>;

/** Something that can produce a workflow spec (a `Workflow`), without importing it here. */
export interface WorkflowSource {
  readonly name: string;
  toSpec(): WorkflowSpec;
}

/** What a step does, before the common fields (`needs`, `timeout`, ...) are filled in. */
export type StepBody =
  | { kind: 'function'; fn: StepFn }
  | { kind: 'command'; command: string; shell?: string }
  | { kind: 'script'; path: string; args: readonly string[]; interpreter?: readonly string[] }
  | { kind: 'module'; module: string; export: string; args: readonly unknown[]; isolation?: 'process' | 'inline' }
  | { kind: 'python'; target: string; args: readonly unknown[]; kwargs: Record<string, unknown>; pythonPath?: readonly string[] }
  | { kind: 'workflow'; workflow: WorkflowSource | WorkflowSpec };
