import type { StepKind } from './spec.js';
import type { FailureReason } from './status.js';
import type { RunSummary, StepResult } from './result.js';

interface EventBase {
  runId: string;
  /** Milliseconds since the epoch. */
  time: number;
}

/** A step as announced at the start of a run. */
export interface StepInfo {
  id: string;
  name: string;
  kind: StepKind;
  group: string;
  needs: string[];
}

/**
 * Everything observable about a run. Reporters, the store, monitors, the dashboard and MCP read
 * this union and nothing else.
 */
export type RunEvent =
  | (EventBase & { type: 'run-started'; name: string; source: string | null; steps: StepInfo[] })
  | (EventBase & {
      type: 'step-started';
      stepId: string;
      attempt: number;
      command: string[];
      pid: number | null;
    })
  | (EventBase & {
      type: 'step-output';
      stepId: string;
      attempt: number;
      stream: 'stdout' | 'stderr';
      chunk: Buffer;
    })
  | (EventBase & {
      type: 'step-retrying';
      stepId: string;
      attempt: number;
      delayMs: number;
      reason: FailureReason;
      message: string;
    })
  | (EventBase & { type: 'step-finished'; stepId: string; attempt: number; result: StepResult })
  | (EventBase & { type: 'run-cancelling'; reason: string })
  | (EventBase & { type: 'run-finished'; summary: RunSummary });

export type RunEventType = RunEvent['type'];
export type RunEventOf<T extends RunEventType> = Extract<RunEvent, { type: T }>;
export type RunListener = (event: RunEvent) => void;
