export { MIGRATIONS, SCHEMA_VERSION, SchemaTooNewError, migrate } from './migrations.js';
export type { Migration } from './migrations.js';
export { DEFAULT_STATE_DIR_NAME, STATE_DB_FILE, STATE_DIR_ENV, resolveStateDir } from './resolve-state-dir.js';
export type { ResolveStateDirOptions } from './resolve-state-dir.js';
export type {
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
export { currentOwner, ownerGone } from './run-owner.js';
export type { RunOwner } from './run-owner.js';
export { SqliteRunStore } from './sqlite-run-store.js';
export type { SqliteRunStoreOptions, SqliteRunStoreStats } from './sqlite-run-store.js';
export { StoreError } from './store-error.js';
export type { StoreOperation } from './store-error.js';
export { storeListener } from './store-listener.js';
