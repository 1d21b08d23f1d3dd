import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { DistributedEngine, StepWorker } from '../../../../src/engines/distributed/index.js';
import { RedisServer } from '../../../helpers/redis-server.js';
import { makeTmpDir, removeTmpDir } from '../../../helpers/tmp-dir.js';

/**
 * Every test of the file gets its own redis-server on a free loopback port (so it may kill it) and
 * a temp folder, handed over through `set`; after it, `cleanups` run (last first), then both go.
 */
export function redisPerTest(set: (server: RedisServer, dir: string) => void, cleanups: (() => Promise<unknown>)[]): void {
  let server: RedisServer | undefined;
  let dir: string | undefined;
  beforeEach(async () => {
    server = await RedisServer.start();
    dir = await makeTmpDir('orch-dist-');
    set(server, dir);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await server?.kill();
    if (dir !== undefined) await removeTmpDir(dir);
  });
}

/** Polls `check` every 20 ms until it holds; rejects after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * `redisPerTest`, plus the coordinator and in-process worker most distributed tests start: each
 * connected to the test's redis-server, closed after the test.
 */
export function distributedRig(set: (server: RedisServer, dir: string) => void, cleanups: (() => Promise<unknown>)[]) {
  let server: RedisServer | undefined;
  let dir = '';
  redisPerTest((s, d) => {
    server = s;
    dir = d;
    set(s, d);
  }, cleanups);
  const url = (): string => (server as RedisServer).url;
  return {
    engine: async (options: Partial<Parameters<typeof DistributedEngine.connect>[0]> = {}): Promise<DistributedEngine> => {
      const e = await DistributedEngine.connect({ redis: url(), reconcileInterval: 300, ...options });
      cleanups.push(() => e.close());
      return e;
    },
    worker: async (options: Partial<Parameters<typeof StepWorker.start>[0]> = {}): Promise<StepWorker> => {
      const w = await StepWorker.start({ redis: url(), root: dir, stateDir: path.join(dir, '.worker'), concurrency: 4, lockDuration: 2000, ...options });
      cleanups.push(() => w.close());
      return w;
    },
  };
}
