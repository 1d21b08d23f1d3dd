import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { RunEvent } from '../core/events.js';
import type { RunSummary, StepResult } from '../core/result.js';
import type { StepSpec, WorkflowSpec } from '../core/spec.js';
import { findProcessesWithEnv, isAlive, processStartTime, signalAll, type ProcInfo } from '../execution/proc-tree.js';
import { readGitHead } from '../store/git-head.js';
import { UNSAVED_HISTORY_FILE } from '../store/journal.js';
import { ownerGone } from '../store/run-owner.js';
import type { RunInfo, RunKind, RunRecord, RunStore, StepRecord } from '../store/run-store.js';
import { gitCommit } from '../util/git.js';
import { createRunDir } from './run-dir.js';
import { recoverSpillFiles } from './spill-files.js';

/**
 * What `specJson` holds for a run: enough to run it again (resume, rerun). Build it with
 * `resumableRunInfo`, read it back with `planFromRecord`.
 * @see docs/store.md
 */
export interface StoredPlan {
  spec: WorkflowSpec;
  /** The run's folder for reports and logs (a resume writes into the same one). */
  runDir: string;
  outputDir: string;
  projectRoot: string;
  /** The config files a folder run's plan was built with (workflow files are in `spec` already). */
  configFiles?: string[];
  /**
   * When the plan was read from its files (ISO). A rerun's plan keeps it: it is still the plan
   * read then. Unset in runs recorded before it was: the run's start stands in for it.
   */
  plannedAt?: string;
}

/** A `StoredPlan` as the `specJson` of `RunStore#beginRun`. */
export function planToJson(plan: StoredPlan): string {
  // Function-valued fields (DSL-only) cannot be stored; folder runs and workflow files have none.
  // JSON.stringify leaves them out by itself (null in an array, as a replacer returning undefined
  // would give): no replacer, which would cost a call per key of a 400-step spec.
  return JSON.stringify(plan);
}

/** The plan stored with a run, or `undefined` when it has none (recorded without `specJson`). */
export function planFromRecord(record: RunRecord): StoredPlan | undefined {
  if (!record.specJson) return undefined;
  try {
    return JSON.parse(record.specJson) as StoredPlan;
  } catch {
    return undefined;
  }
}

/**
 * The project's commit for a run's record: HEAD read from the repository's files, with no git
 * process to fork and wait for before the run starts; git itself only when the layout is one
 * `readGitHead` does not read. Null outside a checkout.
 */
export async function projectCommit(projectRoot: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const head = readGitHead(projectRoot, env);
  return head !== undefined ? head : gitCommit(projectRoot);
}

/** A run as `runSpec` starts it, with what its stored plan holds besides the project root. */
export interface StartedRun {
  runId: string;
  runDir: string;
  spec: WorkflowSpec;
  /** The folder the run's folder is in: a rerun makes its new run folder there. */
  outputDir: string;
  /** See `StoredPlan`. */
  configFiles?: string[];
  /** When the plan was read from its files (ISO). @default now */
  plannedAt?: string;
}

/** Where a run came from, for its record: what `runs show` prints besides its steps. */
export interface RunOrigin {
  kind: RunKind;
  /** The folder or workflow file that was run, as the user named it. */
  source: string;
  /** The project the run belongs to (`runSpec`'s `projectRoot`): a resume or rerun runs in it too. */
  projectRoot: string;
  /** The command line that started the run. @default process.argv.slice(2) */
  argv?: readonly string[];
  /** @default process.cwd() */
  cwd?: string;
  /** @default null */
  gitCommit?: string | null;
}

/**
 * What `RunStore#beginRun` takes for a run that can be resumed and rerun (`orchestrator resume`,
 * `rerunStoredRun`): its origin, this process as its owner, and its plan as `specJson`. The CLI
 * records every run with it, and so do `rerunStoredRun`'s new attempts; a run recorded without
 * `specJson` has no plan to run again.
 * @example
 * await runSpec(spec, {
 *   outputDir,
 *   onEvent: storeListener(store),
 *   onStart: (run) => store.beginRun(resumableRunInfo({ ...run, spec, outputDir }, { kind: 'workflow', source: 'ci', projectRoot })),
 * });
 * @see docs/store.md
 */
