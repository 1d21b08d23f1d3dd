/**
 * The one status enum. Every surface (reports, store, CLI, events) uses these tokens as they are.
 * `cached` is a success whose result came from the step cache instead of running it.
 */
export const RUN_STATUSES = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'timed-out',
  'cancelled',
  'skipped',
  'cached',
] as const;

export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses a step or run can end in. */
export type FinalStatus = Exclude<RunStatus, 'pending' | 'running'>;

export const FINAL_STATUSES: readonly FinalStatus[] = [
  'succeeded',
  'failed',
  'timed-out',
  'cancelled',
  'skipped',
  'cached',
];

/** True for the statuses a dependent counts as success: `succeeded` and `cached`. */
export function isSuccessStatus(status: RunStatus): boolean {
  return status === 'succeeded' || status === 'cached';
}

/** True for the statuses that make a run fail (exit code 1). */
export function isFailureStatus(status: RunStatus): boolean {
  return status === 'failed' || status === 'timed-out';
}

export function isFinalStatus(status: RunStatus): status is FinalStatus {
  return status !== 'pending' && status !== 'running';
}

/**
 * Why a step did not succeed, as a kebab-case token (wireit's `reason`). One formatter per reason
 * lives in `failure.ts`.
 */
export const FAILURE_REASONS = [
  'exit-non-zero',
  'signal',
  'timed-out',
  'memory-limit',
  'spawn-error',
  'interpreter-not-found',
  'script-missing',
  'not-executable',
  'output-limit',
  'invalid-output',
  'function-threw',
  'sub-workflow-failed',
  'cancelled',
  'fail-fast',
  'dependency-failed',
  'skipped-by-config',
  'condition-false',
  'invalid-config',
  'cycle',
  'unknown-error-thrown',
  'worker-lost',
  'queue-unavailable',
  'job-refused',
] as const;

export type FailureReason = (typeof FAILURE_REASONS)[number];
