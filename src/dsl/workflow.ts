import { availableParallelism } from 'node:os';
import { analyzeWorkflowDependencies, dagDiagnostics } from '../core/dag.js';
import { RunError } from '../core/errors.js';
import { expandMatrix, expandStepMatrix } from '../core/matrix.js';
import type { RunSummary, StepResult } from '../core/result.js';
import type { FailurePolicy, StepSpec, WorkflowSpec } from '../core/spec.js';
import type { RunHandle } from '../engines/engine.js';
import { caseClashMessage, conditionErrors, forEachCaseClash, unknownGroupMessage } from '../workflow-file/check-workflow.js';
import { buildStepSpec, type DraftStep } from './build-step.js';
import { runSpec, type RunOptions } from './run-spec.js';
import { StepDescriptor, toDescriptor, type StepAction, type StepConvertible } from './step-descriptor.js';
import {
  describeValue,
  expectNonEmptyString,
  expectNonNegativeInteger,
  expectPositiveInteger,
  expectStringRecord,
  needsList,
  validateStepOptions,
  type StepOptions,
} from './step-options.js';

/** @see docs/dsl.md */
export interface WorkflowOptions {
  /** Steps running at once. @default number of CPUs */
  concurrency?: number;
  /** Milliseconds for the whole run; 0 = none. @default 0 */
  timeout?: number;
  /**
   * After a step fails: `no-new` starts nothing new (except `always()`/`failure()` steps) and lets
   * running steps finish; `continue` runs everything that does not depend on the failure; `kill`
   * also stops running steps. @default 'no-new'
   */
  failurePolicy?: FailurePolicy;
  /** Python twin: `true` is `no-new`, `false` is `continue`. Give this or `failurePolicy`, not both. */
  failFast?: boolean;
  /** Environment for every step (a step's own `env` wins). @default {} */
  env?: Record<string, string>;
  /** Limits per `concurrencyGroup`. */
  groupConcurrency?: Record<string, number>;
  /** Where the workflow came from, for reports. */
  source?: string;
}

/** `needs` and the Python names `add_task` took. */
export interface AddTaskOptions<Ids extends string = string> extends Omit<StepOptions<Ids>, 'needs'> {
  /** Python `dependencies`: the same as `needs`. */
  dependencies?: Ids | readonly Ids[];
  needs?: Ids | readonly Ids[];
  /** Python `retry_policy`: the same as `retry`. */
  retryPolicy?: StepOptions['retry'];
}

/** The ids of the steps of a workflow made with {@link workflow}. */
export type StepIdsOf<W> = W extends Workflow<infer Ids> ? Ids : never;

interface Entry {
  id: string;
  descriptor: StepDescriptor;
}

const FAILURE_POLICIES: readonly FailurePolicy[] = ['no-new', 'continue', 'kill'];

/**
 * A fluent builder of a {@link WorkflowSpec}: steps with dependencies, conditions, retries,
 * timeouts and matrices. It only produces data (plus in-process functions); `run()` hands the spec
 * to an engine.
 *
 * @example
 * const summary = await new Workflow('release')
 *   .step('build', shell('npm run build'))
 *   .step('test', (ctx) => runTests(ctx.signal), { needs: 'build', retry: 2 })
 *   .step('notify', notify, { needs: 'test', always: true })
 *   .run();
 * @see docs/dsl.md
 */
export class Workflow<Ids extends string = string> implements StepConvertible {
  readonly name: string;
  readonly options: Readonly<WorkflowOptions>;
  readonly #entries: Entry[] = [];
  readonly #active = new Set<RunHandle>();
  #building = false;

  constructor(name: string, options: WorkflowOptions = {}) {
    expectNonEmptyString(name, 'the workflow name');
    validateWorkflowOptions(options);
    this.name = name;
    this.options = { ...options };
  }

  /**
   * Adds a step. `action` is a function `(ctx) => value` (sync or async), a step from `shell()`,
   * `script()`, `pipe()`, `batch()`, `pythonFunc()`, `moduleFunc()`, `retry()`, `timeout()`,
   * `step()`, or another `Workflow` (run as one step). Options given here are merged over the
   * action's own. Returns this workflow (typed with the new id).
   */
  step<I extends string>(id: I, action: StepAction, options?: StepOptions<Ids>): Workflow<Ids | I>;
  /** Adds a named step made by `step(name, action, options)`. */
  step(descriptor: StepDescriptor): Workflow<Ids | string>;
  step(idOrDescriptor: string | StepDescriptor, action?: StepAction, options?: StepOptions<Ids>): Workflow<string> {
    if (idOrDescriptor instanceof StepDescriptor) {
      if (idOrDescriptor.id === undefined) {
        throw new TypeError('Expected a step made by `step(name, action)` (one with an id), got one without: use `.step(id, action)`');
      }
      this.#entries.push({ id: idOrDescriptor.id, descriptor: idOrDescriptor });
      return this;
    }
    expectNonEmptyString(idOrDescriptor, 'the step id');
    const where = `step "${idOrDescriptor}"`;
    let descriptor = toDescriptor(action, `the action of ${where}`);
    if (options !== undefined) {
      validateStepOptions(options, where);
      descriptor = descriptor.with(options);
    }
    this.#entries.push({ id: idOrDescriptor, descriptor: descriptor.named(idOrDescriptor) });
    return this;
  }