export function resumableRunInfo(run: StartedRun, origin: RunOrigin): RunInfo {
  const projectRoot = path.resolve(origin.projectRoot);
  return {
    runId: run.runId,
    name: run.spec.name,
    kind: origin.kind,
    source: origin.source,
    argv: [...(origin.argv ?? process.argv.slice(2))],
    cwd: origin.cwd ?? process.cwd(),
    gitCommit: origin.gitCommit ?? null,
    host: hostname(),
    pid: process.pid,
    pidStartTime: ownStartTime(),
    specJson: planToJson({
      spec: run.spec,
      // Absolute (relative to the cwd, as `runSpec` takes them): a resume may run from another folder.
      runDir: path.resolve(run.runDir),
      outputDir: path.resolve(run.outputDir),
      projectRoot,
      ...(run.configFiles !== undefined ? { configFiles: run.configFiles } : {}),
      plannedAt: run.plannedAt ?? new Date().toISOString(),
    }),
    // Beside the reports, which are often on another disk than the state folder.
    journalFallback: path.join(path.resolve(run.runDir), UNSAVED_HISTORY_FILE),
  };
}

/** The reason a run's signal is aborted with when `orchestrator cancel <id>` asks for it. */
export const CANCEL_REQUEST_REASON = 'cancelled with orchestrator cancel';

