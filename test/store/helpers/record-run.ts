/**
 * A child orchestrator for the store's multi-process tests, run with `node --import tsx`:
 *
 *   record-run.ts <stateDir> <runId> concurrent <steps>
 *     Opens the store (migrating a new folder, maybe at the same time as a sibling), prints
 *     `ready`, waits for a line on stdin, then runs <steps> `true` steps through the local engine
 *     with tiny batches so its transactions interleave with the sibling's. Prints its stats as JSON.
 *     Any store error goes to stderr and fails the process.
 *
 *   record-run.ts <stateDir> <runId> crash
 *     Runs a `fast` step and a `slow` one (`sleep 30`), prints `ready` once both are stored
 *     (fast finished, slow running), and waits to be killed.
 */
import { createInterface } from 'node:readline';
import { LocalEngine } from '../../../src/engines/local/local-engine.js';
import { readProc } from '../../../src/execution/proc-tree.js';
import { SqliteRunStore, storeListener } from '../../../src/store/index.js';
import { commandStep, workflowSpec } from '../../helpers/step-factory.js';
import { runInfo } from './events.js';

const [stateDir, runId, mode, stepsArg] = process.argv.slice(2);
if (stateDir === undefined || runId === undefined || (mode !== 'concurrent' && mode !== 'crash')) {
  throw new TypeError('usage: record-run.ts <stateDir> <runId> concurrent <steps> | crash');
}

const store = new SqliteRunStore({
  stateDir,
  batchSize: 4,
  flushIntervalMs: 1,
  onError: (error) => {
    process.stderr.write(`store error: ${error.message}\n`);
    process.exitCode = 1;
  },
});
const engine = new LocalEngine();
const info = runInfo(runId, { name: `child-${process.pid}`, pidStartTime: readProc(process.pid)?.startTime ?? null });

if (mode === 'concurrent') {
  const steps = Number(stepsArg ?? 200);
  store.beginRun(info);
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => lines.once('line', () => resolve()));
  lines.close();
  const spec = workflowSpec(
    Array.from({ length: steps }, (_, i) => commandStep('true', { id: `step-${String(i).padStart(3, '0')}` })),
    { concurrency: 8 },
  );
  const summary = await engine.submit(spec, { runId, onEvent: storeListener(store) }).result;
  await store.flush();
  process.stdout.write(`${JSON.stringify({ status: summary.status, ...store.stats })}\n`);
  await engine.close();
  store.close();
} else {
  store.beginRun(info);
  const spec = workflowSpec([
    commandStep('exit 0', { id: 'fast' }),
    commandStep('sleep 30', { id: 'slow', timeout: 0 }),
  ]);
  void engine.submit(spec, { runId, onEvent: storeListener(store) });
  const timer = setInterval(() => {
    const steps = store.getSteps(runId);
    const fast = steps.find((s) => s.stepId === 'fast');
    const slow = steps.find((s) => s.stepId === 'slow');
    if (fast?.status === 'succeeded' && slow?.status === 'running' && slow.pid !== null) {
      clearInterval(timer);
      process.stdout.write('ready\n');
    }
  }, 10);
}
