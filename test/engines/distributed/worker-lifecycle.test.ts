import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/core/events.js';
import type { StepSpec } from '../../../src/core/spec.js';
import { DistributedEngine, StepWorker } from '../../../src/engines/distributed/index.js';
import { keys, PROTOCOL_VERSION, sealJob, toWire, type WireAttempt } from '../../../src/engines/distributed/protocol.js';
import { fileNameFor } from '../../../src/util/file-name.js';
import { isProcessAlive, livePidsWithEnv } from '../../helpers/processes.js';
import { RedisServer } from '../../helpers/redis-server.js';
import { redisPerTest, until } from './helpers/redis-per-test.js';
import { commandStep, moduleStep, workflowSpec } from '../../helpers/step-factory.js';
import { SourceWorker } from './helpers/source-worker.js';

let server: RedisServer;
let dir: string;
const cleanups: (() => Promise<unknown>)[] = [];

redisPerTest((s, d) => {
  server = s;
  dir = d;
}, cleanups);

async function engine(): Promise<DistributedEngine> {
  const e = await DistributedEngine.connect({ redis: server.url, reconcileInterval: 300 });
  cleanups.push(() => e.close());
  return e;
}

async function inProcessWorker(stateDir = path.join(dir, '.worker')): Promise<StepWorker> {
  const w = await StepWorker.start({ redis: server.url, root: dir, stateDir, concurrency: 4, lockDuration: 2000 });
  cleanups.push(() => w.close());
  return w;
}

async function sourceWorker(): Promise<SourceWorker> {
  const w = await SourceWorker.start(server.url, dir, path.join(dir, '.worker'));
  cleanups.push(() => w.stop('SIGKILL'));
  return w;
}

function redis(...args: string[]): string {
  return execFileSync('redis-cli', ['-p', String(server.port), ...args], { encoding: 'utf8' }).trim();
}

const waitFor = until;

/** `count` inline functions that each append their number to `file`. */
async function appendingSteps(count: number, file: string, prefix = 's'): Promise<StepSpec[]> {
  await writeFile(path.join(dir, 'append.mjs'), "import { appendFileSync } from 'node:fs';\nexport function append(i, file) { appendFileSync(file, `${i}\\n`); return i; }\n");
  return Array.from({ length: count }, (_, i) => moduleStep(`${prefix}${i}`, path.join(dir, 'append.mjs'), 'append', [i, file], { cwd: dir, isolation: 'inline' }));
}

