import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileNameFor } from '../../util/file-name.js';
import { checkInside } from '../../config/is-inside.js';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import type { RunEvent, RunListener, StepInfo } from '../../core/events.js';
import { describeFailure } from '../../core/failure.js';
import { OUTPUT_LIMITS, outputEnvName } from '../../core/outputs.js';
import { countStatuses, overallStatus, type RunSummary, type StepResult } from '../../core/result.js';
import { retryDelay } from '../../core/retry.js';
import type { FunctionStep, NeedResult, StepSpec, SubWorkflowStep, WorkflowSpec } from '../../core/spec.js';
import { isSuccessStatus, type FailureReason, type FinalStatus } from '../../core/status.js';
import { cacheComponents, cacheDetails, cacheKey, explainChange } from '../../execution/cache-key.js';
import { FunctionExecutor, functionEnded, functionThrew, FunctionStepContext, outputLimitFailure } from '../../execution/function-executor.js';
import { InterpreterResolver } from '../../execution/interpreter.js';
import { ProcessExecutor } from '../../execution/process-executor.js';
import { ModuleExecutor } from '../../execution/module-executor.js';
import { attemptWithoutProcess, type AbortCause, type AttemptResult, type StepExecutor } from '../../execution/step-executor.js';
import { AttemptContext } from '../../execution/attempt-context.js';
import type { ExpressionContext, StepContextEntry } from '../../expressions/expression-context.js';
import { hasTemplates } from '../../expressions/templates.js';
import { describeValue } from '../../util/describe-argument.js';
import { IdIndex } from '../../core/id-index.js';

type Expressions = typeof import('../../expressions/index.js');
/** Loaded on first use: runs without `if:` or `${{ }}` never pay for the expression parser. */
let expressions: Expressions | undefined;
async function loadExpressions(): Promise<Expressions> {
  expressions ??= await import('../../expressions/index.js');
  return expressions;
}
import { AbortHandle } from '../../util/abort-handle.js';
import { EventChannel } from '../../util/event-channel.js';
import { setLongTimeout, type LongTimeout } from '../../util/long-timeout.js';
import { newRunId } from '../../util/run-id.js';
import type { Engine, RunHandle, StepCache, SubmitOptions } from '../engine.js';

export interface LocalEngineOptions {
  /** Executors by step kind. Process-backed kinds share one `ProcessExecutor`. */
  executors?: Partial<Record<StepSpec['kind'], StepExecutor>>;
}

type Executors = Partial<Record<StepSpec['kind'], StepExecutor>>;

/**
 * Runs workflows in this process, eagerly: a step starts as soon as its dependencies are done, its
 * condition holds and a slot is free (no waves).
 */
export class LocalEngine implements Engine {
  readonly name = 'local';
  readonly #executors: Executors;
  readonly #runs = new Set<LocalRun>();
  #closed = false;