/** Options of {@link recordRun}: where the run came from (as for `resumableRunInfo`), and more. */
export interface RecordRunOptions extends RunOrigin {
  /**
   * The run's spec and output folder, for its stored plan. Needed when `onStart` is not given them:
   * `runSpec` calls it with the run's id and folder only.
   */
  spec?: WorkflowSpec;
  outputDir?: string;
  /** Aborting it aborts the recording's `signal` too (your own cancel, a shutdown...). */
  signal?: AbortSignal;
  /** Called once when `orchestrator cancel <id>` (or `RunStore#requestCancel`) asks for the run, before `signal` is aborted. */
  onCancelRequest?: () => void;
  /** A store failure while recording; the run goes on. @default emits a process warning */
  onWarning?: (error: Error) => void;
  /** How often the store is asked whether the run should be cancelled, in ms. @default 250 */
  pollIntervalMs?: number;
  /** `stop()` and `abandon()` close the store (which writes what is queued) instead of flushing it. @default false */
  closeStore?: boolean;
  /** Read for the git commit (`GIT_DIR`...). @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** A run being recorded by {@link recordRun}: pass its `signal`, `onStart` and `onEvent` to `runSpec`. */
export interface RunRecording {
  /**
   * Aborted (reason `'cancelled with orchestrator cancel'`) when the run is asked to cancel, or
   * when `options.signal` aborts: pass it to `runSpec`, which then kills the run's trees and
   * records its steps as cancelled.
   */
  readonly signal: AbortSignal;
  /** `runSpec`'s `onStart`: records the run (`beginRun` with `resumableRunInfo`) and starts polling for cancel requests. */
  readonly onStart: (run: { runId: string; runDir: string } & Partial<Omit<StartedRun, 'runId' | 'runDir'>>) => void;
  /** `runSpec`'s `onEvent`: records every event (`storeListener`); polling ends with the run. */
  readonly onEvent: (event: RunEvent) => void;
  /** The run's id, once it started. */
  readonly runId: string | undefined;
  /** Whether a cancel request was seen. */
  readonly cancelRequested: boolean;
  /**
   * For a process that exits at once: stops polling and marks the run interrupted with `reason`
   * now, so it is not left `running` until the next command finds its owner gone.
   */
  readonly abandon: (reason: string) => void;
  /** Stops polling and writes what is queued (or closes the store: `closeStore`). Call it once the run is over. */
  readonly stop: () => Promise<void>;
}

/**
 * Records a run the way the `orchestrator` command does, cancel requests included: `beginRun`
 * with `resumableRunInfo` (so it can be resumed and rerun), every event, and a poll of
 * `RunStore#cancelRequested` every 250 ms that aborts `signal`. A run recorded without it (with
 * `storeListener` and `beginRun` only) never sees `orchestrator cancel <id>`. Store failures are
 * warnings (`onWarning`): the run goes on.
 * @example
 * const recording = await recordRun(store, { kind: 'workflow', source: 'nightly', projectRoot, spec, outputDir });
 * try {
 *   await runSpec(spec, { outputDir, projectRoot, signal: recording.signal, onStart: recording.onStart, onEvent: recording.onEvent });
 * } finally {
 *   await recording.stop();
 * }
 * @see docs/store.md
 */
export async function recordRun(store: RunStore, options: RecordRunOptions): Promise<RunRecording> {
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  if (!Number.isInteger(pollIntervalMs) || pollIntervalMs < 1) {
    throw new TypeError(`Expected the \`pollIntervalMs\` option to be a positive integer, got \`${String(pollIntervalMs)}\` (${typeof pollIntervalMs})`);
  }
  const commit = options.gitCommit !== undefined ? options.gitCommit : await projectCommit(options.projectRoot, options.env ?? process.env);
  const warn = options.onWarning ?? ((error: Error) => process.emitWarning(error));
  const controller = new AbortController();
  const outer = options.signal;
  const forward = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  let poll: NodeJS.Timeout | undefined;
  let runId: string | undefined;
  let cancelRequested = false;
  const stopPolling = (): void => {
    if (poll) clearInterval(poll);
    poll = undefined;
    outer?.removeEventListener('abort', forward);
  };
  const record = (store as { recordEvent: RunStore['recordEvent'] }).recordEvent.bind(store);
  const finish = (): void => {
    try {
      if (options.closeStore === true) store.close();
    } catch (error) {
      warn(error as Error);
    }
  };
  return {
    signal: controller.signal,
    get runId() {
      return runId;
    },
    get cancelRequested() {
      return cancelRequested;
    },
    onStart: (run) => {
      runId = run.runId;
      const spec = run.spec ?? options.spec;
      const outputDir = run.outputDir ?? options.outputDir;
      if (spec === undefined || outputDir === undefined) {
        throw new TypeError('Expected the `spec` and `outputDir` options of recordRun() (runSpec does not pass them to onStart), got none');
      }
      try {
        // The same record a library resume or rerun makes (`resumableRunInfo`): one shape for all.
        store.beginRun(
          resumableRunInfo({ ...run, spec, outputDir }, {
            kind: options.kind,
            source: options.source,
            projectRoot: options.projectRoot,
            gitCommit: commit,
            ...(options.argv !== undefined ? { argv: options.argv } : {}),
            ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
          }),
        );
      } catch (error) {
        // The history is a record, never a reason for the run to fail (a full disk right now, say):
        // the run goes on, its events still go to the journal and the store, and its reports are written.
        warn(error as Error);
      }
      poll = setInterval(() => {
        let requested = false;
        try {
          requested = runId !== undefined && store.cancelRequested(runId);
        } catch {
          // The database cannot be read right now: the next poll tries again.
        }
        if (!requested) return;
        stopPolling();
        cancelRequested = true;
        options.onCancelRequest?.();
        controller.abort(CANCEL_REQUEST_REASON);
      }, pollIntervalMs);
      poll.unref();
    },
    onEvent: (event) => {
      record(event);
      if (event.type === 'run-finished' && event.runId === runId) stopPolling();
    },
    abandon: (reason) => {
      stopPolling();
      try {
        if (runId !== undefined) store.markInterrupted(runId, reason);
      } catch (error) {
        warn(error as Error);
      }
      finish();
    },
    stop: async () => {
      stopPolling();
      if (options.closeStore === true) return finish();
      // flush() rejects with what it could not write; the events stay queued for a later flush.
      await store.flush().catch((error: unknown) => warn(error as Error));
    },
  };
}

/** How many runs an ambiguous id prefix names. */
export const AMBIGUOUS_RUNS_SHOWN = 10;

/**
 * A stored run by id or unique id prefix. For a prefix that several runs match, `matches` holds
 * the newest of them, up to `AMBIGUOUS_RUNS_SHOWN + 1` (one more says there are more), so that the
 * caller can name them; for no match it is empty.
 */
export function lookUpRun(store: RunStore, id: string): { run: RunRecord; matches?: undefined } | { run?: undefined; matches: RunRecord[] } {
  const run = store.getRun(id);
  if (run) return { run };
  const matches = id === '' ? [] : store.listRuns({ idPrefix: id, limit: AMBIGUOUS_RUNS_SHOWN + 1 });
  return { matches: matches.length < 2 ? [] : matches };
}

export interface RecoveredRun {
  runId: string;
  /** Processes of the run that were still alive and were killed. */
  killed: number;
  /** Spill files of killed attempts whose output was appended to the step's log (see `recoverSpillFiles`). */
  spillFiles: number;
}

/**
 * Finds runs on this host whose orchestrator is gone (killed with SIGKILL, machine crash), marks
 * them `interrupted`, kills the processes they left behind and saves the output those left in
 * spill files. A run whose owner is not known (no pid or host recorded) or runs on another host
 * is left alone: nothing is killed that cannot be attributed. A run whose end is in its journal
 * (the database was busy or full when it finished) is stored as finished instead, and not
 * reported. Leftovers are found by the `ORCHESTRATOR_RUN_ID` every step inherits, so escaped
 * (setsid) processes are found too; each is signalled only if its start time is unchanged, so a
 * reused pid is never hit.
 */
export async function recoverInterruptedRuns(store: RunStore, graceMs = 2000): Promise<RecoveredRun[]> {
  const recovered: RecoveredRun[] = [];
  for (const record of store.listRuns({ status: 'running' })) {
    if (!ownerGone(record)) continue;
    // Found before the run is marked: a resume may claim it once it is, and its new processes
    // carry the same run id. Only these are killed.
    const leftovers = findProcessesWithEnv(`ORCHESTRATOR_RUN_ID=${record.id}`);
    const owner = { pid: record.pid, pidStartTime: record.pidStartTime };
    if (!store.markInterrupted(record.id, `the orchestrator (pid ${record.pid ?? '?'}) is gone`, owner)) continue;
    if (leftovers.length > 0) await killAll(leftovers, graceMs);
    const runDir = runFolder(record, store);
    const spillFiles = runDir === undefined ? 0 : await recoverSpillFiles(runDir);
    recovered.push({ runId: record.id, killed: leftovers.length, spillFiles });
  }
  if (recovered.length > 0) await store.flush();
  return recovered;
}

/** The run's folder: from its stored plan, else from the log path of a step that finished. */
function runFolder(record: RunRecord, store: RunStore): string | undefined {
  const plan = planFromRecord(record);
  if (plan) return plan.runDir;
  for (const step of store.getSteps(record.id)) {
    const suffix = path.join('logs', `${step.stepId}.log`);
    if (step.logPath?.endsWith(path.sep + suffix)) return step.logPath.slice(0, -suffix.length - 1);
  }
  return undefined;
}

async function killAll(procs: ProcInfo[], graceMs: number): Promise<void> {
  signalAll(procs, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && procs.some(isAlive)) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  signalAll(procs.filter(isAlive), 'SIGKILL');
}

/** The orchestrator's own start time, recorded with a run so a reused pid is not taken for it. */
export function ownStartTime(): number | null {
  return processStartTime(process.pid);
}

/** A stored step attempt as the `StepResult` the engine takes in `previous`. */
export function recordToResult(record: StepRecord): StepResult {
  return {
    id: record.stepId,
    name: record.name,
    kind: record.kind ?? 'script',
    group: record.group ?? '.',
    status: record.status === 'interrupted' || record.status === 'pending' || record.status === 'running' ? 'cancelled' : record.status,
    ...(record.reason ? { reason: record.reason as StepResult['reason'] & string } : {}),
    ...(record.message ? { message: record.message } : {}),
    command: record.command,
    exitCode: record.exitCode,
    signal: record.signal,
    killSignal: null,
    timedOut: record.status === 'timed-out',
    forcefullyKilled: false,
    attempts: record.attempt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    durationMs: record.durationMs ?? 0,
    stdoutTail: '',
    stderrTail: '',
    stdoutBytes: 0,
    stderrBytes: 0,
    logPath: record.logPath,
    outputs: record.outputs,
    ...(record.value !== undefined ? { value: record.value } : {}),
    ...(record.needs.length > 0 ? { needs: record.needs } : {}),
    tags: [],
  };
}

export type RerunMode = { kind: 'resume' } | { kind: 'failed' } | { kind: 'step'; step: string; downstream: boolean };

/**
 * Why a resume or rerun would run nothing, or `undefined` when it would run something. A run that
 * succeeded is finished: there is nothing to resume (resuming it would only rewrite its record).
 * `rerun --failed` has nothing to do when every step succeeded, came from the cache, or was
 * skipped for a reason of its own (a skipped dependent of a failed step runs again). `rerun --step`
 * always has its step.
 */
export function nothingToRerun(record: RunRecord, steps: readonly StepRecord[], spec: WorkflowSpec, mode: RerunMode): string | undefined {
  if (mode.kind === 'resume') return record.status === 'succeeded' ? 'it succeeded' : undefined;
  if (mode.kind === 'step') return undefined;
  const byId = new Map(steps.map((step) => [step.stepId, step]));
  const done = spec.steps.every((step) => {
    const last = byId.get(step.id);
    if (last === undefined) return false;
    return last.status === 'succeeded' || last.status === 'cached' || (last.status === 'skipped' && last.reason !== 'dependency-failed');
  });
  return done ? 'every step succeeded, came from the cache or was skipped' : undefined;
}

/**
 * The files a stored plan was read from that were modified since: the workflow file and the
 * workflow files it runs as steps, or a folder run's config files. Resume and rerun run the stored
 * plan, not these files as they are now; the CLI says so when this is not empty. A file that is
 * gone or cannot be read is left out.
 */
export async function planFilesChangedSince(plan: StoredPlan, since: Date): Promise<string[]> {
  const files = new Set<string>(plan.configFiles ?? []);
  const addSources = (spec: WorkflowSpec): void => {
    if (spec.source !== undefined) files.add(spec.source);
    for (const step of spec.steps) if (step.kind === 'workflow') addSources(step.workflow);
  };
  addSources(plan.spec);
  const changed: string[] = [];
  for (const file of files) {
    // A folder run's source is its folder: its mtime says a file was added or renamed, not that
    // the plan is out of date (scripts are read when they run).
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile() && info.mtimeMs > since.getTime()) changed.push(file);
  }
  return changed;
}

