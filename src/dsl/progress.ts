import type { RunEvent, RunListener } from '../core/events.js';
import type { StepResult } from '../core/result.js';
import type { FinalStatus } from '../core/status.js';

/**
 * A simpler view of the event stream for progress bars: one update when a step starts, when it is
 * about to be retried, and when it is final. Twin of the Python `progress_callback(name, status, data)`.
 */
export interface ProgressUpdate {
  stepId: string;
  phase: 'started' | 'retrying' | 'finished';
  attempt: number;
  /** Set when `phase` is `finished`. */
  status?: FinalStatus;
  /** Set when `phase` is `finished`. */
  result?: StepResult;
  /** Milliseconds until the next attempt, when `phase` is `retrying`. */
  delayMs?: number;
  /** Steps final so far (this one included when it just finished). */
  completed: number;
  total: number;
}

export type ProgressListener = (update: ProgressUpdate) => void;

/** An event listener that turns events into {@link ProgressUpdate}s for `onProgress`. */
export function progressListener(onProgress: ProgressListener): RunListener {
  let total = 0;
  let completed = 0;
  return (event: RunEvent) => {
    switch (event.type) {
      case 'run-started':
        total = event.steps.length;
        completed = 0;
        return;
      case 'step-started':
        onProgress({ stepId: event.stepId, phase: 'started', attempt: event.attempt, completed, total });
        return;
      case 'step-retrying':
        onProgress({ stepId: event.stepId, phase: 'retrying', attempt: event.attempt, delayMs: event.delayMs, completed, total });
        return;
      case 'step-finished':
        completed += 1;
        onProgress({
          stepId: event.stepId,
          phase: 'finished',
          attempt: event.result.attempts,
          status: event.result.status,
          result: event.result,
          completed,
          total,
        });
        return;
      default:
        return;
    }
  };
}

/** One listener calling each given one in order (undefined ones skipped). */
export function combineListeners(...listeners: (RunListener | undefined)[]): RunListener | undefined {
  const present = listeners.filter((l): l is RunListener => l !== undefined);
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  return (event) => {
    for (const listener of present) listener(event);
  };
}
