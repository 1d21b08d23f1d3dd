import path from 'node:path';
import { colorsFor } from './colors.js';
import { recordRun as recordLibraryRun, recoverInterruptedRuns, type StartedRun } from '../api/history.js';
import type { RunStore } from '../store/run-store.js';
import type { CliIo } from './types.js';

export interface StoreFlags {
  stateDir?: string;
  /** `--no-history` sets it to false. */
  history?: boolean;
}

/**
 * How often a run's queued events are committed. Longer than the store's default (50 ms): every
 * finished step is in the run's journal at once anyway (a SIGKILL loses none), and fewer, larger
 * transactions cost the run less (a step that starts and finishes within one batch is one write).
 * Other terminals see a running run's progress at most this late.
 */
const RUN_FLUSH_INTERVAL_MS = 250;

/**
 * Opens the run history of a project. A state folder that cannot be used (read-only, full, not a
 * folder) is a warning, never a lost run: the run goes on and its reports are still written.
 */
export async function openRunStore(
  io: CliIo,
  flags: StoreFlags,
  projectRoot: string,
  required = false,
  /** For commands that only read: a state folder that cannot be written is opened read-only (see `readOnlyFallback`). */
  readOnly = false,
): Promise<RunStore | undefined> {
  if (flags.history === false && !required) return undefined;
  const { SqliteRunStore, resolveStateDir, StoreError } = await import('../store/index.js');
  try {
    const store = new SqliteRunStore({
      stateDir: resolveStateDir({ ...(flags.stateDir ? { stateDir: flags.stateDir } : {}), env: io.env, projectRoot }),
      onError: (error) => io.stderr.write(`${colorsFor(io.stderr, io).yellow('warning:')} run history: ${error.message}\n`),
      ...(required ? {} : { flushIntervalMs: RUN_FLUSH_INTERVAL_MS }),
      ...(readOnly ? { readOnlyFallback: true } : {}),
    });
    if (store.readOnly) {
      io.stderr.write(
        `${colorsFor(io.stderr, io).yellow('note:')} the state folder ${path.dirname(store.path)} is read-only: the history is shown as it is (runs whose orchestrator died are not marked interrupted)\n`,
      );
    }
    return store;
  } catch (error) {
    if (!(error instanceof StoreError) || required) throw error;
    io.stderr.write(`${colorsFor(io.stderr, io).yellow('warning:')} run history is off for this run: ${error.message}\n`);
    return undefined;
  }
}

/** Marks runs whose orchestrator died as interrupted, kills what they left running, and says so. */
export async function recoverAndReport(store: RunStore, io: CliIo): Promise<void> {
  // Nothing can be marked in a read-only history (and reading it must not fail for trying).
  if (store.readOnly === true) return;
  for (const { runId, killed } of await recoverInterruptedRuns(store)) {
    io.stderr.write(
      `${colorsFor(io.stderr, io).yellow('note:')} run ${runId} was interrupted: its orchestrator is gone without saving the run's end (it was killed, or its state folder and the run's folder were full or read-only; steps whose results it did not save are shown pending or interrupted)${killed > 0 ? `; killed ${killed} process(es) it left running` : ''}. Finish it with: orchestrator resume ${runId}\n`,
    );
  }
}

export interface RecordingOptions {
  kind: 'folder' | 'workflow';
  source: string;
  argv: readonly string[];
  projectRoot: string;
  /** Polls the store for `orchestrator cancel <id>` and calls this when it is asked. */
  onCancelRequest: () => void;
}

/**
 * Connects a run to the store with the library's `recordRun` (one implementation for both):
 * records it when it starts, every event as it comes, and polls for cancel requests from other
 * terminals. Store failures are warnings. `stop()` and `abandon()` close the store.
 */
export async function recordRun(store: RunStore, io: CliIo, options: RecordingOptions) {
  const recording = await recordLibraryRun(store, {
    kind: options.kind,
    source: options.source,
    argv: options.argv,
    cwd: io.cwd,
    env: io.env,
    projectRoot: options.projectRoot,
    onCancelRequest: options.onCancelRequest,
    onWarning: (error) => io.stderr.write(`${colorsFor(io.stderr, io).yellow('warning:')} run history: ${error.message}\n`),
    closeStore: true,
  });
  return {
    onStart: (run: StartedRun): void => recording.onStart(run),
    listener: recording.onEvent,
    /**
     * The run stops at once (a second Ctrl-C, a second `orchestrator cancel`): what is queued is
     * written and the run is marked interrupted with `reason` now, synchronously, before the
     * process exits. Otherwise it would stay `running` until the next command found its pid gone
     * and said the orchestrator had died.
     */
    abandon: (reason: string): void => recording.abandon(reason),
    stop: (): Promise<void> => recording.stop(),
  };
}
