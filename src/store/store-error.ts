import path from 'node:path';
import { STATE_DB_FILE } from './resolve-state-dir.js';

/** What the store was doing when it failed. */
export type StoreOperation = 'open' | 'write' | 'read';

const ELSEWHERE = 'or choose another state folder with --state-dir or ORCHESTRATOR_STATE_DIR';

/**
 * Thrown (or passed to `onError`) when the run store cannot open, read or write its database. The
 * message names the file and says what to do; `cause` is the original error and `code` its code
 * (`SQLITE_FULL`, `EROFS`, ...). Runs themselves never fail because of it.
 * @see docs/store.md
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  /** The database file (or the folder that could not be made). */
  readonly path: string;
  readonly operation: StoreOperation;
  /** The SQLite or errno code of the cause, when it has one. */
  readonly code: string | undefined;

  constructor(message: string, details: { path: string; operation: StoreOperation; code?: string | undefined; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.path = details.path;
    this.operation = details.operation;
    this.code = details.code;
  }
}

/** The `code` of an error (an errno or SQLite code), when it has a string one. */
export function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** The state folder of a store path: the database's folder, or the folder itself. */
function stateFolderOf(file: string): string {
  return path.basename(file) === STATE_DB_FILE ? path.dirname(file) : file;
}

/** Codes that mean the state folder (or the database in it) cannot be written at all. */
export function isReadOnlyCode(code: string | undefined): boolean {
  const c = code ?? '';
  return c.startsWith('SQLITE_READONLY') || c === 'EROFS' || c === 'EACCES' || c === 'EPERM';
}

/** What a user can do about a failure with this code. */
function advice(code: string | undefined, file: string): string {
  const c = code ?? '';
  if (c === 'SQLITE_FULL' || c === 'ENOSPC' || c === 'EDQUOT') {
    return `The disk is full: free some space or delete old runs with \`orchestrator prune\`, ${ELSEWHERE}.`;
  }
  if (isReadOnlyCode(c)) {
    return `The state folder ${stateFolderOf(file)} is read-only: make it writable, ${ELSEWHERE}.`;
  }
  if (c === 'ENOTDIR' || c === 'EEXIST') {
    return `Part of the path is a file, not a folder: remove it, ${ELSEWHERE}.`;
  }
  if (c.startsWith('SQLITE_IOERR') || c.startsWith('SQLITE_CANTOPEN')) {
    return `Check that the disk has free space and the state folder is writable, ${ELSEWHERE}.`;
  }
  if (c === 'SQLITE_CORRUPT' || c === 'SQLITE_NOTADB') {
    return `The file is not a valid run database: move it away to start a new history, ${ELSEWHERE}.`;
  }
  if (c === 'SCHEMA_TOO_NEW') {
    return `Upgrade the orchestrator, ${ELSEWHERE}.`;
  }
  if (c.startsWith('SQLITE_BUSY') || c.startsWith('SQLITE_LOCKED')) {
    return 'Another process held the database longer than the busy timeout: try again.';
  }
  return `Check the state folder, ${ELSEWHERE}.`;
}

/** The one place store failures are worded (BullMQ's single error builder). */
export function toStoreError(
  error: unknown,
  context: {
    path: string;
    operation: StoreOperation;
    /** Events still queued after the failure, to be written by the next flush. */
    queued?: number;
    /** Events dropped because the store was closing. */
    lost?: number;
    /** Runs whose results among the lost events are kept in their journal (or its fallback). */
    kept?: readonly { runId: string; file: string }[];
    /** Runs whose results among the lost events are kept nowhere. */
    notKept?: readonly string[];
  },
): StoreError {
  if (error instanceof StoreError) return error;
  const code = codeOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  const verb = context.operation === 'open' ? 'open' : context.operation === 'write' ? 'write to' : 'read';
  const events = (n: number): string => `${n} event${n === 1 ? '' : 's'}`;
  let fate = '';
  if (context.lost !== undefined && context.lost > 0) {
    fate = ` The last ${events(context.lost)} of the run history could not be saved; what was stored before is intact.`;
    for (const { runId, file } of context.kept ?? []) {
      fate += ` The results of run ${runId} (its finished steps and its end) are kept in ${file}: once the state folder can be written again, the next orchestrator command (\`orchestrator runs\`, say) stores them, and \`orchestrator resume ${runId}\` keeps every step that succeeded. Do not delete that file before.`;
    }
    for (const runId of context.notKept ?? []) {
      fate += ` Some results of run ${runId} could not be kept anywhere else either: its record will show the steps it did not save as pending or interrupted, and \`orchestrator resume ${runId}\` would run them again.`;
    }
  } else if (context.queued !== undefined && context.queued > 0) {
    fate = ` ${events(context.queued)} ${context.queued === 1 ? 'stays' : 'stay'} queued for the next flush; what was stored before is intact.`;
  }
  return new StoreError(`Could not ${verb} the run store at ${context.path}: ${detail}. ${advice(code, context.path)}${fate}`, {
    path: context.path,
    operation: context.operation,
    code,
    cause: error,
  });
}
