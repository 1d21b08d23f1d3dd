import type { StepCache } from '../engines/engine.js';
import type { RunEvent } from '../core/events.js';
import type { FinalStatus, RunStatus } from '../core/status.js';
import type { RunOwner } from './run-owner.js';

/** What kind of run: a folder of scripts, or a workflow (file or DSL). */
export type RunKind = 'folder' | 'workflow';

/**
 * A stored run's status: `running` until its `run-finished` event is written, then its final
 * status; `interrupted` when the orchestrator that ran it died first (see `markInterrupted`).
 */
export type RunRecordStatus = 'running' | FinalStatus | 'interrupted';

/**
 * A stored attempt's status: `pending` until the step starts, `running` while it runs, then its
 * final status; `interrupted` when the run was marked interrupted while the attempt was running.
 */
export type StepRecordStatus = RunStatus | 'interrupted';

/** Steps of a run by the status of their last attempt, plus the total. */
export type RunRecordCounts = Record<StepRecordStatus, number> & { total: number };

/** What `beginRun` records about a run before its first event. */
export interface RunInfo {
  runId: string;
  name: string;
  kind: RunKind;
  /** The folder or workflow file that was run (or a DSL module), as the user named it. */
  source: string;
  /** The orchestrator's arguments, without `node` and the script. */
  argv: string[];
  cwd: string;
  /** `git rev-parse HEAD` of the project, when it is a git checkout. */
  gitCommit: string | null;
  host: string;
  /** The orchestrator's pid: the next command marks the run interrupted when it is gone. */
  pid: number;
  /**
   * The orchestrator's start time in clock ticks since boot (`/proc/<pid>/stat` field 22, see
   * `readProc` in execution/proc-tree.ts), so a reused pid is not taken for the live orchestrator.
   */
  pidStartTime: number | null;
  /** The serialised `WorkflowSpec` (functions dropped), for `resume` and `rerun`. */
  specJson?: string;
  /**
   * A file, best on another disk than the state folder, where the run's journal goes on when the
   * state folder cannot take it (full, read-only): finished steps and the run's end are appended
   * there, and the next command replays it with the journal. `resumableRunInfo` puts it in the
   * run's folder (`unsaved-history.jsonl`).
   */
  journalFallback?: string;
}

/** One stored run. Times are ISO strings, like in `RunSummary`. */
export interface RunRecord {
  id: string;
  name: string;
  kind: RunKind;
  source: string | null;
  status: RunRecordStatus;
  startedAt: string;
  /** Null while running and for interrupted runs. */
  finishedAt: string | null;
  durationMs: number | null;
  argv: string[];
  cwd: string | null;
  gitCommit: string | null;
  host: string | null;
  pid: number | null;
  pidStartTime: number | null;
  /**
   * Steps by status. For a running or interrupted run these are counted from the stored attempts
   * when the record is read (steps not started yet count as `pending`).
   */
  counts: RunRecordCounts;
  specJson: string | null;
  /** Why the run was cancelled (`run-cancelling`) or interrupted (`markInterrupted`). */
  reason: string | null;
  /** When `requestCancel` was called for it, if it was. */
  cancelRequestedAt: string | null;
}

/**
 * One attempt of one step. Attempt numbers start at 1; attempt `0` stands for a step that never
 * started: `pending` while the run goes on, or its final status (`skipped`, `cancelled`) with the
 * reason.
 */
export interface StepRecord {
  runId: string;
  stepId: string;
  /** From `run-started`; the step id when the run's start was not recorded. */
  name: string;
  kind: string | null;
  group: string | null;
  needs: string[];
  attempt: number;
  status: StepRecordStatus;
  reason: string | null;
  message: string | null;
  exitCode: number | null;
  signal: string | null;
  durationMs: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  outputs: Record<string, string>;
  logPath: string | null;
  /** A function step's return value, parsed back from JSON; undefined when it had none. */
  value?: unknown;
  /** The argv that was run; empty when unknown or nothing was spawned. */
  command: string[];
  /** The attempt's process (the leader of its process group), and its start time in clock ticks. */
  pid: number | null;
  pidStartTime: number | null;
  /** With caching on: the step's key, and why it ran or came from the cache. */
  cacheKey: string | null;
  cacheExplain: string[];
}

