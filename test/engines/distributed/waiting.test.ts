import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/core/events.js';
import { StepWorker } from '../../../src/engines/distributed/index.js';
import type { RedisServer } from '../../helpers/redis-server.js';
import { distributedRig } from './helpers/redis-per-test.js';
import { commandStep, scriptStep, workflowSpec } from '../../helpers/step-factory.js';

let server: RedisServer;
let dir: string;
const cleanups: (() => Promise<void>)[] = [];

const { engine } = distributedRig((s, d) => {
  server = s;
  dir = d;
}, cleanups);

/** Waits until `count` jobs wait in `name` (in Redis, not only handed to the coordinator). */
async function jobsWaiting(name: string, count: number): Promise<void> {
  const queue = new Queue(name, { connection: { host: '127.0.0.1', port: server.port }, prefix: 'orch' });
  try {
    const deadline = Date.now() + 10_000;
    while ((await queue.getWaitingCount()) < count) {
      if (Date.now() > deadline) throw new Error(`${count} job(s) never waited in ${name}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await queue.close();
  }
}

describe('distributed engine: steps waiting for a worker', () => {
  it('a step cancelled before any worker took its job is reported as never started, as the local engine does', async () => {
    const e = await engine();
    const events: RunEvent[] = [];
    const handle = e.submit(
      workflowSpec([commandStep('echo hi', { id: 'waits', cwd: dir, runsOn: { queue: 'nobody' } }), commandStep('echo hi', { id: 'tagged', cwd: dir, runsOn: { tags: ['gpu'] } })]),
      { projectRoot: dir, onEvent: (ev) => events.push(ev) },
    );
    await jobsWaiting('nobody', 1);
    await jobsWaiting('steps.gpu', 1);
    handle.cancel();
    const summary = await handle.result;
    expect(summary.status).toBe('cancelled');
    for (const step of summary.steps) {
      expect(step.status).toBe('cancelled');
      expect(step.attempts).toBe(0);
      expect(step.startedAt).toBeNull();
      expect(step.durationMs).toBe(0);
      expect(step.command).toEqual([]);
    }
    expect(events.filter((ev) => ev.type === 'step-started')).toEqual([]);
  });

  it('says once per queue when a step waits in a queue no worker serves, and keeps waiting', async () => {
    const notices: string[] = [];
    let heard!: () => void;
    const bothHeard = new Promise<void>((resolve) => (heard = resolve));
    const e = await engine({
      noWorkerNoticeAfter: 100,
      onNotice: (message) => {
        notices.push(message);
        if (notices.length === 2) heard();
      },
    });
    // A queue whose worker is busy: its waiting step is no typo, and nothing is said of it.
    const busy = await StepWorker.start({ redis: server.url, root: dir, stateDir: `${dir}/.worker`, queue: 'busy', concurrency: 1 });
    cleanups.push(() => busy.close());
    const handle = e.submit(
      workflowSpec([
        commandStep('exec sleep 30', { id: 'busy1', cwd: dir, runsOn: { queue: 'busy' } }),
        commandStep('exec sleep 30', { id: 'busy2', cwd: dir, runsOn: { queue: 'busy' } }),
        commandStep('echo hi', { id: 'a', cwd: dir, runsOn: { queue: 'nobody' } }),
        commandStep('echo hi', { id: 'b', cwd: dir, runsOn: { queue: 'nobody' } }),
        commandStep('echo hi', { id: 'gpu', cwd: dir, runsOn: { tags: ['gpu'] } }),
      ], { concurrency: 10 }),
      { projectRoot: dir },
    );
    await bothHeard;
    await jobsWaiting('busy', 1);
    expect(notices.sort()).toEqual([
      expect.stringMatching(/^step [ab] is waiting for a worker on queue "nobody" \(no worker serves it yet; start one with: orchestrator worker --queue nobody \.\.\.\)$/),
      'step gpu is waiting for a worker on queue "steps" with tags gpu (no worker serves it yet; start one with: orchestrator worker --tags gpu ...)',
    ]);
    handle.cancel();
    const summary = await handle.result;
    expect(summary.status).toBe('cancelled');
    expect(notices).toHaveLength(2);
  });
});

describe('distributed engine: a worker with another secret', () => {
  async function worker(secret: string, log: string[]): Promise<StepWorker> {
    const w = await StepWorker.start({ redis: server.url, root: dir, stateDir: `${dir}/.worker`, concurrency: 4, secret, log: (line) => log.push(line) });
    cleanups.push(() => w.close());
    return w;
  }

  it('leaves the jobs it refuses to a worker with the right secret: every step succeeds, no attempt is lost', async () => {
    const badLog: string[] = [];
    const bad = await worker('wrong', badLog);
    const good = await worker('right', []);
    const e = await engine({ secret: 'right' });
    const steps = Array.from({ length: 30 }, (_, i) => commandStep('echo "$ORCHESTRATOR_WORKER_ID"', { id: `s${i}`, cwd: dir }));
    const summary = await e.submit(workflowSpec(steps, { concurrency: 30 }), { projectRoot: dir }).result;
    expect(summary.steps.filter((s) => s.status !== 'succeeded').map((s) => `${s.id}: ${s.message ?? ''}`)).toEqual([]);
    expect(summary.steps.every((s) => s.attempts === 1 && s.stdoutTail.trim() === good.id)).toBe(true);
    // The bad worker did take jobs, refused them, and said so.
    expect(badLog.some((line) => line.includes('its signature does not match') && line.includes('left for another worker'))).toBe(true);
    expect(bad.running).toBe(0);
  });

  it('a job every worker refuses fails at once, naming the refusing workers', async () => {
    const bad1 = await worker('wrong', []);
    const bad2 = await worker('other', []);
    const e = await engine({ secret: 'right' });
    const summary = await e.submit(workflowSpec([commandStep('touch ran', { id: 'x', cwd: dir })]), { projectRoot: dir }).result;
    const step = summary.steps[0];
    expect(step?.status).toBe('failed');
    expect(step?.reason).toBe('job-refused');
    expect(step?.attempts).toBe(1);
    expect(step?.message).toContain('its signature does not match');
    expect(step?.message).toContain('refused by all 2 workers:');
    expect(step?.message).toContain(bad1.id);
    expect(step?.message).toContain(bad2.id);
  });
});

describe('distributed engine: a worker started in another folder', () => {
  it('says a missing script is looked for under its root, and how to start it', async () => {
    const { mkdir, writeFile, chmod } = await import('node:fs/promises');
    const project = `${dir}/project`;
    const elsewhere = `${dir}/elsewhere`;
    await mkdir(project, { recursive: true });
    await mkdir(elsewhere, { recursive: true });
    await writeFile(`${project}/hello.sh`, '#!/bin/sh\necho hello\n');
    await chmod(`${project}/hello.sh`, 0o755);
    const w = await StepWorker.start({ redis: server.url, root: elsewhere, stateDir: `${dir}/.worker`, queue: 'wrong-root', concurrency: 1 });
    cleanups.push(() => w.close());
    const e = await engine();
    const summary = await e.submit(workflowSpec([{ ...scriptStep(`${project}/hello.sh`, { id: 'hello', cwd: project }), runsOn: { queue: 'wrong-root' } }]), { projectRoot: project }).result;
    const step = summary.steps[0];
    expect(step?.reason).toBe('script-missing');
    expect(step?.message).toContain(`reads the project's paths from its root, ${elsewhere}: start it with --root <the project folder>`);
  });
});
