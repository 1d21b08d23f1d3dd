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

/** Steps that ran, slowest first (ties by id), at most `limit` of them. */
export function slowestSteps(steps: readonly StepResult[], limit: number): StepResult[] {
  return steps
    .filter((step) => step.startedAt !== null || step.durationMs > 0)
    .sort((a, b) => b.durationMs - a.durationMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, limit);
}
