import type { StepResult } from '../core/result.js';
import type { WorkflowSpec } from '../core/spec.js';
import { buildStepSpec } from './build-step.js';
import type { StepBody, StepFn } from './step-body.js';
import { runSpec, type RunOptions } from './run-spec.js';
import { describeValue, mergeStepOptions, needsList, validateStepOptions, type StepOptions } from './step-options.js';

/** Anything that can become a step: `shell()`, `pipe()`, `batch()`, a `Workflow`, a descriptor. */
export interface StepConvertible {
  toStepDescriptor(): StepDescriptor;
}

/** What `Workflow.step()` and the helpers accept as an action. */
export type StepAction = StepFn | StepConvertible;

export type { StepBody, StepFn };

/**
 * A step that is not in a workflow yet: what it does and how (options). Immutable: `with()` and
 * `after()` return new descriptors. `run()` runs it on its own as a one-step workflow.
 *
 * @example
 * const build = step('build', shell('make'), { timeout: 600_000 }).after('fetch');
 */
export class StepDescriptor implements StepConvertible {
  /** The step id it asks for (set by `step(name, ...)`); the workflow may give it one instead. */
  readonly id: string | undefined;
  readonly body: StepBody;
  readonly options: Readonly<StepOptions>;

  constructor(body: StepBody, options: StepOptions = {}, id?: string) {
    validateStepOptions(options, id === undefined ? `a ${body.kind} step` : `step "${id}"`);
    this.body = body;
    this.options = options;
    this.id = id;
  }

  /** A copy with `options` merged over these (lists joined, `env` merged). */
  with(options: StepOptions): StepDescriptor {
    return new StepDescriptor(this.body, mergeStepOptions(this.options, options), this.id);
  }

  /** A copy that also needs `ids`. */
  after(...ids: (string | readonly string[])[]): StepDescriptor {
    return this.with({ needs: ids.flatMap((id) => needsList(id)) });
  }

  /** A copy with another id. */
  named(id: string): StepDescriptor {
    return new StepDescriptor(this.body, this.options, id);
  }

  toStepDescriptor(): StepDescriptor {
    return this;
  }

  /**
   * Runs this step alone (a one-step workflow on the local engine) and returns its result; never
   * throws for a failing step. A matrix step must run in a `Workflow`.
   */
  async run(options: RunOptions = {}): Promise<StepResult> {
    if (this.options.matrix !== undefined) {
      throw new TypeError('Expected a step without `matrix` for `run()`, got one with a matrix: add it to a Workflow to run every combination');
    }
    const id = this.id ?? this.body.kind;
    const { needs: _needs, ...rest } = this.options;
    // Alone, a step has no dependencies to wait for.
    const { matrixSpec: _matrix, ...spec } = buildStepSpec(id, this.body, rest);
    const workflow: WorkflowSpec = { name: id, steps: [spec], concurrency: 1, failurePolicy: 'continue', timeout: 0 };
    const summary = await runSpec(workflow, options);
    return summary.steps[0] as StepResult;
  }
}

/** Any action as a descriptor; throws `TypeError` for anything else. */
export function toDescriptor(action: unknown, where = 'a step action'): StepDescriptor {
  if (action instanceof StepDescriptor) return action;
  if (typeof action === 'function') return new StepDescriptor({ kind: 'function', fn: action as StepFn });
  if (typeof action === 'object' && action !== null && typeof (action as Partial<StepConvertible>).toStepDescriptor === 'function') {
    const descriptor = (action as StepConvertible).toStepDescriptor();
    if (descriptor instanceof StepDescriptor) return descriptor;
  }
  throw new TypeError(
    `Expected ${where} to be a function, a Workflow or a step from shell(), script(), pipe(), batch(), pythonFunc(), moduleFunc() or step(), got ${describeValue(action)}`,
  );
}
