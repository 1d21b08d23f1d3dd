import { execFileSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordRun } from '../../src/cli/store-session.js';
import type { CliIo } from '../../src/cli/types.js';
import type { WorkflowSpec } from '../../src/core/spec.js';
import { SqliteRunStore, StoreError } from '../../src/store/index.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';
import { runEvents, runInfo } from './helpers/events.js';

/*
 * Tests run as root, and root ignores permission bits, so `chmod` cannot make a folder read-only
 * here. Two real failures stand in:
 * - a state folder whose path goes through a regular file (ENOTDIR): mkdir fails, as it would on
 *   a path the user cannot create;
 * - the immutable attribute (`chattr +i`, ext4), which even root cannot write through. On the
 *   database, its WAL file and the folder it makes every write fail (SQLITE_IOERR_WRITE on the
 *   open connection, SQLITE_CANTOPEN or SQLITE_READONLY on a new one), like a read-only mount.
 *   The `-shm` file is never made immutable: SQLite maps it into memory and writing to a mapping
 *   of an immutable file kills the process with SIGBUS.
 * A full disk (SQLITE_FULL) takes the same path through the code: only the advice differs.
 */
function chattr(flag: '+i' | '-i', ...files: string[]): void {
  execFileSync('chattr', [flag, ...files]);
}

/** What `action` throws; undefined when it does not throw. */
function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (caught) {
    return caught;
  }
  return undefined;
}

