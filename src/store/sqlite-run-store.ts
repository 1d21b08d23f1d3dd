import type { CacheEntry } from '../engines/engine.js';
import { accessSync, closeSync, constants as fsConstants, existsSync, fstatSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { createRequire } from 'node:module';
import type { RunEvent, RunEventOf } from '../core/events.js';
import { RUN_STATUSES } from '../core/status.js';
import { readProc } from '../execution/proc-tree.js';
import { finishedLine, journalPath, readJournal, runFinishedLine, toJson } from './journal.js';
import { migrate, SCHEMA_VERSION, SchemaTooNewError, userVersion } from './migrations.js';
import { STATE_DB_FILE } from './resolve-state-dir.js';
import { currentOwner, ownerGone, type RunOwner } from './run-owner.js';
import type {
  ListRunsOptions,
  PruneOptions,
  RunClaim,
  RunInfo,
  RunKind,
  RunRecord,
  RunRecordCounts,
  RunRecordStatus,
  RunStore,
  StepRecord,
  StepRecordStatus,
} from './run-store.js';
import { codeOf, isReadOnlyCode, StoreError, toStoreError } from './store-error.js';

const require = createRequire(import.meta.url);
/**
 * Loaded with `require`: through the ESM loader a CommonJS package costs several milliseconds
 * more, paid by every run that records its history.
 */
const Database = require('better-sqlite3') as typeof BetterSqlite3;

let nativeBindingFound: string | null | undefined;
/**
 * The addon's path, so better-sqlite3 does not search for it (its `bindings` lookup probes many
 * paths); undefined when it is not where a normal install puts it, and then it searches.
 */
function nativeBindingPath(): string | undefined {
  if (nativeBindingFound === undefined) {
    nativeBindingFound = null;
    try {
      const file = path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
      if (existsSync(file)) nativeBindingFound = file;
    } catch {
      // an unusual install: let better-sqlite3 find its addon
    }
  }
  return nativeBindingFound ?? undefined;
}

export interface SqliteRunStoreOptions {
  /** The state folder (see `resolveStateDir`); made when missing. The database is `state.db` in it. */
  stateDir: string;
  /**
   * How long a write waits for another orchestrator's transaction on the same file before it
   * fails with SQLITE_BUSY. @default 5000
   */
  busyTimeoutMs?: number;
  /** Queued events are written at most this long after they arrive. @default 50 */
  flushIntervalMs?: number;
  /** A queue this long is written on the next turn of the event loop. @default 500 */
  batchSize?: number;
  /** After a failed background write, the next try waits this long. @default 1000 */
  retryDelayMs?: number;
  /**
   * Called when a background write fails (once until a write succeeds again); the events stay
   * queued. @default emits a process warning
   */
  onError?: (error: StoreError) => void;
  /**
   * When the state folder cannot be written (a read-only mount, no write permission), open the
   * history read-only instead of throwing: reads work (what a crashed run left in its WAL file is
   * read too when SQLite can), and every write throws a `StoreError` that says the folder is
   * read-only. A state folder that does not exist and cannot be made reads as an empty history.
   * Check `readOnly` to know which you got. For commands that only read (`runs`, `logs`...).
   * @default false
   */
  readOnlyFallback?: boolean;
}

/** Counters for tests and diagnostics. */
export interface SqliteRunStoreStats {
  /** Write transactions of queued events that committed. */
  transactions: number;
  eventsWritten: number;
  failedFlushes: number;
  /** Events waiting to be written. */
  queued: number;
}

interface Queued {
  event: RunEvent;
  /** For `step-started`: the process's start time, once read (see `readStartTimes`). */
  pidStartTime?: number | null;
  /** Read back from a journal by another process: it says nothing about who runs the run now. */
  replayed?: boolean;
}

/**
 * Reads the start time of each started attempt's process, which tells a crash cleanup whether a
 * stored pid still belongs to that step. Done at flush time, not in `recordEvent`: a /proc read
 * right after a spawn costs up to 0.3 ms on the engine's hot path. Attempts that finished within
 * the same batch are skipped (nothing is left to clean up). A step's process leads its own
 * process group (it is spawned detached), so a pid that is not a group leader by then has exited
 * and been reused: it gets no start time rather than a stranger's.
 */
function readStartTimes(entries: Queued[]): void {
  let finished: Set<string> | undefined;
  for (const entry of entries) {
    const event = entry.event;
    if (event.type !== 'step-started' || entry.pidStartTime !== undefined) continue;
    if (event.pid === null) {
      entry.pidStartTime = null;
      continue;
    }
    if (finished === undefined) {
      finished = new Set();
      for (const { event: e } of entries) {
        if (e.type === 'step-finished' || e.type === 'step-retrying') finished.add(`${e.runId}\0${e.stepId}\0${e.attempt}`);
      }
    }
    const proc = finished.has(`${event.runId}\0${event.stepId}\0${event.attempt}`) ? undefined : readProc(event.pid);
    entry.pidStartTime = proc !== undefined && proc.pgid === proc.pid ? proc.startTime : null;
  }
}

function attemptKey(event: { runId: string; stepId: string; attempt: number }): string {
  return `${event.runId}\0${event.stepId}\0${event.attempt}`;
}

/**
 * The `step-started` events of a batch whose attempt also finishes in it, by attempt: written as
 * part of the finished attempt (one statement instead of three; most steps are short).
 */
function foldableStarts(entries: readonly Queued[]): Map<string, RunEventOf<'step-started'>> {
  const starts = new Map<string, RunEventOf<'step-started'>>();
  let finished: Set<string> | undefined;
  for (const { event } of entries) {
    if (event.type !== 'step-finished') continue;
    (finished ??= new Set()).add(attemptKey(event));
  }
  if (finished === undefined) return starts;
  for (const { event } of entries) {
    if (event.type === 'step-started' && finished.has(attemptKey(event))) starts.set(attemptKey(event), event);
  }
  return starts;
}

/**
 * Where a run's journal lines go: its journal in the state folder, or, once that could not be
 * written (a full or read-only disk), its fallback (`RunInfo.journalFallback`) from then on, so the
 * two files read one after the other hold every line in order.
 */
interface RunJournal {
  file: string;
  /** Open while writes to `file` succeed; closed after a failure, and opened again for the next line. */
  fd: number | undefined;
  fallback: boolean;
  /** A write to `file` failed: it may end in a line cut short. */
  failed: boolean;
  /** A line went to neither file: the journal alone no longer holds everything. */
  lost: boolean;
}

/** Writes all of `bytes`; false when the disk took only part of it (full) or none. */
function writeAll(fd: number, bytes: Buffer): boolean {
  return writeSync(fd, bytes) === bytes.length;
}

/**
 * Removes a file that may already be gone. unlinkSync, not rmSync: the first rmSync of a process
 * compiles Node's rimraf code (~1 ms, up to 8 ms on a loaded machine) on the main thread, at the
 * end of every run.
 */
function removeIfThere(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing more can be written to it anyway
  }
}

