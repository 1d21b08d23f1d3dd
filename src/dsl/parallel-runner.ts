import { availableParallelism } from 'node:os';
import type { RunSummary } from '../core/result.js';
import type { FailurePolicy } from '../core/spec.js';
import type { ScriptConfig } from '../config/types.js';
import type { DiscoveredScript } from '../discovery/types.js';
import { runScripts } from '../api/run-scripts.js';
import { progressListener, type ProgressListener } from './progress.js';
import { DSL_PROCESS_TIMEOUT_MS } from './process-steps.js';
import { describeValue, expectNonNegativeInteger, expectPositiveInteger, isList } from './step-options.js';

/** Options of {@link ParallelRunner}. Twin of the Python `ParallelRunner(max_workers, progress_callback, default_timeout, fail_fast)`. */
export interface ParallelRunnerOptions {
  /** Scripts at once. @default min(number of CPUs, 8) */
  maxWorkers?: number;
  /**
   * After a failure: `true` (= `no-new`) starts no new script, lets running ones finish and keeps
   * every result; `kill` also stops running ones. Scripts never started end `cancelled`.
   * @default false
   */
  failFast?: boolean | FailurePolicy;
  /** Milliseconds per script when a run does not say. @default 60000 */
  defaultTimeout?: number;
  /** Called when a script starts, is retried and finishes. */
  onProgress?: ProgressListener;
}

/** Options of one `runScripts()` call. */
export interface ParallelRunOptions {
  /** Milliseconds per script. @default the runner's `defaultTimeout` */
  timeout?: number;
  /** @default each script's folder */
  cwd?: string;
  /** Merged over `process.env`. */
  env?: Record<string, string>;
  args?: string[];
  /** Per-script config keyed by the script path as given (Python `configs`, keyed by file). */
  configs?: Record<string, ScriptConfig>;
  /** Aborting it kills every running script of this call. */
  signal?: AbortSignal;
  /** Write full logs under `<outputDir>/<runId>/logs/`. */
  outputDir?: string;
}

/**
 * Runs scripts in parallel with a worker limit, fail-fast and progress, on the local engine. Every
 * script gets a result, in the order given: with fail-fast, finished and running scripts keep
 * theirs and the rest are `cancelled` (the Python runner dropped them).
 *
 * @example
 * const runner = new ParallelRunner({ maxWorkers: 4, failFast: true });
 * const summary = await runner.runScripts(['a.py', 'b.sh', 'c.js']);
 */
export class ParallelRunner {
  readonly #maxWorkers: number;
  readonly #failFast: boolean | FailurePolicy;
  readonly #defaultTimeout: number;
  readonly #onProgress: ProgressListener | undefined;
  readonly #active = new Set<AbortController>();
  #idle: (() => void)[] = [];

  constructor(options: ParallelRunnerOptions = {}) {
    validateRunnerOptions(options, 'ParallelRunner');
    this.#maxWorkers = options.maxWorkers ?? Math.min(availableParallelism(), 8);
    this.#failFast = options.failFast ?? false;
    this.#defaultTimeout = options.defaultTimeout ?? DSL_PROCESS_TIMEOUT_MS;
    this.#onProgress = options.onProgress;
  }

