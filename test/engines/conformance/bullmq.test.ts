import path from 'node:path';
import { DistributedEngine, StepWorker, WORKER_ID_ENV } from '../../../src/engines/distributed/index.js';
import { RedisServer } from '../../helpers/redis-server.js';
import { makeTmpDir, removeTmpDir } from '../../helpers/tmp-dir.js';
import { defineConformance } from './conformance.js';

defineConformance(
  'bullmq',
  async () => {
    const server = await RedisServer.start();
    const stateDir = await makeTmpDir('orch-conformance-workers-');
    const workers: StepWorker[] = [];
    let engine: DistributedEngine | undefined;
    const teardown = async (): Promise<void> => {
      // The engine first, then the workers (they kill what still runs), then Redis.
      await engine?.close();
      for (const worker of workers) await worker.close();
      await server.kill();
      await removeTmpDir(stateDir);
    };
    try {
      for (const n of [1, 2]) {
        workers.push(
          await StepWorker.start({
            redis: server.url,
            root: '/',
            concurrency: 8,
            stateDir: path.join(stateDir, `worker-${n}`),
            lockDuration: 3000,
          }),
        );
      }
      engine = await DistributedEngine.connect({ redis: server.url, reconcileInterval: 500 });
    } catch (error) {
      await teardown();
      throw error;
    }
    return { engine, teardown };
  },
  { stepEnv: WORKER_ID_ENV },
);
