import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliRig, isAlive, waitForFile, writeTwentyStepWorkflow } from './cli-rig.js';

interface RunJson {
  id: string;
  status: string;
  counts: Record<string, number>;
}
interface ShowJson {
  run: RunJson;
  steps: { stepId: string; status: string; attempt: number }[];
}

let rig: CliRig;
beforeEach(async () => {
  rig = await CliRig.create();
});
afterEach(async () => {
  await rig.cleanup();
});

async function runs(): Promise<RunJson[]> {
  const result = await rig.run(['runs', '--json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as RunJson[];
}

async function show(id: string): Promise<ShowJson> {
  const result = await rig.run(['runs', 'show', id, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as ShowJson;
}

describe('run history', () => {
  it('records every run with its steps, and logs reads a step log back', async () => {
    await rig.write('scripts/a.sh', 'echo alpha\n');
    await rig.write('scripts/b.sh', 'echo "broken here" >&2\nexit 3\n');
    expect((await rig.run(['run', 'scripts'])).code).toBe(1);
    const [run] = await runs();
    expect(run).toMatchObject({ status: 'failed' });
    const detail = await show(run?.id ?? '');
    expect(detail.steps.map((s) => [s.stepId, s.status])).toEqual([
      ['a.sh', 'succeeded'],
      ['b.sh', 'failed'],
    ]);
    const logs = await rig.run(['logs', (run?.id ?? '').slice(0, 12), 'b.sh', '--tail', '2']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('broken here');
  });

  it('rerun --failed runs exactly the failed steps and their dependents', async () => {
    const marker = rig.path('fixed');
    await rig.write(
      'wf.yaml',
      [
        'name: pipeline',
        'steps:',
        '  - id: ok',
        `    run: echo ok >> "${rig.path('ok.count')}"`,
        '  - id: flaky',
        `    run: test -f "${marker}"`,
        '  - id: after',
        '    needs: flaky',
        `    run: echo after >> "${rig.path('after.count')}"`,
        '  - id: independent',
        '    needs: ok',
        `    run: echo ind >> "${rig.path('ind.count')}"`,
        '',
      ].join('\n'),
    );
    expect((await rig.run(['run', 'wf.yaml', '--fail-fast', 'continue'])).code).toBe(1);
    const [first] = await runs();
    await rig.write('fixed', '');
    const rerun = await rig.run(['rerun', first?.id ?? '', '--failed']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect((await readFile(rig.path('ok.count'), 'utf8')).trim().split('\n')).toHaveLength(1);
    expect((await readFile(rig.path('ind.count'), 'utf8')).trim().split('\n')).toHaveLength(1);
    expect((await readFile(rig.path('after.count'), 'utf8')).trim().split('\n')).toHaveLength(1);
    const [latest] = await runs();
    expect(latest?.id).not.toBe(first?.id);
    expect(latest?.status).toBe('succeeded');
  });

  it('after kill -9 of the orchestrator the run is interrupted, nothing is left running, and resume finishes it', async () => {
    const { pidDir } = await writeTwentyStepWorkflow(rig);
    const { child, done } = rig.start(['run', 'wf.yaml']);
    const pids = await Promise.all([1, 2, 3, 4].map((i) => waitForFile(`${pidDir}/long${i}`)));
    child.kill('SIGKILL');
    await done;
    const listed = await rig.run(['runs', '--json']);
    expect(listed.stderr).toContain('was interrupted');
    const [run] = JSON.parse(listed.stdout) as RunJson[];
    expect(run?.status).toBe('interrupted');
    for (const pid of pids) expect(await isAlive(Number(pid)), `step process ${pid} left running`).toBe(false);
    await rig.write('gate', '');
    const resumed = await rig.run(['resume', run?.id ?? '']);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    const detail = await show(run?.id ?? '');
    expect(detail.run.status).toBe('succeeded');
    expect(detail.steps).toHaveLength(20);
    expect(detail.steps.every((s) => s.status === 'succeeded')).toBe(true);
    // The 16 quick steps ran once, in the first attempt of the run; resume did not touch them.
    expect((await readFile(rig.path('quick.count'), 'utf8')).trim().split('\n')).toHaveLength(16);
    expect(detail.steps.filter((s) => s.stepId.startsWith('quick')).every((s) => s.attempt === 1)).toBe(true);
  });

  it('cancel from another terminal stops the running orchestrator, which records cancelled steps', async () => {
    const pidFile = rig.path('pid');
    await rig.write('scripts/forever.sh', `echo $$ > "${pidFile}"\nsleep 1000\n`);
    const { done } = rig.start(['run', 'scripts']);
    const pid = Number(await waitForFile(pidFile));
    const [run] = await runs();
    const cancel = await rig.run(['cancel', run?.id ?? '']);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain('ended: cancelled');
    expect((await done).code).toBe(1);
    expect(await isAlive(pid)).toBe(false);
    expect((await show(run?.id ?? '')).steps[0]?.status).toBe('cancelled');
  });

  it('two runs at once on one state folder, 200 steps each, are both recorded completely', async () => {
    const steps = ['name: many', 'concurrency: 8', 'steps:'];
    for (let i = 0; i < 200; i += 1) steps.push(`  - id: s${i}`, '    run: "true"');
    await rig.write('a.yaml', steps.join('\n').replace('name: many', 'name: many-a') + '\n');
    await rig.write('b.yaml', steps.join('\n').replace('name: many', 'name: many-b') + '\n');
    const [a, b] = await Promise.all([rig.run(['run', 'a.yaml', '--reporter', 'json']), rig.run(['run', 'b.yaml', '--reporter', 'json'])]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    const all = await runs();
    expect(all).toHaveLength(2);
    for (const run of all) {
      expect(run.status).toBe('succeeded');
      expect(run.counts.succeeded).toBe(200);
    }
  });

  it('prune keeps the newest runs', async () => {
    await rig.write('scripts/a.sh', 'exit 0\n');
    for (let i = 0; i < 3; i += 1) expect((await rig.run(['run', 'scripts', '--reporter', 'json'])).code).toBe(0);
    const pruned = await rig.run(['prune', '--keep', '1']);
    expect(pruned.stdout).toContain('Pruned 2 run(s)');
    expect(await runs()).toHaveLength(1);
  });
});
