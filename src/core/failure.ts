import { formatDuration } from './duration.js';
import type { FailureReason } from './status.js';

export interface FailureFacts {
  reason: FailureReason;
  exitCode?: number | null;
  signal?: string | null;
  timeoutMs?: number;
  memoryLimitMb?: number;
  forcefullyKilled?: boolean;
  attempts?: number;
  detail?: string;
}

/**
 * The one formatter for every failure reason (BullMQ's `finishedErrors`): every engine and surface
 * prints failures with these words.
 */
export function describeFailure(facts: FailureFacts): string {
  const detail = facts.detail ? `: ${facts.detail}` : '';
  const attempts = facts.attempts && facts.attempts > 1 ? ` (after ${facts.attempts} attempts)` : '';
  switch (facts.reason) {
    case 'exit-non-zero':
      return `exited with code ${facts.exitCode ?? '?'}${attempts}`;
    case 'signal':
      return `was killed by ${facts.signal ?? 'a signal'}${attempts}`;
    case 'timed-out':
      return `timed out after ${formatDuration(facts.timeoutMs ?? 0)}${
        facts.forcefullyKilled ? ' (SIGKILL after SIGTERM was ignored)' : ''
      }${attempts}`;
    case 'memory-limit':
      return `exceeded its memory limit of ${facts.memoryLimitMb ?? '?'} MiB and was killed${attempts}`;
    case 'spawn-error':
      return `could not be started${detail}`;
    case 'interpreter-not-found':
      return `interpreter not found${detail}`;
    case 'script-missing':
      return `script file is missing${detail}`;
    case 'not-executable':
      return `script is not executable and has no known interpreter${detail}`;
    case 'output-limit':
      return `output exceeded its limit${detail}`;
    case 'invalid-output':
      return `wrote an invalid output file${detail}`;
    case 'function-threw':
      return `threw${detail}`;
    case 'sub-workflow-failed':
      return `a step of its sub-workflow failed${detail}`;
    case 'cancelled':
      return `cancelled${detail}`;
    case 'fail-fast':
      // The policy comes from --fail-fast, the workflow's fail_fast or the default (no-new for a
      // workflow file): name the policy, not the flag.
      return `not run: another step failed, and after a failure nothing new starts (fail-fast policy no-new or kill)${detail}`;
    case 'dependency-failed':
      return `skipped: a dependency did not succeed${detail}`;
    case 'skipped-by-config':
      return `skipped by config${detail}`;
    case 'condition-false':
      return `skipped: its condition was false${detail}`;
    case 'invalid-config':
      return `invalid configuration${detail}`;
    case 'cycle':
      return `dependency cycle${detail}`;
    case 'unknown-error-thrown':
      return `unexpected error${detail}`;
    case 'worker-lost':
      return `lost its worker${detail}`;
    case 'queue-unavailable':
      return `the job queue became unreachable${detail}`;
    case 'job-refused':
      return `refused by the worker${detail}`;
  }
}
