import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION, SqliteRunStore, StoreError, migrate } from '../../src/store/index.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

describe('store migrations', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTmpDir('orch-store-mig-');
  });
  afterEach(async () => {
    await removeTmpDir(dir);
  });

  it('are numbered 1, 2, 3, ... with no gaps', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('bring a version 1 database to the latest version and keep its runs', () => {
    const file = path.join(dir, 'state.db');
    const v1 = new Database(file);
    expect(migrate(v1, 1)).toEqual([1]);
    expect(v1.pragma('user_version', { simple: true })).toBe(1);
    // A run as a version 1 orchestrator wrote it (no cancel_requested_at column yet).
    v1.prepare(
      `INSERT INTO runs (id, name, kind, source, status, started_at, argv, pid) VALUES ('old-run', 'nightly', 'folder', 'scripts', 'running', 1000, '["run"]', 4242)`,
    ).run();
    v1.prepare(`INSERT INTO steps (run_id, step_id, position, name, kind, step_group) VALUES ('old-run', 'a', 0, 'a', 'script', '.')`).run();
    v1.prepare(`INSERT INTO attempts (run_id, step_id, attempt, status, exit_code) VALUES ('old-run', 'a', 1, 'failed', 2)`).run();
    v1.close();

    const store = new SqliteRunStore({ stateDir: dir });
    try {
      expect(store.getRun('old-run')).toMatchObject({ name: 'nightly', kind: 'folder', argv: ['run'], pid: 4242, cancelRequestedAt: null });
      expect(store.getSteps('old-run')).toMatchObject([{ stepId: 'a', status: 'failed', exitCode: 2 }]);
      // Version 2 added cancel requests.
      expect(store.requestCancel('old-run')).toBe(true);
      expect(store.cancelRequested('old-run')).toBe(true);
    } finally {
      store.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  it('keep a version 3 cache entry (no details) readable, and store details on entries made after', () => {
    const file = path.join(dir, 'state.db');
    const v3 = new Database(file);
    expect(migrate(v3, 3)).toEqual([1, 2, 3]);
    v3.prepare(
      `INSERT INTO cache_entries (key, workflow, step_id, components, outputs, run_id, created_at) VALUES ('k1', 'w', 's', '{"args":"aa"}', '{}', 'r1', 1000)`,
    ).run();
    v3.close();

    const store = new SqliteRunStore({ stateDir: dir });
    try {
      const old = store.latestCacheEntry('w', 's');
      expect(old).toMatchObject({ key: 'k1', components: { args: 'aa' } });
      expect(old?.details).toBeUndefined();
      store.putCacheEntry({ key: 'k2', workflow: 'w', stepId: 's', components: { args: 'bb' }, details: { args: '["4"]' }, outputs: {}, runId: 'r2', createdAt: new Date(2000).toISOString() });
      expect(store.latestCacheEntry('w', 's')).toMatchObject({ key: 'k2', details: { args: '["4"]' } });
      expect(store.getCacheEntry('k1')?.details).toBeUndefined();
    } finally {
      store.close();
    }
  });

  it('apply nothing to a database that is up to date', () => {
    new SqliteRunStore({ stateDir: dir }).close();
    const db = new Database(path.join(dir, 'state.db'));
    try {
      expect(migrate(db)).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('refuse a database written by a newer orchestrator, with a StoreError that says so', () => {
    const file = path.join(dir, 'state.db');
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    let error: unknown;
    try {
      new SqliteRunStore({ stateDir: dir }).close();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'SCHEMA_TOO_NEW', operation: 'open' });
    expect((error as StoreError).message).toContain(`schema version is ${SCHEMA_VERSION + 1}`);
    expect((error as StoreError).message).toContain('Upgrade the orchestrator');
  });

  it('leave a database unchanged when a migration fails', () => {
    const file = path.join(dir, 'state.db');
    const db = new Database(file);
    try {
      migrate(db, 1);
      // Make migration 2 fail half-way: its first statement works, its index name is taken.
      db.exec('CREATE TABLE runs_by_name (x)');
      expect(() => migrate(db)).toThrow(/runs_by_name/);
      expect(db.pragma('user_version', { simple: true })).toBe(1);
      const columns = db.prepare(`SELECT name FROM pragma_table_info('runs')`).all() as { name: string }[];
      expect(columns.map((c) => c.name)).not.toContain('cancel_requested_at');
    } finally {
      db.close();
    }
  });
});