/**
 * Whether a stored step counts as failed for `rerun --failed`: it failed or timed out, with
 * `continue_on_error` or not (a continued failure is stored as `failed` too). A cancelled or
 * interrupted step did not fail: the run was stopped, which is what `resume` finishes.
 */
function isFailedStep(record: Pick<StepRecord, 'status'>): boolean {
  return record.status === 'failed' || record.status === 'timed-out';
}

/**
 * The earlier results a new attempt of a run keeps (the engine's `previous`, which reuses only
 * succeeded ones and continues the attempt numbers of the rest): for `resume`, every step that
 * succeeded (and the attempt counts of the others); for `rerun --failed`, every step that
 * succeeded and does not depend, directly or not, on a failed step (see `isFailedStep`): a
 * success built on a failure (`if: always()`, `continue_on_error`) was built on a result that is
 * about to change; for `rerun --step X`, every step but X (and, with `--downstream`, everything
 * that depends on X) whatever its status: pass them to `runSpec` with `final: true` so that a step
 * that failed before is kept as it was, not run again. Steps not kept run again.
 */
export function keptResults(steps: readonly StepRecord[], spec: WorkflowSpec, mode: RerunMode): Record<string, StepResult> {
  const kept: Record<string, StepResult> = {};
  let rerun = new Set<string>();
  if (mode.kind === 'step') {
    // The base id of a matrix step names every combination of it.
    const named = stepsNamed(spec.steps, mode.step);
    rerun = mode.downstream ? downstreamOfAll(spec.steps, named) : new Set(named);
  } else if (mode.kind === 'failed') {
    // A matrix combination is a step of its own here: its dependents need it by its own id.
    rerun = downstreamOfAll(spec.steps, steps.filter(isFailedStep).map((record) => record.stepId));
  }
  for (const record of steps) {
    if (rerun.has(record.stepId)) continue;
    // Succeeded steps are kept, and so are cached ones (a success too: resume and rerun --failed
    // used to run them again); for the others (same run only) their attempts count on. With
    // --step, only the named steps run again: every other result is final.
    if (record.status === 'succeeded' || record.status === 'cached' || mode.kind === 'step' || (mode.kind === 'resume' && record.attempt > 0)) {
      kept[record.stepId] = recordToResult(record);
    }
  }
  return kept;
}