  /**
   * Python `Workflow.add_task(name, action, dependencies=..., retry_policy=..., ...)`: the same as
   * `step()`, with `dependencies` for `needs` and `retryPolicy` for `retry`.
   */
  addTask<I extends string>(name: I, action: StepAction, options: AddTaskOptions<Ids> = {}): Workflow<Ids | I> {
    const { dependencies, retryPolicy, ...rest } = options;
    const merged: StepOptions = { ...(rest as StepOptions) };
    if (dependencies !== undefined) merged.needs = [...new Set([...needsList(dependencies), ...needsList(rest.needs)])];
    if (retryPolicy !== undefined) {
      if (rest.retry !== undefined) throw new TypeError(`Expected one of \`retry\` and \`retryPolicy\` for step "${name}", got both`);
      merged.retry = retryPolicy;
    }
    return this.step(name, action, merged as StepOptions<Ids>);
  }

  /** The step ids as declared (before matrix expansion). */
  get stepIds(): Ids[] {
    return this.#entries.map((entry) => entry.id as Ids);
  }

  /**
   * Every problem of the workflow (duplicate ids, unknown dependencies, cycles, bad matrices,
   * unknown concurrency groups, invalid `if` expressions), without throwing.
   */
  validate(): string[] {
    return this.#build().problems;
  }

  /**
   * The workflow as plain data. Throws one `TypeError` listing every problem: duplicate ids,
   * unknown dependencies (with a "did you mean"), cycles, invalid matrices, a `concurrencyGroup`
   * with no limit in `groupConcurrency`, an `if` that does not parse or reads a step that does not
   * exist (or that it does not need).
   */
  toSpec(): WorkflowSpec {
    const { spec, problems } = this.#build();
    if (problems.length > 0 || !spec) {
      throw new TypeError(`Workflow "${this.name}" is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    }
    return spec;
  }

  #build(): { spec?: WorkflowSpec; problems: string[] } {
    if (this.#building) throw new TypeError(`Workflow "${this.name}" contains itself as a sub-workflow`);
    this.#building = true;
    try {
      const problems: string[] = [];
      const drafts: DraftStep[] = [];
      for (const { id, descriptor } of this.#entries) {
        try {
          const draft = buildStepSpec(id, descriptor.body, descriptor.options);
          if (draft.matrixSpec !== undefined) expandMatrix(draft.matrixSpec);
          drafts.push(draft);
        } catch (error) {
          if (!(error instanceof TypeError)) throw error;
          problems.push(error.message.startsWith(`Step "${id}"`) ? error.message : `step "${id}": ${error.message}`);
        }
      }
      problems.push(...this.#stepProblems(drafts));
      if (drafts.length < this.#entries.length) return { problems };
      const steps = expandStepMatrix(drafts) as StepSpec[];
      const analysis = analyzeWorkflowDependencies(steps);
      for (const diagnostic of dagDiagnostics(analysis)) problems.push(diagnostic.message);
      if (problems.length > 0) return { problems };
      const o = this.options;
      const failurePolicy = o.failurePolicy ?? (o.failFast === false ? 'continue' : 'no-new');
      return {
        problems,
        spec: {
          name: this.name,
          steps,
          concurrency: o.concurrency ?? availableParallelism(),
          failurePolicy,
          timeout: o.timeout ?? 0,
          ...(o.source !== undefined ? { source: o.source } : {}),
          ...(o.env !== undefined ? { env: { ...o.env } } : {}),
          ...(o.groupConcurrency !== undefined ? { groupConcurrency: { ...o.groupConcurrency } } : {}),
        },
      };
    } finally {
      this.#building = false;
    }
  }

  /**
   * What the workflow file loader also refuses, found with its own checks: a `concurrencyGroup`
   * with no limit in `groupConcurrency` (the step would run with none), an `if` that does not
   * parse (it would fail the step only once the run got there) or that reads a step that does not
   * exist or is not among its needs (it would read nothing), ids that differ only by case (an
   * expression could not tell them apart).
   */
  #stepProblems(drafts: readonly DraftStep[]): string[] {
    const problems: string[] = [];
    const groups = Object.keys(this.options.groupConcurrency ?? {});
    const ids = new Set(this.#entries.map((entry) => entry.id));
    forEachCaseClash(ids, (id, earlier) => problems.push(`step "${id}" ${caseClashMessage(earlier)}`));
    for (const draft of drafts) {
      const group = draft.concurrencyGroup;
      if (group !== undefined && !groups.includes(group)) {
        problems.push(`step "${draft.id}": ${unknownGroupMessage(group, groups, 'groupConcurrency')}`);
      }
      if (draft.if !== undefined) {
        for (const error of conditionErrors(draft.if, draft, ids)) problems.push(`step "${draft.id}": \`if\`: ${error}`);
      }
    }
    return problems;
  }

  /**
   * Runs the workflow and resolves with the summary once every step is final. Never rejects for
   * step failures (look at `summary.status`); rejects with `TypeError` when the workflow is invalid.
   */
  run(options: RunOptions = {}): Promise<RunSummary> {
    let spec: WorkflowSpec;
    try {
      spec = this.toSpec();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return runSpec(spec, options, (handle, done) => {
      if (done) this.#active.delete(handle);
      else this.#active.add(handle);
    });
  }

  /** Like `run()`, but rejects with `RunError` (carrying the summary) unless the run succeeded. */
  async runOrThrow(options: RunOptions = {}): Promise<RunSummary> {
    const summary = await this.run(options);
    if (summary.status !== 'succeeded' && summary.status !== 'skipped') throw new RunError(summary);
    return summary;
  }

  /** Cancels every run of this workflow in progress: nothing new starts and running steps are stopped. */
  cancel(reason = 'cancelled'): void {
    for (const handle of this.#active) handle.cancel(reason);
  }

  /** This workflow as one step of another. */
  toStepDescriptor(): StepDescriptor {
    return new StepDescriptor({ kind: 'workflow', workflow: this });
  }
}

/**
 * A new workflow whose step ids are tracked by the type system: `needs` only accepts ids declared
 * earlier, so a typo (or a cycle) is a compile error. Chain the calls (`workflow('x').step(...).step(...)`).
 */
export function workflow(name: string, options: WorkflowOptions = {}): Workflow<never> {
  return new Workflow<never>(name, options);
}

/** The result of step `id` (an expanded matrix id, like `test (os=linux)`), or undefined. */
export function getStepResult(summary: RunSummary, id: string): StepResult | undefined {
  return summary.steps.find((step) => step.id === id);
}

/**
 * Every step's value by id: what a function, module or Python step returned, `undefined` for steps
 * that did not succeed. Twin of what Python's `Workflow.run()` returned.
 */
export function stepValues(summary: RunSummary): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const step of summary.steps) values[step.id] = step.status === 'succeeded' ? step.value : undefined;
  return values;
}

