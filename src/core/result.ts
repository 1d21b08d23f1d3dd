import type { FailureReason, FinalStatus, RunStatus } from './status.js';

/**
 * The outcome of one step (after all its attempts). Failures are shaped like results (execa): a
 * report never has to look anywhere else for the command, exit code, signal or output.
 */
export interface StepResult {
  id: string;
  name: string;
  kind: string;
  group: string;
  /** Script path relative to the discovered folder, for script steps. */
  path?: string;
  status: FinalStatus;
  /** Set whenever status is not `succeeded`. */
  reason?: FailureReason;
  /** One line saying what happened, built by `describeFailure`. */
  message?: string;
  /** The argv that was run, interpreter first. Empty when nothing was started. */
  command: string[];
  exitCode: number | null;
  /** The signal the process died of, if any. */
  signal: string | null;
  /** The signal the orchestrator sent that ended it (SIGTERM, or SIGKILL after the grace period). */
  killSignal: string | null;
  timedOut: boolean;
  /** True when the SIGTERM was not enough and SIGKILL was needed. */
  forcefullyKilled: boolean;
  attempts: number;
  /** ISO times of the first attempt's start and the last attempt's end. */
  startedAt: string | null;
  finishedAt: string | null;
  /** Duration of the last attempt, in milliseconds. */
  durationMs: number;
  /** Last bytes of each stream, decoded (invalid UTF-8 shown as U+FFFD). */
  stdoutTail: string;
  stderrTail: string;
  /** Total bytes each stream produced. */
  stdoutBytes: number;
  stderrBytes: number;
  /** Path of the full log, when one was written. */
  logPath: string | null;
  /** Peak resident memory of the process tree in MiB, when it was measured. */
  peakMemoryMb?: number;
  outputs: Record<string, string>;
  /** A function step's return value (after `transformResult`). */
  value?: unknown;
  /** The step failed but has `continueOnError`: it does not fail the run. */
  continuedOnError?: boolean;
  /** Ids of the steps it depended on (workflow runs). */
  needs?: string[];
  /** The step's cache key, when caching was on for it. */
  cacheKey?: string;
  /** Why a cached step ran (what changed since the last cache entry), or that it was a hit. */
  cacheExplain?: string[];
  /** Matrix values, for expanded steps. */
  matrix?: Record<string, string | number | boolean>;
  tags: string[];
}

export type StatusCounts = Record<RunStatus, number> & { total: number };

/**
 * A step that failed or timed out but has `continue_on_error`: it is counted as what it was, but
 * neither fails the run nor makes the exit code 1.
 */
export function isContinuedFailure(step: Pick<StepResult, 'status' | 'continuedOnError'>): boolean {
  return step.continuedOnError === true && (step.status === 'failed' || step.status === 'timed-out');
}

/** The summary of a whole run: what `run()` resolves to and what `summary.json` holds. */
export interface RunSummary {
  /** Version of this shape in `summary.json`. */
  schemaVersion: 1;
  runId: string;
  name: string;
  source: string | null;
  status: FinalStatus;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  counts: StatusCounts;
  steps: StepResult[];
  /** Set when the run itself was cancelled (signal, interrupt, run timeout). */
  cancelReason?: string;
}

export function emptyCounts(): StatusCounts {
  return {
    total: 0,
    pending: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    'timed-out': 0,
    cancelled: 0,
    skipped: 0,
    cached: 0,
  };
}

export function countStatuses(steps: readonly { status: RunStatus }[]): StatusCounts {
  const counts = emptyCounts();
  for (const step of steps) {
    counts[step.status] += 1;
    counts.total += 1;
  }
  return counts;
}

/** The run's status from its steps: failed beats timed-out beats cancelled beats succeeded. */
export function overallStatus(counts: StatusCounts, cancelled: boolean): FinalStatus {
  if (counts.failed > 0) return 'failed';
  if (counts['timed-out'] > 0) return 'timed-out';
  if (cancelled || counts.cancelled > 0) return 'cancelled';
  return 'succeeded';
}
