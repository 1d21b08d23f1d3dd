import { colorsFor } from '../colors.js';
import path from 'node:path';
import { EXIT_CODES } from '../../bridges/exit-code.js';
import { readSecret } from '../engine-session.js';
import type { CliIo } from '../types.js';

interface WorkerFlags {
  redis?: string;
  concurrency?: number;
  queue?: string;
  tags?: string[];
  root?: string;
  stateDir?: string;
  secretFile?: string;
  lockDuration?: number;
}

/**
 * `orchestrator worker`: serves the distributed engine until SIGINT or SIGTERM; then it stops
 * taking jobs, kills the trees it runs (their steps are retried elsewhere) and exits 0.
 */
export async function workerCommand(io: CliIo, flags: WorkerFlags): Promise<number> {
  const redis = flags.redis ?? io.env.ORCHESTRATOR_REDIS_URL;
  if (!redis) {
    io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} a worker needs a Redis URL: --redis redis://host:6379 or $ORCHESTRATOR_REDIS_URL\n`);
    return EXIT_CODES.usage;
  }
  const root = path.resolve(io.cwd, flags.root ?? '.');
  const { StepWorker } = await import('../../engines/distributed/index.js');
  let worker;
  try {
    const secret = await readSecret(io, flags.secretFile);
    worker = await StepWorker.start({
      redis,
      root,
      ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
      ...(flags.queue ? { queue: flags.queue } : {}),
      ...(flags.tags ? { tags: flags.tags.flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean) } : {}),
      ...(flags.stateDir ? { stateDir: path.resolve(io.cwd, flags.stateDir) } : {}),
      ...(secret ? { secret } : {}),
      ...(flags.lockDuration !== undefined ? { lockDuration: flags.lockDuration } : {}),
      log: (line) => io.stderr.write(`${new Date().toISOString()} ${line}\n`),
    });
  } catch (error) {
    io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_CODES.usage;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  io.stderr.write(`${new Date().toISOString()} ${signal}: stopping (running steps are killed and retried elsewhere)\n`);
  await worker.close();
  return EXIT_CODES.ok;
}
