import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, makeTlsFiles, RedisServer } from '../helpers/redis-server.js';
import { WorkerProcess } from '../helpers/worker-process.js';
import { CliRig, isAlive, waitForFile, writeTwentyStepWorkflow } from './cli-rig.js';

interface RunJson {
  id: string;
  status: string;
}

let rig: CliRig;
let server: RedisServer;
let worker: WorkerProcess | undefined;

beforeEach(async () => {
  rig = await CliRig.create();
  server = await RedisServer.start();
});

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await server.kill();
  await rig.cleanup();
});

async function startWorker(env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
  worker = await WorkerProcess.start(['--redis', server.url, '--root', rig.root, '-j', '4', '--lock-duration', '2s'], env);
  return worker;
}

describe('orchestrator run --engine bullmq and orchestrator worker', () => {
  it('runs a workflow file on a worker process with outputs, console, reports and logs of the remote steps', async () => {
    await startWorker();
    await rig.write(
      'wf.yaml',
      [
        'name: remote',
        'steps:',
        '  - id: produce',
        '    run: echo "made on $ORCHESTRATOR_WORKER_ID"; echo "answer=42" >> "$ORCHESTRATOR_OUTPUT"',
        '  - id: consume',
        '    needs: produce',
        '    if: steps.produce.outputs.answer == 42',
        '    run: echo "got ${{ steps.produce.outputs.answer }}"',
        '',
      ].join('\n'),
    );
    const result = await rig.run(['run', 'wf.yaml', '--engine', 'bullmq', '--redis', server.url]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`Engine: bullmq on ${server.url}`);
    expect(result.stdout).toMatch(/2 succeeded/);
    const [runDir] = await rig.runDirs(rig.path('output'));
    const summary = await rig.summary(runDir as string);
    expect(summary.steps.find((s) => s.id === 'consume')?.stdoutTail).toContain('got 42');
    const runs = JSON.parse((await rig.run(['runs', '--json'])).stdout) as RunJson[];
    const logs = await rig.run(['logs', runs[0]?.id ?? '', 'produce']);
    expect(logs.stdout).toContain(`made on ${worker?.id ?? '?'}`);
  });

  it('after kill -9 of the coordinator the run is interrupted, nothing is left running, and resume finishes it on the workers', async () => {
    await startWorker();
    const { pidDir } = await writeTwentyStepWorkflow(rig);
    const { child, done } = rig.start(['run', 'wf.yaml', '--engine', 'bullmq', '--redis', server.url]);
    const pids = await Promise.all([1, 2, 3, 4].map((i) => waitForFile(`${pidDir}/long${i}`)));
    child.kill('SIGKILL');
    await done;
    const listed = await rig.run(['runs', '--json']);
    const [run] = JSON.parse(listed.stdout) as RunJson[];
    expect(run?.status).toBe('interrupted');
    // Same host: the recovery finds the worker's step processes by the run id in their environment.
    for (const pid of pids) expect(await isAlive(Number(pid)), `step process ${pid} left running`).toBe(false);
    await rig.write('gate', '');
    const resumed = await rig.run(['resume', run?.id ?? '', '--engine', 'bullmq', '--redis', server.url, '--json']);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    const detail = JSON.parse((await rig.run(['runs', 'show', run?.id ?? '', '--json'])).stdout) as {
      run: RunJson;
      steps: { stepId: string; status: string; attempt: number }[];
    };
    expect(detail.run.status).toBe('succeeded');
    expect(detail.steps.filter((s) => s.status === 'succeeded')).toHaveLength(20);
    expect((await readFile(rig.path('quick.count'), 'utf8')).trim().split('\n')).toHaveLength(16);
    expect(detail.steps.filter((s) => s.stepId.startsWith('quick')).every((s) => s.attempt === 1)).toBe(true);
  });

  it('signs jobs with $ORCHESTRATOR_SECRET; a worker with another secret refuses them', async () => {
    await startWorker({ ORCHESTRATOR_SECRET: 'worker-secret' });
    await rig.write('wf.yaml', 'name: signed\nsteps:\n  - id: x\n    run: touch ran\n');
    const refused = await rig.run(['run', 'wf.yaml', '--engine', 'bullmq', '--redis', server.url, '--json'], { ORCHESTRATOR_SECRET: 'other' });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('job-refused');
    const ok = await rig.run(['run', 'wf.yaml', '--engine', 'bullmq', '--redis', server.url], { ORCHESTRATOR_SECRET: 'worker-secret' });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });

  it('works over TLS (rediss://) with the CA the machine trusts; an untrusted certificate is a clear error', async () => {
    const tls = await RedisServer.start({ tls: makeTlsFiles(rig.root), password: 'tls-pw' });
    try {
      const trust = { NODE_EXTRA_CA_CERTS: tls.tls?.ca ?? '' };
      worker = await WorkerProcess.start(['--redis', tls.url, '--root', rig.root], trust);
      await rig.write('wf.yaml', 'name: tls\nsteps:\n  - id: x\n    run: echo over-tls\n');
      const ok = await rig.run(['run', 'wf.yaml', '--engine', 'bullmq', '--redis', tls.url], trust);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toContain(`Engine: bullmq on rediss://:***@127.0.0.1:${tls.port}`);
      const untrusted = await rig.run(['run', 'wf.yaml', '--engine', 'bullmq', '--redis', tls.url]);
      expect(untrusted.code).toBe(2);
      expect(untrusted.stderr).toMatch(/is unreachable.*certificate/);
    } finally {
      await worker?.stop();
      worker = undefined;
      await tls.kill();
    }
  });

  it('an unreachable Redis is a clear error, and nothing runs', async () => {
    await rig.write('wf.yaml', 'name: x\nsteps:\n  - id: x\n    run: touch ran\n');
    const port = await freePort();
    const result = await rig.run(['run', 'wf.yaml', '--engine', 'bullmq', '--redis', `redis://:hidden@127.0.0.1:${port}`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Redis at redis://:***@127.0.0.1:${port} is unreachable`);
    // A refused connection gives up after a few tries: the message says so, not the 5 s timeout it never waited.
    expect(result.stderr).toMatch(/is unreachable \(gave up after 3 failed attempts in [\d.]+m?s\): connect ECONNREFUSED/);
    expect(result.stderr).not.toContain('hidden');
    const worker = await rig.run(['worker', '--redis', `redis://127.0.0.1:${port}`]);
    expect(worker.code).toBe(2);
    expect(worker.stderr).toContain('is unreachable');
  });

  it('--redis, --queue and --secret-file without --engine bullmq are an error, not a silent local run; the env var alone is fine', async () => {
    await rig.write('wf.yaml', 'name: x\nsteps:\n  - id: x\n    run: touch ran\n');
    await rig.write('secret', 'shh\n');
    for (const flags of [['--redis', server.url], ['--queue', 'foo'], ['--secret-file', 'secret'], ['--engine', 'local', '--redis', server.url]]) {
      const result = await rig.run(['run', 'wf.yaml', ...flags]);
      expect(result.code, flags.join(' ')).toBe(2);
      expect(result.stderr).toContain(`${flags.includes('--queue') ? '--queue' : flags.includes('--secret-file') ? '--secret-file' : '--redis'} needs --engine bullmq`);
    }
    await expect(readFile(rig.path('ran'))).rejects.toThrow();
    const fromEnv = await rig.run(['run', 'wf.yaml'], { ORCHESTRATOR_REDIS_URL: server.url });
    expect(fromEnv.code, fromEnv.stdout + fromEnv.stderr).toBe(0);
  });

  it('rerun or resume of a bullmq run without --engine is refused, not run locally', async () => {
    await startWorker();
    await rig.write('wf.yaml', 'name: x\nsteps:\n  - id: x\n    run: exit 3\n');
    const first = await rig.run(['run', 'wf.yaml', '--engine', 'bullmq', '--redis', server.url]);
    expect(first.code).toBe(1);
    const [run] = JSON.parse((await rig.run(['runs', '--json'])).stdout) as RunJson[];
    for (const command of ['rerun', 'resume']) {
      const again = await rig.run([command, run?.id ?? '']);
      expect(again.code, again.stdout + again.stderr).toBe(2);
      expect(again.stderr).toContain('this run used --engine bullmq: pass --engine bullmq again');
    }
    const local = await rig.run(['rerun', run?.id ?? '', '--engine', 'local']);
    expect(local.code).toBe(1);
    expect(local.stdout).not.toContain('Engine: bullmq');
  });
});
