import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/core/events.js';
import { DistributedEngine, StepWorker } from '../../../src/engines/distributed/index.js';
import { isProcessAlive } from '../../helpers/processes.js';
import { freePort, RedisServer } from '../../helpers/redis-server.js';
import { distributedRig, until } from './helpers/redis-per-test.js';
import { commandStep, retryPolicy, workflowSpec } from '../../helpers/step-factory.js';
import { WorkerProcess } from '../../helpers/worker-process.js';

let server: RedisServer;
let dir: string;
const cleanups: (() => Promise<void>)[] = [];

const { engine, worker: inProcessWorker } = distributedRig((s, d) => {
  server = s;
  dir = d;
}, cleanups);

async function workerProcess(extra: string[] = []): Promise<WorkerProcess> {
  const w = await WorkerProcess.start(['--redis', server.url, '--root', dir, '--state-dir', path.join(dir, '.worker'), '--lock-duration', '2s', '-j', '4', ...extra]);
  cleanups.push(() => w.stop());
  return w;
}

const waitFor = until;

describe('distributed engine: faults', () => {
  it('kill -9 of a worker mid-step: the step runs again elsewhere (attempt 2, worker-lost), the orphan is killed, the run succeeds', async () => {
    const victim = await workerProcess();
    const e = await engine();
    // Attempt 1 writes its pid and hangs; attempt 2 finishes at once.
    const step = commandStep(
      'echo "$ORCHESTRATOR_WORKER_ID $$" > "attempt-$ORCHESTRATOR_ATTEMPT"; if [ "$ORCHESTRATOR_ATTEMPT" = 1 ]; then exec sleep 60; fi; echo done',
      { id: 'long', cwd: dir, timeout: 0 },
    );
    const events: RunEvent[] = [];
    const handle = e.submit(workflowSpec([step]), { projectRoot: dir, onEvent: (ev) => events.push(ev) });
    await waitFor(() => existsSync(path.join(dir, 'attempt-1')));
    const [ranOn, pid] = (await readFile(path.join(dir, 'attempt-1'), 'utf8')).trim().split(' ');
    expect(ranOn).toBe(victim.id);
    await victim.kill('SIGKILL');
    expect(isProcessAlive(Number(pid))).toBe(true);
    // Only now does another worker exist: the step cannot have gone to it first.
    const survivor = await inProcessWorker();
    const summary = await handle.result;
    expect(summary.status).toBe('succeeded');
    const result = summary.steps[0];
    expect(result?.attempts).toBe(2);
    expect((await readFile(path.join(dir, 'attempt-2'), 'utf8')).split(' ')[0]).toBe(survivor.id);
    const retrying = events.find((ev) => ev.type === 'step-retrying');
    expect(retrying && 'reason' in retrying ? retrying.reason : undefined).toBe('worker-lost');
    // The survivor found the dead worker's tree by its marker and killed it.
    await waitFor(() => !isProcessAlive(Number(pid)), 10_000);
  });

  it('three workers run a 50-step matrix workflow; killing one mid-run still gives a successful run with every step accounted for', async () => {
    const workers = [await workerProcess(), await workerProcess(), await workerProcess()];
    const e = await engine();
    const steps = [];
    for (let i = 0; i < 10; i++) {
      for (const shard of ['a', 'b', 'c', 'd', 'e']) {
        steps.push(
          commandStep(`sleep 0.15; echo "$ORCHESTRATOR_STEP_ID" >> "done-$ORCHESTRATOR_WORKER_ID"`, {
            id: `work-${i}-${shard}`,
            cwd: dir,
            matrix: { shard },
            matrixOf: `work-${i}`,
            ...(i > 0 ? { needs: [`work-${i - 1}-a`, `work-${i - 1}-b`, `work-${i - 1}-c`, `work-${i - 1}-d`, `work-${i - 1}-e`] } : {}),
          }),
        );
      }
    }
    let finished = 0;
    const handle = e.submit(workflowSpec(steps, { concurrency: 12, failurePolicy: 'no-new' }), {
      projectRoot: dir,
      onEvent: (ev) => {
        if (ev.type === 'step-finished') finished += 1;
      },
    });
    await waitFor(() => finished >= 12);
    await workers[1]?.kill('SIGKILL');
    const summary = await handle.result;
    expect(summary.status).toBe('succeeded');
    expect(summary.steps).toHaveLength(50);
    expect(summary.steps.every((s) => s.status === 'succeeded')).toBe(true);
    const doneFiles = (await readdir(dir)).filter((f) => f.startsWith('done-'));
    const lines = (await Promise.all(doneFiles.map((f) => readFile(path.join(dir, f), 'utf8')))).flatMap((t) => t.trim().split('\n'));
    // Every step finished at least once; a step cut off with its worker may have run twice.
    expect(new Set(lines).size).toBe(50);
    expect(doneFiles.length).toBeGreaterThanOrEqual(2);
  });

  it('Redis killed and started again mid-run: the run completes or fails with a clear reason, never hangs', async () => {
    await inProcessWorker();
    const e = await engine({ redisTimeout: 4000 });
    const handle = e.submit(
      workflowSpec([
        commandStep('touch started; while [ ! -f go ]; do sleep 0.02; done', { id: 'wait', cwd: dir }),
        commandStep('echo after', { id: 'after', cwd: dir, needs: ['wait'] }),
      ]),
      { projectRoot: dir },
    );
    await waitFor(() => existsSync(path.join(dir, 'started')));
    await server.kill();
    await server.start();
    await writeFile(path.join(dir, 'go'), '');
    const started = Date.now();
    const summary = await handle.result;
    expect(Date.now() - started).toBeLessThan(20_000);
    if (summary.status !== 'succeeded') {
      const failed = summary.steps.find((s) => s.status === 'failed');
      expect(['worker-lost', 'queue-unavailable']).toContain(failed?.reason);
      expect(failed?.message).toBeTruthy();
    } else {
      expect(summary.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded']);
    }
  });

  it('Redis gone for good mid-run: waiting steps fail with queue-unavailable after the timeout', async () => {
    await inProcessWorker();
    const e = await engine({ redisTimeout: 1500 });
    const handle = e.submit(workflowSpec([commandStep('touch started; exec sleep 30', { id: 'wait', cwd: dir })]), { projectRoot: dir });
    await waitFor(() => existsSync(path.join(dir, 'started')));
    await server.kill();
    const started = Date.now();
    const summary = await handle.result;
    expect(Date.now() - started).toBeLessThan(8000);
    expect(summary.steps[0]?.reason).toBe('queue-unavailable');
    expect(summary.steps[0]?.message).toMatch(/unreachable/);
    // The worker could not hear a cancel: its step is killed when the worker closes.
  });

  it('Redis unreachable at start: a clear error within a few seconds', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(DistributedEngine.connect({ redis: `redis://127.0.0.1:${port}`, connectTimeout: 2000 })).rejects.toThrow(
      new RegExp(`Redis at redis://127.0.0.1:${port} is unreachable`),
    );
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(StepWorker.start({ redis: `redis://127.0.0.1:${port}`, root: dir, connectTimeout: 2000 })).rejects.toThrow(/unreachable/);
  });
});