/**
 * What `claimRun` got: the run, or the process that has it (`pid` and `host` null when it is not
 * known, for a run recorded before owners were).
 */
export type RunClaim =
  | { claimed: true }
  | { claimed: false; pid: number | null; pidStartTime: number | null; host: string | null };

/** Filters for `listRuns`. Results are newest first. */
export interface ListRunsOptions {
  /** One status or several. */
  status?: RunRecordStatus | readonly RunRecordStatus[];
  /** Exact run name. */
  name?: string;
  /** Runs whose id starts with this. */
  idPrefix?: string;
  /** Most runs returned. @default no limit */
  limit?: number;
  /** Only runs started before this time (for paging: pass the last record's `startedAt`). */
  before?: Date;
}

/**
 * What `prune` deletes. Running runs are never deleted. With both options a run is deleted only
 * when it is outside the newest `keep` and started before `olderThan`.
 */
export interface PruneOptions {
  /** Keep the newest N finished or interrupted runs. */
  keep?: number;
  /** Delete runs started before this time. */
  olderThan?: Date;
}

/**
 * Run history: every run, every step attempt, and cancel requests between orchestrators. The store
 * is a subscriber of the event stream (`storeListener`), so engines do not know about it.
 * @see docs/store.md
 */
export interface RunStore extends StepCache {
  /** True for a history opened read-only (its folder cannot be written): every write throws. */
  readonly readOnly?: boolean;
  /**
   * Records the run's context (command line, host, pid, spec) at once, before its events, so
   * another orchestrator can see it is running. Calling it again for the same id (a resume)
   * updates the context and marks the run running again.
   */
  beginRun(info: RunInfo): void;
  /**
   * Queues an event; it is written with others in one transaction shortly after. Never throws for
   * storage problems (they surface in `flush`). `step-output` events are ignored: logs live in files.
   */
  recordEvent(event: RunEvent): void;
  /** Writes every queued event. Rejects with a `StoreError` when they cannot be written; they stay queued. */
  flush(): Promise<void>;
  /** Newest first. */
  listRuns(options?: ListRunsOptions): RunRecord[];
  /** By full id, or by a prefix that matches exactly one run. */
  getRun(idOrPrefix: string): RunRecord | undefined;
  /** The last attempt of every step, in the order of the run's steps. */
  getSteps(runId: string): StepRecord[];
  /** Every attempt of one step, first to last. */
  getAttempts(runId: string, stepId: string): StepRecord[];
  /**
   * Marks a `running` run `interrupted` (its orchestrator died), and its running attempts too,
   * after writing what the run journaled but never committed (finished steps, and its end: a run
   * whose end is in the journal becomes finished, not interrupted). With `owner`, only while the
   * run is still owned by that process (the one seen gone), so a run another process has claimed
   * since is left alone. Returns false when nothing was marked.
   */
  markInterrupted(runId: string, reason: string, owner?: { pid: number | null; pidStartTime: number | null }): boolean;
  /**
   * Takes a run over for this process (`owner`, by default this one), atomically: it succeeds
   * when the run is not `running`, or when its owner on this host is gone (its journal is replayed
   * first). The run is then `running` under the new owner. Of two processes claiming the same run
   * at once, exactly one gets it; the other learns who has it. Throws a `TypeError` for an unknown
   * run.
   */
  claimRun(runId: string, owner?: RunOwner): RunClaim;
  /** Asks the orchestrator running `runId` to cancel it. Returns false when the run is not running. */
  requestCancel(runId: string): boolean;
  /** True once `requestCancel` was called for the run; cheap enough to poll. */
  cancelRequested(runId: string): boolean;
  /** Deletes old runs with their steps; returns how many runs were deleted. */
  prune(options: PruneOptions): number;
  /** Writes what is queued and closes. Idempotent. Throws a `StoreError` when the queue cannot be written. */
  close(): void;
  [Symbol.dispose](): void;
}
