import type Database from 'better-sqlite3';

/** One step of the schema: applied once, in order, and recorded in `PRAGMA user_version`. */
export interface Migration {
  /** The `user_version` after it: 1, 2, 3, ... with no gaps. */
  version: number;
  description: string;
  /** SQL run in one transaction with the version bump. */
  sql: string;
}

/**
 * The schema's history. Never edit a migration that has shipped: add one. Times are milliseconds
 * since the epoch; JSON columns hold text.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'runs, steps and attempts',
    sql: `
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        source TEXT,
        status TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        duration_ms INTEGER,
        argv TEXT NOT NULL DEFAULT '[]',
        cwd TEXT,
        git_commit TEXT,
        host TEXT,
        pid INTEGER,
        pid_start_time INTEGER,
        counts TEXT,
        spec_json TEXT,
        reason TEXT
      ) STRICT;
      CREATE INDEX runs_by_start ON runs (started_at);

      CREATE TABLE steps (
        run_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        step_group TEXT NOT NULL,
        needs TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (run_id, step_id)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE attempts (
        run_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        message TEXT,
        exit_code INTEGER,
        signal TEXT,
        duration_ms INTEGER,
        started_at INTEGER,
        finished_at INTEGER,
        outputs TEXT NOT NULL DEFAULT '{}',
        log_path TEXT,
        value TEXT,
        command TEXT NOT NULL DEFAULT '[]',
        pid INTEGER,
        pid_start_time INTEGER,
        PRIMARY KEY (run_id, step_id, attempt)
      ) STRICT;
    `,
  },
  {
    version: 2,
    description: 'cancel requests from other terminals; indexes for filtered listings',
    sql: `
      ALTER TABLE runs ADD COLUMN cancel_requested_at INTEGER;
      CREATE INDEX runs_by_status ON runs (status, started_at);
      CREATE INDEX runs_by_name ON runs (name, started_at);
    `,
  },
  {
    version: 3,
    description: 'step cache entries; cache key and explanation per attempt',
    sql: `
      CREATE TABLE cache_entries (
        key TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        step_id TEXT NOT NULL,
        components TEXT NOT NULL,
        outputs TEXT NOT NULL DEFAULT '{}',
        value TEXT,
        run_id TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX cache_by_step ON cache_entries (workflow, step_id, created_at);
      ALTER TABLE attempts ADD COLUMN cache_key TEXT;
      ALTER TABLE attempts ADD COLUMN cache_explain TEXT;
    `,
  },
  {
    version: 4,
    description: "where a run's journal goes on when the state folder cannot take it",
    sql: `
      ALTER TABLE runs ADD COLUMN journal_fallback TEXT;
    `,
  },
  {
    version: 5,
    description: "cache entries keep their key parts' readable details (command, arguments, output names) to explain a miss",
    sql: `
      ALTER TABLE cache_entries ADD COLUMN details TEXT;
    `,
  },
];

/** The schema version this code reads and writes. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

export function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** A database written by a newer orchestrator than this one. */
export class SchemaTooNewError extends Error {
  override readonly name = 'SchemaTooNewError';
  readonly code = 'SCHEMA_TOO_NEW';
  readonly found: number;
  constructor(found: number) {
    super(
      `its schema version is ${found} but this orchestrator knows up to ${SCHEMA_VERSION}: it was written by a newer version`,
    );
    this.found = found;
  }
}

/**
 * Brings `db` to schema version `to` (the latest by default). Each migration runs in its own
 * `BEGIN IMMEDIATE` transaction that first re-reads `user_version`, so two orchestrators opening a
 * new state folder at once apply every migration exactly once. Returns the versions applied.
 */
export function migrate(db: Database.Database, to: number = SCHEMA_VERSION): number[] {
  if (!Number.isInteger(to) || to < 0 || to > SCHEMA_VERSION) {
    throw new TypeError(`Expected the \`to\` option to be an integer from 0 to ${SCHEMA_VERSION}, got \`${String(to)}\` (${typeof to})`);
  }
  const current = userVersion(db);
  if (current > SCHEMA_VERSION) throw new SchemaTooNewError(current);
  const applied: number[] = [];
  for (const migration of MIGRATIONS) {
    if (migration.version > to) break;
    if (migration.version <= current) continue;
    db.transaction(() => {
      // Another process may have applied it between our read and our lock.
      if (userVersion(db) >= migration.version) return;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
      applied.push(migration.version);
    }).immediate();
  }
  return applied;
}
