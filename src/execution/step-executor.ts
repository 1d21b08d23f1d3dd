import type { NeedResult, StepSpec } from '../core/spec.js';
import type { FailureReason, FinalStatus } from '../core/status.js';
import type { InterpreterResolver } from './interpreter.js';

/** What one attempt of a step produced. The engine folds attempts into a `StepResult`. */
export interface AttemptResult {
  status: FinalStatus;
  reason?: FailureReason;
  message?: string;
  command: string[];
  exitCode: number | null;
  signal: string | null;
  killSignal: string | null;
  timedOut: boolean;
  forcefullyKilled: boolean;
  startedAt: number;
  finishedAt: number;
  stdoutTail: string;
  stderrTail: string;
  stdoutBytes: number;
  stderrBytes: number;
  peakMemoryMb?: number;
  outputs: Record<string, string>;
  /** A function step's return value. */
  value?: unknown;
  /** What a function step threw, for `retryOn` predicates. */
  error?: unknown;
  /** The failure must not be retried (NonRetryableError, or a failure no retry can fix). */
  nonRetryable?: boolean;
  /**
   * The attempt never began (a distributed step cancelled before any worker took its job): it is
   * not counted, and a step none of whose attempts began is reported as never started.
   */
  notStarted?: boolean;
}

/**
 * An attempt in which no process ran (or whose process is not ours to report): no exit code, no
 * output; `fields` fill in the rest. One place for the shape every executor and engine builds.
 */
export function attemptWithoutProcess(fields: Partial<AttemptResult> & Pick<AttemptResult, 'status' | 'startedAt'>): AttemptResult {
  return {
    command: [],
    exitCode: null,
    signal: null,
    killSignal: null,
    timedOut: false,
    forcefullyKilled: false,
    finishedAt: Date.now(),
    stdoutTail: '',
    stderrTail: '',
    stdoutBytes: 0,
    stderrBytes: 0,
    outputs: {},
    ...fields,
  };
}

/** Why the engine aborted a step: the status it gets follows from this. */
export type AbortCause = 'cancelled' | 'run-timeout' | 'fail-fast';

export interface ExecutionContext {
  runId: string;
  attempt: number;
  /** Aborted when the step must stop; `signal.reason` is an `AbortCause`. Created on first access. */
  readonly signal: AbortSignal;
  /** A cheaper way to hear of the abort than `signal`; returns the unsubscribe function. */
  onAbort(listener: (cause: AbortCause) => void): () => void;
  /** Whether the step was aborted, and why. */
  readonly abortCause: AbortCause | undefined;
  /** The environment every step starts from (the orchestrator's own, usually). */
  baseEnv: NodeJS.ProcessEnv;
  /** The step's log; each attempt appends a section. Unset: no log. */
  logPath?: string;
  resolver: InterpreterResolver;
  /** A folder for this run's scratch files (step outputs, function inputs and results). */
  scratchDir: string;
  /** What a function step sees of its dependencies (built on first access). */
  readonly needs: Record<string, NeedResult>;
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  onSpawn?: (pid: number, command: string[]) => void;
}

/** Runs one attempt of one kind of step (dagu's executor registry; four methods there, one here). */
export interface StepExecutor<S extends StepSpec = StepSpec> {
  execute(step: S, context: ExecutionContext): Promise<AttemptResult>;
  /**
   * Waits for the background work of the run `runId` (log writes, killing what its finished steps
   * left running); returns problems worth a warning. Without `runId`: of every run.
   */
  flush?(runId?: string): Promise<string[]>;
  /**
   * A forced stop of the run `runId` (a second cancel, the run timeout after a cancel, `halt`):
   * its steps are ended at once, cleanup steps included. Called once per run, before their
   * attempts are aborted (with `cancelled`); an executor whose steps run elsewhere (the
   * distributed engine's workers) kills them there without their kill grace.
   */
  kill?(runId: string, reason: string): void;
}
