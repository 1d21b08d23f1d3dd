import { colorsFor } from './colors.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Engine } from '../engines/engine.js';
import type { CliIo, RunFlags } from './types.js';
import { redactRedisUrl } from '../engines/distributed/redis.js';

export interface EngineSession {
  /** Unset: the local engine (runSpec makes one). */
  engine?: Engine;
  /** Asks remote workers to kill what an earlier, crashed coordinator left running for a run. */
  cancelRemote?: (runId: string) => Promise<void>;
  /** A forced stop on remote workers: they SIGKILL the run's step trees (waits up to 2 s for them). */
  killRemote?: (runId: string) => Promise<void>;
  close(): Promise<void>;
}

/** The shared secret for signing jobs: `--secret-file`, else `$ORCHESTRATOR_SECRET`. */
export async function readSecret(io: CliIo, file: string | undefined): Promise<string | undefined> {
  if (file !== undefined) {
    const secret = (await readFile(path.resolve(io.cwd, file), 'utf8')).trim();
    if (secret === '') throw new TypeError(`Expected a shared secret in ${file}, got an empty file`);
    return secret;
  }
  const fromEnv = io.env.ORCHESTRATOR_SECRET?.trim();
  return fromEnv === '' ? undefined : fromEnv;
}

/**
 * Why these engine flags cannot run, or undefined. `--redis`, `--queue` and `--secret-file` mean
 * something only to the bullmq engine: without `--engine bullmq` they would be silently ignored
 * (steps would run here). `$ORCHESTRATOR_REDIS_URL` alone is fine: it may be set globally.
 * `recordedArgv`, for resume and rerun: the command line the run was recorded with; a run of the
 * bullmq engine is not resumed locally unless `--engine` says so.
 */
export function engineFlagsProblem(flags: RunFlags, recordedArgv?: readonly string[]): string | undefined {
  if (flags.engine !== 'bullmq') {
    const given = [
      ...(flags.redis !== undefined ? ['--redis'] : []),
      ...(flags.queue !== undefined ? ['--queue'] : []),
      ...(flags.secretFile !== undefined ? ['--secret-file'] : []),
    ];
    if (given.length > 0) {
      return `${given.join(', ')} ${given.length === 1 ? 'needs' : 'need'} --engine bullmq (without it, steps run here on the local engine${flags.engine === 'local' ? ', as --engine local asks' : ''})`;
    }
  }
  if (flags.engine === undefined && recordedArgv !== undefined && recordedEngine(recordedArgv) === 'bullmq') {
    return 'this run used --engine bullmq: pass --engine bullmq again (with its --redis, --queue and --secret-file, which are not stored), or --engine local to run its steps here';
  }
  return undefined;
}

/** The `--engine` of a recorded command line, or undefined. */
function recordedEngine(argv: readonly string[]): string | undefined {
  let engine: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === '--engine') engine = argv[i + 1];
    else if (arg.startsWith('--engine=')) engine = arg.slice('--engine='.length);
  });
  return engine;
}

/** The engine `--engine` asks for; BullMQ and ioredis are loaded only for `bullmq`. */
export async function openEngine(io: CliIo, flags: RunFlags): Promise<EngineSession> {
  const problem = engineFlagsProblem(flags);
  if (problem !== undefined) throw new TypeError(problem);
  if ((flags.engine ?? 'local') === 'local') return { close: () => Promise.resolve() };
  const redis = flags.redis ?? io.env.ORCHESTRATOR_REDIS_URL;
  if (!redis) throw new TypeError('--engine bullmq needs a Redis URL: --redis redis://host:6379 or $ORCHESTRATOR_REDIS_URL');
  const secret = await readSecret(io, flags.secretFile);
  const { DistributedEngine } = await import('../engines/distributed/index.js');
  const { gitCommit } = await import('../util/git.js');
  const commit = await gitCommit(io.cwd);
  const engine = await DistributedEngine.connect({
    redis,
    ...(flags.queue ? { queue: flags.queue } : {}),
    ...(secret ? { secret } : {}),
    ...(commit ? { commit } : {}),
    onNotice: (message) => io.stderr.write(`${colorsFor(io.stderr, io).yellow('notice:')} ${message}\n`),
  });
  const shown = flags.json ? io.stderr : io.stdout;
  shown.write(colorsFor(shown, io).dim(`Engine: bullmq on ${engine.redisUrl}${secret ? ', jobs signed' : ''}\n`));
  return { engine, cancelRemote: (runId) => engine.cancelRemote(runId, 'cancelled: the run is being resumed'),
    killRemote: (runId) => engine.killRemote(runId, 'cancelled: stopped at once (second interrupt)'),
    close: () => engine.close() };
}

/** Command lines are stored in the run history: never with a Redis password in them. */
export function redactArgv(argv: readonly string[]): string[] {
  return argv.map((arg) => arg.replace(/rediss?:\/\/\S+/g, (url) => redactRedisUrl(url)));
}
