import type { RunSummary } from '../core/result.js';

/** Exit codes of the `run` command. @see docs/reports.md */
export const EXIT_CODES = {
  /** Every step succeeded or was skipped. */
  ok: 0,
  /** A step failed or timed out, or the run was cancelled by its own timeout. */
  failed: 1,
  /** Bad arguments or configuration; nothing ran. */
  usage: 2,
  /** Interrupted by SIGINT (Ctrl-C): 128 + 2. */
  sigint: 130,
  /** Interrupted by SIGTERM: 128 + 15. */
  sigterm: 143,
} as const;

/**
 * The process exit code for a finished run. An interrupt wins (130 for SIGINT, 143 for SIGTERM),
 * then any failed or timed-out step or a cancelled run (1); otherwise 0. Skipped steps never fail
 * a run.
 */
export function exitCodeFor(summary: RunSummary, interruptedBy?: 'SIGINT' | 'SIGTERM' | null): number {
  if (interruptedBy === 'SIGINT') return EXIT_CODES.sigint;
  if (interruptedBy === 'SIGTERM') return EXIT_CODES.sigterm;
  if (summary.counts.failed > 0 || summary.counts['timed-out'] > 0) return EXIT_CODES.failed;
  if (summary.status === 'failed' || summary.status === 'timed-out' || summary.status === 'cancelled') {
    return EXIT_CODES.failed;
  }
  return EXIT_CODES.ok;
}