function validateWorkflowOptions(options: unknown): asserts options is WorkflowOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`Expected the workflow options to be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  const known = new Set(['concurrency', 'timeout', 'failurePolicy', 'failFast', 'env', 'groupConcurrency', 'source']);
  for (const key of Object.keys(o)) {
    if (!known.has(key) && o[key] !== undefined) {
      const hint = key === 'fail_fast' ? ': use `failFast`' : key === 'progress_callback' || key === 'onProgress' ? ': pass `onProgress` to `run()`' : '';
      throw new TypeError(`Unknown workflow option \`${key}\`${hint} (known options: ${[...known].join(', ')})`);
    }
  }
  if (o.concurrency !== undefined) expectPositiveInteger(o.concurrency, 'the `concurrency` option');
  if (o.timeout !== undefined) expectNonNegativeInteger(o.timeout, 'the `timeout` option');
  if (o.failurePolicy !== undefined && !FAILURE_POLICIES.includes(o.failurePolicy as FailurePolicy)) {
    throw new TypeError(`Expected the \`failurePolicy\` option to be 'no-new', 'continue' or 'kill', got ${describeValue(o.failurePolicy)}`);
  }
  if (o.failFast !== undefined && typeof o.failFast !== 'boolean') {
    throw new TypeError(`Expected the \`failFast\` option to be a boolean, got ${describeValue(o.failFast)}`);
  }
  if (o.failFast !== undefined && o.failurePolicy !== undefined) {
    throw new TypeError('Expected one of `failFast` and `failurePolicy`, got both');
  }
  if (o.env !== undefined) expectStringRecord(o.env, 'the `env` option');
  if (o.groupConcurrency !== undefined) {
    if (typeof o.groupConcurrency !== 'object' || o.groupConcurrency === null) {
      throw new TypeError(`Expected the \`groupConcurrency\` option to be an object of limits, got ${describeValue(o.groupConcurrency)}`);
    }
    for (const [group, limit] of Object.entries(o.groupConcurrency)) expectPositiveInteger(limit, `the \`groupConcurrency.${group}\` option`);
  }
}