describe('distributed engine: worker lifecycle', () => {
  it('a worker stopped with SIGTERM mid-step: the step runs again on another worker as attempt 2 (worker-lost), its dependent runs, nothing of the first worker is left', async () => {
    const first = await sourceWorker();
    const e = await engine();
    // Attempt 1 writes where it runs and waits for a gate file that never comes; attempt 2 goes on.
    const gated = commandStep(
      'echo "$ORCHESTRATOR_WORKER_ID $$" > "attempt-$ORCHESTRATOR_ATTEMPT"; if [ "$ORCHESTRATOR_ATTEMPT" = 1 ]; then while [ ! -f gate ]; do sleep 0.02; done; fi',
      { id: 'gated', cwd: dir, timeout: 0 },
    );
    const events: RunEvent[] = [];
    const handle = e.submit(workflowSpec([gated, commandStep('echo after', { id: 'after', cwd: dir, needs: ['gated'] })]), {
      projectRoot: dir,
      onEvent: (ev) => events.push(ev),
    });
    await waitFor(() => existsSync(path.join(dir, 'attempt-1')));
    const [ranOn, pid] = (await readFile(path.join(dir, 'attempt-1'), 'utf8')).trim().split(' ');
    expect(ranOn).toBe(first.id);
    const second = await inProcessWorker(path.join(dir, '.worker-2'));
    expect(await first.stop('SIGTERM')).toBe(0);
    // The first worker killed its step's tree before it exited.
    expect(isProcessAlive(Number(pid))).toBe(false);
    expect(livePidsWithEnv('ORCHESTRATOR_WORKER_ID', first.id)).toEqual([]);
    const summary = await handle.result;
    expect(summary.status).toBe('succeeded');
    expect(summary.steps.find((s) => s.id === 'gated')).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(summary.steps.find((s) => s.id === 'after')?.status).toBe('succeeded');
    expect((await readFile(path.join(dir, 'attempt-2'), 'utf8')).split(' ')[0]).toBe(second.id);
    const retrying = events.filter((ev) => ev.type === 'step-retrying');
    expect(retrying).toHaveLength(1);
    expect(retrying[0]).toMatchObject({ stepId: 'gated', attempt: 1, delayMs: 0, reason: 'worker-lost' });
  });

  it('a run cancelled while its packs wait in the queue: they are taken out, and a worker started later runs nothing of it', async () => {
    const e = await engine();
    const ran = path.join(dir, 'ran');
    const handle = e.submit(workflowSpec(await appendingSteps(100, ran), { concurrency: 100 }), { projectRoot: dir });
    // 100 inline functions travel 4 to a job: wait until the 25 packs are in the queue.
    await waitFor(() => redis('llen', 'orch:steps:wait') === '25');
    const cancelledAt = Date.now();
    handle.cancel('enough');
    const summary = await handle.result;
    expect(summary.status).toBe('cancelled');
    expect(summary.counts).toMatchObject({ cancelled: 100, total: 100 });
    const endedAfter = Date.now() - cancelledAt;
    await inProcessWorker();
    // Whatever the worker finds in the queue, it takes and finishes.
    await waitFor(() => redis('llen', 'orch:steps:wait') === '0' && redis('llen', 'orch:steps:active') === '0');
    expect(existsSync(ran)).toBe(false);
    // Taken out of the queue at once: no wait for the watchdog (kill grace + 10 s).
    expect(endedAfter).toBeLessThan(8000);
  });

  it('a packed step marked cancelled in Redis is skipped by a worker that never heard the cancel; the rest of its pack runs', async () => {
    const ran = path.join(dir, 'ran');
    const [keep, drop] = await appendingSteps(2, ran);
    const members = [keep, drop].map((step, i) => {
      const id = `run-1|${step?.id ?? ''}|1|x`;
      return { id, data: sealJob({ v: PROTOCOL_VERSION, runId: 'run-1', stepId: step?.id ?? '', attempt: 1, step: toWire(step as never, dir), relay: false, issuedAt: Date.now() + i, id }, undefined) };
    });
    const dropped = members[1]?.id ?? '';
    redis('set', keys.cancelled('orch', dropped), 'cancelled', 'EX', '60');
    const { Queue } = await import('bullmq');
    const queue = new Queue('steps', { connection: { host: '127.0.0.1', port: server.port }, prefix: 'orch' });
    cleanups.push(() => queue.close());
    await queue.add('pack', { batch: members.map((m) => m.data) }, { jobId: 'pack-1' });
    await inProcessWorker();
    await waitFor(async () => (await queue.getJob('pack-1'))?.finishedOn !== undefined);
    const job = await queue.getJob('pack-1');
    expect(job?.failedReason).toBeFalsy();
    const results = JSON.parse(job?.returnvalue as string) as Record<string, string>;
    const attempts = Object.fromEntries(Object.entries(results).map(([id, json]) => [id, JSON.parse(json) as WireAttempt]));
    expect(attempts[members[0]?.id ?? '']?.status).toBe('succeeded');
    expect(attempts[dropped]?.status).toBe('cancelled');
    expect((await readFile(ran, 'utf8')).trim().split('\n')).toEqual(['0']);
  });

  it("a worker names a step's log file after the step id made safe, never a path the id spells", async () => {
    await inProcessWorker();
    const e = await engine();
    const summary = await e.submit(workflowSpec([commandStep('echo hi', { id: 'lib/../../build', cwd: dir })]), { projectRoot: dir }).result;
    expect(summary.status).toBe('succeeded');
    const runDir = path.join(dir, '.worker', 'runs', fileNameFor(summary.runId));
    expect((await readdir(runDir)).filter((name) => name !== 'scratch')).toEqual(['logs']);
    expect(await readdir(path.join(runDir, 'logs'))).toEqual([`${fileNameFor('lib/../../build')}.log`]);
    expect(await readFile(path.join(runDir, 'logs', `${fileNameFor('lib/../../build')}.log`), 'utf8')).toContain('hi');
  });
});
