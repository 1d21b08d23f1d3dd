import { afterEach, beforeEach } from 'vitest';
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
