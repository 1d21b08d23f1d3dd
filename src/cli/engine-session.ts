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

/** The engine `--engine` asks for; BullMQ and ioredis are loaded only for `bullmq`. */
export async function openEngine(io: CliIo, flags: RunFlags): Promise<EngineSession> {
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
  });
  const shown = flags.json ? io.stderr : io.stdout;
  shown.write(colorsFor(shown, io).dim(`Engine: bullmq on ${engine.redisUrl}${secret ? ', jobs signed' : ''}\n`));
  return { engine, cancelRemote: (runId) => engine.cancelRemote(runId, 'cancelled: the run is being resumed'), close: () => engine.close() };
}

/** Command lines are stored in the run history: never with a Redis password in them. */
export function redactArgv(argv: readonly string[]): string[] {
  return argv.map((arg) => arg.replace(/rediss?:\/\/\S+/g, (url) => redactRedisUrl(url)));
}
