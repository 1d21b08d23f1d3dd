import { isContinuedFailure } from '../core/result.js';
import type { FinalStatus } from '../core/status.js';

/** Step counts of one folder (group). Skipped steps count as skipped, never as failed. */
export interface GroupCounts {
  total: number;
  succeeded: number;
  failed: number;
  'timed-out': number;
  cancelled: number;
  skipped: number;
  cached: number;
  /**
   * Of the failed and timed-out steps, those with `continue_on_error`: they are counted there (it
   * is what happened to them) but do not fail the folder, as they do not fail the run.
   */
  continuedOnError: number;
}

/**
 * Counts steps per group, with the groups in a stable order (sorted by code unit, so `.` (the top
 * level) comes first).
 */
export function countByGroup(
  steps: readonly { group: string; status: FinalStatus; continuedOnError?: boolean }[],
): Map<string, GroupCounts> {
  const groups = new Map<string, GroupCounts>();
  for (const name of [...new Set(steps.map((step) => step.group))].sort(compareText)) {
    groups.set(name, {
      total: 0,
      succeeded: 0,
      failed: 0,
      'timed-out': 0,
      cancelled: 0,
      skipped: 0,
      cached: 0,
      continuedOnError: 0,
    });
  }
  for (const step of steps) {
    const counts = groups.get(step.group);
    if (counts === undefined) continue;
    counts.total += 1;
    counts[step.status] += 1;
    if (isContinuedFailure(step)) counts.continuedOnError += 1;
  }
  return groups;
}

/**
 * True when the group has a failed or timed-out step without `continue_on_error` (what makes the
 * run exit with 1).
 */
export function groupFailed(counts: GroupCounts): boolean {
  return counts.failed + counts['timed-out'] - counts.continuedOnError > 0;
}

/** A folder's verdict in the reports. */
export type GroupVerdict = 'PASS' | 'FAIL' | 'CANCELLED' | 'SKIPPED';

/**
 * `FAIL` when a step failed or timed out (not counting those with `continue_on_error`), else
 * `CANCELLED` when a step was cancelled (it never ran or was stopped, so the folder did not pass),
 * else `SKIPPED` when every step was skipped (nothing ran, so nothing passed), else `PASS`.
 */
export function groupVerdict(counts: GroupCounts): GroupVerdict {
  if (groupFailed(counts)) return 'FAIL';
  if (counts.cancelled > 0) return 'CANCELLED';
  return counts.total > 0 && counts.skipped === counts.total ? 'SKIPPED' : 'PASS';
}

/** Locale-independent string order, so reports do not change with the machine's language. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
