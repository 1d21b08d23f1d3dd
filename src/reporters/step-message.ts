import { describeFailure } from '../core/failure.js';
import type { StepResult } from '../core/result.js';

/**
 * The one-line message for a step: its own `message`, or one built by `describeFailure` from its
 * reason when an engine left it out. Succeeded steps say `succeeded`.
 */
export function stepMessage(step: StepResult): string {
  if (step.message !== undefined && step.message !== '') return step.message;
  if (step.reason === undefined) return step.status;
  return describeFailure({
    reason: step.reason,
    exitCode: step.exitCode,
    signal: step.signal,
    // The timeout itself is not in the result; the duration of a timed-out attempt is close to it.
    timeoutMs: step.durationMs,
    forcefullyKilled: step.forcefullyKilled,
    attempts: step.attempts,
  });
}

/** How the process ended: `code 3`, `signal SIGKILL (sent SIGKILL after SIGTERM)`, or `not started`. */
export function exitDescription(step: StepResult): string {
  const parts: string[] = [];
  if (step.exitCode !== null) parts.push(`code ${step.exitCode}`);
  if (step.signal !== null) parts.push(`signal ${step.signal}`);
  if (step.killSignal !== null) {
    parts.push(
      step.forcefullyKilled
        ? `orchestrator sent ${step.killSignal} after SIGTERM was ignored`
        : `orchestrator sent ${step.killSignal}`,
    );
  }
  if (parts.length === 0) return step.startedAt === null ? 'not started' : 'unknown';
  return parts.join(', ');
}

/**
 * Steps that ran, slowest first (ties by id), at most `limit` of them. Cached steps did not run
 * (they have a start time, and 0 ms), so they are left out.
 */
export function slowestSteps(steps: readonly StepResult[], limit: number): StepResult[] {
  return steps
    .filter((step) => step.status !== 'cached' && (step.startedAt !== null || step.durationMs > 0))
    .sort((a, b) => b.durationMs - a.durationMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, limit);
}

/**
 * A count (`1 failed`, or `1` without a label) with a note on how many of those steps had
 * `continue_on_error`, so did not fail the run: `1 failed (continue_on_error)` when all did,
 * `3 failed (1 continue_on_error)` when some did.
 */
export function withContinued(n: number, continued: number, label = ''): string {
  const text = label === '' ? String(n) : `${n} ${label}`;
  if (continued === 0) return text;
  return continued === n ? `${text} (continue_on_error)` : `${text} (${continued} continue_on_error)`;
}

/** How many steps with this status had `continue_on_error` (so did not fail the run). */
export function continuedCount(steps: readonly StepResult[], status: 'failed' | 'timed-out'): number {
  return steps.filter((step) => step.status === status && step.continuedOnError === true).length;
}

/** `1 step`, `2 steps`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
