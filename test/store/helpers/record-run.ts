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
 *
 *   record-run.ts <stateDir> <runId> listener
 *     Like `crash`, but the run is recorded by `storeListener` alone (no `beginRun`), as a library
 *     user would: prints `ready` once `slow` is stored running, and waits to be killed.
 *
 *   record-run.ts <stateDir> <runId> spill <outputDir>
 *     Runs a workflow through `runSpec` as the CLI does (`beginRun` with its plan): step `loud`
 *     writes 300,000 `x`s and `END` to stdout (more than is kept in memory, so it spills to
 *     `logs/loud.log.1.part.stdout`), then sleeps. Prints `ready` once all of it is in the spill
 *     file, and waits to be killed.
 *
 *   record-run.ts <stateDir> <runId> finish-locked
 *     `beginRun`, prints `ready`, waits for a line on stdin (the test then holds the database's
 *     write lock), runs two `true` steps with a 20 ms busy timeout, so nothing of it commits, and
 *     prints `closed: <error>` from `close()` before it exits.
 *
 *   record-run.ts <stateDir> <runId> claim
 *     Prints `ready`, waits for a line, claims the run (`claimRun`), prints the claim as JSON, and
 *     stays alive (its owner) until the next line.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { planToJson } from '../../../src/api/history.js';
import { runSpec } from '../../../src/api/run-spec.js';
import { LocalEngine } from '../../../src/engines/local/local-engine.js';
import { readProc } from '../../../src/execution/proc-tree.js';
import { SqliteRunStore, storeListener } from '../../../src/store/index.js';
import { commandStep, workflowSpec } from '../../helpers/step-factory.js';
import { runInfo } from './events.js';

const MODES = ['concurrent', 'crash', 'listener', 'spill', 'finish-locked', 'claim'] as const;
const [stateDir, runId, mode, stepsArg] = process.argv.slice(2);
if (stateDir === undefined || runId === undefined || !(MODES as readonly (string | undefined)[]).includes(mode)) {
  throw new TypeError(`usage: record-run.ts <stateDir> <runId> ${MODES.join(' | ')} [arg]`);
}

const lines = createInterface({ input: process.stdin });
function nextLine(): Promise<void> {
  return new Promise<void>((resolve) => lines.once('line', () => resolve()));
}

const store = new SqliteRunStore({
  stateDir,
  batchSize: 4,
  flushIntervalMs: 1,
  ...(mode === 'finish-locked' ? { busyTimeoutMs: 20, retryDelayMs: 60_000 } : {}),
  onError: (error) => {
    process.stderr.write(`store error: ${error.message}\n`);
    if (mode !== 'finish-locked') process.exitCode = 1;
  },
});
const engine = new LocalEngine();
const info = runInfo(runId, { name: `child-${process.pid}`, pidStartTime: readProc(process.pid)?.startTime ?? null });

if (mode === 'concurrent') {
  const steps = Number(stepsArg ?? 200);
  store.beginRun(info);
  process.stdout.write('ready\n');
  await nextLine();
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
} else if (mode === 'finish-locked') {
  store.beginRun(info);
  process.stdout.write('ready\n');
  await nextLine();
  lines.close();
  const spec = workflowSpec([commandStep('true', { id: 'one' }), commandStep('true', { id: 'two', needs: ['one'] })]);
  const summary = await engine.submit(spec, { runId, onEvent: storeListener(store) }).result;
  await engine.close();
  let closed = 'ok';
  try {
    store.close();
  } catch (error) {
    closed = (error as Error).message;
  }
  process.stdout.write(`${summary.status}\nclosed: ${closed}\n`);
} else if (mode === 'claim') {
  process.stdout.write('ready\n');
  await nextLine();
  process.stdout.write(`${JSON.stringify(store.claimRun(runId))}\n`);
  await nextLine();
  lines.close();
  store.close();
} else if (mode === 'spill') {
  const outputDir = stepsArg ?? '';
  const spec = workflowSpec([
    commandStep(`head -c 300000 /dev/zero | tr '\\0' x; echo; echo END; sleep 30`, { id: 'loud', timeout: 0, cwd: outputDir }),
  ]);
  void runSpec(spec, {
    outputDir,
    reports: [],
    onEvent: storeListener(store),
    onStart: (run) => {
      const plan = planToJson({ spec, runDir: run.runDir, outputDir, projectRoot: outputDir });
      store.beginRun({ ...info, runId: run.runId, specJson: plan });
      process.stdout.write(`run ${run.runId}\n`);
    },
  });
  const timer = setInterval(() => {
    const [run] = store.listRuns({ limit: 1 });
    if (!run) return;
    const spill = path.join(outputDir, run.id, 'logs', 'loud.log.1.part.stdout');
    const size = (() => {
      try {
        return statSync(spill).size;
      } catch {
        return 0;
      }
    })();
    if (size >= 300_005 && store.getSteps(run.id)[0]?.status === 'running') {
      clearInterval(timer);
      process.stdout.write('ready\n');
    }
  }, 10);
} else {
  if (mode === 'crash') store.beginRun(info);
  const spec = workflowSpec([
    commandStep('exit 0', { id: 'fast' }),
    commandStep('sleep 30', { id: 'slow', timeout: 0 }),
  ]);
  void engine.submit(spec, { runId, onEvent: storeListener(store) });
  const timer = setInterval(() => {
    const steps = store.getSteps(runId);
    const fast = steps.find((s) => s.stepId === 'fast');
    const slow = steps.find((s) => s.stepId === 'slow');
    if ((mode === 'listener' || fast?.status === 'succeeded') && slow?.status === 'running' && slow.pid !== null) {
      clearInterval(timer);
      process.stdout.write('ready\n');
    }
  }, 10);
}
