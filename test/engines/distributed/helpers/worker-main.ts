/**
 * A worker in its own process for the distributed engine's tests, run with `node --import tsx`
 * straight from the sources: it starts like `orchestrator worker`, prints `ready <worker id>` once
 * it takes jobs, and on SIGTERM closes (as the command does) and exits 0.
 *
 *   worker-main.ts <redis-url> <root> <state-dir> <concurrency>
 */
import { StepWorker } from '../../../../src/engines/distributed/index.js';

const [redis, root, stateDir, concurrency] = process.argv.slice(2);
if (redis === undefined || root === undefined || stateDir === undefined || concurrency === undefined) {
  throw new TypeError('usage: worker-main.ts <redis-url> <root> <state-dir> <concurrency>');
}

const worker = await StepWorker.start({
  redis,
  root,
  stateDir,
  concurrency: Number(concurrency),
  lockDuration: 2000,
  log: (line) => process.stderr.write(`${line}\n`),
});
process.once('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
process.stdout.write(`ready ${worker.id}\n`);