  constructor(options: LocalEngineOptions = {}) {
    const processes = new ProcessExecutor() as StepExecutor;
    const functions = new FunctionExecutor();
    this.#executors = {
      script: processes,
      command: processes,
      module: new ModuleExecutor(processes, functions),
      python: processes,
      function: functions,
      ...options.executors,
    };
  }

  submit(spec: WorkflowSpec, options: SubmitOptions = {}): RunHandle {
    if (this.#closed) throw new TypeError('Expected an open engine, got one that was closed');
    const run = new LocalRun(spec, options, this.#executors);
    this.#runs.add(run);
    void run.result.finally(() => this.#runs.delete(run));
    // Start on the next turn so callers can subscribe to every event first.
    setImmediate(() => run.start());
    return run;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const running = [...this.#runs];
    // Closing releases everything now: no cleanup step (`always()`, `cancelled()`) starts or goes on.
    for (const run of running) run.halt('engine closed');
    await Promise.allSettled(running.map((run) => run.result));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A step whose settings, once its templates are rendered, are not allowed (it fails, `invalid-config`). */
class StepConfigError extends Error {}

/** What stops a run, once something does. */
interface Stopping {
  cause: AbortCause | 'no-new';
  message: string;
  /**
   * Cancelled again (or the engine closed): cleanup steps neither start nor go on. Until then they
   * run after any stop, cancel and run timeout included, as in GitHub Actions.
   */
  forced: boolean;
}

/** A step as the scheduler tracks it; a class with every field set, so all of them share one shape. */
class StepState {
  waitingOn = 0;
  /** How many of its needs finished without success (skipped, failed, cancelled). */
  unmet = 0;
  /** How many of its needs share outputs with it (as env variables or files). */
  outputNeeds = 0;
  /**
   * Whether a step it depends on, directly or through others, failed: what `failure()` says, as
   * in GitHub Actions, where it is true after any ancestor failed (a notification step at the end
   * of a chain still hears of a failure at its head).
   */
  failedAbove = false;
  #needs: StepState[] | undefined = undefined;
  result: StepResult | undefined = undefined;
  attempt = 0;
  controller: AbortHandle | AbortController | undefined = undefined;
  firstStartedAt: number | undefined = undefined;
  /** Env variables carrying this step's outputs to its dependents. */
  outputEnv: Record<string, string> | undefined = undefined;
  decided = false;
  /** The running attempt of a function step on the fast path (see `LocalRun#runFunction`). */
  inline: FunctionStepContext | undefined = undefined;
  /** The next of its dependents to update while it is on `LocalRun#finishing`. */
  edge = 0;
  /**
   * The stop in force when it was started: a cleanup step is not ended by the stop it runs after,
   * only by a stronger one (see `LocalRun#abortAtStart`).
   */
  startedUnder: Stopping | undefined = undefined;
  /** Its `if` was evaluated with `cancelled()` true: a cancel does not evaluate it again. */
  sawCancel = false;
  /** The run of a sub-workflow step while it runs: a second cancel must reach it as one too. */
  child: LocalRun | undefined = undefined;

  constructor(
    readonly spec: StepSpec,
    /** Its position in the run's steps (and in its graph). */
    readonly index: number,
    /**
     * Its `if` uses a status function, so it may run after a failure, a cancel or the run timeout
     * (cleanup, notifications).
     */
    readonly afterFailure: boolean,
    readonly graph: Graph,
  ) {}

  /** Its dependencies, looked up on first use (the scheduler itself only counts). */
  get needs(): StepState[] {
    return (this.#needs ??= this.spec.needs.map((id) => this.graph.states[this.graph.byId.get(id)] as StepState));
  }
}

/**
 * The run's DAG. Dependents are kept as one compressed adjacency list (the dependents of step i are
 * `dependents[offsets[i] .. offsets[i + 1]]`): two typed arrays, not an array per step.
 */
interface Graph {
  readonly states: StepState[];
  readonly byId: IdIndex;
  offsets: Int32Array;
  dependents: Int32Array;
}

// Function names are case-insensitive, as in GitHub Actions (and in the expression parser).
const STATUS_FUNCTION = /\b(?:always|failure|cancelled|success)\s*\(/i;
const ONLY_SUCCESS = /^\s*(?:\$\{\{)?\s*success\(\s*\)\s*(?:\}\})?\s*$/i;
const PERMANENT: ReadonlySet<FailureReason> = new Set([
  'interpreter-not-found',
  'script-missing',
  'not-executable',
  'spawn-error',
  'output-limit',
  'invalid-output',
  'invalid-config',
]);

/** Steps started in one turn of the event loop at most. */
const PUMP_SLICE = 500;

/** Extra attempts a step gets when its worker is lost (distributed engine). */
const WORKER_LOST_RETRIES = 2;

let msA = -1;
let isoA = '';
let msB = -1;
let isoB = '';
/**
 * `new Date(ms).toISOString()`, remembering the last two: steps often start and finish in the same
 * few milliseconds, and a start and a finish alternate.
 */
function iso(ms: number): string {
  if (ms === msA) return isoA;
  if (ms === msB) return isoB;
  msB = msA;
  isoB = isoA;
  msA = ms;
  isoA = new Date(ms).toISOString();
  return isoA;
}

const FAILURE_POLICIES: readonly unknown[] = ['no-new', 'continue', 'kill'];

/**
 * The workflow-level fields of a spec, which the DSL and the loaders check but a hand-built spec
 * may get wrong: a `concurrency` of `'x'` would start nothing and the run would wait forever.
 * Left out (`undefined`), each has its default.
 */
function checkSpecFields(spec: WorkflowSpec): void {
  if (typeof spec !== 'object' || spec === null) throw new TypeError(`Expected the workflow spec to be an object, got ${describeValue(spec)}`);
  if (!Array.isArray(spec.steps)) {
    throw new TypeError(`Expected \`steps\` of the workflow spec to be a list of steps, got ${describeValue(spec.steps)}`);
  }
  const concurrency: unknown = spec.concurrency;
  if (concurrency !== undefined && !(typeof concurrency === 'number' && Number.isInteger(concurrency) && concurrency >= 0)) {
    throw new TypeError(`Expected \`concurrency\` of the workflow spec to be a whole number of 1 or more (0 for the number of CPUs), got ${describeValue(concurrency)}`);
  }
  const timeout: unknown = spec.timeout;
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0)) {
    throw new TypeError(`Expected \`timeout\` of the workflow spec to be milliseconds, 0 or more (0 for none), got ${describeValue(timeout)}`);
  }
  if (spec.failurePolicy !== undefined && !FAILURE_POLICIES.includes(spec.failurePolicy)) {
    throw new TypeError(`Expected \`failurePolicy\` of the workflow spec to be 'no-new', 'continue' or 'kill', got ${describeValue(spec.failurePolicy)}`);
  }
}

/** Whether an object has an own key, without building the key list. */
function hasKeys(object: object): boolean {
  for (const _ in object) return true;
  return false;
}

/** Whether a string, or a string anywhere inside arrays and plain objects, holds `${{`. */
function hasTemplatesInside(value: unknown): boolean {
  if (typeof value === 'string') return hasTemplates(value);
  if (Array.isArray(value)) return value.some(hasTemplatesInside);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasTemplatesInside);
  return false;
}

/**
 * `value` with every string inside it (arrays and plain objects, at any depth) rendered; `field`
 * names where it is (`args[0]`, `kwargs.k`), for errors. Other values are kept as they are.
 */
function renderInside(value: unknown, field: string, render: (text: string, field: string) => string): unknown {
  if (typeof value === 'string') return hasTemplates(value) ? render(value, field) : value;
  if (Array.isArray(value)) return value.map((item: unknown, i) => renderInside(item, `${field}[${i}]`, render));
  if (typeof value === 'object' && value !== null) {
    // fromEntries defines own properties, so a `__proto__` key stays a plain key.
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderInside(item, `${field}.${key}`, render)]));
  }
  return value;
}

/** Reads `env` at all (`env.X`, `env['X']`, `toJSON(env)`), so an `if` needs the evaluated environment. */
const READS_ENV = /\benv\b/i;

const NO_OUTPUTS: Record<string, string> = Object.freeze({});
const NO_COMMAND: string[] = Object.freeze([]) as unknown as string[];

function githubResult(result: StepResult): string {
  if (isSuccessStatus(result.status) || result.continuedOnError) return 'success';
  if (result.status === 'failed' || result.status === 'timed-out') return 'failure';
  return result.status;
}

function isSuccess(result: StepResult | undefined): boolean {
  return result !== undefined && (isSuccessStatus(result.status) || result.continuedOnError === true);
}

function isFailure(result: StepResult | undefined): boolean {
  return (
    result !== undefined &&
    !result.continuedOnError &&
    (result.status === 'failed' || result.status === 'timed-out')
  );
}

export class LocalRun implements RunHandle {
  readonly id: string;
  readonly result: Promise<RunSummary>;
  readonly #spec: WorkflowSpec;
  readonly #options: SubmitOptions;
  readonly #executors: Executors;
  readonly #channel = new EventChannel<RunEvent>();
  readonly #controller = new AbortController();
  readonly #states: StepState[];
  /** Steps ready to start, from `#readyHead` on (taking from the front is then O(1)). */
  #ready: StepState[] = [];
  #readyHead = 0;
  readonly #concurrency: number;
  readonly #groupLimits: Record<string, number>;
  readonly #groupRunning = new Map<string, number>();
  readonly #steps: Record<string, StepContextEntry> = {};
  #resolve!: (summary: RunSummary) => void;
  #running = 0;
  #deciding = 0;
  #stopping: Stopping | undefined;
  #startedAt = Date.now();
  #resolver: InterpreterResolver;
  #runTimer: LongTimeout | undefined;
  #pumpScheduled = false;
  #done = false;
  #started = false;
  /**
   * Its first steps are queued (`#begin`). Until then a cancel is kept for `#begin` to apply, and
   * the run cannot finish: `start()` may wait for the expression evaluator, and a `run-started`
   * listener runs before anything is queued. Stopped then, the run would finish with nothing
   * queued and then start its roots, a cleanup step after `run-finished`.
   */
  #begun = false;
  /** A cancel asked for before the run began (`forced`: twice, or by `halt`). */
  #pendingCancel: { reason: string; forced: boolean } | undefined;
  #removeAbortListener: (() => void) | undefined;
  /** Steps whose dependents are being updated, innermost last (see `#finishStep`). */
  readonly #finishing: StepState[] = [];
  #eventsIterable: AsyncIterable<RunEvent> | undefined;
  /** Whether any step has an `if` or `${{ }}` templates: only then is the `steps` context kept. */
  readonly #usesExpressions: boolean;
  /** Whether the expression evaluator must be loaded before the run starts. */
  readonly #needsExpressions: boolean;
  #scratchDir: string;
  #ownsScratch: boolean;
  /** Whether a step that may write to the scratch folder ran (function steps never do). */
  #usedScratch = false;
  /** Function steps run on the fast path: the engine's own function executor is in use. */
  readonly #inlineFunctions: boolean;
  readonly #hasGroupLimits: boolean;
  readonly #needsOf = (state: unknown): Record<string, NeedResult> => this.#needResults(state as StepState);
  readonly #onLog: ((stepId: string, attempt: number, chunk: Buffer) => void) | undefined;

  /**
   * For a sub-workflow's run: the environment its step got in the parent run, evaluated there
   * (the parent's env, the step's own, the outputs of its needs). Under the child's own layers,
   * and never rendered again.
   */
  readonly #inheritedEnv: Record<string, string> | undefined;

  constructor(spec: WorkflowSpec, options: SubmitOptions, executors: Executors, inheritedEnv?: Record<string, string>) {
    this.id = options.runId ?? newRunId();
    this.#spec = spec;
    this.#inheritedEnv = inheritedEnv;
    this.#options = options;
    this.#executors = executors;
    checkSpecFields(spec);
    this.#concurrency = Math.max(1, spec.concurrency || availableParallelism());
    this.#groupLimits = spec.groupConcurrency ?? {};
    this.#hasGroupLimits = hasKeys(this.#groupLimits);
    this.#inlineFunctions = executors.function instanceof FunctionExecutor;
    this.#onLog = options.emitOutput === true
      ? (stepId, attempt, chunk) =>
          this.#emit({ type: 'step-output', runId: this.id, stepId, attempt, stream: 'stdout', chunk, time: Date.now() })
      : undefined;
    this.#resolver = new InterpreterResolver({
      projectRoot: options.projectRoot ?? process.cwd(),
      ...(options.env ? { env: options.env } : {}),
    });
    this.#ownsScratch = !options.runDir;
    this.#scratchDir = options.runDir
      ? path.join(options.runDir, 'scratch')
      : path.join(tmpdir(), `orchestrator-${this.id}`);
    const count = spec.steps.length;
    const byId = new IdIndex();
    const states = new Array<StepState>(count);
    const graph: Graph = { states, byId, offsets: new Int32Array(count + 1), dependents: new Int32Array(0) };
    for (let i = 0; i < count; i++) {
      const step = spec.steps[i] as StepSpec;
      // Specs built by hand skip the DSL's and the loaders' checks: what the scheduler relies on is checked here.
      if (typeof step !== 'object' || step === null) {
        throw new TypeError(`Expected \`steps[${i}]\` of the workflow spec to be a step object, got ${describeValue(step)}`);
      }
      if (typeof step.id !== 'string' || step.id === '') {
        throw new TypeError(`Expected \`steps[${i}].id\` of the workflow spec to be a non-empty string, got ${describeValue(step.id)}`);
      }
      if (!Array.isArray(step.needs)) {
        throw new TypeError(`Expected \`needs\` of step "${step.id}" to be a list of step ids, got ${describeValue(step.needs)}`);
      }
      if (byId.add(step.id) === -1) throw new TypeError(`Expected unique step ids, got "${step.id}" twice`);
      states[i] = new StepState(step, i, step.if !== undefined && STATUS_FUNCTION.test(step.if) && !ONLY_SUCCESS.test(step.if), graph);
    }
    // One pass over the steps, allocating nothing for the common step (no env, no `if`).
    const workflowEnv = spec.env !== undefined && hasKeys(spec.env);
    let needsExpressions = workflowEnv && Object.values(spec.env as Record<string, string>).some(hasTemplates);
    let usesExpressions = workflowEnv;
    for (const step of spec.steps) {
      if (needsExpressions) break;
      const hasEnv = hasKeys(step.env);
      if (step.if !== undefined || hasEnv || step.kind === 'command' || step.kind === 'script') usesExpressions = true;
      needsExpressions =
        (step.if !== undefined && !ONLY_SUCCESS.test(step.if)) ||
        hasTemplates(step.cwd) ||
        (hasEnv && Object.values(step.env).some(hasTemplates)) ||
        (step.kind === 'command' && hasTemplates(step.command)) ||
        (step.kind === 'script' && step.args.some(hasTemplates)) ||
        ((step.kind === 'module' || step.kind === 'python') && hasTemplatesInside(step.args)) ||
        (step.kind === 'python' && hasTemplatesInside(step.kwargs));
    }
    this.#needsExpressions = needsExpressions;
    // (Whoever needs the evaluator also keeps the `steps` context.)
    this.#usesExpressions = usesExpressions || needsExpressions;
    this.result = new Promise((resolve) => (this.#resolve = resolve));
    if (options.onEvent) this.#channel.on(options.onEvent);
    // Count each step's dependents, then lay them out (counting sort of the edges). Each need is
    // looked up once: its step's index is kept, edge by edge, for the second pass.
    const offsets = graph.offsets;
    let edges = 0;
    for (let i = 0; i < count; i++) edges += (states[i] as StepState).spec.needs.length;
    const from = new Int32Array(edges);
    let edge = 0;
    for (let i = 0; i < count; i++) {
      const state = states[i] as StepState;
      const needs = state.spec.needs;
      for (let k = 0; k < needs.length; k++) {
        const need = needs[k];
        if (typeof need !== 'string') {
          throw new TypeError(`Expected \`needs\` of step "${state.spec.id}" to be a list of step ids, got ${describeValue(need)} in it`);
        }
        const dependency = byId.get(need);
        // Specs are validated before they reach an engine; an unknown need here is a bug upstream.
        if (dependency === -1) throw new TypeError(`Step "${state.spec.id}" needs unknown step "${need}"`);
        offsets[dependency + 1] = (offsets[dependency + 1] as number) + 1;
        from[edge++] = dependency;
      }
      state.waitingOn = needs.length;
    }
    for (let i = 0; i < count; i++) offsets[i + 1] = (offsets[i + 1] as number) + (offsets[i] as number);
    const fill = offsets.slice(0, count);
    const dependents = new Int32Array(edges);
    edge = 0;
    for (let i = 0; i < count; i++) {
      for (let k = (states[i] as StepState).spec.needs.length; k > 0; k--) {
        const dependency = from[edge++] as number;
        dependents[fill[dependency] as number] = i;
        fill[dependency] = (fill[dependency] as number) + 1;
      }
    }
    graph.dependents = dependents;
    this.#states = states;
  }

  get events(): AsyncIterable<RunEvent> {
    this.#eventsIterable ??= this.#channel.iterate();
    return this.#eventsIterable;
  }

  on(listener: RunListener): () => void {
    return this.#channel.on(listener);
  }

  /**
   * Cancels the run: running steps are killed and nothing new starts, except cleanup steps (an
   * `if` with a status function), which run once their needs are done. Cancelling again (after a
   * cancel, the signal or the run timeout) ends those too.
   */
  cancel(reason = 'cancelled'): void {
    if (!this.#begun) {
      if (this.#pendingCancel) this.#pendingCancel.forced = true;
      else this.#pendingCancel = { reason, forced: false };
      return;
    }
    this.#stop('cancelled', reason);
  }

  /**
   * Cancels the run as a second cancel does: cleanup steps neither start nor go on. What
   * `LocalEngine.close()` does; not part of `RunHandle`.
   */
  halt(reason: string): void {
    if (!this.#begun) {
      this.#pendingCancel = { reason: this.#pendingCancel?.reason ?? reason, forced: true };
      return;
    }
    this.#stop('cancelled', reason, true);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#needsExpressions && expressions === undefined) {
      void loadExpressions().then(
        () => this.#begin(),
        (error: unknown) => {
          // Cannot happen short of a broken install; fail loudly rather than hang.
          process.emitWarning(`Could not load the expression evaluator: ${String(error)}`);
          this.#begin();
        },
      );
      return;
    }
    this.#begin();
  }

  #begin(): void {
    this.#startedAt = Date.now();
    if (this.#channel.active) {
      const steps: StepInfo[] = this.#spec.steps.map((s) => ({
        id: s.id,
        name: s.name,
        kind: s.kind,
        group: s.group,
        needs: s.needs,
      }));
      this.#emit({
        type: 'run-started',
        runId: this.id,
        time: this.#startedAt,
        name: this.#spec.name,
        source: this.#spec.source ?? null,
        steps,
      });
    }
    // The steps that need nothing are decided (queued) first, then a cancel that came before the
    // start is applied to them like any other: cancelled, but cleanup steps still run. Stopped
    // first, the run would finish with nothing queued and then start its roots.
    for (const state of this.#states) {
      if (state.result || state.waitingOn !== 0) continue;
      const result = this.#decide(state);
      if (result) this.#finishStep(state, result);
    }
    this.#begun = true;
    const signal = this.#options.signal;
    const pending = this.#pendingCancel;
    if (pending !== undefined) this.#stop('cancelled', pending.reason, pending.forced);
    else if (signal?.aborted) this.#stop('cancelled', abortMessage(signal));
    if (!this.#done) {
      if (signal) {
        // Removed when the run finishes: a long-lived signal shared by many runs must not keep
        // every finished run (and its graph) alive.
        const onAbort = (): void => this.#stop('cancelled', abortMessage(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        this.#removeAbortListener = () => signal.removeEventListener('abort', onAbort);
      }
      if (this.#spec.timeout > 0) {
        this.#runTimer = setLongTimeout(
          () => this.#stop('run-timeout', `the run's timeout of ${this.#spec.timeout} ms was reached`),
          this.#spec.timeout,
        );
      }
    }
    this.#pump();
  }


  #emit(event: RunEvent): void {
    this.#channel.emit(event);
  }

  /**
   * Stops the run. A stop only ever gets stronger: `no-new` < `fail-fast` < `cancelled` /
   * `run-timeout` < forced. Each kills what runs (but `no-new`), cleanup steps of an earlier stop
   * included; cleanup steps that start after it are left to run (see `#abortAtStart`). A cancel
   * after a cancel or the run timeout forces: it keeps their status and reason, and ends the
   * cleanup steps too. The run timeout after a cancel forces as well: it bounds the cleanup a
   * cancel let run (no one may be there to cancel again).
   */
  #stop(cause: AbortCause | 'no-new', message: string, forced = false): void {
    if (this.#done) return;
    const current = this.#stopping;
    if (current?.forced === true) return;
    let next: Stopping;
    if (current !== undefined && (current.cause === 'cancelled' || current.cause === 'run-timeout')) {
      if (cause !== 'cancelled' && !(cause === 'run-timeout' && current.cause === 'cancelled')) return;
      next = { ...current, forced: true };
    } else {
      if (current !== undefined && (cause === 'no-new' || current.cause === cause)) return;
      next = { cause, message, forced };
    }
    this.#stopping = next;
    // Every forced stop passes here (a cancel after a stop, the run timeout after a cancel, `halt`).
    if (next.forced) for (const executor of new Set(Object.values(this.#executors))) executor.kill?.(this.id, message);
    if (cause !== 'no-new') {
      this.#emit({ type: 'run-cancelling', runId: this.id, time: Date.now(), reason: message });
      const abortWith: AbortCause = next.forced ? 'cancelled' : cause;
      for (const state of this.#states) {
        // Before its signal: a sub-workflow would take that for a first cancel and start its own
        // cleanup steps.
        const child = state.child;
        if (next.forced && child !== undefined) child.halt(message);
        const inline = state.inline;
        if (!next.forced && state.afterFailure && (state.controller !== undefined || state.child !== undefined || (inline !== undefined && !inline.over))) {
          if (this.#spares(state, next)) continue;
        }
        state.controller?.abort(abortWith);
        // A function on the fast path ends now, whether or not it looks at its signal.
        if (inline !== undefined && !inline.over) {
          inline.end(abortWith);
          queueMicrotask(() => this.#inlineEnded(state, inline, abortWith));
        }
      }
      this.#controller.abort(abortWith);
    }
    this.#pump();
  }

  /**
   * Whether a running cleanup step goes on through a stop that is not forced. A cancel evaluates
   * its `if` again, as GitHub Actions does for a running step: `always()` and `cancelled()` still
   * hold, so it goes on until a second cancel, the run timeout or its own timeout (what the CLI's
   * first Ctrl-C promises); `success() || failure()` with nothing failed no longer does, and it is
   * killed. The run timeout kills what runs, cleanup steps included: it is the run's bound, often
   * with no one there to cancel twice (cleanup steps that start after it still run). A fail-fast
   * is not a cancel either. Spared, a step counts as started under this stop, so its next attempts
   * are not aborted by it.
   */
  #spares(state: StepState, next: Stopping): boolean {
    if (next.cause !== 'cancelled') return false;
    // Started after an earlier cancel: evaluated with `cancelled()` true already (a cancel after a
    // cancel forces, so this is a fail-fast's cleanup step only when `sawCancel` is false).
    if (!state.sawCancel && this.#reconsider(state) !== undefined) return false;
    state.startedUnder = next;
    return true;
  }

  /**
   * Whether a step whose dependencies are all finished runs, then queue it, or return the result
   * it finishes with at once (resumed, skipped, not run). The caller finishes it: `#finishStep`
   * then walks on to its dependents without recursion.
   */
  #decide(state: StepState): StepResult | undefined {
    // Once per step: a dependency that finishes synchronously (resume, skips) may reach it first.
    if (state.decided) return undefined;
    state.decided = true;
    const step = state.spec;
    const old = this.#options.previous?.[step.id];
    if (old && (isSuccessStatus(old.status) || this.#options.previousFinal === true)) {
      // Resume: done in an earlier attempt of this run; keep its result, outputs and attempt count.
      state.attempt = old.attempts;
      if (Object.keys(old.outputs).length > 0) this.#shareOutputs(state, old.outputs);
      return old;
    }
    // Runs again: its attempts go on from the earlier ones, so their records are kept.
    if (old) state.attempt = old.attempts;
    if (step.skip) return this.#notRun(state, 'skipped-by-config', step.skip.reason);
    // Once the run is being cancelled (or timed out), a step that has not started ends `cancelled`
    // like every other, even when a need did not succeed: the stop is why it does not run (it
    // killed that need, or cancelled it before it started), not a failure, which `dependency-failed`
    // would claim. Only cleanup steps still have their `if` decide.
    if (!state.afterFailure && this.#cancelling()) return this.#notRun(state, 'cancelled', (this.#stopping as Stopping).message);
    const success = state.unmet === 0;
    const condition = step.condition;
    // `if: success()` is the default spelled out.
    const ifText = step.if !== undefined && ONLY_SUCCESS.test(step.if) ? undefined : step.if;
    // Fast path: no condition of any kind (every folder run, most workflow steps).
    if (ifText === undefined && condition === undefined) {
      if (!success) return this.#notRun(state, 'dependency-failed', this.#unmetNeeds(state));
      this.#ready.push(state);
      return undefined;
    }
    let run = success;
    if (ifText !== undefined) {
      const outcome = this.#evaluateIf(state, ifText, success);
      if (typeof outcome !== 'boolean') return outcome;
      run = outcome;
      if (!run) {
        const reason: FailureReason = !success && !STATUS_FUNCTION.test(ifText) ? 'dependency-failed' : 'condition-false';
        return this.#notRun(state, reason, reason === 'dependency-failed' ? this.#unmetNeeds(state) : `if: ${ifText}`);
      }
    } else if (!success) {
      return this.#notRun(state, 'dependency-failed', this.#unmetNeeds(state));
    }
    if (!condition) {
      this.#ready.push(state);
      return undefined;
    }
    this.#deciding += 1;
    void (async () => {
      let result: StepResult | undefined;
      try {
        if (!(await condition({ runId: this.id, stepId: step.id, needs: this.#needResults(state) }))) {
          result = this.#notRun(state, 'condition-false', 'condition() returned false');
        }
      } catch (error) {
        result = { ...this.#notRun(state, 'unknown-error-thrown', `condition() threw: ${String(error)}`), status: 'failed' };
      }
      this.#deciding -= 1;
      if (result) this.#finishStep(state, result);
      else this.#ready.push(state);
      this.#pump();
    })();
    return undefined;
  }

  /** Whether a step's `if` holds, or the result it fails with when the `if` cannot be evaluated. */
  #evaluateIf(state: StepState, ifText: string, success: boolean): boolean | StepResult {
    const step = state.spec;
    if (this.#cancelling()) state.sawCancel = true;
    try {
      // The environment the step gets, evaluated (only for an `if` that reads it).
      const env = READS_ENV.test(ifText) ? this.#declaredEnv(state, success) : { ...this.#inheritedEnv, ...this.#spec.env, ...step.env };
      for (const need of state.needs) if (need.outputEnv) Object.assign(env, need.outputEnv);
      const value = (expressions as Expressions).evaluateCondition(ifText, this.#expressionContext(state, env, success));
      // Like GitHub Actions: without a status function, `if` means `success() && (if)`.
      return STATUS_FUNCTION.test(ifText) ? value : success && value;
    } catch (error) {
      if (error instanceof StepConfigError) return { ...this.#notRun(state, 'invalid-config', error.message), status: 'failed' };
      return {
        ...this.#notRun(state, 'invalid-config', `\`if: ${step.if}\`: ${(error as Error).message}`),
        status: 'failed',
      };
    }
  }

  /**
   * A cleanup step queued before the run was cancelled, its `if` evaluated with `cancelled()`
   * false: evaluated again, as GitHub Actions does on a cancel (`success() || failure()` no longer
   * holds, `always()` still does). The result it finishes with when it no longer runs.
   */
  #reconsider(state: StepState): StepResult | undefined {
    // A cleanup step has an `if` with a status function, so its value alone decides.
    const ifText = state.spec.if as string;
    const outcome = this.#evaluateIf(state, ifText, state.unmet === 0);
    if (outcome === true) return undefined;
    return outcome === false ? this.#notRun(state, 'condition-false', `if: ${ifText}`) : outcome;
  }

  /** Whether the run is being cancelled (a cancel, its signal, or the run timeout): what `cancelled()` says. */
  #cancelling(): boolean {
    const cause = this.#stopping?.cause;
    return cause === 'cancelled' || cause === 'run-timeout';
  }

  #unmetNeeds(state: StepState): string {
    return state.needs
      .filter((n) => !isSuccess(n.result))
      .map((n) => `${n.spec.id} ${n.result?.status ?? 'pending'}`)
      .join(', ');
  }

  #needResults(state: StepState): Record<string, NeedResult> {
    const needs: Record<string, NeedResult> = {};
    for (const need of state.needs) {
      const result = need.result as StepResult;
      needs[need.spec.id] = {
        status: result.status,
        outputs: result.outputs,
        ...(result.value !== undefined ? { value: result.value } : {}),
      };
    }
    return needs;
  }

  #expressionContext(state: StepState, env: Record<string, string>, success: boolean): ExpressionContext {
    const needs: Record<string, StepContextEntry> = {};
    for (const need of state.needs) {
      const entry = this.#steps[need.spec.id];
      if (entry) needs[need.spec.id] = entry;
      const base = need.spec.matrixOf;
      if (base !== undefined && this.#steps[base]) needs[base] = this.#steps[base];
    }
    const cancelled = this.#cancelling();
    return {
      steps: this.#steps,
      needs,
      env,
      matrix: state.spec.matrix ?? {},
      workflow: { name: this.#spec.name },
      run: { id: this.id },
      // As in GitHub Actions, `success()` is false once the run is being cancelled.
      status: { success: success && !cancelled, failure: state.failedAbove, cancelled },
    };
  }

  /** Takes the next ready step whose concurrency group has room. */
  #takeReady(): StepState | undefined {
    if (!this.#hasGroupLimits) {
      const state = this.#ready[this.#readyHead];
      if (state === undefined) return undefined;
      this.#readyHead += 1;
      if (this.#readyHead === this.#ready.length) {
        this.#ready = [];
        this.#readyHead = 0;
      } else if (this.#readyHead >= 1024 && this.#readyHead * 2 >= this.#ready.length) {
        this.#compactReady();
      }
      return state;
    }
    this.#compactReady();
    const index = this.#ready.findIndex((s) => {
      const group = s.spec.concurrencyGroup;
      const limit = group === undefined ? undefined : this.#groupLimits[group];
      return limit === undefined || (this.#groupRunning.get(group as string) ?? 0) < limit;
    });
    return index < 0 ? undefined : this.#ready.splice(index, 1)[0];
  }

  /** Drops the taken steps from the front of `#ready`. */
  #compactReady(): void {
    if (this.#readyHead === 0) return;
    this.#ready = this.#ready.slice(this.#readyHead);
    this.#readyHead = 0;
  }

  #pump(): void {
    // Called back while steps are being finished (a listener cancels the run, a failure stops it):
    // whoever finishes them pumps when they are done, with everything decided.
    if (this.#finishing.length > 0) return;
    let stopping = this.#stopping;
    while (stopping && this.#ready.length > this.#readyHead) {
      this.#compactReady();
      // Nothing new starts, except cleanup steps (an `if` with a status function: `always()`,
      // `cancelled()`, `failure()`), after a failure as after a cancel or the run timeout, until
      // the run is cancelled again. One pass that keeps those in place (no splice per step: a stop
      // with 40,000 steps queued would take quadratic time). Finishing a step may queue a dependent
      // at the end (a cleanup step of the step just cancelled): the pass reaches it too.
      const cancelling = stopping.cause === 'cancelled' || stopping.cause === 'run-timeout';
      const reason: FailureReason = cancelling ? 'cancelled' : 'fail-fast';
      const detail = cancelling ? stopping.message : '';
      const ready = this.#ready;
      let kept = 0;
      for (let i = 0; i < ready.length; i++) {
        const state = ready[i] as StepState;
        if (state.afterFailure && !stopping.forced) {
          const result = cancelling && !state.sawCancel ? this.#reconsider(state) : undefined;
          if (result === undefined) ready[kept++] = state;
          else this.#finishStep(state, result);
          continue;
        }
        this.#finishStep(state, this.#notRun(state, reason, detail));
      }
      ready.length = kept;
      // A listener may have cancelled the run during the pass: the kept steps go now too.
      if (this.#stopping === stopping) break;
      stopping = this.#stopping;
    }
    let started = 0;
    while (this.#running < this.#concurrency && this.#ready.length > this.#readyHead) {
      if (started === PUMP_SLICE) {
        // A wide fan-out: start the rest on the next turn, so the first steps get going (their
        // processes spawn, their jobs are sent) before all of them are prepared.
        if (!this.#pumpScheduled) {
          this.#pumpScheduled = true;
          setImmediate(() => {
            this.#pumpScheduled = false;
            this.#pump();
          });
        }
        return;
      }
      started += 1;
      const state = this.#takeReady();
      if (!state) break;
      this.#running += 1;
      state.startedUnder = this.#stopping;
      const group = state.spec.concurrencyGroup;
      if (group !== undefined) this.#groupRunning.set(group, (this.#groupRunning.get(group) ?? 0) + 1);
      this.#startStep(state);
    }
    if (this.#begun && this.#running === 0 && this.#deciding === 0 && this.#ready.length === this.#readyHead) this.#finishRun();
  }

  /**
   * Renders one field of a step; an expression that cannot be evaluated (`fromJSON` of text that
   * is not JSON) fails the step as `invalid-config`, naming the field and the expression.
   */
  #render(text: string, field: string, context: ExpressionContext): string {
    const { renderTemplate, ExpressionError } = expressions as Expressions;
    try {
      return renderTemplate(text, context);
    } catch (error) {
      if (error instanceof ExpressionError) throw new StepConfigError(`\`${field}\`: ${error.message}`);
      throw error;
    }
  }

  /**
   * The environment the step declares, its templates evaluated: the workflow's `env` first, then
   * the file's `defaults.env`, then the step's own `env` (`step.env` holds both of these, the
   * defaults first; `defaultsEnv` when the step replaces some of them), one value at a time in
   * that order. Each value reads `env` as it stands when it is reached: the layers above and the
   * values before it in its own map. A name set again (a step overriding the workflow or the
   * defaults) reads the value it replaces. Outputs of needs are not in it (they are never rendered).
   */
  #declaredEnv(state: StepState, success: boolean): Record<string, string> {
    const workflowEnv = this.#spec.env;
    const own = state.spec.env;
    const defaults = state.spec.defaultsEnv;
    const templated = (workflowEnv !== undefined && Object.values(workflowEnv).some(hasTemplates)) || Object.values(own).some(hasTemplates);
    if (!templated) return { ...this.#inheritedEnv, ...workflowEnv, ...own };
    // Null-prototype: a `__proto__` name is set like any other.
    const env = Object.create(null) as Record<string, string>;
    // Plain values templates may read but that are never rendered themselves: what a parent run
    // evaluated, and the outputs of the step's needs (`env.ORCHESTRATOR_OUTPUT_<STEP>_<KEY>`).
    if (this.#inheritedEnv !== undefined) Object.assign(env, this.#inheritedEnv);
    if (state.outputNeeds > 0) for (const need of state.needs) if (need.outputEnv) Object.assign(env, need.outputEnv);
    const context = this.#expressionContext(state, env, success);
    // `context.env` is this object: each value is rendered with the ones before it in place.
    const add = (layer: Record<string, string>, prefix: string): void => {
      for (const [key, value] of Object.entries(layer)) {
        env[key] = hasTemplates(value) ? this.#render(value, `${prefix}${key}`, context) : value;
      }
    };
    if (workflowEnv !== undefined) add(workflowEnv, 'workflow env.');
    if (defaults === undefined) {
      add(own, 'env.');
    } else {
      // The defaults' layer whole, then the names the step sets to values of its own.
      add(defaults, 'defaults.env.');
      add(Object.fromEntries(Object.entries(own).filter(([key, value]) => defaults[key] !== value || !Object.hasOwn(defaults, key))), 'env.');
    }
    return { ...env };
  }

  /** The step as it runs: workflow env and the outputs of its needs merged in, templates rendered. */
  #prepare(state: StepState): StepSpec {
    const step = state.spec;
    // Nothing to merge or render: the step runs as it is (no workflow env, no outputs from its
    // needs, no `${{ }}` anywhere in the run).
    if (this.#spec.env === undefined && this.#inheritedEnv === undefined && state.outputNeeds === 0 && (step.kind === 'function' || !this.#needsExpressions)) {
      return step;
    }
    const env = this.#declaredEnv(state, true);
    if (state.outputNeeds === 1) {
      for (const need of state.needs) if (need.outputEnv) Object.assign(env, need.outputEnv);
    } else if (state.outputNeeds > 1) {
      // Output names map to variables loosely (`a_b.c` and `a.b_c` both give ..._A_B_C): two needs
      // whose outputs land on one variable would leave one of them silently lost.
      const from = new Map<string, string>();
      for (const need of state.needs) {
        if (!need.outputEnv) continue;
        for (const name of Object.keys(need.outputEnv)) {
          const other = from.get(name);
          if (other !== undefined) {
            throw new StepConfigError(`the outputs of ${other} and ${need.spec.id} both become $${name}: rename an output or a step`);
          }
          from.set(name, need.spec.id);
        }
        Object.assign(env, need.outputEnv);
      }
    }
    const templated =
      (step.kind === 'command' && hasTemplates(step.command)) ||
      (step.kind === 'script' && step.args.some(hasTemplates)) ||
      ((step.kind === 'module' || step.kind === 'python') && hasTemplatesInside(step.args)) ||
      (step.kind === 'python' && hasTemplatesInside(step.kwargs)) ||
      hasTemplates(step.cwd);
    if (!templated) return { ...step, env };
    const context = this.#expressionContext(state, env, true);
    const render = (text: string, field: string): string => this.#render(text, field, context);
    const cwd = render(step.cwd, 'cwd');
    // A path from an expression (a matrix value, a step output) is checked here, once it is known:
    // validation can only check the paths written out in the file.
    if (cwd !== step.cwd) this.#assertInsideRoot(cwd, step.cwd);
    const rendered = { ...step, env, cwd };
    if (rendered.kind === 'command') rendered.command = render(rendered.command, 'run');
    if (rendered.kind === 'script') rendered.args = rendered.args.map((a, i) => render(a, `args[${i}]`));
    if (rendered.kind === 'module' || rendered.kind === 'python') rendered.args = renderInside(rendered.args, 'args', render) as unknown[];
    if (rendered.kind === 'python') rendered.kwargs = renderInside(rendered.kwargs, 'kwargs', render) as Record<string, unknown>;
    return rendered;
  }

  /** Throws a `StepConfigError` when `cwd` (rendered from `template`) is outside the project root. */
  #assertInsideRoot(cwd: string, template: string): void {
    const root = this.#options.projectRoot;
    if (root === undefined) return;
    const where = checkInside(path.resolve(root), path.resolve(cwd));
    if (!where.inside) {
      const how = where.through === 'link' ? `, which resolves through a link to ${where.real},` : ', which is';
      throw new StepConfigError(`cwd \`${template}\` is ${cwd}${how} outside the project root ${root}`);
    }
  }

  #startStep(state: StepState): void {
    const spec = state.spec;
    if (
      spec.kind === 'function' &&
      this.#inlineFunctions &&
      spec.timeout <= 0 &&
      state.attempt === 0 &&
      !(this.#options.cache !== undefined && (spec.cache !== undefined || this.#options.cacheAll === true))
    ) {
      let step: StepSpec;
      try {
        step = this.#prepare(state);
      } catch {
        void this.#runStep(state);
        return;
      }
      this.#runFunction(state, step as FunctionStep);
      return;
    }
    if (spec.kind !== 'function') this.#usedScratch = true;
    void this.#runStep(state);
  }

  async #runStep(state: StepState): Promise<void> {
    const logPath = this.#options.runDir ? logPathFor(this.#options.runDir, state.spec.id) : undefined;
    let result: StepResult;
    try {
      const step = this.#prepare(state);
      const cache = this.#options.cache;
      if (cache && (step.cache !== undefined || this.#options.cacheAll === true)) {
        result = await this.#runCached(state, step, cache, logPath);
      } else {
        const attempt = step.kind === 'workflow' ? await this.#runSubWorkflow(state, step) : await this.#attempts(state, step, logPath);
        result = this.#toStepResult(state, attempt, logPath);
      }
    } catch (error) {
      result =
        error instanceof StepConfigError
          ? { ...this.#notRun(state, 'invalid-config', error.message), status: 'failed' }
          : this.#crashed(state, error);
    }
    this.#stepDone(state, result);
  }

  /** Caught at the boundary: a bug in an executor fails its step, never the engine. */
  #crashed(state: StepState, error: unknown): StepResult {
    const detail = error instanceof Error ? error.message : String(error);
    return { ...this.#notRun(state, 'unknown-error-thrown', detail), status: 'failed' };
  }

  #stepDone(state: StepState, result: StepResult): void {
    state.controller = undefined;
    state.inline = undefined;
    this.#running -= 1;
    const group = state.spec.concurrencyGroup;
    if (group !== undefined) this.#groupRunning.set(group, (this.#groupRunning.get(group) ?? 1) - 1);
    if (hasKeys(result.outputs)) this.#shareOutputs(state, result.outputs);
    this.#finishStep(state, result);
    this.#pump();
  }

  /**
   * The fast path of the first attempt of an in-process function without a step timeout (W3 of
   * the benchmarks: 10,000 of them): no promise race and no abort switch per step. The engine ends
   * it on cancellation (`#stop`); the outcome arrives on a later microtask, as on the general path.
   * A failure that is retried goes on through the general path.
   */
  #runFunction(state: StepState, step: FunctionStep): void {
    state.attempt += 1;
    const startedAt = Date.now();
    state.firstStartedAt ??= startedAt;
    if (this.#channel.active) {
      this.#emit({ type: 'step-started', runId: this.id, stepId: step.id, attempt: state.attempt, command: [], pid: null, time: startedAt });
    }
    const inline = new FunctionStepContext(this.id, step, state.attempt, state, this.#needsOf, this.#onLog);
    state.inline = inline;
    const cause = this.#abortAtStart(state);
    if (cause !== undefined) {
      inline.end(cause);
      queueMicrotask(() => this.#inlineEnded(state, inline, cause, startedAt));
      return;
    }
    let value: unknown;
    try {
      value = step.fn(inline);
      if (value instanceof Promise) {
        // A native promise never settles inside `then`: the common case, kept lean.
        value.then(
          (resolved: unknown) => this.#inlineSucceeded(state, inline, startedAt, resolved),
          (error: unknown) => this.#inlineThrew(state, inline, startedAt, error),
        );
        return;
      }
      if (value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function') {
        // A thenable may settle synchronously, inside `then`: its outcome still arrives on a later
        // microtask, as on the general path (never inside `#pump`, which started it).
        let synchronous = true;
        (value as PromiseLike<unknown>).then(
          (resolved) => {
            if (synchronous) queueMicrotask(() => this.#inlineSucceeded(state, inline, startedAt, resolved));
            else this.#inlineSucceeded(state, inline, startedAt, resolved);
          },
          (error: unknown) => {
            if (synchronous) queueMicrotask(() => this.#inlineThrew(state, inline, startedAt, error));
            else this.#inlineThrew(state, inline, startedAt, error);
          },
        );
        synchronous = false;
        return;
      }
    } catch (error) {
      // The function threw, or its thenable did (a `then` getter or `then` itself): the function
      // executor fails such a step with function-threw too.
      queueMicrotask(() => this.#inlineThrew(state, inline, startedAt, error));
      return;
    }
    queueMicrotask(() => this.#inlineSucceeded(state, inline, startedAt, value));
  }

  #inlineSucceeded(state: StepState, inline: FunctionStepContext, startedAt: number, value: unknown): void {
    if (inline.over) return;
    if (inline.outputOverflow !== undefined) {
      this.#inlineOverflowed(state, inline, startedAt);
      return;
    }
    const step = state.spec as FunctionStep;
    if (step.transformResult) {
      try {
        value = step.transformResult(value);
      } catch (error) {
        this.#inlineThrew(state, inline, startedAt, error);
        return;
      }
    }
    inline.over = true;
    const finishedAt = Date.now();
    const result = new SucceededFunctionResult(
      step,
      state.attempt,
      iso(state.firstStartedAt ?? startedAt),
      iso(finishedAt),
      finishedAt - startedAt,
      inline.logText,
      inline.outputs ?? NO_OUTPUTS,
    );
    if (value !== undefined) result.value = value;
    if (step.matrix) result.matrix = step.matrix;
    this.#stepDone(state, result);
  }

  #inlineThrew(state: StepState, inline: FunctionStepContext, startedAt: number, error: unknown): void {
    if (inline.over) return;
    if (inline.outputOverflow !== undefined) {
      this.#inlineOverflowed(state, inline, startedAt);
      return;
    }
    inline.over = true;
    const step = state.spec as FunctionStep;
    let attempt: AttemptResult;
    let retry: boolean;
    try {
      attempt = functionThrew(startedAt, Date.now(), inline.outputs ?? {}, inline.logText, error);
      retry = this.#shouldRetry(step, attempt, state.attempt);
    } catch (caught) {
      // A `retryOn` that throws, or a thrown value that cannot be described: this runs on a
      // microtask, where nothing else would catch it. The step fails as on the general path.
      this.#stepDone(state, this.#crashed(state, caught));
      return;
    }
    if (!retry) {
      this.#stepDone(state, this.#toStepResult(state, attempt, undefined));
      return;
    }
    // Retried: the next attempts take the general path, after the policy's delay.
    const delayMs = this.#announceRetry(state, attempt);
    void abortableDelay(delayMs, this.#controller.signal).then(async (go) => {
      let result: StepResult;
      try {
        result = this.#toStepResult(state, go ? await this.#attempts(state, step, undefined) : attempt, undefined);
      } catch (caught) {
        result = this.#crashed(state, caught);
      }
      this.#stepDone(state, result);
    });
  }

  /** A fast-path function whose outputs went past the limit: failed, never retried. */
  #inlineOverflowed(state: StepState, inline: FunctionStepContext, startedAt: number): void {
    inline.over = true;
    const attempt = outputLimitFailure(inline, startedAt, Date.now()) as AttemptResult;
    this.#stepDone(state, this.#toStepResult(state, attempt, undefined));
  }

  /** A fast-path function ended by the engine (cancel, run timeout, fail-fast). */
  #inlineEnded(state: StepState, inline: FunctionStepContext, cause: AbortCause, startedAt?: number): void {
    if (state.inline !== inline) return;
    const now = Date.now();
    const attempt = functionEnded(state.spec as FunctionStep, cause, startedAt ?? state.firstStartedAt ?? now, now, inline.outputs ?? {}, inline.logText);
    this.#stepDone(state, this.#toStepResult(state, attempt, undefined));
  }

  /** A step with caching on: restored from a matching entry, or run and remembered when it succeeds. */
  async #runCached(state: StepState, step: StepSpec, cache: StepCache, logPath: string | undefined): Promise<StepResult> {
    const needsOutputs: Record<string, Record<string, string>> = {};
    for (const need of state.needs) needsOutputs[need.spec.id] = need.result?.outputs ?? {};
    const components = await cacheComponents(step, this.#options.env ?? process.env, needsOutputs, this.#spec.name);
    const key = cacheKey(components);
    const details = cacheDetails(step, needsOutputs);
    // The cache is an optimisation: a store that cannot be read or written (busy, read-only, full)
    // makes the step run and keep its result, with the reason in its explanation.
    let unavailable: string | undefined;
    const quietly = <T>(read: () => T): T | undefined => {
      try {
        return read();
      } catch (error) {
        unavailable ??= `cache unavailable: ${error instanceof Error ? error.message : String(error)}`;
        return undefined;
      }
    };
    const refresh = this.#options.refreshCache === true;
    const hit = refresh ? undefined : quietly(() => cache.getCacheEntry(key));
    if (hit) {
      const result = this.#notRun(state, 'cancelled', '');
      result.status = 'cached';
      delete result.reason;
      result.message = `cached: same inputs as in run ${hit.runId}`;
      result.outputs = hit.outputs;
      if (hit.value !== undefined) result.value = hit.value;
      result.cacheKey = key;
      result.cacheExplain = [`cache hit: same inputs as in run ${hit.runId} (${hit.createdAt})`];
      const now = Date.now();
      result.startedAt = iso(now);
      result.finishedAt = iso(now);
      return result;
    }
    const latest = quietly(() => cache.latestCacheEntry(this.#spec.name, step.id));
    const explain = unavailable !== undefined ? [unavailable] : refresh ? [REFRESH_EXPLAIN] : explainChange(latest?.components, components, latest?.details, details);
    const attempt = step.kind === 'workflow' ? await this.#runSubWorkflow(state, step) : await this.#attempts(state, step, logPath);
    const result = this.#toStepResult(state, attempt, logPath);
    result.cacheKey = key;
    result.cacheExplain = explain;
    if (result.status === 'succeeded') {
      try {
        cache.putCacheEntry({
          key,
          workflow: this.#spec.name,
          stepId: step.id,
          components,
          details,
          outputs: result.outputs,
          ...(result.value !== undefined ? { value: result.value } : {}),
          runId: this.id,
          createdAt: iso(Date.now()),
        });
      } catch (error) {
        explain.push(`not saved in the cache: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return result;
  }

  async #attempts(state: StepState, step: StepSpec, logPath: string | undefined): Promise<AttemptResult> {
    const executor = this.#executors[step.kind];
    if (!executor) throw new TypeError(`No executor for steps of kind "${step.kind}"`);
    let needs: Record<string, NeedResult> | undefined;
    const needResults = (): Record<string, NeedResult> => (needs ??= this.#needResults(state));
    const emitOutput = this.#options.emitOutput === true;
    for (;;) {
      state.attempt += 1;
      const handle = new AbortHandle();
      state.controller = handle;
      const cause = this.#abortAtStart(state);
      if (cause !== undefined) handle.abort(cause);
      const attemptNumber = state.attempt;
      const context = new AttemptContext(this.id, attemptNumber, handle, this.#baseEnv(), this.#resolver, this.#scratchDir, needResults);
      if (logPath) context.logPath = logPath;
      if (emitOutput) {
        context.onOutput = (stream: 'stdout' | 'stderr', chunk: Buffer) =>
          this.#emit({
            type: 'step-output',
            runId: this.id,
            stepId: step.id,
            attempt: attemptNumber,
            stream,
            chunk,
            time: Date.now(),
          });
      }
      context.onSpawn = (pid, command) => {
        state.firstStartedAt ??= Date.now();
        if (!this.#channel.active) return;
        this.#emit({
          type: 'step-started',
          runId: this.id,
          stepId: step.id,
          attempt: attemptNumber,
          command,
          pid: pid > 0 ? pid : null,
          time: Date.now(),
        });
      };
      const attempt = await executor.execute(step, context);
      if (attempt.notStarted === true) {
        state.attempt -= 1;
        return attempt;
      }
      if (!this.#shouldRetry(step, attempt, state.attempt)) return attempt;
      const delayMs = this.#announceRetry(state, attempt);
      if (!(await abortableDelay(delayMs, this.#controller.signal))) return attempt;
    }
  }

  /**
   * Why a step attempt that starts now is aborted at once, if it is: the run is being cancelled or
   * timed out, or killed after a failure. A cleanup step (`always()`, `cancelled()`, `failure()`)
   * taken from the queue after that stop runs: the stop is what it reacts to. A stronger stop
   * since (a cancel after a fail-fast, a second cancel) ends it; so does a stop that came while a
   * step started before it was still getting ready (cache lookup).
   */
  #abortAtStart(state: StepState): AbortCause | undefined {
    const stopping = this.#stopping;
    if (stopping === undefined || stopping.cause === 'no-new') return undefined;
    if (state.afterFailure && state.startedUnder === stopping) return undefined;
    return stopping.forced ? 'cancelled' : stopping.cause;
  }

  #env: NodeJS.ProcessEnv | undefined;
  /**
   * The environment steps start from, copied once per run: every process step spreads it, and
   * spreading `process.env` itself costs ~0.1 ms (each variable is read from the C++ side).
   */
  #baseEnv(): NodeJS.ProcessEnv {
    return (this.#env ??= { ...(this.#options.env ?? process.env) });
  }

  /** Says a step will be retried and after how long (no wait when its worker was lost). */
  #announceRetry(state: StepState, attempt: AttemptResult): number {
    const delayMs = attempt.reason === 'worker-lost' ? 0 : retryDelay(state.spec.retry, state.attempt + 1);
    this.#emit({
      type: 'step-retrying',
      runId: this.id,
      stepId: state.spec.id,
      attempt: state.attempt,
      delayMs,
      reason: attempt.reason ?? 'exit-non-zero',
      message: attempt.message ?? '',
      time: Date.now(),
    });
    return delayMs;
  }

  async #runSubWorkflow(state: StepState, step: SubWorkflowStep): Promise<AttemptResult> {
    state.attempt += 1;
    const controller = new AbortController();
    state.controller = controller;
    const cause = this.#abortAtStart(state);
    if (cause !== undefined) controller.abort(cause);
    const child = new LocalRun(
      // The step's env as the parent evaluated it (with the outputs of its needs) is a plain layer
      // under the child's own: the child renders only the templates of its own file.
      step.workflow,
      {
        ...this.#options,
        runId: `${this.id}.${step.id}`,
        signal: controller.signal,
        ...(this.#options.runDir ? { runDir: path.join(this.#options.runDir, 'workflows', step.id) } : {}),
        onEvent: undefined,
      },
      this.#executors,
      { ...this.#inheritedEnv, ...this.#spec.env, ...step.env },
    );
    // Ended at once by a forced stop: its own cleanup steps must not run either.
    if (cause !== undefined && this.#stopping?.forced === true) child.halt(this.#stopping.message);
    state.child = child;
    const startedAt = Date.now();
    state.firstStartedAt = startedAt;
    this.#emit({ type: 'step-started', runId: this.id, stepId: step.id, attempt: 1, command: [], pid: null, time: startedAt });
    child.start();
    let ownTimeout = false;
    const timer =
      step.timeout > 0
        ? setLongTimeout(() => {
            ownTimeout = true;
            // For good: its own cleanup steps are bounded by this timeout too. (A cancel or the
            // run timeout of this run reaches it as a first cancel, through its signal.)
            child.halt(`timed out after ${step.timeout} ms`);
          }, step.timeout)
        : undefined;
    const summary = await child.result;
    state.child = undefined;
    timer?.clear();
    // Cut short by its own timeout or the run's: timed out, like any other step.
    const timedOut = ownTimeout || controller.signal.reason === 'run-timeout';
    const outputs: Record<string, string> = {};
    for (const s of summary.steps) for (const [k, v] of Object.entries(s.outputs)) outputs[`${s.id}.${k}`] = v;
    const failedSteps = summary.steps.filter((s) => isFailure(s));
    const status: FinalStatus = timedOut && summary.status === 'cancelled' ? 'timed-out' : summary.status === 'skipped' ? 'succeeded' : summary.status;
    let failure: { reason: FailureReason; message: string } | undefined;
    if (status === 'failed') {
      // A run fails only through a step that failed: name it (the first few) and what it did.
      const shown = failedSteps.slice(0, 3).map((s) => `${s.id} ${s.message ?? s.status}`);
      if (failedSteps.length > shown.length) shown.push(`and ${failedSteps.length - shown.length} more`);
      failure = { reason: 'sub-workflow-failed', message: describeFailure({ reason: 'sub-workflow-failed', detail: shown.join('; ') }) };
    } else if (status !== 'succeeded') {
      failure = {
        reason: status === 'cancelled' ? 'cancelled' : 'timed-out',
        message: ownTimeout
          ? describeFailure({ reason: 'timed-out', timeoutMs: step.timeout })
          : `sub-workflow ${summary.name} ${status}${failedSteps.length > 0 ? `: ${failedSteps.map((s) => s.id).join(', ')}` : ''}`,
      };
    }
    return attemptWithoutProcess({
      status,
      ...failure,
      timedOut: status === 'timed-out',
      startedAt,
      outputs,
      value: { runId: summary.runId, status: summary.status, counts: summary.counts },
    });
  }

  /** Makes a finished step's outputs reachable: in expressions, and as env vars of dependents. */
  #shareOutputs(state: StepState, outputs: Record<string, string>): void {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(outputs)) {
      const name = outputEnvName(state.spec.id, key);
      if (Buffer.byteLength(value) <= OUTPUT_LIMITS.inlineEnvBytes) {
        env[name] = value;
        continue;
      }
      // Too big for an environment variable: dependents get a file instead. (Rare, and at most
      // OUTPUT_LIMITS.fileBytes: written synchronously, so restored steps share them the same way.)
      const file = path.join(this.#scratchDir, 'outputs', fileNameFor(state.spec.id), fileNameFor(key));
      this.#usedScratch = true;
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, value);
      env[`${name}_FILE`] = file;
    }
    state.outputEnv = env;
  }

  #shouldRetry(step: StepSpec, attempt: AttemptResult, attemptsSoFar: number): boolean {
    if (attempt.status !== 'failed' && attempt.status !== 'timed-out') return false;
    if (this.#stopping && this.#stopping.cause !== 'no-new') return false;
    // The step did not fail, its worker went away: run it again (on another worker) whatever the
    // retry policy says, a bounded number of times.
    if (attempt.reason === 'worker-lost') return attemptsSoFar < step.retry.maxAttempts + WORKER_LOST_RETRIES;
    if (attempt.nonRetryable || attemptsSoFar >= step.retry.maxAttempts) return false;
    if (attempt.reason && PERMANENT.has(attempt.reason)) return false;
    if (step.retry.retryOn) {
      return step.retry.retryOn({
        attempt: attemptsSoFar,
        exitCode: attempt.exitCode,
        reason: attempt.reason ?? 'exit-non-zero',
        ...(attempt.error !== undefined ? { error: attempt.error } : {}),
      });
    }
    const codes = step.retry.retryOnExitCodes;
    if (codes.length > 0) return attempt.exitCode !== null && codes.includes(attempt.exitCode);
    return true;
  }

  #toStepResult(state: StepState, attempt: AttemptResult, logPath: string | undefined): StepResult {
    const step = state.spec;
    // Built field by field, without spreads: this runs once per step on the hot path.
    const result: StepResult = {
      id: step.id,
      name: step.name,
      kind: step.kind,
      group: step.group,
      status: attempt.status,
      command: attempt.command,
      exitCode: attempt.exitCode,
      signal: attempt.signal,
      killSignal: attempt.killSignal,
      timedOut: attempt.timedOut,
      forcefullyKilled: attempt.forcefullyKilled,
      attempts: state.attempt,
      startedAt: iso(state.firstStartedAt ?? attempt.startedAt),
      finishedAt: iso(attempt.finishedAt),
      durationMs: attempt.finishedAt - attempt.startedAt,
      stdoutTail: attempt.stdoutTail,
      stderrTail: attempt.stderrTail,
      stdoutBytes: attempt.stdoutBytes,
      stderrBytes: attempt.stderrBytes,
      logPath: logPath !== undefined && attempt.command.length > 0 ? logPath : null,
      outputs: attempt.outputs,
      tags: step.tags,
    };
    if (attempt.notStarted === true && state.firstStartedAt === undefined) {
      // Never started (cancelled while its job waited for a worker): as a step never taken up.
      result.startedAt = null;
      result.finishedAt = null;
      result.durationMs = 0;
    }
    if (step.kind === 'script') result.path = step.relativePath;
    if (attempt.reason !== undefined) result.reason = attempt.reason;
    if (attempt.message !== undefined) {
      result.message =
        state.attempt > 1 && attempt.status !== 'succeeded' ? `${attempt.message} (after ${state.attempt} attempts)` : attempt.message;
    }
    if (attempt.peakMemoryMb !== undefined) result.peakMemoryMb = attempt.peakMemoryMb;
    if (attempt.value !== undefined) {
      // Function steps apply it themselves (their value never leaves the process untransformed).
      result.value = step.transformResult && step.kind !== 'function' && attempt.status === 'succeeded'
        ? step.transformResult(attempt.value)
        : attempt.value;
    }
    if (step.continueOnError && (attempt.status === 'failed' || attempt.status === 'timed-out')) result.continuedOnError = true;
    if (step.needs.length > 0) result.needs = step.needs;
    if (step.matrix) result.matrix = step.matrix;
    return result;
  }

  #notRun(state: StepState, reason: FailureReason, detail: string): StepResult {
    const step = state.spec;
    const status: FinalStatus = reason === 'fail-fast' || reason === 'cancelled' ? 'cancelled' : 'skipped';
    return {
      id: step.id,
      name: step.name,
      kind: step.kind,
      group: step.group,
      ...(step.kind === 'script' ? { path: step.relativePath } : {}),
      status,
      reason,
      message: describeFailure({ reason, detail }),
      command: [],
      exitCode: null,
      signal: null,
      killSignal: null,
      timedOut: false,
      forcefullyKilled: false,
      attempts: state.attempt,
      startedAt: null,
      finishedAt: null,
      durationMs: 0,
      stdoutTail: '',
      stderrTail: '',
      stdoutBytes: 0,
      stderrBytes: 0,
      logPath: null,
      outputs: {},
      ...(step.needs.length > 0 ? { needs: step.needs } : {}),
      ...(step.matrix ? { matrix: step.matrix } : {}),
      tags: step.tags,
    };
  }

  /**
   * Records a step's result, then updates its dependents; one that finishes at once updates its
   * own dependents in turn (see `#walk`). Then the failure policy acts.
   */
  #finishStep(state: StepState, result: StepResult): void {
    const stack = this.#finishing;
    const base = stack.length;
    // On the stack before its event goes out: a listener that cancels the run does not pump
    // before this step's dependents are decided (see `#pump`).
    stack.push(state);
    try {
      this.#record(state, result);
      // The common case in a loop of its own: no dependent finishes at once (they are queued or
      // still wait), and nothing needs the stack walk below.
      const { states, offsets, dependents } = state.graph;
      const unmet = !isSuccess(result);
      const shares = state.outputEnv !== undefined;
      const failed = state.failedAbove || isFailure(result);
      for (let e = offsets[state.index] as number, end = offsets[state.index + 1] as number; e < end; e++) {
        const dependent = states[dependents[e] as number] as StepState;
        const finished = this.#release(dependent, unmet, shares, failed);
        if (finished === undefined) continue;
        // Finished at once: walk on from here on the stack, its dependents first.
        state.edge = e + 1;
        this.#walk(base, dependent, finished);
        return;
      }
      stack.pop();
      this.#applyFailurePolicy(state);
    } finally {
      stack.length = base;
    }
  }

  /**
   * Goes on with `#finishStep` once a dependent finished at once (skipped after a failure, resumed,
   * skipped by config): that dependent's own dependents come next, then the rest of the step's,
   * depth first, in the order recursion would take, but on an explicit stack (`#finishing`), so a
   * chain of any length fits. Finishing a step inside this walk (`#stop` pumps, which finishes
   * ready steps) walks from that step on the same stack, and returns when that walk is done.
   */
  #walk(base: number, first: StepState, firstResult: StepResult): void {
    const stack = this.#finishing;
    const { states, offsets, dependents } = first.graph;
    first.edge = offsets[first.index] as number;
    stack.push(first);
    this.#record(first, firstResult);
    walk: while (stack.length > base) {
      const current = stack[stack.length - 1] as StepState;
      const unmet = !isSuccess(current.result);
      const shares = current.outputEnv !== undefined;
      const failed = current.failedAbove || isFailure(current.result);
      for (const end = offsets[current.index + 1] as number; current.edge < end; ) {
        const dependent = states[dependents[current.edge] as number] as StepState;
        current.edge += 1;
        const finished = this.#release(dependent, unmet, shares, failed);
        if (finished === undefined) continue;
        dependent.edge = offsets[dependent.index] as number;
        stack.push(dependent);
        this.#record(dependent, finished);
        continue walk;
      }
      stack.pop();
      this.#applyFailurePolicy(current);
    }
  }

  /**
   * One of `dependent`'s needs finished (`unmet`: without success; `shares`: with outputs;
   * `failed`: it or a step above it failed). When it
   * was the last, the dependent is decided: queued, or finished at once (its result returned).
   */
  #release(dependent: StepState, unmet: boolean, shares: boolean, failed: boolean): StepResult | undefined {
    if (dependent.result) return undefined;
    if (unmet) dependent.unmet += 1;
    if (failed) dependent.failedAbove = true;
    if (shares) dependent.outputNeeds += 1;
    dependent.waitingOn -= 1;
    return dependent.waitingOn === 0 ? this.#decide(dependent) : undefined;
  }

  /** Sets a step's result, keeps it for expressions and says it finished. */
  #record(state: StepState, result: StepResult): void {
    state.result = result;
    if (this.#usesExpressions) {
      const entry: StepContextEntry = { outputs: result.outputs, status: result.status, result: githubResult(result) };
      if (result.value !== undefined) entry.value = result.value;
      this.#steps[state.spec.id] = entry;
      const base = state.spec.matrixOf;
      // A matrix is also visible under its base id, like a matrix job in GitHub Actions: failed if
      // any combination failed, outputs (and value) of the combination that finished last.
      if (base !== undefined) {
        const previous = this.#steps[base];
        const worse = previous !== undefined && previous.result === 'failure';
        const merged: StepContextEntry = {
          outputs: { ...previous?.outputs, ...result.outputs },
          status: worse ? (previous.status) : result.status,
          result: worse ? previous.result : githubResult(result),
        };
        const value = result.value !== undefined ? result.value : previous?.value;
        if (value !== undefined) merged.value = value;
        this.#steps[base] = merged;
      }
    }
    if (this.#channel.active) {
      this.#emit({
        type: 'step-finished',
        runId: this.id,
        stepId: state.spec.id,
        attempt: state.attempt,
        result,
        time: Date.now(),
      });
    }
  }

  /**
   * The failure policy, once a failed step's dependents are decided: `#stop` pumps, and a run must
   * not look finished while a cleanup step (`always()`, `failure()`) of this failure is still to come.
   */
  #applyFailurePolicy(state: StepState): void {
    const result = state.result;
    if (!isFailure(result) || (result as StepResult).startedAt === null || this.#stopping) return;
    // A failure kept from an earlier run (`previousFinal`) happened then, not in this run.
    if (result === this.#options.previous?.[state.spec.id]) return;
    const policy = this.#spec.failurePolicy;
    const why = `${state.spec.id} ${result?.message ?? 'failed'}`;
    if (policy === 'no-new') this.#stopping = { cause: 'no-new', message: why, forced: false };
    else if (policy === 'kill') this.#stop('fail-fast', why);
  }

  #finishRun(): void {
    if (this.#done) return;
    this.#done = true;
    this.#runTimer?.clear();
    this.#removeAbortListener?.();
    this.#removeAbortListener = undefined;
    // Logs are written in the background; the run is finished when they are on disk. The executors
    // serve every run of the engine: each flushes this run's work only.
    const flushes = [...new Set(Object.values(this.#executors))].map((e) => e.flush?.(this.id) ?? Promise.resolve([]));
    void Promise.all(flushes).then(
      (problems) => this.#complete(problems.flat()),
      (error: unknown) => this.#complete([String(error)]),
    );
  }

  #complete(logProblems: string[]): void {
    for (const problem of logProblems) process.emitWarning(problem);
    if (this.#ownsScratch && this.#usedScratch) void rm(this.#scratchDir, { recursive: true, force: true });
    const stopping = this.#stopping;
    for (const state of this.#states) {
      if (state.result) continue;
      // Unreachable for a valid DAG; kept so a run always ends with every step final.
      const result = this.#notRun(state, 'cancelled', stopping?.message ?? 'never became ready');
      state.result = result;
      this.#emit({ type: 'step-finished', runId: this.id, stepId: state.spec.id, attempt: state.attempt, result, time: Date.now() });
    }
    const steps = this.#states.map((s) => s.result as StepResult);
    const counts = countStatuses(steps);
    const countedAsFailed = steps.some((s) => s.continuedOnError) ? countStatuses(steps.filter((s) => !s.continuedOnError)) : counts;
    const finishedAt = Date.now();
    const cancelled = stopping !== undefined && (stopping.cause === 'cancelled' || stopping.cause === 'run-timeout');
    const summary: RunSummary = {
      schemaVersion: 1,
      runId: this.id,
      name: this.#spec.name,
      source: this.#spec.source ?? null,
      status: stopping?.cause === 'run-timeout' && countedAsFailed.failed === 0 ? 'timed-out' : overallStatus(countedAsFailed, cancelled),
      startedAt: new Date(this.#startedAt).toISOString(),
      finishedAt: new Date(finishedAt).toISOString(),
      durationMs: finishedAt - this.#startedAt,
      counts,
      steps,
      ...(cancelled && stopping ? { cancelReason: stopping.message } : {}),
    };
    this.#emit({ type: 'run-finished', runId: this.id, time: finishedAt, summary });
    this.#channel.close();
    this.#resolve(summary);
  }
}

/**
 * The result of a function step that succeeded. Built by a constructor function, not an object
 * literal: V8 tracks a literal's allocation site and, seeing 10,000 results a run survive, moves
 * the site to old-space allocation ("pretenuring"), after which every field store pays the
 * incremental-marking write barrier and the code that made them is deoptimised; objects made by
 * `new` have no such site. Measured on W3 (10,000 function steps, warm, mean of 10 interleaved
 * rounds): 3.49 against 2.98 us a step. Its `prototype` is `Object.prototype`, so each result is
 * a plain object like any other (`toStrictEqual`, `structuredClone` and `Object.getPrototypeOf`
 * cannot tell them apart).
 */
interface SucceededFunctionResult {
  new (
    step: FunctionStep,
    attempts: number,
    startedAt: string,
    finishedAt: string,
    durationMs: number,
    logText: string,
    outputs: Record<string, string>,
  ): StepResult;
}
const SucceededFunctionResult = function (
  this: StepResult,
  step: FunctionStep,
  attempts: number,
  startedAt: string,
  finishedAt: string,
  durationMs: number,
  logText: string,
  outputs: Record<string, string>,
): void {
  // Every field in the order of `#toStepResult`.
  this.id = step.id;
  this.name = step.name;
  this.kind = step.kind;
  this.group = step.group;
  this.status = 'succeeded';
  this.command = NO_COMMAND;
  this.exitCode = null;
  this.signal = null;
  this.killSignal = null;
  this.timedOut = false;
  this.forcefullyKilled = false;
  this.attempts = attempts;
  this.startedAt = startedAt;
  this.finishedAt = finishedAt;
  this.durationMs = durationMs;
  this.stdoutTail = logText;
  this.stderrTail = '';
  this.stdoutBytes = logText.length;
  this.stderrBytes = 0;
  this.logPath = null;
  this.outputs = outputs;
  this.tags = step.tags;
  if (step.needs.length !== 0) this.needs = step.needs;
} as unknown as SucceededFunctionResult;
SucceededFunctionResult.prototype = Object.prototype as StepResult;

/**
 * A step's log: `logs/<id>.log`, in subfolders for ids that are paths (`etl/load.py`), but never
 * outside `logs/`: an id such as `../x` (possible from the library API) is made a safe file name.
 */
function logPathFor(runDir: string, id: string): string {
  const logs = path.join(runDir, 'logs');
  const file = path.join(logs, `${id}.log`);
  return file.startsWith(logs + path.sep) ? file : path.join(logs, `${fileNameFor(id)}.log`);
}

/** Why a step of a rerun ran without a cache lookup (its `cacheExplain`). */
const REFRESH_EXPLAIN = 'not looked up in the cache: a rerun runs its steps again';

function abortMessage(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return 'cancelled';
}

/** Waits `ms`; resolves false at once if `signal` aborts. */
function abortableDelay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setLongTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      timer.clear();
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