/**
 * The ids of the steps `id` names: the step with that id, or, for the base id of a matrix step
 * (`test`), the ids of all its combinations (`test (py=3.11)`, `test (py=3.12)`). Empty when `id`
 * names no step.
 */
export function stepsNamed(steps: readonly StepSpec[], id: string): string[] {
  if (steps.some((step) => step.id === id)) return [id];
  return steps.filter((step) => step.matrixOf === id).map((step) => step.id);
}

/** A step and every step that depends on it, directly or not. */
export function downstreamOf(steps: readonly StepSpec[], id: string): Set<string> {
  return downstreamOfAll(steps, [id]);
}

/**
 * The steps `ids` and every step that depends on any of them, directly or not. One walk for all of
 * them: a run with many failed steps would otherwise build the dependents map once per step.
 */
function downstreamOfAll(steps: readonly StepSpec[], ids: readonly string[]): Set<string> {
  const found = new Set<string>(ids);
  if (found.size === 0) return found;
  const dependents = new Map<string, string[]>();
  for (const step of steps) {
    for (const need of step.needs) {
      const list = dependents.get(need);
      if (list) list.push(step.id);
      else dependents.set(need, [step.id]);
    }
  }
  const queue = [...found];
  while (queue.length > 0) {
    for (const next of dependents.get(queue.pop() as string) ?? []) {
      if (!found.has(next)) {
        found.add(next);
        queue.push(next);
      }
    }
  }
  return found;
}