interface RunRow {
  id: string;
  name: string;
  kind: string;
  source: string | null;
  status: string;
  started_at: number;
  finished_at: number | null;
  duration_ms: number | null;
  argv: string;
  cwd: string | null;
  git_commit: string | null;
  host: string | null;
  pid: number | null;
  pid_start_time: number | null;
  counts: string | null;
  spec_json: string | null;
  reason: string | null;
  cancel_requested_at: number | null;
  journal_fallback: string | null;
}

interface AttemptRow {
  run_id: string;
  step_id: string;
  attempt: number;
  status: string;
  reason: string | null;
  message: string | null;
  exit_code: number | null;
  signal: string | null;
  duration_ms: number | null;
  started_at: number | null;
  finished_at: number | null;
  outputs: string;
  log_path: string | null;
  value: string | null;
  command: string;
  pid: number | null;
  pid_start_time: number | null;
  name: string | null;
  kind: string | null;
  step_group: string | null;
  needs: string | null;
  cache_key: string | null;
  cache_explain: string | null;
}

interface CacheRow {
  key: string;
  workflow: string;
  step_id: string;
  components: string;
  details: string | null;
  outputs: string;
  value: string | null;
  run_id: string;
  created_at: number;
}

function toCacheEntry(row: CacheRow): CacheEntry {
  const entry: CacheEntry = {
    key: row.key,
    workflow: row.workflow,
    stepId: row.step_id,
    components: fromJson<Record<string, string>>(row.components, {}),
    outputs: fromJson<Record<string, string>>(row.outputs, {}),
    runId: row.run_id,
    createdAt: new Date(row.created_at).toISOString(),
  };
  if (row.value !== null) entry.value = fromJson<unknown>(row.value, row.value);
  if (row.details !== null) entry.details = fromJson<Record<string, string>>(row.details, {});
  return entry;
}

const DEFAULTS = { busyTimeoutMs: 5000, flushIntervalMs: 50, batchSize: 500, retryDelayMs: 1000 };

const ATTEMPT_COLUMNS = `a.run_id, a.step_id, a.attempt, a.status, a.reason, a.message, a.exit_code, a.signal,
  a.duration_ms, a.started_at, a.finished_at, a.outputs, a.log_path, a.value, a.command, a.pid,
  a.pid_start_time, a.cache_key, a.cache_explain, s.name, s.kind, s.step_group, s.needs`;

const LAST_ATTEMPT = `a.attempt = (SELECT MAX(b.attempt) FROM attempts b WHERE b.run_id = a.run_id AND b.step_id = a.step_id)`;

function checkOption(name: string, value: number | undefined, min: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min) {
    throw new TypeError(
      `Expected the \`${name}\` option to be an integer of at least ${min}, got \`${String(value)}\` (${typeof value})`,
    );
  }
}

function fromJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function parseTime(text: string | null): number | null {
  if (text === null) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

function emptyCounts(): RunRecordCounts {
  const counts = { total: 0, interrupted: 0 } as RunRecordCounts;
  for (const status of RUN_STATUSES) counts[status] = 0;
  return counts;
}

/** The error that says `file` cannot be written, or `undefined` when it can. */
function notWritable(file: string): NodeJS.ErrnoException | undefined {
  try {
    accessSync(file, fsConstants.W_OK);
    return undefined;
  } catch (error) {
    const errno = error as NodeJS.ErrnoException;
    return isReadOnlyCode(errno.code) ? errno : undefined;
  }
}

/** Why a missing folder cannot be made: its nearest existing ancestor is not writable. */
function unwritableAncestor(dir: string): NodeJS.ErrnoException | undefined {
  let parent = path.dirname(dir);
  while (!existsSync(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
  return notWritable(parent);
}

/**
 * The history in a folder that cannot be written, opened read-only. SQLite opens a WAL database
 * read-only only when its -shm file exists (or can be made): that is the case after a crash, and
 * then what the WAL file holds is read too. After a clean close there is no -shm, and no way to
 * make one (better-sqlite3 takes no `immutable=1` URI), so the file is read into memory with its
 * header set back to a rollback journal: a snapshot, which is all a reader needs, since nothing
 * can change it while the folder is read-only. A missing database is an empty history.
 */
function openReadOnly(file: string, timeout: number): BetterSqlite3.Database {
  const nativeBinding = nativeBindingPath();
  const common = { timeout, ...(nativeBinding !== undefined ? { nativeBinding } : {}) };
  let db: BetterSqlite3.Database;
  if (!existsSync(file)) {
    const empty = new Database(':memory:', common);
    migrate(empty);
    const bytes = empty.serialize();
    empty.close();
    db = new Database(bytes, { ...common, readonly: true });
  } else {
    let opened: BetterSqlite3.Database | undefined;
    try {
      opened = new Database(file, { ...common, readonly: true, fileMustExist: true });
      opened.pragma('user_version');
      db = opened;
    } catch {
      opened?.close();
      const bytes = readFileSync(file);
      // Bytes 18 and 19 are the write and read versions: 2 is WAL, which an in-memory copy cannot use.
      if (bytes.length > 19 && bytes[18] === 2 && bytes[19] === 2) bytes[18] = bytes[19] = 1;
      db = new Database(bytes, { ...common, readonly: true });
    }
  }
  const version = userVersion(db);
  if (version > SCHEMA_VERSION) {
    db.close();
    throw new SchemaTooNewError(version);
  }
  if (version < SCHEMA_VERSION) {
    db.close();
    throw Object.assign(
      new Error(`its schema version is ${version}, older than this orchestrator's ${SCHEMA_VERSION}, and the upgrade cannot be written to a read-only folder`),
      { code: 'SQLITE_READONLY' },
    );
  }
  return db;
}

/**
 * The default `RunStore`: one SQLite file per state folder, in WAL mode so readers never block the
 * writer, with a busy timeout so two orchestrators sharing the folder wait for each other instead
 * of failing. Events are queued and written in batches, one transaction each.
 * @see docs/store.md
 */
export class SqliteRunStore implements RunStore {
  /** The database file. */
  readonly path: string;
  readonly #db: BetterSqlite3.Database;
  readonly #flushIntervalMs: number;
  readonly #batchSize: number;
  readonly #retryDelayMs: number;
  readonly #onError: (error: StoreError) => void;
  readonly #writeBatch: (entries: Queued[]) => void;
  readonly #statements: ReturnType<typeof prepareStatements>;
  /** Events not yet committed, in arrival order. Only a committed transaction removes them. */
  #queue: Queued[] = [];
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  /** Folder of the per-run journals: finished steps, appended at once, replayed after a crash. */
  readonly #journalDir: string;
  /** The journals this process writes, by run id. */
  readonly #journals = new Map<string, RunJournal>();
  /** `RunInfo.journalFallback` of the runs begun here, by run id. */
  readonly #fallbacks = new Map<string, string>();
  /** Set while writes fail; cleared by the next successful one. */
  #failure: StoreError | undefined;
  #closed = false;
  #stats = { transactions: 0, eventsWritten: 0, failedFlushes: 0 };
  /**
   * True when the store was opened read-only (see `readOnlyFallback`): every write throws a
   * `StoreError` saying the state folder is read-only, and nothing is recovered or replayed.
   */
  readonly readOnly: boolean;

  constructor(options: SqliteRunStoreOptions) {
    if (typeof options.stateDir !== 'string' || options.stateDir === '') {
      throw new TypeError(`Expected the \`stateDir\` option to be a non-empty string, got \`${String(options.stateDir)}\` (${typeof options.stateDir})`);
    }
    checkOption('busyTimeoutMs', options.busyTimeoutMs, 0);
    checkOption('flushIntervalMs', options.flushIntervalMs, 0);
    checkOption('batchSize', options.batchSize, 1);
    checkOption('retryDelayMs', options.retryDelayMs, 0);
    const stateDir = path.resolve(options.stateDir);
    this.path = path.join(stateDir, STATE_DB_FILE);
    this.#journalDir = path.join(stateDir, 'journal');
    this.#flushIntervalMs = options.flushIntervalMs ?? DEFAULTS.flushIntervalMs;
    this.#batchSize = options.batchSize ?? DEFAULTS.batchSize;
    this.#retryDelayMs = options.retryDelayMs ?? DEFAULTS.retryDelayMs;
    this.#onError = options.onError ?? ((error) => process.emitWarning(error));

    const timeout = options.busyTimeoutMs ?? DEFAULTS.busyTimeoutMs;
    const fallback = options.readOnlyFallback === true;
    let readOnlyCause: NodeJS.ErrnoException | undefined;
    try {
      mkdirSync(stateDir, { recursive: true });
    } catch (error) {
      // On a read-only mount, mkdir of a missing folder fails with ENOENT: say what is read-only.
      readOnlyCause = existsSync(stateDir) ? undefined : unwritableAncestor(stateDir);
      if (readOnlyCause === undefined) throw toStoreError(error, { path: stateDir, operation: 'open' });
    }
    // Checked before opening: on a read-only mount, a database left with its -wal and -shm files
    // (its orchestrator was killed) opens for writing, and only its first write would fail.
    readOnlyCause ??= notWritable(stateDir) ?? (existsSync(this.path) ? notWritable(this.path) : undefined);
    let db: BetterSqlite3.Database | undefined;
    let readOnly = false;
    if (readOnlyCause !== undefined) {
      if (!fallback) throw toStoreError(readOnlyCause, { path: existsSync(stateDir) ? this.path : stateDir, operation: 'open' });
      db = openReadOnly(this.path, timeout);
      readOnly = true;
    }
    try {
      if (db === undefined) {
        try {
          // `timeout` is SQLite's busy_timeout: it is set before anything that may need a lock.
          const nativeBinding = nativeBindingPath();
          db = new Database(this.path, { timeout, ...(nativeBinding !== undefined ? { nativeBinding } : {}) });
          db.pragma('journal_mode = WAL');
          // With WAL, NORMAL syncs at checkpoints only: a power cut may lose the last transactions,
          // never corrupt the file, and commits cost no fsync each.
          db.pragma('synchronous = NORMAL');
          migrate(db);
        } catch (error) {
          if (!fallback || !isReadOnlyCode(codeOf(error))) throw error;
          db?.close();
          db = openReadOnly(this.path, timeout);
          readOnly = true;
        }
      }
      this.#statements = prepareStatements(db);
    } catch (error) {
      db?.close();
      throw toStoreError(error, { path: this.path, operation: 'open' });
    }
    this.#db = db;
    this.readOnly = readOnly;
    const apply = (entry: Queued, starts?: Map<string, RunEventOf<'step-started'>>): void => this.#apply(entry, starts);
    const batch = db.transaction((entries: Queued[]) => {
      // An attempt that started and finished within the batch is written once, as finished.
      const starts = foldableStarts(entries);
      for (const entry of entries) {
        if (entry.event.type === 'step-started' && starts.get(attemptKey(entry.event)) === entry.event) continue;
        apply(entry, starts);
      }
    });
    // IMMEDIATE takes the write lock up front, where busy_timeout applies. A deferred transaction
    // that reads first and then writes can fail with SQLITE_BUSY at once, whatever the timeout.
    this.#writeBatch = (entries) => batch.immediate(entries);
  }

  /** Exported for testing: how many transactions and events were written. */
  get stats(): SqliteRunStoreStats {
    return { ...this.#stats, queued: this.#queue.length };
  }

  beginRun(info: RunInfo): void {
    this.#assertOpen();
    // Known before the write below, which may fail for the very reason the fallback exists.
    if (info.journalFallback !== undefined) this.#fallbacks.set(info.runId, path.resolve(info.journalFallback));
    else this.#fallbacks.delete(info.runId);
    this.#flushQuietly();
    this.#run('write', () => {
      this.#db
        .transaction(() => {
          this.#statements.beginRun.run({
            id: info.runId,
            name: info.name,
            kind: info.kind,
            source: info.source,
            now: Date.now(),
            argv: JSON.stringify(info.argv),
            cwd: info.cwd,
            gitCommit: info.gitCommit,
            host: info.host,
            pid: info.pid,
            pidStartTime: info.pidStartTime,
            specJson: info.specJson ?? null,
            journalFallback: this.#fallbacks.get(info.runId) ?? null,
          });
        })
        .immediate();
    });
  }

  recordEvent(event: RunEvent): void {
    this.#assertOpen();
    if (event.type === 'step-output') return;
    // A finished step goes to the run's journal at once (one small write the kernel keeps even if
    // this process is SIGKILLed), so a crash before the next batch loses no finished result. So
    // does the run's end: if it cannot be committed (database busy or full), the next command
    // replays it and reads the run as finished, not interrupted.
    if (event.type === 'step-finished' || event.type === 'run-started' || event.type === 'run-finished') this.#journal(event);
    this.#queue.push({ event });
    if (event.type === 'run-finished') {
      // Written before the engine resolves the run's result, so whoever awaits it reads it back.
      this.#flushNow();
      return;
    }
    if (this.#failure) return; // the retry timer is set
    // Batched: a full queue is written on the next turn of the event loop, the rest after the
    // batch timer. A SIGKILL in between loses nothing that finished: it is in the journal.
    if (this.#queue.length >= this.#batchSize) {
      this.#immediate ??= setImmediate(() => {
        this.#immediate = undefined;
        this.#flushNow();
      }).unref();
    } else {
      this.#schedule(this.#flushIntervalMs);
    }
  }

  flush(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    const failure = this.#flushNow('explicit');
    return failure ? Promise.reject(failure) : Promise.resolve();
  }

  listRuns(options: ListRunsOptions = {}): RunRecord[] {
    this.#assertOpen();
    checkOption('limit', options.limit, 1);
    if (options.before !== undefined && !(options.before instanceof Date && !Number.isNaN(options.before.getTime()))) {
      throw new TypeError(`Expected the \`before\` option to be a valid Date, got \`${String(options.before)}\``);
    }
    this.#flushQuietly();
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (options.status !== undefined) {
      const statuses: readonly string[] = typeof options.status === 'string' ? [options.status] : options.status;
      if (statuses.length === 0) return [];
      where.push(`status IN (${statuses.map((_, i) => `@status${i}`).join(', ')})`);
      statuses.forEach((status, i) => (params[`status${i}`] = status));
    }
    if (options.name !== undefined) {
      where.push('name = @name');
      params.name = options.name;
    }
    if (options.idPrefix !== undefined && options.idPrefix !== '') {
      where.push('substr(id, 1, length(@prefix)) = @prefix');
      params.prefix = options.idPrefix;
    }
    if (options.before !== undefined) {
      where.push('started_at < @before');
      params.before = options.before.getTime();
    }
    const sql = `SELECT * FROM runs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY started_at DESC, id DESC ${options.limit !== undefined ? `LIMIT ${options.limit}` : ''}`;
    const rows = this.#run('read', () => this.#db.prepare(sql).all(params) as RunRow[]);
    return rows.map((row) => this.#toRunRecord(row));
  }

  getRun(idOrPrefix: string): RunRecord | undefined {
    this.#assertOpen();
    if (idOrPrefix === '') return undefined;
    this.#flushQuietly();
    const rows = this.#run('read', () => {
      const exact = this.#statements.runById.get(idOrPrefix) as RunRow | undefined;
      if (exact) return [exact];
      return this.#statements.runsByPrefix.all({ prefix: idOrPrefix }) as RunRow[];
    });
    const [only, second] = rows;
    return only !== undefined && second === undefined ? this.#toRunRecord(only) : undefined;
  }

  getSteps(runId: string): StepRecord[] {
    this.#assertOpen();
    this.#flushQuietly();
    const rows = this.#run('read', () => this.#statements.lastAttempts.all(runId) as AttemptRow[]);
    return rows.map(toStepRecord);
  }

  getAttempts(runId: string, stepId: string): StepRecord[] {
    this.#assertOpen();
    this.#flushQuietly();
    const rows = this.#run('read', () => this.#statements.attemptsOfStep.all(runId, stepId) as AttemptRow[]);
    return rows.map(toStepRecord);
  }

  markInterrupted(runId: string, reason: string, owner?: { pid: number | null; pidStartTime: number | null }): boolean {
    this.#assertOpen();
    this.#flushQuietly();
    // One transaction: checking the owner, replaying its journal and marking the run are atomic
    // against a claim (a resume) by another process, whose journal has the same name.
    let fallback: string | null = null;
    const outcome = this.#run('write', () =>
      this.#db
        .transaction((): 'marked' | 'not-running' | 'other-owner' => {
          const row = this.#statements.runById.get(runId) as RunRow | undefined;
          if (owner) {
            if (row?.status !== 'running' || row.pid !== owner.pid || row.pid_start_time !== owner.pidStartTime) return 'other-owner';
          }
          fallback = row?.journal_fallback ?? null;
          this.#replayJournal(runId, fallback);
          const changed =
            this.#statements.markRunInterrupted.run({
              id: runId,
              reason,
              anyOwner: owner ? 0 : 1,
              pid: owner?.pid ?? null,
              pidStartTime: owner?.pidStartTime ?? null,
            }).changes > 0;
          if (changed) this.#statements.markAttemptsInterrupted.run(runId);
          return changed ? 'marked' : 'not-running';
        })
        .immediate(),
    );
    if (outcome !== 'other-owner') this.#dropJournal(runId, fallback);
    return outcome === 'marked';
  }

  claimRun(runId: string, owner: RunOwner = currentOwner()): RunClaim {
    this.#assertOpen();
    this.#flushQuietly();
    let replayed = false;
    let fallback: string | null = null;
    // IMMEDIATE holds the write lock from the read to the update: of two processes claiming the
    // same run, the second reads the first one's claim.
    const claim = this.#run('write', () =>
      this.#db
        .transaction((): RunClaim | undefined => {
          const row = this.#statements.runById.get(runId) as RunRow | undefined;
          if (row === undefined) return undefined;
          if (row.status === 'running') {
            const holder = { pid: row.pid, pidStartTime: row.pid_start_time, host: row.host };
            if (!ownerGone(holder)) return { claimed: false, ...holder };
            // Its orchestrator died and nobody marked it yet: keep what it journaled, as
            // markInterrupted would, before its attempts are taken over.
            fallback = row.journal_fallback;
            this.#replayJournal(runId, fallback);
            replayed = true;
            this.#statements.markAttemptsInterrupted.run(runId);
          }
          this.#statements.claimRun.run({ id: runId, pid: owner.pid, pidStartTime: owner.pidStartTime, host: owner.host });
          return { claimed: true };
        })
        .immediate(),
    );
    if (replayed) this.#dropJournal(runId, fallback);
    if (claim === undefined) throw new TypeError(`Expected the id of a stored run, got \`${runId}\` (no such run)`);
    return claim;
  }

  requestCancel(runId: string): boolean {
    this.#assertOpen();
    this.#flushQuietly();
    return this.#run('write', () => this.#statements.requestCancel.run({ id: runId, now: Date.now() }).changes > 0);
  }

  getCacheEntry(key: string): CacheEntry | undefined {
    this.#assertOpen();
    const row = this.#run('read', () => this.#db.prepare(`SELECT * FROM cache_entries WHERE key = ?`).get(key) as CacheRow | undefined);
    return row ? toCacheEntry(row) : undefined;
  }

  latestCacheEntry(workflow: string, stepId: string): CacheEntry | undefined {
    this.#assertOpen();
    const row = this.#run('read', () =>
      this.#db
        .prepare(`SELECT * FROM cache_entries WHERE workflow = ? AND step_id = ? ORDER BY created_at DESC LIMIT 1`)
        .get(workflow, stepId) as CacheRow | undefined,
    );
    return row ? toCacheEntry(row) : undefined;
  }

  putCacheEntry(entry: CacheEntry): void {
    this.#assertOpen();
    this.#run('write', () =>
      this.#db
        .prepare(
          `INSERT INTO cache_entries (key, workflow, step_id, components, details, outputs, value, run_id, created_at)
           VALUES (@key, @workflow, @stepId, @components, @details, @outputs, @value, @runId, @createdAt)
           ON CONFLICT (key) DO UPDATE SET run_id = excluded.run_id, created_at = excluded.created_at,
             outputs = excluded.outputs, value = excluded.value, components = excluded.components, details = excluded.details`,
        )
        .run({
          key: entry.key,
          workflow: entry.workflow,
          stepId: entry.stepId,
          components: JSON.stringify(entry.components),
          details: entry.details === undefined ? null : JSON.stringify(entry.details),
          outputs: JSON.stringify(entry.outputs),
          value: toJson(entry.value),
          runId: entry.runId,
          createdAt: Date.parse(entry.createdAt) || Date.now(),
        }),
    );
  }

  cancelRequested(runId: string): boolean {
    this.#assertOpen();
    const row = this.#run('read', () => this.#statements.cancelRequestedAt.get(runId) as { at: number | null } | undefined);
    return row !== undefined && row.at !== null;
  }

  prune(options: PruneOptions): number {
    this.#assertOpen();
    checkOption('keep', options.keep, 0);
    const olderThan = options.olderThan;
    if (olderThan !== undefined && !(olderThan instanceof Date && !Number.isNaN(olderThan.getTime()))) {
      throw new TypeError(`Expected the \`olderThan\` option to be a valid Date, got \`${String(olderThan)}\``);
    }
    if (options.keep === undefined && olderThan === undefined) {
      throw new TypeError('Expected the `keep` or the `olderThan` option, got neither');
    }
    this.#flushQuietly();
    return this.#run('write', () =>
      this.#db
        .transaction(() => {
          const rows = this.#statements.prunable.all() as { id: string; started_at: number }[];
          let deleted = 0;
          rows.forEach((row, index) => {
            if (options.keep !== undefined && index < options.keep) return;
            if (olderThan !== undefined && row.started_at >= olderThan.getTime()) return;
            this.#statements.deleteAttempts.run(row.id);
            this.#statements.deleteSteps.run(row.id);
            this.#statements.deleteRun.run(row.id);
            deleted += 1;
          });
          return deleted;
        })
        .immediate(),
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#clearTimers();
    const queued = this.#queue.length;
    const failure = queued > 0 ? this.#flushNow('closing') : undefined;
    // Where the results that could not be committed are: the journal of each run they belong to,
    // unless a line of it could be written nowhere.
    const kept: { runId: string; file: string }[] = [];
    const notKept: string[] = [];
    if (failure) {
      const runs = new Set<string>();
      for (const { event } of this.#queue) {
        if (event.type === 'step-finished' || event.type === 'run-finished') runs.add(event.runId);
      }
      for (const runId of runs) {
        const journal = this.#journals.get(runId);
        if (journal !== undefined && !journal.lost) kept.push({ runId, file: journal.file });
        else notKept.push(runId);
      }
    }
    this.#closed = true;
    this.#queue = [];
    // Everything is committed unless the flush failed: then the journals stay for a later replay.
    for (const [runId, journal] of [...this.#journals]) {
      if (failure) {
        if (journal.fd !== undefined) closeQuietly(journal.fd);
        this.#journals.delete(runId);
      } else {
        this.#dropJournal(runId, this.#fallbacks.get(runId) ?? null);
      }
    }
    this.#db.close();
    if (failure) throw toStoreError(failure.cause, { path: this.path, operation: 'write', lost: queued, kept, notKept });
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }

  /** Runs one synchronous database operation; SQLite errors become a `StoreError`. */
  #run<T>(operation: 'read' | 'write', fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw toStoreError(error, { path: this.path, operation });
    }
  }

  #schedule(delayMs: number): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushNow();
    }, delayMs).unref();
  }

  #journal(event: RunEventOf<'step-finished'> | RunEventOf<'run-started'> | RunEventOf<'run-finished'>): void {
    let journal = this.#journals.get(event.runId);
    if (journal === undefined) {
      journal = { file: this.#journalPath(event.runId), fd: undefined, fallback: false, failed: false, lost: false };
      this.#journals.set(event.runId, journal);
    }
    const line = Buffer.from(
      event.type === 'step-finished' ? finishedLine(event) : event.type === 'run-finished' ? runFinishedLine(event) : `${toJson(event) ?? '{}'}\n`,
    );
    if (this.#append(journal, line)) return;
    // The state folder cannot take it (full, read-only): the journal goes on in the run's fallback
    // (on another disk, as a rule), for good, so that the two files read in turn keep the order.
    const fallback = this.#fallbacks.get(event.runId);
    if (!journal.fallback && fallback !== undefined) {
      Object.assign(journal, { file: fallback, fd: undefined, fallback: true, failed: false });
      if (this.#append(journal, line)) return;
    }
    // Nowhere: the batch still writes it if it can; if it cannot either, close() says so.
    journal.lost = true;
  }

  /** Appends one line to the journal's file, opening it if need be; false when it cannot. */
  #append(journal: RunJournal, line: Buffer): boolean {
    try {
      if (journal.fd === undefined) {
        mkdirSync(path.dirname(journal.file), { recursive: true });
        journal.fd = openSync(journal.file, 'a');
        // After a failed write (or in a fallback left from before) the file may end in a line cut
        // short: a new line keeps it from swallowing this one.
        if ((journal.failed || journal.fallback) && fstatSync(journal.fd).size > 0 && !writeAll(journal.fd, Buffer.from('\n'))) {
          throw new Error('short write');
        }
      }
      if (writeAll(journal.fd, line)) return true;
    } catch {
      // below
    }
    if (journal.fd !== undefined) closeQuietly(journal.fd);
    journal.fd = undefined;
    journal.failed = true;
    return false;
  }

  #journalPath(runId: string): string {
    return journalPath(this.#journalDir, runId);
  }

  /** Once a run's events are committed, its journal (and its fallback) are not needed. */
  #dropJournal(runId: string, fallback: string | null): void {
    const journal = this.#journals.get(runId);
    if (journal !== undefined) {
      if (journal.fd !== undefined) closeSync(journal.fd);
      this.#journals.delete(runId);
    }
    removeIfThere(this.#journalPath(runId));
    // Only when the journal could not be written is there a fallback file: rarely worth a syscall.
    if (fallback !== null && (journal === undefined || journal.fallback)) removeIfThere(fallback);
  }

  /**
   * Writes what an interrupted run journaled but never committed: its finished steps, its end
   * (`run-finished`, when that could not be committed), and its start (`run-started`, the steps in
   * order) when no steps of it are stored yet (else it would undo what was stored since, such as
   * a resume's earlier attempts). The journal's fallback, if it has one, goes on where the journal
   * stops.
   */
  #replayJournal(runId: string, fallback: string | null): void {
    const events = [...(readJournal(this.#journalPath(runId)) ?? []), ...(fallback !== null ? (readJournal(fallback) ?? []) : [])];
    if (events.length === 0) return;
    const started = this.#statements.hasSteps.get(runId) !== undefined;
    const entries: Queued[] = [];
    for (const event of events) {
      if (event.runId !== runId) continue;
      if (event.type === 'step-finished' || event.type === 'run-finished' || (!started && event.type === 'run-started')) {
        entries.push({ event, replayed: true });
      }
    }
    if (entries.length > 0) this.#writeBatch(entries);
  }

  #clearTimers(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
  }

  /** Before a read, so this process reads its own events; a failure is left to `flush`. */
  #flushQuietly(): void {
    if (this.#queue.length > 0) this.#flushNow();
  }

  /**
   * Writes the whole queue in one transaction. On failure nothing is removed (the transaction
   * rolled back) and a retry is scheduled; in the background `onError` hears of it, once until a
   * write succeeds. Returns the failure.
   */
  #flushNow(mode: 'background' | 'explicit' | 'closing' = 'background'): StoreError | undefined {
    this.#clearTimers();
    if (this.#queue.length === 0) return undefined;
    const entries = this.#queue;
    readStartTimes(entries);
    try {
      this.#writeBatch(entries);
      for (const { event } of entries) {
        if (event.type !== 'run-finished') continue;
        this.#dropJournal(event.runId, this.#fallbacks.get(event.runId) ?? null);
        this.#fallbacks.delete(event.runId);
      }
    } catch (error) {
      this.#stats.failedFlushes += 1;
      const failure = toStoreError(error, { path: this.path, operation: 'write', queued: entries.length });
      const first = this.#failure === undefined;
      this.#failure = failure;
      if (mode === 'closing') return failure;
      this.#schedule(this.#retryDelayMs);
      if (first && mode === 'background') this.#onError(failure);
      return failure;
    }
    // Events recorded during the write (none today: it is synchronous) would be after `entries`.
    this.#queue = this.#queue.slice(entries.length);
    this.#stats.transactions += 1;
    this.#stats.eventsWritten += entries.length;
    this.#failure = undefined;
    if (this.#queue.length > 0) this.#schedule(this.#flushIntervalMs);
    return undefined;
  }

  #apply({ event, pidStartTime, replayed }: Queued, starts?: Map<string, RunEventOf<'step-started'>>): void {
    const s = this.#statements;
    switch (event.type) {
      case 'run-started': {
        // The run's owner is the process that records its start (the one crash recovery checks),
        // unless beginRun named a live one. Without this a run recorded by a bare listener had no
        // pid, and recovery took it for a crashed one and killed it; a resume kept the dead one.
        const owner = replayed ? undefined : this.#ownerToStamp(event.runId);
        s.runStarted.run({
          id: event.runId,
          name: event.name,
          source: event.source,
          time: event.time,
          stamp: owner ? 1 : 0,
          pid: owner?.pid ?? null,
          pidStartTime: owner?.pidStartTime ?? null,
          host: owner?.host ?? null,
        });
        // Every step in one statement each (json_each): a 400-step run costs 2 statements, not 800.
        const steps = JSON.stringify(event.steps.map((step) => [step.id, step.name, step.kind, step.group, JSON.stringify(step.needs)]));
        s.upsertSteps.run({ runId: event.runId, steps });
        s.insertPlaceholders.run({ runId: event.runId, steps });
        return;
      }
      case 'step-started':
        s.deletePlaceholder.run(event.runId, event.stepId);
        s.attemptStarted.run({
          runId: event.runId,
          stepId: event.stepId,
          attempt: event.attempt,
          time: event.time,
          command: JSON.stringify(event.command),
          pid: event.pid,
          pidStartTime: pidStartTime ?? null,
        });
        return;
      case 'step-retrying':
        s.deletePlaceholder.run(event.runId, event.stepId);
        s.attemptRetrying.run({
          runId: event.runId,
          stepId: event.stepId,
          attempt: event.attempt,
          status: event.reason === 'timed-out' ? 'timed-out' : 'failed',
          reason: event.reason,
          message: event.message,
          time: event.time,
        });
        return;
      case 'step-finished':
        this.#stepFinished(event, starts?.get(attemptKey(event)));
        return;
      case 'run-cancelling':
        s.runCancelling.run({ id: event.runId, reason: event.reason });
        return;
      case 'run-finished': {
        const summary = event.summary;
        const counts = { ...summary.counts, interrupted: 0 };
        s.runFinished.run({
          id: event.runId,
          name: summary.name,
          source: summary.source,
          status: summary.status,
          startedAt: parseTime(summary.startedAt) ?? event.time,
          finishedAt: parseTime(summary.finishedAt) ?? event.time,
          durationMs: summary.durationMs,
          counts: JSON.stringify(counts),
          reason: summary.cancelReason ?? null,
        });
        return;
      }
      case 'step-output':
        return;
    }
  }

  /**
   * This process, when a `run-started` it records should make it the run's owner: the run has no
   * owner yet, or one on this host that is gone (a resume or rerun by a library caller). An owner
   * that beginRun recorded (this process, or another one that is alive) is kept with its context.
   */
  #ownerToStamp(runId: string): RunOwner | undefined {
    const owner = currentOwner();
    const row = this.#statements.ownerById.get(runId) as { pid: number | null; pid_start_time: number | null; host: string | null } | undefined;
    if (row === undefined || row.pid === null) return owner;
    if (row.pid === owner.pid && row.host === owner.host) return undefined;
    return ownerGone({ pid: row.pid, pidStartTime: row.pid_start_time, host: row.host }) ? owner : undefined;
  }

  /** With `started`: the attempt's start, folded in (see `foldableStarts`). */
  #stepFinished(event: RunEventOf<'step-finished'>, started?: RunEventOf<'step-started'>): void {
    const result = event.result;
    if (event.attempt > 0) this.#statements.deletePlaceholder.run(event.runId, event.stepId);
    const finishedAt = parseTime(result.finishedAt);
    const ran = event.attempt > 0 && finishedAt !== null;
    this.#statements.attemptFinished.run({
      runId: event.runId,
      stepId: event.stepId,
      attempt: event.attempt,
      status: result.status,
      reason: result.reason ?? null,
      message: result.message ?? null,
      exitCode: result.exitCode,
      signal: result.signal,
      durationMs: ran ? result.durationMs : null,
      // The attempt's own start (step-started) wins; this is the fallback for steps that had none.
      startedAt: started ? started.time : ran ? finishedAt - result.durationMs : null,
      finishedAt,
      outputs: JSON.stringify(result.outputs),
      logPath: result.logPath,
      value: toJson(result.value),
      command: JSON.stringify(result.command.length === 0 && started ? started.command : result.command),
      pid: started?.pid ?? null,
      cacheKey: result.cacheKey ?? null,
      cacheExplain: result.cacheExplain ? JSON.stringify(result.cacheExplain) : null,
    });
  }

  #toRunRecord(row: RunRow): RunRecord {
    let counts = fromJson<RunRecordCounts | null>(row.counts, null);
    if (counts === null) {
      counts = emptyCounts();
      const rows = this.#run('read', () => this.#statements.liveCounts.all(row.id) as { status: string; n: number }[]);
      for (const { status, n } of rows) {
        counts[status as StepRecordStatus] = (counts[status as StepRecordStatus] ?? 0) + n;
        counts.total += n;
      }
    }
    return {
      id: row.id,
      name: row.name,
      kind: row.kind as RunKind,
      source: row.source,
      status: row.status as RunRecordStatus,
      startedAt: new Date(row.started_at).toISOString(),
      finishedAt: iso(row.finished_at),
      durationMs: row.duration_ms,
      argv: fromJson<string[]>(row.argv, []),
      cwd: row.cwd,
      gitCommit: row.git_commit,
      host: row.host,
      pid: row.pid,
      pidStartTime: row.pid_start_time,
      counts,
      specJson: row.spec_json,
      reason: row.reason,
      cancelRequestedAt: iso(row.cancel_requested_at),
    };
  }
}