describe('SqliteRunStore on a state folder it cannot write', () => {
  let dir: string;
  let store: SqliteRunStore | undefined;
  beforeEach(async () => {
    dir = await makeTmpDir('orch-store-ro-');
  });
  afterEach(async () => {
    // Whatever happened, make everything writable again so it can be deleted.
    try {
      execFileSync('chattr', ['-R', '-i', dir], { stdio: 'ignore' });
    } catch {
      // nothing was immutable
    }
    try {
      store?.close();
    } catch {
      // a test may leave events it could not write
    }
    store = undefined;
    await removeTmpDir(dir);
  });

  it('gives a StoreError naming the path when the state folder cannot be made', () => {
    const blocker = path.join(dir, 'not-a-folder');
    writeFileSync(blocker, 'a file');
    const stateDir = path.join(blocker, '.orchestrator');
    const error = thrownBy(() => (store = new SqliteRunStore({ stateDir })));
    expect(error).toBeInstanceOf(StoreError);
    const storeError = error as StoreError;
    expect(storeError).toMatchObject({ name: 'StoreError', operation: 'open', code: 'ENOTDIR', path: stateDir });
    expect(storeError.message).toContain(`Could not open the run store at ${stateDir}`);
    expect(storeError.message).toMatch(/--state-dir or ORCHESTRATOR_STATE_DIR/);
    expect(storeError.cause).toBeInstanceOf(Error);
  });

  it('gives a StoreError naming the database when the state folder is read-only', () => {
    const stateDir = path.join(dir, 'state');
    execFileSync('mkdir', [stateDir]);
    chattr('+i', stateDir);
    const error = thrownBy(() => (store = new SqliteRunStore({ stateDir })));
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('EPERM');
    expect((error as StoreError).message).toContain(`Could not open the run store at ${path.join(stateDir, 'state.db')}`);
    expect((error as StoreError).message).toContain(`The state folder ${stateDir} is read-only: make it writable`);
  });

  it('readOnlyFallback opens a history it cannot write read-only: everything stored reads back, every write says the folder is read-only', () => {
    const stateDir = path.join(dir, 'state');
    const writer = new SqliteRunStore({ stateDir });
    writer.beginRun(runInfo('r'));
    for (const event of runEvents('r', [{ id: 'one', status: 'succeeded' }, { id: 'two', status: 'failed' }])) writer.recordEvent(event);
    writer.close();
    const db = path.join(stateDir, 'state.db');
    // Closed cleanly: no -shm file, and none can be made, so SQLite cannot open the WAL database read-only by itself.
    chattr('+i', stateDir, db);

    expect(() => new SqliteRunStore({ stateDir }), 'without the fallback: an error that says the folder is read-only').toThrow(
      `The state folder ${stateDir} is read-only`,
    );
    const readOnly = new SqliteRunStore({ stateDir, readOnlyFallback: true });
    store = readOnly;
    expect(readOnly.readOnly).toBe(true);
    expect(readOnly.listRuns().map((r) => [r.id, r.status])).toEqual([['r', 'failed']]);
    expect(readOnly.getSteps('r').map((s) => [s.stepId, s.status])).toEqual([
      ['one', 'succeeded'],
      ['two', 'failed'],
    ]);
    const error = thrownBy(() => readOnly.prune({ keep: 0 }));
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toMatch(/^SQLITE_READONLY/);
    expect((error as StoreError).message).toContain(`The state folder ${stateDir} is read-only`);
    expect(() => store?.requestCancel('r')).toThrow(StoreError);
    store.close();
    store = undefined;

    chattr('-i', stateDir, db);
    const again = new SqliteRunStore({ stateDir });
    try {
      expect(again.readOnly).toBe(false);
      expect(again.getRun('r')).toMatchObject({ status: 'failed', counts: { total: 2, succeeded: 1, failed: 1 } });
    } finally {
      again.close();
    }
  });

  it('readOnlyFallback reads a state folder that does not exist and cannot be made as an empty history; without it the error says what is read-only', () => {
    const parent = path.join(dir, 'locked');
    execFileSync('mkdir', [parent]);
    chattr('+i', parent);
    const stateDir = path.join(parent, 'state');
    const error = thrownBy(() => (store = new SqliteRunStore({ stateDir })));
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('EPERM');
    expect((error as StoreError).message).toContain(`The state folder ${stateDir} is read-only`);
    store = new SqliteRunStore({ stateDir, readOnlyFallback: true });
    expect(store.readOnly).toBe(true);
    expect(store.listRuns()).toEqual([]);
    expect(() => store?.beginRun(runInfo('r'))).toThrow(/read-only/);
  });

  it('keeps events queued while the database cannot be written, loses nothing stored, and writes them later', async () => {
    const stateDir = path.join(dir, 'state');
    const errors: StoreError[] = [];
    store = new SqliteRunStore({ stateDir, retryDelayMs: 60_000, onError: (error) => errors.push(error) });
    const events = runEvents('r', [
      { id: 'one', status: 'succeeded' },
      { id: 'two', status: 'failed' },
    ]);
    store.beginRun(runInfo('r'));
    // run-started and step one: stored.
    for (const event of events.slice(0, 3)) store.recordEvent(event);
    await store.flush();

    const db = store.path;
    chattr('+i', db, `${db}-wal`, stateDir);
    // Step two and run-finished: run-finished tries to write at once, and fails.
    for (const event of events.slice(3)) store.recordEvent(event);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(StoreError);
    expect(errors[0]?.operation).toBe('write');
    expect(errors[0]?.message).toContain(`Could not write to the run store at ${db}`);
    expect(errors[0]?.message).toContain('3 events stay queued for the next flush; what was stored before is intact.');
    await expect(store.flush()).rejects.toThrow(StoreError);
    expect(errors, 'an explicit flush rejects instead of calling onError again').toHaveLength(1);
    expect(store.stats.queued).toBe(3);

    // A second store opening the folder now cannot write either, and says so at once.
    expect(() => new SqliteRunStore({ stateDir })).toThrow(`The state folder ${stateDir} is read-only: make it writable`);
    // Read-only, it reads what was stored before the folder went read-only (the -wal file included).
    const other = new SqliteRunStore({ stateDir, readOnlyFallback: true });
    try {
      expect(other.readOnly).toBe(true);
      const error = thrownBy(() => other.beginRun(runInfo('other')));
      expect((error as StoreError).code).toMatch(/^SQLITE_READONLY/);
      expect((error as StoreError).message).toContain(`The state folder ${stateDir} is read-only: make it writable`);
      expect(other.getRun('r')).toMatchObject({ status: 'running', counts: { total: 2, succeeded: 1, pending: 1 } });
    } finally {
      other.close();
    }

    chattr('-i', db, `${db}-wal`, stateDir);
    await store.flush();
    expect(store.stats.queued).toBe(0);
    expect(store.getRun('r')).toMatchObject({ status: 'failed', counts: { total: 2, succeeded: 1, failed: 1 } });
    expect(store.getSteps('r').map((s) => [s.stepId, s.status])).toEqual([
      ['one', 'succeeded'],
      ['two', 'failed'],
    ]);
  });

  it('a run whose start cannot be recorded goes on: a warning, then its events are stored once the folder is writable', async () => {
    const stateDir = path.join(dir, 'state');
    store = new SqliteRunStore({ stateDir, retryDelayMs: 60_000, onError: () => undefined });
    store.beginRun(runInfo('before'));
    await store.flush();
    let warnings = '';
    const io = {
      stdout: new PassThrough(),
      stderr: Object.assign(new PassThrough(), { write: (text: string) => ((warnings += text), true) }),
      env: {},
      cwd: dir,
    } as unknown as CliIo;
    const recording = await recordRun(store, io, { kind: 'workflow', source: 'w.yml', argv: ['run'], projectRoot: dir, onCancelRequest: () => undefined });
    const db = store.path;
    chattr('+i', db, `${db}-wal`, stateDir);
    const spec = { name: 'w', steps: [], concurrency: 1, failurePolicy: 'no-new', timeout: 0 } as unknown as WorkflowSpec;
    expect(() => recording.onStart({ runId: 'r', runDir: dir, spec, outputDir: dir })).not.toThrow();
    expect(warnings).toMatch(/warning: run history: Could not write to the run store/);
    for (const event of runEvents('r', [{ id: 'one', status: 'succeeded' }])) recording.listener(event);
    chattr('-i', db, `${db}-wal`, stateDir);
    await store.flush();
    expect(store.getRun('r')).toMatchObject({ status: 'succeeded', counts: { total: 1, succeeded: 1 } });
    await recording.stop();
    store = undefined;
  });

  /**
   * The state folder goes read-only mid-run (a full disk fails the same writes, with ENOSPC and
   * SQLITE_FULL), while the run's folder, elsewhere, can still be written: the journal goes on in
   * the run's fallback file, and the next command stores the run as it ended.
   */
  it('keeps the results a run could not save in its fallback file, and the next command stores the run as finished', async () => {
    const stateDir = path.join(dir, 'state');
    const fallback = path.join(dir, 'out', 'run-1', 'unsaved-history.jsonl');
    store = new SqliteRunStore({ stateDir, flushIntervalMs: 60_000, retryDelayMs: 60_000, onError: () => undefined });
    const events = runEvents('r', [
      { id: 'one', status: 'succeeded' },
      { id: 'two', status: 'succeeded' },
      { id: 'three', status: 'failed' },
    ]);
    store.beginRun(runInfo('r', { journalFallback: fallback }));
    for (const event of events.slice(0, 3)) store.recordEvent(event);
    await store.flush();
    const journalDir = path.join(stateDir, 'journal');
    const journal = path.join(journalDir, 'r.jsonl');
    expect(existsSync(journal)).toBe(true);
    expect(existsSync(fallback), 'no fallback while the journal can be written').toBe(false);

    chattr('+i', store.path, `${store.path}-wal`, stateDir, journalDir, journal);
    for (const event of events.slice(3)) store.recordEvent(event);
    const closing = store;
    store = undefined;
    let message = '';
    try {
      closing.close();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('The last 5 events of the run history could not be saved');
    expect(message).toContain(`The results of run r (its finished steps and its end) are kept in ${fallback}`);
    expect(message).toContain('`orchestrator resume r` keeps every step that succeeded');
    expect(readFileSync(fallback, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { type: string }).type)).toEqual([
      'step-finished',
      'step-finished',
      'run-finished',
    ]);

    chattr('-i', closing.path, `${closing.path}-wal`, stateDir, journalDir, journal);
    store = new SqliteRunStore({ stateDir });
    expect(store.markInterrupted('r', 'the orchestrator (pid 1) is gone'), 'stored as finished, not interrupted').toBe(false);
    expect(store.getRun('r')).toMatchObject({ status: 'failed', counts: { total: 3, succeeded: 2, failed: 1, interrupted: 0 } });
    expect(store.getSteps('r').map((s) => [s.stepId, s.status])).toEqual([
      ['one', 'succeeded'],
      ['two', 'succeeded'],
      ['three', 'failed'],
    ]);
    expect(existsSync(fallback), 'replayed, then removed').toBe(false);
    expect(existsSync(journal)).toBe(false);
  });

  it('says which results were kept nowhere when the run has no fallback it can write', async () => {
    const stateDir = path.join(dir, 'state');
    store = new SqliteRunStore({ stateDir, flushIntervalMs: 60_000, retryDelayMs: 60_000, onError: () => undefined });
    const events = runEvents('r', [
      { id: 'one', status: 'succeeded' },
      { id: 'two', status: 'succeeded' },
    ]);
    store.beginRun(runInfo('r'));
    for (const event of events.slice(0, 3)) store.recordEvent(event);
    await store.flush();
    const journalDir = path.join(stateDir, 'journal');
    chattr('+i', store.path, `${store.path}-wal`, stateDir, journalDir, path.join(journalDir, 'r.jsonl'));
    for (const event of events.slice(3)) store.recordEvent(event);
    const closing = store;
    store = undefined;
    expect(() => closing.close()).toThrow(
      'Some results of run r could not be kept anywhere else either: its record will show the steps it did not save as pending or interrupted, and `orchestrator resume r` would run them again.',
    );
  });

  it('throws from close, saying what was lost, when the last events cannot be written', async () => {
    const stateDir = path.join(dir, 'state');
    store = new SqliteRunStore({ stateDir, flushIntervalMs: 60_000, onError: () => undefined });
    const events = runEvents('r', [{ id: 'one', status: 'succeeded' }]);
    store.recordEvent(events[0]!);
    await store.flush();
    chattr('+i', store.path, `${store.path}-wal`, stateDir);
    store.recordEvent(events[1]!);
    const closing = store;
    store = undefined;
    expect(() => closing.close()).toThrow(/The last 1 event of the run history could not be saved/);
    chattr('-i', closing.path, `${closing.path}-wal`, stateDir);
    const db = new Database(closing.path, { readonly: true });
    try {
      expect(db.prepare('SELECT COUNT(*) AS n FROM runs').get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });
});
