import type { RunEvent, RunListener } from '../core/events.js';
import type { RunSummary, StepResult } from '../core/result.js';
import type { WorkflowSpec } from '../core/spec.js';

export interface SubmitOptions {
  /** Run id; a new time-sortable one when unset. */
  runId?: string;
  /**
   * Aborting it cancels the run, as `RunHandle.cancel()` does: every running process tree is
   * killed; cleanup steps (an `if` with a status function) still run. Call `cancel()` after it
   * to end those too.
   */
  signal?: AbortSignal;
  /** Folder for this run's files (logs under `logs/`). Unset: no logs are written. */
  runDir?: string;
  /** The project root: Python virtualenvs are looked for up to it. @default process.cwd() */
  projectRoot?: string;
  /** The environment steps start from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Emit `step-output` events with every chunk of output. @default false */
  emitOutput?: boolean;
  /** Called with every event, in order, before the async iterator sees it. */
  onEvent?: RunListener;
  /**
   * Results of an earlier attempt of this run (resume): steps whose result here `succeeded` are
   * not run again; they finish at once with that result, outputs included, so dependents read
   * them as before.
   */
  previous?: Readonly<Record<string, StepResult>>;
  /**
   * Every result in `previous` is final, whatever its status (`rerun --step X`: a step that failed
   * before is not run again). Dependents see a kept failure as a failure; the failure policy does
   * not act on it. @default false
   */
  previousFinal?: boolean;
  /** Where cached steps (`cache` in their spec) look up and store results. Unset: nothing is cached. */
  cache?: StepCache;
  /** Cache every step of the run, not only those with `cache` set. @default false */
  cacheAll?: boolean;
  /**
   * Steps that run do not look up the cache, they run (and still store a success in it):
   * `rerun` runs its steps again. @default false
   */
  refreshCache?: boolean;
}

/** One remembered successful step, keyed by its cache key. */
export interface CacheEntry {
  key: string;
  /** The workflow (run name) and step it was made by: `latest` finds the previous one to explain a miss. */
  workflow: string;
  stepId: string;
  /** What went into the key, by part (`command`, `args`, `env:NAME`, `file:path`, `needs:id`), each hashed. */
  components: Record<string, string>;
  /**
   * The readable, non-secret side of the parts (command text, arguments as JSON, script path,
   * dependency output names; never environment values), to say what changed on a later miss.
   * Not part of the key. Missing on entries stored before it was kept.
   */
  details?: Record<string, string>;
  outputs: Record<string, string>;
  value?: unknown;
  runId: string;
  createdAt: string;
}

/** Where step results are remembered for caching (the run history store implements it). */
export interface StepCache {
  getCacheEntry(key: string): CacheEntry | undefined;
  /** The newest entry made by this workflow's step, to say what changed. */
  latestCacheEntry(workflow: string, stepId: string): CacheEntry | undefined;
  putCacheEntry(entry: CacheEntry): void;
}

/** A submitted run. */
export interface RunHandle {
  readonly id: string;
  /**
   * Every event of the run from the moment this property is first read (read it right after
   * `submit` to see them all). Ends after `run-finished`.
   */
  readonly events: AsyncIterable<RunEvent>;
  /** Resolves with the summary; never rejects for step failures. */
  readonly result: Promise<RunSummary>;
  /** Subscribes to events; returns the unsubscribe function. */
  on(listener: RunListener): () => void;
  /**
   * Cancels the run: running steps are killed and no new steps start, except cleanup steps (an
   * `if` with a status function: `always()`, `cancelled()`, ...), which run once their needs are
   * done, with `cancelled()` true. Cancelling again (also after the `signal` or the run timeout)
   * ends those too.
   * @see docs/workflows.md#cleanup-steps-when-a-run-is-stopped
   */
  cancel(reason?: string): void;
}

/** One contract for every engine (local today, distributed later), checked by one conformance suite. */
export interface Engine {
  readonly name: string;
  submit(spec: WorkflowSpec, options?: SubmitOptions): RunHandle;
  /** Cancels what is still running, cleanup steps included, and releases resources. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
