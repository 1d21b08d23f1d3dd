import type { RunEvent } from '../core/events.js';
import { countStatuses, overallStatus, type RunSummary, type StepResult } from '../core/result.js';
import type { WorkflowSpec } from '../core/spec.js';
import { isSuccessStatus } from '../core/status.js';

/** A run whose earlier results are all final: what the engine gets, and how its output is put right. */
export interface FinalResults {
  /** The spec with every kept step that did not succeed set to be skipped, so it does not run. */
  spec: WorkflowSpec;
  /** The kept results the engine reuses by itself: the succeeded (and cached) ones. */
  previous: Record<string, StepResult>;
  /** The event with the kept results in place of the engine's skips. */
  event(event: RunEvent): RunEvent;
  /** The summary with the kept results in place of the engine's skips, counts and status redone. */
  summary(summary: RunSummary): RunSummary;
}

/**
 * For `rerun --step X`: every result in `previous` is final, whatever its status (a step that
 * failed before is not run again). The engine reuses only results that succeeded, so the others
 * are run as skipped steps (`skip` in their spec: they run nothing, and dependents that need them
 * see them unfinished, as they would the failure) and their events and summary entries are given
 * their earlier result back.
 */
export function keepFinalResults(spec: WorkflowSpec, previous: Readonly<Record<string, StepResult>>): FinalResults {
  const reused: Record<string, StepResult> = {};
  const restored = new Map<string, StepResult>();
  for (const [id, result] of Object.entries(previous)) {
    if (isSuccessStatus(result.status)) reused[id] = result;
    else restored.set(id, result);
  }
  const summaries = new WeakMap<RunSummary, RunSummary>();
  const fixSummary = (summary: RunSummary): RunSummary => {
    const done = summaries.get(summary);
    if (done) return done;
    const steps = summary.steps.map((step) => restored.get(step.id) ?? step);
    const counts = countStatuses(steps);
    // As the engine counts: a failure with continue-on-error does not fail the run.
    const counted = steps.some((s) => s.continuedOnError) ? countStatuses(steps.filter((s) => !s.continuedOnError)) : counts;
    const status = summary.status === 'timed-out' && counted.failed === 0 ? 'timed-out' : overallStatus(counted, summary.cancelReason !== undefined);
    const fixed: RunSummary = { ...summary, steps, counts, status };
    summaries.set(summary, fixed);
    summaries.set(fixed, fixed);
    return fixed;
  };
  return {
    spec: {
      ...spec,
      steps: spec.steps.map((step) => {
        const kept = restored.get(step.id);
        return kept ? { ...step, skip: { reason: `kept from before (${kept.status})` } } : step;
      }),
    },
    previous: reused,
    event(event) {
      if (event.type === 'step-finished') {
        const kept = restored.get(event.stepId);
        return kept ? { ...event, attempt: kept.attempts, result: kept } : event;
      }
      return event.type === 'run-finished' && restored.size > 0 ? { ...event, summary: fixSummary(event.summary) } : event;
    },
    summary: (summary) => (restored.size > 0 ? fixSummary(summary) : summary),
  };
}
