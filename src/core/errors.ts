import type { RunSummary, StepResult } from './result.js';

/**
 * Thrown by a function step to stop at once, without the remaining attempts (BullMQ's
 * `UnrecoverableError`).
 */
export class NonRetryableError extends Error {
  override readonly name = 'NonRetryableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * What `runOrThrow()` throws when a run does not succeed. It carries the whole summary, like
 * execa's errors carry the result: `error.summary.steps` has every step with its final status.
 */
export class RunError extends Error {
  override readonly name = 'RunError';
  readonly summary: RunSummary;
  /** The steps that failed or timed out (continue-on-error ones excluded). */
  readonly failed: StepResult[];

  constructor(summary: RunSummary) {
    const failed = summary.steps.filter(
      (s) => (s.status === 'failed' || s.status === 'timed-out') && !s.continuedOnError,
    );
    const lines = failed.slice(0, 5).map((s) => `${s.id} ${s.message ?? s.status}`);
    const more = failed.length > 5 ? ` (and ${failed.length - 5} more)` : '';
    super(
      `Run ${summary.name} ${summary.status}${lines.length > 0 ? `: ${lines.join('; ')}${more}` : summary.cancelReason ? `: ${summary.cancelReason}` : ''}`,
    );
    this.summary = summary;
    this.failed = failed;
  }
}
