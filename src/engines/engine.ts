import type { RunEvent, RunListener } from '../core/events.js';
import type { RunSummary, StepResult } from '../core/result.js';
import type { WorkflowSpec } from '../core/spec.js';

export interface SubmitOptions {
  /** Run id; a new time-sortable one when unset. */
  runId?: string;
  /** Aborting it cancels the run: every running process tree is killed. */
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
  /** Cancels the run: no new steps start and running ones are killed. */
  cancel(reason?: string): void;
}

/** One contract for every engine (local today, distributed later), checked by one conformance suite. */
export interface Engine {
  readonly name: string;
  submit(spec: WorkflowSpec, options?: SubmitOptions): RunHandle;
  /** Cancels what is still running and releases resources. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
