import path from 'node:path';

/** The environment variable that moves the state folder (after `--state-dir`). */
export const STATE_DIR_ENV = 'ORCHESTRATOR_STATE_DIR';

/** The state folder's name under the project root. */
export const DEFAULT_STATE_DIR_NAME = '.orchestrator';

/** The database's file name inside the state folder. */
export const STATE_DB_FILE = 'state.db';

export interface ResolveStateDirOptions {
  /** `--state-dir`, relative to the current directory. Wins over the environment. */
  stateDir?: string | undefined;
  /** Read for `ORCHESTRATOR_STATE_DIR` (relative to the current directory). @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Absolute project root; the default folder is `<projectRoot>/.orchestrator`. */
  projectRoot: string;
}

/**
 * The absolute state folder: `--state-dir`, else `$ORCHESTRATOR_STATE_DIR`, else
 * `<projectRoot>/.orchestrator`. Empty values count as unset.
 * @see docs/store.md
 */
export function resolveStateDir({ stateDir, env = process.env, projectRoot }: ResolveStateDirOptions): string {
  if (stateDir !== undefined && stateDir !== '') return path.resolve(stateDir);
  const fromEnv = env[STATE_DIR_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return path.resolve(fromEnv);
  return path.join(path.resolve(projectRoot), DEFAULT_STATE_DIR_NAME);
}