function closedError(): TypeError {
  return new TypeError('Expected an open run store, got one that was closed');
}

function toStepRecord(row: AttemptRow): StepRecord {
  const record: StepRecord = {
    runId: row.run_id,
    stepId: row.step_id,
    name: row.name ?? row.step_id,
    kind: row.kind,
    group: row.step_group,
    needs: fromJson<string[]>(row.needs, []),
    attempt: row.attempt,
    status: row.status as StepRecordStatus,
    reason: row.reason,
    message: row.message,
    exitCode: row.exit_code,
    signal: row.signal,
    durationMs: row.duration_ms,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    outputs: fromJson<Record<string, string>>(row.outputs, {}),
    logPath: row.log_path,
    command: fromJson<string[]>(row.command, []),
    pid: row.pid,
    pidStartTime: row.pid_start_time,
    cacheKey: row.cache_key ?? null,
    cacheExplain: fromJson<string[]>(row.cache_explain ?? null, []),
  };
  if (row.value !== null) record.value = fromJson<unknown>(row.value, row.value);
  return record;
}

function prepareStatements(db: BetterSqlite3.Database) {
  return {
    beginRun: db.prepare(`
      INSERT INTO runs (id, name, kind, source, status, started_at, argv, cwd, git_commit, host, pid, pid_start_time, spec_json, journal_fallback)
      VALUES (@id, @name, @kind, @source, 'running', @now, @argv, @cwd, @gitCommit, @host, @pid, @pidStartTime, @specJson, @journalFallback)
      ON CONFLICT (id) DO UPDATE SET
        name = excluded.name, kind = excluded.kind, source = excluded.source, status = 'running',
        finished_at = NULL, duration_ms = NULL, counts = NULL, reason = NULL, cancel_requested_at = NULL,
        argv = excluded.argv, cwd = excluded.cwd, git_commit = excluded.git_commit, host = excluded.host,
        pid = excluded.pid, pid_start_time = excluded.pid_start_time,
        spec_json = COALESCE(excluded.spec_json, runs.spec_json), journal_fallback = excluded.journal_fallback`),
    // Without beginRun (a bare listener) the run still gets a row; `kind` is then a guess. The
    // engine's start time replaces beginRun's, except on a resume (the run has steps already).
    // @stamp: make @pid/@pidStartTime/@host the run's owner (see `#ownerToStamp`).
    runStarted: db.prepare(`
      INSERT INTO runs (id, name, kind, source, status, started_at, host, pid, pid_start_time)
      VALUES (@id, @name, 'workflow', @source, 'running', @time, @host, @pid, @pidStartTime)
      ON CONFLICT (id) DO UPDATE SET
        status = 'running',
        started_at = CASE WHEN EXISTS (SELECT 1 FROM steps WHERE run_id = runs.id) THEN runs.started_at
          ELSE excluded.started_at END,
        finished_at = NULL, duration_ms = NULL, counts = NULL, reason = NULL,
        source = COALESCE(runs.source, excluded.source),
        host = CASE WHEN @stamp THEN excluded.host ELSE runs.host END,
        pid = CASE WHEN @stamp THEN excluded.pid ELSE runs.pid END,
        pid_start_time = CASE WHEN @stamp THEN excluded.pid_start_time ELSE runs.pid_start_time END`),
    ownerById: db.prepare(`SELECT pid, pid_start_time, host FROM runs WHERE id = ?`),
    // @steps: a JSON array of [id, name, kind, group, needs as JSON text], in the run's order.
    upsertSteps: db.prepare(`
      INSERT INTO steps (run_id, step_id, position, name, kind, step_group, needs)
      SELECT @runId, s.value ->> 0, s.key, s.value ->> 1, s.value ->> 2, s.value ->> 3, s.value ->> 4
      FROM json_each(@steps) s WHERE true
      ON CONFLICT (run_id, step_id) DO UPDATE SET
        position = excluded.position, name = excluded.name, kind = excluded.kind,
        step_group = excluded.step_group, needs = excluded.needs`),
    insertPlaceholders: db.prepare(`
      INSERT INTO attempts (run_id, step_id, attempt, status)
      SELECT @runId, s.value ->> 0, 0, 'pending' FROM json_each(@steps) s
      WHERE NOT EXISTS (SELECT 1 FROM attempts a WHERE a.run_id = @runId AND a.step_id = s.value ->> 0)`),
    deletePlaceholder: db.prepare(`DELETE FROM attempts WHERE run_id = ? AND step_id = ? AND attempt = 0`),
    attemptStarted: db.prepare(`
      INSERT INTO attempts (run_id, step_id, attempt, status, started_at, command, pid, pid_start_time)
      VALUES (@runId, @stepId, @attempt, 'running', @time, @command, @pid, @pidStartTime)
      ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET
        status = 'running', started_at = excluded.started_at, command = excluded.command,
        pid = excluded.pid, pid_start_time = excluded.pid_start_time`),
    attemptRetrying: db.prepare(`
      INSERT INTO attempts (run_id, step_id, attempt, status, reason, message, finished_at)
      VALUES (@runId, @stepId, @attempt, @status, @reason, @message, @time)
      ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET
        status = excluded.status, reason = excluded.reason, message = excluded.message,
        finished_at = excluded.finished_at, duration_ms = excluded.finished_at - attempts.started_at`),
    attemptFinished: db.prepare(`
      INSERT INTO attempts (run_id, step_id, attempt, status, reason, message, exit_code, signal, duration_ms,
        started_at, finished_at, outputs, log_path, value, command, pid, cache_key, cache_explain)
      VALUES (@runId, @stepId, @attempt, @status, @reason, @message, @exitCode, @signal, @durationMs,
        @startedAt, @finishedAt, @outputs, @logPath, @value, @command, @pid, @cacheKey, @cacheExplain)
      ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET
        cache_key = excluded.cache_key, cache_explain = excluded.cache_explain, pid = COALESCE(excluded.pid, attempts.pid),
        status = excluded.status, reason = excluded.reason, message = excluded.message,
        exit_code = excluded.exit_code, signal = excluded.signal, duration_ms = excluded.duration_ms,
        started_at = COALESCE(attempts.started_at, excluded.started_at), finished_at = excluded.finished_at,
        outputs = excluded.outputs, log_path = excluded.log_path, value = excluded.value,
        command = CASE WHEN excluded.command = '[]' THEN attempts.command ELSE excluded.command END`),
    runCancelling: db.prepare(`UPDATE runs SET reason = COALESCE(reason, @reason) WHERE id = @id`),
    runFinished: db.prepare(`
      INSERT INTO runs (id, name, kind, source, status, started_at, finished_at, duration_ms, counts, reason)
      VALUES (@id, @name, 'workflow', @source, @status, @startedAt, @finishedAt, @durationMs, @counts, @reason)
      ON CONFLICT (id) DO UPDATE SET
        status = excluded.status, finished_at = excluded.finished_at, duration_ms = excluded.duration_ms,
        counts = excluded.counts, reason = COALESCE(excluded.reason, runs.reason)`),
    runById: db.prepare(`SELECT * FROM runs WHERE id = ?`),
    hasSteps: db.prepare(`SELECT 1 FROM steps WHERE run_id = ? LIMIT 1`),
    runsByPrefix: db.prepare(`SELECT * FROM runs WHERE substr(id, 1, length(@prefix)) = @prefix LIMIT 2`),
    lastAttempts: db.prepare(`
      SELECT ${ATTEMPT_COLUMNS} FROM attempts a
      LEFT JOIN steps s ON s.run_id = a.run_id AND s.step_id = a.step_id
      WHERE a.run_id = ? AND ${LAST_ATTEMPT}
      ORDER BY s.position IS NULL, s.position, a.step_id`),
    attemptsOfStep: db.prepare(`
      SELECT ${ATTEMPT_COLUMNS} FROM attempts a
      LEFT JOIN steps s ON s.run_id = a.run_id AND s.step_id = a.step_id
      WHERE a.run_id = ? AND a.step_id = ?
      ORDER BY a.attempt`),
    liveCounts: db.prepare(`
      SELECT a.status AS status, COUNT(*) AS n FROM attempts a
      WHERE a.run_id = ? AND ${LAST_ATTEMPT}
      GROUP BY a.status`),
    // @anyOwner = 0: only while the run is still owned by @pid/@pidStartTime (the one seen gone).
    markRunInterrupted: db.prepare(`
      UPDATE runs SET status = 'interrupted', reason = @reason
      WHERE id = @id AND status = 'running' AND (@anyOwner OR (pid IS @pid AND pid_start_time IS @pidStartTime))`),
    claimRun: db.prepare(`
      UPDATE runs SET status = 'running', host = @host, pid = @pid, pid_start_time = @pidStartTime,
        finished_at = NULL, duration_ms = NULL, counts = NULL, reason = NULL, cancel_requested_at = NULL
      WHERE id = @id`),
    markAttemptsInterrupted: db.prepare(`UPDATE attempts SET status = 'interrupted' WHERE run_id = ? AND status = 'running'`),
    requestCancel: db.prepare(`
      UPDATE runs SET cancel_requested_at = COALESCE(cancel_requested_at, @now) WHERE id = @id AND status = 'running'`),
    cancelRequestedAt: db.prepare(`SELECT cancel_requested_at AS at FROM runs WHERE id = ?`),
    prunable: db.prepare(`SELECT id, started_at FROM runs WHERE status != 'running' ORDER BY started_at DESC, id DESC`),
    deleteAttempts: db.prepare(`DELETE FROM attempts WHERE run_id = ?`),
    deleteSteps: db.prepare(`DELETE FROM steps WHERE run_id = ?`),
    deleteRun: db.prepare(`DELETE FROM runs WHERE id = ?`),
  };
}
