import { isContinuedFailure, type RunSummary } from '../core/result.js';

/** Exit codes of the `run` command. @see docs/reports.md */
export const EXIT_CODES = {
  /** Every step succeeded, was skipped, or failed with `continue_on_error`. */
  ok: 0,
  /** A step failed or timed out (without `continue_on_error`), or the run was cancelled by its own timeout. */
  failed: 1,
  /** Bad arguments or configuration, or nothing to resume or rerun; nothing ran. */
  usage: 2,
  /** Interrupted by SIGINT (Ctrl-C): 128 + 2. */
  sigint: 130,
  /** Interrupted by SIGTERM: 128 + 15. */
  sigterm: 143,
} as const;

/**
 * The process exit code for a finished run. An interrupt wins (130 for SIGINT, 143 for SIGTERM),
 * then any failed or timed-out step or a cancelled run (1); otherwise 0. Skipped steps never fail
 * a run, and neither do steps with `continue_on_error` (`StepResult.continuedOnError`).
 */
export function exitCodeFor(summary: RunSummary, interruptedBy?: 'SIGINT' | 'SIGTERM' | null): number {
  if (interruptedBy === 'SIGINT') return EXIT_CODES.sigint;
  if (interruptedBy === 'SIGTERM') return EXIT_CODES.sigterm;
  // The counts are by status, so they include failures the run went on from: those are taken out.
  const continued = summary.steps.filter(isContinuedFailure).length;
  if (summary.counts.failed + summary.counts['timed-out'] - continued > 0) return EXIT_CODES.failed;
  if (summary.status === 'failed' || summary.status === 'timed-out' || summary.status === 'cancelled') {
    return EXIT_CODES.failed;
  }
  return EXIT_CODES.ok;
}