describe('distributed engine: security and routing', () => {
  it('with a shared secret, workers refuse unsigned and altered jobs and run signed ones', async () => {
    await inProcessWorker({ secret: 's3cret' });
    const unsigned = await engine();
    const refused = await unsigned.submit(workflowSpec([commandStep('touch ran', { id: 'x', cwd: dir })]), { projectRoot: dir }).result;
    expect(refused.steps[0]?.reason).toBe('job-refused');
    expect(refused.steps[0]?.message).toMatch(/unsigned/);
    expect(existsSync(path.join(dir, 'ran'))).toBe(false);

    const wrong = await engine({ secret: 'other' });
    const altered = await wrong.submit(workflowSpec([commandStep('touch ran', { id: 'x', cwd: dir })]), { projectRoot: dir }).result;
    expect(altered.steps[0]?.reason).toBe('job-refused');
    expect(altered.steps[0]?.message).toMatch(/signature/);

    const signed = await engine({ secret: 's3cret' });
    const ok = await signed.submit(workflowSpec([commandStep('touch ran', { id: 'x', cwd: dir })]), { projectRoot: dir }).result;
    expect(ok.status).toBe('succeeded');
    expect(existsSync(path.join(dir, 'ran'))).toBe(true);
  });

  it('a password-protected Redis works through the URL', async () => {
    const secured = await RedisServer.start({ password: 'pw-123' });
    cleanups.push(() => secured.kill());
    const w = await StepWorker.start({ redis: secured.url, root: dir, stateDir: path.join(dir, '.worker') });
    cleanups.push(() => w.close());
    const e = await DistributedEngine.connect({ redis: secured.url });
    cleanups.push(() => e.close());
    expect(e.redisUrl).not.toContain('pw-123');
    const summary = await e.submit(workflowSpec([commandStep('echo hi', { id: 'x', cwd: dir })]), { projectRoot: dir }).result;
    expect(summary.status).toBe('succeeded');
    await expect(DistributedEngine.connect({ redis: `redis://:wrong@127.0.0.1:${secured.port}`, connectTimeout: 1500 })).rejects.toThrow(
      /unreachable.*(WRONGPASS|invalid)/i,
    );
  });

  it('steps go to workers by tags and queue', async () => {
    const plain = await inProcessWorker();
    const gpu = await inProcessWorker({ tags: ['gpu'], stateDir: path.join(dir, '.worker-gpu') });
    const e = await engine();
    const record = 'echo "$ORCHESTRATOR_WORKER_ID" > "$ORCHESTRATOR_STEP_ID.worker"';
    const summary = await e.submit(
      workflowSpec([
        commandStep(record, { id: 'needs-gpu', cwd: dir, runsOn: { tags: ['gpu'] } }),
        commandStep(record, { id: 'needs-gpu-2', cwd: dir, runsOn: { tags: ['gpu'] } }),
      ]),
      { projectRoot: dir },
    ).result;
    expect(summary.status).toBe('succeeded');
    for (const id of ['needs-gpu', 'needs-gpu-2']) expect((await readFile(path.join(dir, `${id}.worker`), 'utf8')).trim()).toBe(gpu.id);
    expect(plain.id).not.toBe(gpu.id);
    const other = await inProcessWorker({ queue: 'reports', stateDir: path.join(dir, '.worker-reports') });
    const routed = await e.submit(workflowSpec([commandStep(record, { id: 'report', cwd: dir, runsOn: { queue: 'reports' } })]), { projectRoot: dir }).result;
    expect(routed.status).toBe('succeeded');
    expect((await readFile(path.join(dir, 'report.worker'), 'utf8')).trim()).toBe(other.id);
  });

  it('refuses steps whose paths leave the workspace root, and in-process functions', async () => {
    const e = await engine();
    expect(() => e.submit(workflowSpec([commandStep('true', { id: 'x', cwd: '/usr' })]), { projectRoot: dir })).toThrow(
      /cwd \/usr is outside the workspace root/,
    );
    expect(() =>
      e.submit(
        workflowSpec([
          { ...commandStep('true', { id: 'f', cwd: dir }), kind: 'function', fn: () => 1 } as unknown as Parameters<typeof workflowSpec>[0][number],
        ]),
        { projectRoot: dir },
      ),
    ).toThrow(/in-process function/);
  });

  it('cancelling a run kills the process tree on the worker; remote output reaches the coordinator log', async () => {
    await inProcessWorker();
    const e = await engine();
    const runDir = path.join(dir, 'run');
    const output: string[] = [];
    const handle = e.submit(
      workflowSpec([commandStep('echo "line from the worker"; echo $$ > pid; exec sleep 60', { id: 'long', cwd: dir })]),
      { projectRoot: dir, runDir, emitOutput: true, onEvent: (ev) => ev.type === 'step-output' && output.push(ev.chunk.toString()) },
    );
    await waitFor(() => existsSync(path.join(dir, 'pid')) && output.join('').includes('line from the worker'));
    const pid = Number((await readFile(path.join(dir, 'pid'), 'utf8')).trim());
    handle.cancel('stop now');
    const summary = await handle.result;
    expect(summary.steps[0]?.status).toBe('cancelled');
    await waitFor(() => !isProcessAlive(pid), 5000);
    const log = await readFile(path.join(runDir, 'logs', 'long.log'), 'utf8');
    expect(log).toContain('line from the worker');
    expect(log).toMatch(/attempt 1 · worker \S+ \(full log there: /);
  });

  it('inline module functions run inside the worker process, with outputs and value', async () => {
    const worker = await workerProcess();
    const e = await engine();
    await writeFile(path.join(dir, 'tasks.mjs'), 'export function where(tag, ctx) { ctx.setOutput("tag", tag); return { pid: process.pid, worker: process.env.ORCHESTRATOR_WORKER_ID ?? null }; }\n');
    const summary = await e.submit(
      workflowSpec([
        { ...commandStep('', { id: 'inline', cwd: dir }), kind: 'module', module: path.join(dir, 'tasks.mjs'), export: 'where', args: ['t1'], isolation: 'inline' } as unknown as Parameters<typeof workflowSpec>[0][number],
        commandStep('echo "tag=${{ steps.inline.outputs.tag }}"', { id: 'after', cwd: dir, needs: ['inline'] }),
      ]),
      { projectRoot: dir },
    ).result;
    expect(summary.status).toBe('succeeded');
    expect(summary.steps[0]?.value).toEqual({ pid: worker.pid, worker: null });
    expect(summary.steps[1]?.stdoutTail).toContain('tag=t1');
  });

  it('inline functions ready together travel packed; a pack whose worker dies runs again elsewhere, every step accounted for', async () => {
    const victim = await workerProcess();
    const e = await engine();
    // Attempt 1 on the victim waits for a release that never comes; everywhere else it returns.
    await writeFile(
      path.join(dir, 'tasks.mjs'),
      [
        "import { existsSync, writeFileSync } from 'node:fs';",
        'export async function task(i, dir, victimPid, ctx) {',
        '  writeFileSync(`${dir}/ran-${i}-${ctx.attempt}`, String(process.pid));',
        '  while (process.pid === victimPid && !existsSync(`${dir}/release`)) await new Promise((r) => setTimeout(r, 20));',
        '  ctx.setOutput("i", String(i));',
        '  return i * 2;',
        '}',
      ].join('\n'),
    );
    const steps = Array.from({ length: 100 }, (_, i) => ({
      ...commandStep('', { id: `t${i}`, cwd: dir }),
      kind: 'module',
      module: path.join(dir, 'tasks.mjs'),
      export: 'task',
      args: [i, dir, victim.pid],
      isolation: 'inline',
    })) as unknown as Parameters<typeof workflowSpec>[0];
    const events: RunEvent[] = [];
    const handle = e.submit(workflowSpec(steps, { concurrency: 100 }), { projectRoot: dir, onEvent: (ev) => events.push(ev) });
    const ranOnVictim = async (): Promise<string[]> => {
      const names = (await readdir(dir)).filter((n) => /^ran-\d+-1$/.test(n));
      const pids = await Promise.all(names.map((n) => readFile(path.join(dir, n), 'utf8')));
      return names.filter((_, k) => Number(pids[k]) === victim.pid);
    };
    // The victim holds 4 jobs (-j 4); packed, they carry more than 4 steps, 4 of them running.
    await waitFor(async () => (await ranOnVictim()).length === 4);
    await victim.kill('SIGKILL');
    await workerProcess();
    const summary = await handle.result;
    expect(summary.status).toBe('succeeded');
    expect(summary.counts).toMatchObject({ succeeded: 100, total: 100 });
    for (let i = 0; i < 100; i++) expect(summary.steps.find((s) => s.id === `t${i}`)).toMatchObject({ value: i * 2, outputs: { i: String(i) } });
    const lost = events.filter((ev) => ev.type === 'step-retrying').map((ev) => ('reason' in ev ? ev.reason : undefined));
    // Every step of the victim's packs (more than the 4 it had started) ran again as attempt 2.
    expect(lost.length).toBeGreaterThan(4);
    expect(new Set(lost)).toEqual(new Set(['worker-lost']));
    const retried = summary.steps.filter((s) => s.attempts === 2).map((s) => s.id);
    expect(retried.length).toBe(lost.length);
    for (const name of await ranOnVictim()) expect(retried).toContain(`t${name.split('-')[1]}`);
    // Fewer BullMQ jobs than steps: they travelled packed.
    const jobs = Number(execFileSync('redis-cli', ['-p', String(server.port), 'zcard', 'orch:steps:completed'], { encoding: 'utf8' }).trim());
    expect(jobs).toBeGreaterThan(0);
    expect(jobs).toBeLessThan(100);
  });

  it('cancelling a run ends packed inline functions, running or still waiting in their pack', async () => {
    await workerProcess(['-j', '2']);
    const e = await engine();
    await writeFile(
      path.join(dir, 'stuck.mjs'),
      "import { writeFileSync } from 'node:fs';\nexport function stuck(i, dir) { writeFileSync(`${dir}/started-${i}`, ''); return new Promise(() => undefined); }\n",
    );
    const steps = Array.from({ length: 100 }, (_, i) => ({
      ...commandStep('', { id: `s${i}`, cwd: dir }),
      kind: 'module',
      module: path.join(dir, 'stuck.mjs'),
      export: 'stuck',
      args: [i, dir],
      isolation: 'inline',
    })) as unknown as Parameters<typeof workflowSpec>[0];
    const handle = e.submit(workflowSpec(steps, { concurrency: 100 }), { projectRoot: dir });
    await waitFor(async () => (await readdir(dir)).filter((n) => n.startsWith('started-')).length === 2);
    const cancelledAt = Date.now();
    handle.cancel('enough');
    const summary = await handle.result;
    // Well before the 10 s watchdog that would end a wait the worker never answers.
    expect(Date.now() - cancelledAt).toBeLessThan(8000);
    expect(summary.status).toBe('cancelled');
    expect(summary.counts).toMatchObject({ cancelled: 100, total: 100 });
    // Only the two that had started ran: the rest were skipped by the worker, having heard the cancel.
    expect((await readdir(dir)).filter((n) => n.startsWith('started-')).length).toBe(2);
  });

  it('retries follow the step policy across workers, and outputs flow to dependents', async () => {
    await inProcessWorker();
    await inProcessWorker({ stateDir: path.join(dir, '.worker-2') });
    const e = await engine();
    const summary = await e.submit(
      workflowSpec([
        commandStep('[ "$ORCHESTRATOR_ATTEMPT" -ge 3 ] || exit 7; echo "n=$ORCHESTRATOR_ATTEMPT" >> "$ORCHESTRATOR_OUTPUT"', {
          id: 'flaky',
          cwd: dir,
          retry: retryPolicy({ maxAttempts: 3, initialDelay: 10 }),
        }),
        commandStep('echo "got ${{ steps.flaky.outputs.n }}"', { id: 'next', cwd: dir, needs: ['flaky'] }),
      ]),
      { projectRoot: dir },
    ).result;
    expect(summary.status).toBe('succeeded');
    expect(summary.steps.find((s) => s.id === 'flaky')?.attempts).toBe(3);
    expect(summary.steps.find((s) => s.id === 'next')?.stdoutTail).toContain('got 3');
  });
});