  /** Runs `scripts` and resolves with the summary; never rejects for failing scripts. */
  async runScripts(scripts: readonly (string | DiscoveredScript)[], options: ParallelRunOptions = {}): Promise<RunSummary> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    this.#active.add(controller);
    try {
      return await runScripts(scripts, {
        concurrency: this.#maxWorkers,
        failFast: this.#failFast,
        timeout: options.timeout ?? this.#defaultTimeout,
        signal: controller.signal,
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        ...(options.env !== undefined ? { env: options.env } : {}),
        ...(options.args !== undefined ? { args: options.args } : {}),
        ...(options.configs !== undefined ? { configs: options.configs } : {}),
        ...(options.outputDir !== undefined ? { outputDir: options.outputDir } : {}),
        ...(this.#onProgress ? { onProgress: progressListener(this.#onProgress) } : {}),
      });
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      this.#active.delete(controller);
      if (this.#active.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /** `runScripts()` calls in progress. */
  get running(): number {
    return this.#active.size;
  }

  /** Cancels every call in progress: running scripts are killed, the rest end `cancelled`. */
  cancel(reason = 'cancelled'): void {
    for (const controller of this.#active) controller.abort(reason);
  }

  /** Resolves when no `runScripts()` call is in progress (at once if none is). */
  onIdle(): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}

/** Options of {@link BatchRunner}. */
export interface BatchRunnerOptions {
  /** Scripts at once within a batch. @default min(number of CPUs, 8) */
  maxWorkers?: number;
  onProgress?: ProgressListener;
}

/** Options of `runBatches()`. */
export interface RunBatchesOptions extends Omit<ParallelRunOptions, 'configs'> {
  /** After a batch that did not succeed, the later batches do not run: their scripts are `cancelled`. @default true */
  stopOnBatchFailure?: boolean;
}

/**
 * Runs batches of scripts one after another, each batch in parallel. Twin of the Python
 * `BatchRunner.run_batches(batches, timeout, cwd, stop_on_batch_failure)`.
 */
export class BatchRunner {
  readonly #runner: ParallelRunner;

  constructor(options: BatchRunnerOptions = {}) {
    validateRunnerOptions(options, 'BatchRunner');
    this.#runner = new ParallelRunner({
      ...(options.maxWorkers !== undefined ? { maxWorkers: options.maxWorkers } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }

  /**
   * One summary per batch, in order, always as many as there are batches. With
   * `stopOnBatchFailure`, the batches after a failed one come back with every script `cancelled`
   * (reason `cancelled`, message naming the failed batch).
   */
  async runBatches(batches: readonly (readonly string[])[], options: RunBatchesOptions = {}): Promise<RunSummary[]> {
    if (!isList(batches) || batches.some((b) => !isList(b))) {
      throw new TypeError(`Expected the batches to be a list of lists of script paths, got ${describeValue(batches)}`);
    }
    const { stopOnBatchFailure = true, ...runOptions } = options;
    const summaries: RunSummary[] = [];
    let stopped: string | undefined;
    for (const [index, scripts] of batches.entries()) {
      // A skipped batch still goes through the engine, with its signal already aborted, so its
      // scripts get the same cancelled results a cancelled run gives them.
      const summary = await this.#runner.runScripts(scripts, stopped === undefined ? runOptions : { ...runOptions, signal: AbortSignal.abort(stopped) });
      summaries.push(summary);
      if (stopped === undefined && stopOnBatchFailure && summary.status !== 'succeeded') {
        stopped = `batch ${index + 1} of ${batches.length} ${summary.status}`;
      }
    }
    return summaries;
  }

  /** Cancels the batch in progress (the later ones then end `cancelled` too when `stopOnBatchFailure`). */
  cancel(reason = 'cancelled'): void {
    this.#runner.cancel(reason);
  }

  onIdle(): Promise<void> {
    return this.#runner.onIdle();
  }
}

/** Options of {@link runParallel}. */
export interface RunParallelOptions extends ParallelRunOptions {
  /** @default min(number of CPUs, 8) */
  maxWorkers?: number;
  /** @default false */
  failFast?: boolean | FailurePolicy;
  onProgress?: ProgressListener;
}

/**
 * Runs scripts in parallel and resolves with the summary. Twin of the Python
 * `run_parallel(scripts, max_workers, timeout, progress_callback)`; `timeout` defaults to 60000.
 */
export function runParallel(scripts: readonly (string | DiscoveredScript)[], options: RunParallelOptions = {}): Promise<RunSummary> {
  const { maxWorkers, failFast, onProgress, ...run } = options;
  const runner = new ParallelRunner({
    ...(maxWorkers !== undefined ? { maxWorkers } : {}),
    ...(failFast !== undefined ? { failFast } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  return runner.runScripts(scripts, run);
}

function validateRunnerOptions(options: unknown, what: string): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`Expected the options of ${what} to be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  if (o.maxWorkers !== undefined) expectPositiveInteger(o.maxWorkers, `the \`maxWorkers\` option of ${what}`);
  if (o.defaultTimeout !== undefined) expectNonNegativeInteger(o.defaultTimeout, `the \`defaultTimeout\` option of ${what}`);
  if (o.failFast !== undefined && typeof o.failFast !== 'boolean' && !['no-new', 'continue', 'kill'].includes(o.failFast as string)) {
    throw new TypeError(`Expected the \`failFast\` option of ${what} to be a boolean or 'no-new', 'continue' or 'kill', got ${describeValue(o.failFast)}`);
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new TypeError(`Expected the \`onProgress\` option of ${what} to be a function, got ${describeValue(o.onProgress)}`);
  }
}
