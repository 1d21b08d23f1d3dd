import type { Reporter } from './options.js';

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** False when the command line says `--no-color`: no message is coloured, whichever command writes it. */
  color?: boolean | undefined;
}

export interface RunFlags {
  dryRun?: boolean;
  timeout?: number;
  killGrace?: number;
  runTimeout?: number;
  subdirs?: string[];
  filter?: string[];
  exclude?: string[];
  maxDepth?: number;
  concurrency?: number;
  failFast?: 'no-new' | 'kill' | 'continue';
  outputDir?: string;
  reporter?: Reporter[];
  json?: boolean;
  verbose?: boolean;
  color?: boolean;
  projectRoot?: string;
  /** Where run history lives. @default <project root>/.orchestrator */
  stateDir?: string;
  /** `--no-history`: do not record this run. */
  history?: boolean;
  /** `--cache`: cache every step; `--no-cache`: cache nothing. */
  cache?: boolean;
  /** `--explain`: say why each cached step ran or came from the cache. */
  explain?: boolean;
  /** `--engine`: where steps run. @default 'local' */
  engine?: 'local' | 'bullmq';
  /** `--redis`: the distributed engine's Redis URL. @default $ORCHESTRATOR_REDIS_URL */
  redis?: string;
  /** `--queue`: the distributed engine's default queue. */
  queue?: string;
  /** `--secret-file`: file holding the shared secret that signs jobs. @default $ORCHESTRATOR_SECRET */
  secretFile?: string;
}