/**
 * Where a resume or rerun of `record` runs: a resume in the run's own id and folder, a rerun in a
 * new folder beside it.
 */
export async function rerunTarget(record: RunRecord, plan: StoredPlan, mode: RerunMode): Promise<{ runId: string; runDir: string }> {
  return mode.kind === 'resume' ? { runId: record.id, runDir: plan.runDir } : createRunDir(plan.outputDir);
}

/**
 * The record of a resume or rerun of `record`, as the CLI and `rerunStoredRun` both make it: the
 * source of the run it repeats, and its stored plan, kept with the time it was read (a rerun of
 * the rerun compares the plan's files with that time, not with when the rerun started).
 */
export function rerunRecording(record: RunRecord, plan: StoredPlan): { source: string; started: (run: { runId: string; runDir: string }) => StartedRun } {
  return {
    source: record.source ?? plan.spec.source ?? record.name,
    started: (run) => ({
      ...run,
      spec: plan.spec,
      outputDir: plan.outputDir,
      plannedAt: plan.plannedAt ?? record.startedAt,
      ...(plan.configFiles ? { configFiles: plan.configFiles } : {}),
    }),
  };
}

/** The `orchestrator` command that does what `mode` does to run `runId`. */
export function rerunArgv(runId: string, mode: RerunMode): string[] {
  if (mode.kind === 'resume') return ['resume', runId];
  if (mode.kind === 'failed') return ['rerun', runId, '--failed'];
  return ['rerun', runId, '--step', mode.step, ...(mode.downstream ? ['--downstream'] : [])];
}

/** Options of {@link rerunStoredRun}. */
export interface RerunOptions {
  /** Every event of the new attempt; `storeListener(store)` records them. */
  onEvent?: (event: RunEvent) => void;
  /** Aborting it cancels the run, as Ctrl-C does. */
  signal?: AbortSignal;
  /**
   * The command line recorded with the new attempt (`runs show` prints it).
   * @default the `orchestrator` command that does the same: `['rerun', id, '--failed']`, `['resume', id]`...
   */
  argv?: readonly string[];
}

/**
 * Library twin of `orchestrator resume` / `orchestrator rerun`: runs a stored run again, keeping
 * what succeeded (with `--step`, everything but the named steps). `resume` continues the same run
 * (same id and folder) and first claims it (`RunStore#claimRun`): it fails when another process
 * has it (`run X is already being resumed by pid N`); the others start a new run. The new attempt
 * is recorded as the CLI records it (`beginRun` with its plan, argv, cwd, commit, and this process
 * as its owner), so it can be resumed and rerun in turn. A run with nothing to run again (see
 * `nothingToRerun`: a resume of a run that succeeded, a `failed` rerun of one whose steps all
 * succeeded) throws a `TypeError` and is left as it is; so do an unknown id and an id prefix that
 * several runs match (the error names them). Events go to `onEvent`; record them with
 * `storeListener(store)` to keep the history complete (without it the new attempt's record still
 * gets its final status, but not its steps).
 * @see docs/history.md
 */
