import { availableParallelism } from 'node:os';
import { RunError } from '../core/errors.js';
import type { RunSummary } from '../core/result.js';
import { runScripts } from '../api/run-scripts.js';
import { combineListeners, progressListener, type ProgressListener } from './progress.js';
import { DSL_PROCESS_TIMEOUT_MS } from './process-steps.js';
import { StepDescriptor, type StepConvertible } from './step-descriptor.js';
import {
  describeValue,
  isList,
  expectNonEmptyString,
  expectNonNegativeInteger,
  expectPositiveInteger,
  expectStringRecord,
} from './step-options.js';

/** Options of {@link batch}. */
export interface BatchOptions {
  /** Scripts at once. @default number of CPUs */
  workers?: number;
  /** Milliseconds per script. @default 60000 */
  timeout?: number;
  /** Merged over `process.env` (over the workflow's env in a workflow). */
  env?: Record<string, string>;
  /** @default each script's folder */
  cwd?: string;
  /** After a failure no new script starts (the rest end `cancelled`). @default false */
  failFast?: boolean;
}

export interface BatchRunOptions {
  /** Aborting it kills every running script. */
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/**
 * Script files run in parallel through `runScripts`. Every target is in the summary: one that does
 * not exist is `failed` with reason `script-missing` (the Python `batch` dropped it silently). Made
 * by {@link batch}.
 */
export class Batch implements StepConvertible {
  readonly targets: readonly string[];
  readonly options: Readonly<BatchOptions>;

  constructor(targets: readonly string[], options: BatchOptions = {}) {
    if (!isList(targets)) {
      throw new TypeError(`Expected the targets of batch() to be a list of script paths, got ${describeValue(targets)}`);
    }
    targets.forEach((target, i) => expectNonEmptyString(target, `target ${i + 1} of batch()`));
    validateBatchOptions(options);
    this.targets = [...targets];
    this.options = { ...options };
  }

  /** Runs every target and resolves with the summary (scripts in the order given); never rejects for failing scripts. */
  run(options: BatchRunOptions = {}): Promise<RunSummary> {
    return runBatch(this.targets, this.options, options.signal, options.onProgress);
  }

  /** The batch as a function step: value = the batch's `RunSummary`; a failure throws `RunError`. */
  toStepDescriptor(): StepDescriptor {
    const targets = this.targets;
    const options = this.options;
    return new StepDescriptor({
      kind: 'function',
      fn: async (ctx) => {
        const summary = await runBatch(targets, { ...options, env: { ...ctx.env, ...options.env } }, ctx.signal, (update) => {
          if (update.phase === 'finished') ctx.log(`${update.stepId} ${update.status ?? ''} (${update.completed}/${update.total})`);
        });
        if (summary.status !== 'succeeded') throw new RunError(summary);
        return summary;
      },
    });
  }
}

/** Scripts to run in parallel: `await batch(['a.py', 'b.sh'], { workers: 4 }).run()` resolves to a `RunSummary`. */
export function batch(targets: readonly string[], options: BatchOptions = {}): Batch {
  return new Batch(targets, options);
}

function runBatch(
  targets: readonly string[],
  o: BatchOptions,
  signal: AbortSignal | undefined,
  onProgress: ProgressListener | undefined,
): Promise<RunSummary> {
  const listener = combineListeners(onProgress ? progressListener(onProgress) : undefined);
  return runScripts(targets, {
    concurrency: o.workers ?? availableParallelism(),
    timeout: o.timeout ?? DSL_PROCESS_TIMEOUT_MS,
    failFast: o.failFast ?? false,
    ...(o.env !== undefined ? { env: o.env } : {}),
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
    ...(signal ? { signal } : {}),
    ...(listener ? { onProgress: listener } : {}),
  });
}

function validateBatchOptions(options: unknown): asserts options is BatchOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`Expected the options of batch() to be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  const known = ['workers', 'timeout', 'env', 'cwd', 'failFast'];
  for (const key of Object.keys(o)) {
    if (!known.includes(key) && o[key] !== undefined) {
      throw new TypeError(`Unknown option \`${key}\` for batch() (known options: ${known.join(', ')})`);
    }
  }
  if (o.workers !== undefined) expectPositiveInteger(o.workers, 'the `workers` option of batch()');
  if (o.timeout !== undefined) expectNonNegativeInteger(o.timeout, 'the `timeout` option of batch()');
  if (o.env !== undefined) expectStringRecord(o.env, 'the `env` option of batch()');
  if (o.cwd !== undefined) expectNonEmptyString(o.cwd, 'the `cwd` option of batch()');
  if (o.failFast !== undefined && typeof o.failFast !== 'boolean') {
    throw new TypeError(`Expected the \`failFast\` option of batch() to be a boolean, got ${describeValue(o.failFast)}`);
  }
}