export async function rerunStoredRun(
  store: RunStore,
  runId: string,
  mode: RerunMode,
  options: RerunOptions = {},
): Promise<import('./run-spec.js').SpecRunResult> {
  const found = lookUpRun(store, runId);
  if (!found.run) throw new TypeError(`Expected the id of a stored run, got \`${runId}\` (${noSuchRun(found.matches)})`);
  const record = found.run;
  const plan = planFromRecord(record);
  if (!plan) {
    throw new TypeError(`Expected run ${record.id} to have a stored plan, got none (it was recorded without one: see resumableRunInfo)`);
  }
  if (mode.kind === 'step' && stepsNamed(plan.spec.steps, mode.step).length === 0) {
    throw new TypeError(`Expected a step of run ${record.id}, got \`${mode.step}\` (no such step)`);
  }
  const nothing = nothingToRerun(record, store.getSteps(record.id), plan.spec, mode);
  if (nothing !== undefined) {
    throw new TypeError(`Expected a run with something to ${mode.kind === 'resume' ? 'resume' : 'rerun'}, got run ${record.id}: ${nothing}`);
  }
  // Before the claim: nothing may fail between the claim and the run (the claim would be left behind).
  const commit = await projectCommit(plan.projectRoot);
  if (mode.kind === 'resume') {
    const claim = store.claimRun(record.id);
    if (!claim.claimed) {
      throw new Error(`run ${record.id} is already being resumed by pid ${claim.pid ?? '?'}${claim.host !== null ? ` on ${claim.host}` : ''}`);
    }
  }
  const recording = rerunRecording(record, plan);
  let started: string | undefined = mode.kind === 'resume' ? record.id : undefined;
  let summary: RunSummary | undefined;
  try {
    // Read after the claim: it may have written what a dead owner journaled.
    const previous = keptResults(store.getSteps(record.id), plan.spec, mode);
    const target = await rerunTarget(record, plan, mode);
    const { runSpec } = await import('./run-spec.js');
    const result = await runSpec(plan.spec, {
      outputDir: plan.outputDir,
      projectRoot: plan.projectRoot,
      resume: { ...target, previous, ...(mode.kind === 'step' ? { final: true } : {}) },
      cache: store,
      // A rerun runs its steps again: a cache hit would only repeat the old result.
      ...(mode.kind === 'resume' ? {} : { refreshCache: true }),
      // Recorded as the CLI records it, so that this attempt can be resumed and rerun in turn.
      onStart: (run) => {
        started = run.runId;
        store.beginRun(
          resumableRunInfo(recording.started(run), {
            kind: record.kind,
            source: recording.source,
            projectRoot: plan.projectRoot,
            argv: options.argv ?? rerunArgv(record.id, mode),
            gitCommit: commit,
          }),
        );
      },
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    summary = result.summary;
    return result;
  } finally {
    if (started !== undefined) settleRecord(store, started, summary, mode.kind === 'resume' ? 'its resume failed' : 'its rerun failed');
  }
}

/** Why an id names no run: none matches it, or several do (named, newest first). */
function noSuchRun(matches: readonly RunRecord[]): string {
  if (matches.length < 2) return 'no such run';
  const more = matches.length > AMBIGUOUS_RUNS_SHOWN;
  const ids = matches.slice(0, AMBIGUOUS_RUNS_SHOWN).map((run) => run.id);
  return `an ambiguous prefix: it matches ${more ? `more than ${AMBIGUOUS_RUNS_SHOWN}` : ids.length} runs, ${more ? 'the newest ' : ''}${ids.join(', ')}; give more of the id`;
}

/**
 * A run of this process that is still `running` once its resume or rerun is over was not recorded
 * by the caller (no `storeListener`), or the run threw: it gets its final status, or is marked
 * interrupted, so that it is not left running under this process (which would refuse every later
 * resume).
 */
function settleRecord(store: RunStore, runId: string, summary: RunSummary | undefined, why: string): void {
  try {
    const now = store.getRun(runId);
    if (now?.status !== 'running' || now.pid !== process.pid) return;
    if (summary) store.recordEvent({ type: 'run-finished', runId, time: Date.now(), summary });
    else store.markInterrupted(runId, why, { pid: now.pid, pidStartTime: now.pidStartTime });
  } catch {
    // The store cannot be read or written right now: the next recovery finds the run once this process is gone.
  }
}
