import { execFileSync, spawn } from 'node:child_process';
import { open, readdir, readFile, truncate } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rerunStoredRun } from '../../src/api/history.js';
import { SqliteRunStore, storeListener } from '../../src/store/index.js';
import { CliRig, isAlive, killIfAlive, waitForFile, waitForOutput, waitGone, within, writeSlowCleanupWorkflow, writeTwentyStepWorkflow } from './cli-rig.js';

interface RunJson {
  id: string;
  status: string;
  counts: Record<string, number>;
}
interface ShowJson {
  run: RunJson;
  steps: { stepId: string; status: string; attempt: number; logPath: string | null }[];
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

  it('rerun --step X runs only X: a step that failed before is carried over as it was, not run again', async () => {
    await rig.write(
      'wf.yaml',
      [
        'name: release',
        'steps:',
        '  - id: deploy',
        `    run: echo deploy >> "${rig.path('deploy.count')}"; exit 1`,
        '  - id: docs',
        `    run: echo docs >> "${rig.path('docs.count')}"`,
        '',
      ].join('\n'),
    );
    expect((await rig.run(['run', 'wf.yaml', '--fail-fast', 'continue'])).code).toBe(1);
    const [first] = await runs();
    const rerun = await rig.run(['rerun', first?.id ?? '', '--step', 'docs']);
    expect(rerun.stdout).toContain('1 step(s) kept from before, 1 to run');
    expect((await readFile(rig.path('docs.count'), 'utf8')).trim().split('\n')).toHaveLength(2);
    expect((await readFile(rig.path('deploy.count'), 'utf8')).trim().split('\n')).toHaveLength(1);
  });

  it("a matrix step's base id: rerun --step runs every combination, logs and explain list them", async () => {
    await rig.write(
      'wf.yaml',
      [
        'name: m',
        'steps:',
        '  - id: test',
        '    matrix:',
        '      py: ["3.11", "3.12"]',
        `    run: echo "\${{ matrix.py }}" >> "${rig.path('test.count')}"`,
        '  - id: other',
        `    run: echo other >> "${rig.path('other.count')}"`,
        '',
      ].join('\n'),
    );
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(0);
    const [first] = await runs();
    const id = first?.id ?? '';
    for (const args of [['logs', id, 'test'], ['explain', id, 'test']]) {
      const refused = await rig.run(args);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(
        `run ${id} has no step "test"; it is a matrix step: name one of its combinations: "test (py=3.11)", "test (py=3.12)"`,
      );
    }
    const rerun = await rig.run(['rerun', id, '--step', 'test']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain('1 step(s) kept from before, 2 to run');
    expect((await readFile(rig.path('test.count'), 'utf8')).trim().split('\n').sort()).toEqual(['3.11', '3.11', '3.12', '3.12']);
    expect((await readFile(rig.path('other.count'), 'utf8')).trim().split('\n')).toHaveLength(1);
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

  it('rerun --failed also reruns a dependent that succeeded on the failure (if: always()), so it sees the new result', async () => {
    await rig.write(
      'wf.yaml',
      [
        'name: rr3',
        'steps:',
        '  - id: test',
        '    run: echo test >> ran.log; echo "result=$(test -f fixed && echo pass || echo fail)" >> "$ORCHESTRATOR_OUTPUT"; test -f fixed',
        '  - id: publish-report',
        '    needs: test',
        '    if: always()',
        '    run: echo "publish ${{ needs.test.outputs.result }}" >> ran.log',
        '',
      ].join('\n'),
    );
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(1);
    const [first] = await runs();
    await rig.write('ran.log', '');
    await rig.write('fixed', '');
    const rerun = await rig.run(['rerun', first?.id ?? '', '--failed']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain('0 step(s) kept from before, 2 to run');
    expect((await readFile(rig.path('ran.log'), 'utf8')).trim().split('\n')).toEqual(['test', 'publish pass']);
  });

  it('rerun --failed of a matrix step: the failed combination and what depends on it run again, the combination that passed does not', async () => {
    await rig.write(
      'wf.yaml',
      [
        'name: m',
        'steps:',
        '  - id: test',
        '    matrix:',
        '      py: ["3.11", "3.12"]',
        `    run: echo "\${{ matrix.py }}" >> test.count; test "\${{ matrix.py }}" = 3.11 || test -f fixed`,
        '  - id: report',
        '    needs: test',
        '    if: always()',
        '    run: echo report >> report.count',
        '',
      ].join('\n'),
    );
    expect((await rig.run(['run', 'wf.yaml', '--fail-fast', 'continue'])).code).toBe(1);
    const [first] = await runs();
    await rig.write('fixed', '');
    const rerun = await rig.run(['rerun', first?.id ?? '']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain('1 step(s) kept from before, 2 to run');
    expect((await readFile(rig.path('test.count'), 'utf8')).trim().split('\n').sort()).toEqual(['3.11', '3.12', '3.12']);
    expect((await readFile(rig.path('report.count'), 'utf8')).trim().split('\n')).toHaveLength(2);
  });

  it('rerun refuses --failed with --step, and --downstream without --step, before it runs anything', async () => {
    await rig.write('wf.yaml', ['name: w', 'steps:', '  - id: b', '    run: echo b >> b.count; exit 1', ''].join('\n'));
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(1);
    const [first] = await runs();
    const id = first?.id ?? '';
    const both = await rig.run(['rerun', id, '--step', 'b', '--downstream', '--failed']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('error: `rerun` takes --failed or --step <id>, not both');
    const alone = await rig.run(['rerun', id, '--downstream']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('error: `rerun --downstream` needs --step <id>');
    expect((await readFile(rig.path('b.count'), 'utf8')).trim().split('\n')).toHaveLength(1);
    expect(await runs()).toHaveLength(1);
  });

  it('runs with filters that match nothing says so and names them; an empty history is "No runs recorded yet."', async () => {
    const empty = await rig.run(['runs', '--status', 'failed']);
    expect(empty.stdout).toBe('No runs recorded yet.\n');
    await rig.write('wf.yaml', ['name: w', 'steps:', '  - id: a', '    run: "true"', ''].join('\n'));
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(0);
    const byStatus = await rig.run(['runs', '--status', 'failed,timed-out']);
    expect(byStatus.code).toBe(0);
    expect(byStatus.stdout).toBe('No runs match --status failed,timed-out (`orchestrator runs` lists every run).\n');
    const both = await rig.run(['runs', '--name', 'nope', '--status', 'succeeded']);
    expect(both.stdout).toBe('No runs match --status succeeded --name "nope" (`orchestrator runs` lists every run).\n');
  });

  it('a rerun made with the library is recorded as the CLI records one: runs show names its command and folder, and the CLI reruns it', async () => {
    await rig.write('wf.yaml', ['name: lib', 'steps:', '  - id: b', `    run: echo b >> "${rig.path('b.count')}"; test -f "${rig.path('fixed')}"`, ''].join('\n'));
    expect((await rig.run(['run', 'wf.yaml', '--state-dir', 'state'])).code).toBe(1);
    const store = new SqliteRunStore({ stateDir: rig.path('state') });
    const firstId = store.listRuns({ limit: 1 })[0]?.id ?? '';
    let rerunId: string;
    try {
      const again = await rerunStoredRun(store, firstId, { kind: 'failed' }, { onEvent: storeListener(store) });
      expect(again.summary.status).toBe('failed');
      rerunId = again.summary.runId;
    } finally {
      store.close();
    }

    const shown = await rig.run(['runs', 'show', rerunId, '--state-dir', 'state']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`rerun ${firstId} --failed (in ${process.cwd()}`);
    await rig.write('fixed', '');
    const rerun = await rig.run(['rerun', rerunId, '--state-dir', 'state']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect((await readFile(rig.path('b.count'), 'utf8')).trim().split('\n')).toHaveLength(3);
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

  it('cancel from another terminal cancels the steps below the one it killed, not skips them', async () => {
    const pidFile = rig.path('s1.pid');
    await rig.write(
      'wf.yaml',
      [
        'name: chain',
        'steps:',
        '  - id: s1',
        `    run: sleep 1000 & echo $! > "${pidFile}"; wait`,
        '  - id: deploy',
        '    needs: s1',
        `    run: touch "${rig.path('deployed')}"`,
        '  - id: verify',
        '    needs: deploy',
        `    run: touch "${rig.path('verified')}"`,
        '',
      ].join('\n'),
    );
    const { done } = rig.start(['run', 'wf.yaml']);
    const pid = Number(await waitForFile(pidFile));
    const [run] = await runs();
    const cancel = await rig.run(['cancel', run?.id ?? '']);
    expect(cancel.code, cancel.stderr).toBe(0);
    await done;
    expect(await isAlive(pid)).toBe(false);
    const summary = await rig.summary((await rig.runDirs(rig.path('output')))[0] as string);
    expect(summary.steps.map((s) => [s.id, s.status, s.reason, s.message])).toEqual([
      ['s1', 'cancelled', 'cancelled', expect.any(String)],
      ['deploy', 'cancelled', 'cancelled', 'cancelled: cancelled with orchestrator cancel'],
      ['verify', 'cancelled', 'cancelled', 'cancelled: cancelled with orchestrator cancel'],
    ]);
    expect(summary.status).toBe('cancelled');
    expect((await show(run?.id ?? '')).steps.map((s) => [s.stepId, s.status])).toEqual([
      ['s1', 'cancelled'],
      ['deploy', 'cancelled'],
      ['verify', 'cancelled'],
    ]);
  });

  it('cancel again stops at once: the cleanup step the first cancel let run is killed and the orchestrator exits', async () => {
    const { stepPid: pidFile, cleanupPid } = await writeSlowCleanupWorkflow(rig);
    const { done } = rig.start(['run', 'wf.yaml']);
    const first = Number(await waitForFile(pidFile));
    const [run] = await runs();
    const cancel = await rig.run(['cancel', run?.id ?? '', '--no-wait']);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain('cancel it again to stop at once');
    // The first cancel killed s1 and let the cleanup step start.
    const pid = Number(await waitForFile(cleanupPid));
    try {
      expect(await isAlive(first)).toBe(false);
      const again = await rig.run(['cancel', run?.id ?? '', '--no-wait']);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain('again: it stops at once');
      const result = await done;
      expect(result.code, result.stderr).toBe(143);
      expect(await waitGone(pid, 5_000), `cleanup step process ${pid} still running 5 s after the orchestrator exited`).toBe(true);
    } finally {
      killIfAlive(pid);
    }
  });

  it('cancel again never signals a program that records runs through the library: only the orchestrator command', async () => {
    const pidFile = rig.path('step.pid');
    const lib = pathToFileURL(path.resolve('dist/index.js')).href;
    // A long-lived program (a server, say) that records its runs the documented way, with the
    // name of the orchestrator's own bundle: a name proves nothing.
    const hostFile = await rig.write(
      'dist/bin/cli.cjs',
      [
        '(async () => {',
        `const { runSpec, SqliteRunStore, storeListener, resumableRunInfo } = await import(${JSON.stringify(lib)});`,
        `const store = new SqliteRunStore({ stateDir: ${JSON.stringify(rig.path('.orchestrator'))} });`,
        'const step = { id: "long", name: "long", kind: "command", needs: [], timeout: 0, killGrace: 500, env: {}, cwd: process.cwd(), allowedExitCodes: [0], tags: [], group: ".",',
        '  retry: { maxAttempts: 1, initialDelay: 10, maxDelay: 10, factor: 1, jitter: "none", retryOnExitCodes: [] },',
        `  command: ${JSON.stringify(`echo $$ > "${pidFile}"; exec sleep 1000`)} };`,
        'const spec = { name: "app", steps: [step], concurrency: 1, failurePolicy: "continue", timeout: 0 };',
        'setInterval(() => {}, 1000);',
        `await runSpec(spec, { outputDir: ${JSON.stringify(rig.path('out'))}, projectRoot: process.cwd(), onEvent: storeListener(store),`,
        `  onStart: (run) => store.beginRun(resumableRunInfo({ ...run, spec, outputDir: ${JSON.stringify(rig.path('out'))} }, { kind: 'workflow', source: 'app', projectRoot: process.cwd() })) });`,
        '})();',
        '',
      ].join('\n'),
    );
    const host = spawn(process.execPath, [hostFile], { cwd: rig.root, stdio: 'ignore' });
    let stepPid = 0;
    try {
      stepPid = Number(await waitForFile(pidFile));
      const [run] = await runs();
      const first = await rig.run(['cancel', run?.id ?? '', '--no-wait']);
      expect(first.code).toBe(0);
      // Said up front: this process sees the request only if it polls for it.
      expect(first.stdout).toContain(`Recorded a request to cancel ${run?.id ?? ''}. Its process (pid ${host.pid ?? ''}) is not the orchestrator command`);
      expect(first.stdout).toContain('recordRun()');
      const again = await rig.run(['cancel', run?.id ?? '', '--no-wait']);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('is not certainly the orchestrator command (a program using the library would die of a signal), so it is not sent one');
      expect(host.exitCode).toBeNull();
      expect(await isAlive(host.pid as number)).toBe(true);
      expect(await isAlive(stepPid)).toBe(true);
    } finally {
      host.kill('SIGKILL');
      if (stepPid > 0) killIfAlive(stepPid);
    }
  });

  it('cancel from another terminal cancels a run a program records through the library with recordRun', async () => {
    const pidFile = rig.path('step.pid');
    const lib = pathToFileURL(path.resolve('dist/index.js')).href;
    const out = rig.path('out');
    const hostFile = await rig.write(
      'app.mjs',
      [
        `const { runSpec, SqliteRunStore, recordRun } = await import(${JSON.stringify(lib)});`,
        `const store = new SqliteRunStore({ stateDir: ${JSON.stringify(rig.path('.orchestrator'))} });`,
        'const step = { id: "long", name: "long", kind: "command", needs: [], timeout: 0, killGrace: 500, env: {}, cwd: process.cwd(), allowedExitCodes: [0], tags: [], group: ".",',
        '  retry: { maxAttempts: 1, initialDelay: 10, maxDelay: 10, factor: 1, jitter: "none", retryOnExitCodes: [] },',
        `  command: ${JSON.stringify(`echo $$ > "${pidFile}"; exec sleep 1000`)} };`,
        'const spec = { name: "app", steps: [step], concurrency: 1, failurePolicy: "continue", timeout: 0 };',
        `const recording = await recordRun(store, { kind: 'workflow', source: 'app', projectRoot: process.cwd(), spec, outputDir: ${JSON.stringify(out)} });`,
        `const { summary } = await runSpec(spec, { outputDir: ${JSON.stringify(out)}, projectRoot: process.cwd(), signal: recording.signal, onStart: recording.onStart, onEvent: recording.onEvent });`,
        'await recording.stop();',
        'store.close();',
        'console.log(`status ${summary.status}`);',
        '',
      ].join('\n'),
    );
    const host = spawn(process.execPath, [hostFile], { cwd: rig.root, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => host.on('exit', resolve));
    let output = '';
    host.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    host.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let stepPid = 0;
    try {
      stepPid = Number(await waitForFile(pidFile));
      const [run] = await runs();
      const cancel = await within(rig.run(['cancel', run?.id ?? '']), 10_000, 'orchestrator cancel');
      expect(cancel.code, cancel.stderr).toBe(0);
      expect(cancel.stdout).toContain('recordRun()');
      expect(cancel.stdout).toContain(`Run ${run?.id ?? ''} ended: cancelled`);
      expect(await within(exited, 10_000, 'the library program to exit'), output).toBe(0);
      expect(output).toContain('status cancelled');
      expect(await isAlive(stepPid)).toBe(false);
      expect((await show(run?.id ?? '')).steps.map((s) => [s.stepId, s.status])).toEqual([['long', 'cancelled']]);
    } finally {
      host.kill('SIGKILL');
      if (stepPid > 0) killIfAlive(stepPid);
    }
  });

  it('two runs at once on one state folder, 200 steps each, are both recorded completely', async () => {
    const steps = ['name: many', 'concurrency: 8', 'steps:'];
    for (let i = 0; i < 200; i += 1) steps.push(`  - id: s${i}`, '    run: "true"');
    await rig.write('a.yaml', steps.join('\n').replace('name: many', 'name: many-a') + '\n');
    await rig.write('b.yaml', steps.join('\n').replace('name: many', 'name: many-b') + '\n');
    const [a, b] = await Promise.all([rig.run(['run', 'a.yaml', '--reporter', 'json']), rig.run(['run', 'b.yaml', '--reporter', 'json'])]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    const all = await runs();
    expect(all, a.stderr + b.stderr).toHaveLength(2);
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

describe('resume, rerun and logs: nothing to do, changed files, cached and sub-workflow steps', () => {
  it('runs and runs show count every status, cached and running steps too, so the numbers add up', async () => {
    await rig.write('c.yaml', 'name: c\nsteps:\n  - id: a\n    run: echo a\n    cache: true\n  - id: b\n    run: echo b\n');
    for (let i = 0; i < 2; i += 1) expect((await rig.run(['run', 'c.yaml', '--reporter', 'json'])).code).toBe(0);
    const [cached] = await runs();
    expect(cached?.counts).toMatchObject({ succeeded: 1, cached: 1 });
    expect((await rig.run(['runs'])).stdout.split('\n')[0]).toMatch(/ {2}1 passed, 1 cached$/);
    expect((await rig.run(['runs', 'show', cached?.id ?? ''])).stdout).toContain(', 1 passed, 1 cached\n');

    const ready = rig.path('ready');
    const gate = rig.path('gate');
    await rig.write('g.yaml', `name: g\nsteps:\n  - id: wait\n    run: echo 1 > "${ready}"; while [ ! -f "${gate}" ]; do sleep 0.05; done\n  - id: after\n    needs: wait\n    run: "true"\n`);
    const { done } = rig.start(['run', 'g.yaml', '--reporter', 'json']);
    try {
      await waitForFile(ready);
      // The store commits a running run's events in batches: wait until the start is in it.
      const deadline = Date.now() + 10_000;
      let running: RunJson | undefined;
      while (running?.counts.running !== 1) {
        if (Date.now() > deadline) throw new Error(`Expected the run's step to be recorded running within 10 s; got ${JSON.stringify(running?.counts)}`);
        [running] = await runs();
      }
      expect((await rig.run(['runs'])).stdout.split('\n')[0]).toMatch(/ {2}0 passed, 1 running, 1 pending$/);
    } finally {
      await rig.write('gate', '');
    }
    expect((await done).code).toBe(0);
  });

  it('resume of a run that succeeded is refused, and leaves the run record as it was', async () => {
    await rig.write('ok.yaml', 'name: ok\nsteps:\n  - id: a\n    run: echo a\n');
    expect((await rig.run(['run', 'ok.yaml', '--reporter', 'json'])).code).toBe(0);
    const [run] = await runs();
    const before = await show(run?.id ?? '');
    const resumed = await rig.run(['resume', run?.id ?? '']);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(2);
    expect(resumed.stderr).toContain(`error: run ${run?.id ?? ''} has nothing to resume: it succeeded`);
    expect(resumed.stderr).toContain('orchestrator run ok.yaml');
    expect(resumed.stdout).toBe('');
    expect(await show(run?.id ?? '')).toEqual(before);
  });

  it('rerun --failed of a run whose steps all succeeded or came from the cache starts no new run', async () => {
    await rig.write('c.yaml', 'name: c\nsteps:\n  - id: a\n    run: echo a\n    cache: true\n  - id: b\n    run: echo b\n');
    for (let i = 0; i < 2; i += 1) expect((await rig.run(['run', 'c.yaml', '--reporter', 'json'])).code).toBe(0);
    const [latest] = await runs();
    for (const args of [['--failed'], []]) {
      const rerun = await rig.run(['rerun', latest?.id ?? '', ...args]);
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(2);
      expect(rerun.stderr).toContain(`run ${latest?.id ?? ''} has nothing to rerun: every step succeeded, came from the cache or was skipped`);
    }
    expect(await runs()).toHaveLength(2);
  });

  it('rerun says when the workflow file changed since the run, and still runs the stored plan', async () => {
    const out = rig.path('out');
    await rig.write('wf.yaml', `name: wf\nsteps:\n  - id: build\n    run: echo old >> "${out}"; exit 1\n`);
    expect((await rig.run(['run', 'wf.yaml', '--reporter', 'json'])).code).toBe(1);
    const [first] = await runs();
    const unchanged = await rig.run(['rerun', first?.id ?? '', '--failed', '--reporter', 'json']);
    expect(unchanged.code).toBe(1);
    expect(unchanged.stderr).not.toContain('note:');

    await rig.write('wf.yaml', `name: wf\nsteps:\n  - id: build\n    run: echo new >> "${out}"\n`);
    // A rerun of the rerun too: its plan is still the one read before the edit.
    const [second] = await runs();
    for (const id of [first?.id ?? '', second?.id ?? '']) {
      const rerun = await rig.run(['rerun', id, '--failed', '--reporter', 'json']);
      expect(rerun.code, 'the stored plan ran: it still fails').toBe(1);
      expect(rerun.stderr).toContain(`note: wf.yaml was modified after the plan of run ${id} was read; rerun runs that stored plan`);
      expect(rerun.stderr).toContain('To run the current version: orchestrator run wf.yaml');
    }
    expect((await readFile(out, 'utf8')).split('\n').filter(Boolean)).toEqual(['old', 'old', 'old', 'old']);
  });

  it('rerun of a folder run says when one of its config files changed since the run', async () => {
    await rig.write('scripts/a.sh', 'exit 1\n');
    await rig.write('scripts/orchestrator.yaml', 'defaults:\n  timeout: 30\n');
    expect((await rig.run(['run', 'scripts', '--reporter', 'json'])).code).toBe(1);
    const [run] = await runs();
    await rig.write('scripts/orchestrator.yaml', 'defaults:\n  timeout: 10\n');
    const rerun = await rig.run(['rerun', run?.id ?? '', '--reporter', 'json']);
    expect(rerun.code).toBe(1);
    expect(rerun.stderr).toContain(`note: scripts/orchestrator.yaml was modified after the plan of run ${run?.id ?? ''} was read`);
    expect(rerun.stderr).toContain('orchestrator run scripts');
  });

  it('logs of a cached step point to the run its result came from, not to a log that cannot exist', async () => {
    await rig.write('c.yaml', 'name: c\nsteps:\n  - id: a\n    run: echo from-a\n    cache: true\n');
    for (let i = 0; i < 2; i += 1) expect((await rig.run(['run', 'c.yaml', '--reporter', 'json'])).code).toBe(0);
    const [cached, original] = await runs();
    const logs = await rig.run(['logs', cached?.id ?? '', 'a']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).not.toContain('(no log at');
    expect(logs.stdout).toContain(`its result came from the cache, made by run ${original?.id ?? ''}; its log: orchestrator logs ${original?.id ?? ''} a`);
  });

  it('logs of a sub-workflow step print the logs of its steps', async () => {
    await rig.write('inner.yaml', 'name: inner\nsteps:\n  - id: one\n    run: echo inner-one\n  - id: two\n    run: echo inner-two >&2\n');
    await rig.write('wf.yaml', 'name: outer\nsteps:\n  - id: sub\n    workflow: inner.yaml\n');
    expect((await rig.run(['run', 'wf.yaml', '--reporter', 'json'])).code).toBe(0);
    const [run] = await runs();
    for (const args of [['sub'], []]) {
      const logs = await rig.run(['logs', run?.id ?? '', ...args]);
      expect(logs.code, logs.stderr).toBe(0);
      expect(logs.stdout).not.toContain('(no log at');
      expect(logs.stdout).toContain('==> sub › one <==');
      expect(logs.stdout).toContain('inner-one');
      expect(logs.stdout).toContain('==> sub › two <==');
      expect(logs.stdout).toContain('inner-two');
    }
  });
});

describe('history commands: bad input, huge logs, live logs', () => {
  it('prune --older-than needs a unit: a bare number is a usage error that deletes nothing', async () => {
    await rig.write('scripts/a.sh', 'exit 0\n');
    expect((await rig.run(['run', 'scripts', '--reporter', 'json'])).code).toBe(0);
    const bare = await rig.run(['prune', '--older-than', '30']);
    expect(bare.code, bare.stderr).toBe(2);
    expect(bare.stderr).toContain('--older-than');
    expect(bare.stderr).toContain('30d');
    expect(await runs()).toHaveLength(1);
    for (const age of ['30d', '2w', '12h', '90m', '3600s']) {
      const pruned = await rig.run(['prune', '--older-than', age]);
      expect(pruned.code, `${age}: ${pruned.stderr}`).toBe(0);
      expect(pruned.stdout).toContain('Pruned 0 run(s)');
    }
    expect(await runs()).toHaveLength(1);
  });

  it('history commands on a state folder that cannot be opened print one error line and exit 2', async () => {
    // Root ignores file modes, so a file where the folder should be stands in for an unusable store.
    const notAFolder = await rig.write('state-file', 'not a folder\n');
    const commands = [['runs'], ['runs', 'show', 'x'], ['logs', 'x'], ['prune', '--keep', '1'], ['explain', 'x', 'y'], ['cancel', 'x'], ['resume', 'x']];
    for (const args of commands) {
      const result = await rig.run(args, { ORCHESTRATOR_STATE_DIR: notAFolder });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/^error: Could not open the run store at \S*state-file/);
      expect(result.stderr, `${args.join(' ')}: no stack trace`).not.toMatch(/^\s+at /m);
    }
  });

  it('a state folder that cannot be written: runs, runs show, logs and explain still read it; writing commands say it is read-only', async () => {
    await rig.write('scripts/a.sh', 'echo from-a\n');
    expect((await rig.run(['run', 'scripts', '--reporter', 'json'])).code).toBe(0);
    const [run] = await runs();
    const id = run?.id ?? '';
    const stateDir = rig.path('.orchestrator');
    // Root ignores file modes: the immutable attribute stands in for a read-only mount (see
    // test/store/storage-errors.test.ts). The database was closed cleanly: no -wal or -shm file.
    execFileSync('chattr', ['+i', stateDir, path.join(stateDir, 'state.db')]);
    try {
      for (const args of [['runs'], ['runs', 'show', id], ['logs', id, 'a.sh'], ['explain', id, 'a.sh']]) {
        const result = await rig.run(args);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
        expect(result.stderr, args.join(' ')).toContain(`the state folder ${stateDir} is read-only`);
      }
      expect((await rig.run(['runs'])).stdout).toContain(id);
      expect((await rig.run(['logs', id, 'a.sh'])).stdout).toContain('from-a');
      for (const args of [['prune', '--keep', '1'], ['rerun', id, '--step', 'a.sh'], ['cancel', id]]) {
        const result = await rig.run(args);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
        expect(result.stderr, args.join(' ')).toContain(`The state folder ${stateDir} is read-only`);
        expect(result.stderr, args.join(' ')).not.toContain('unable to open database file');
      }
    } finally {
      execFileSync('chattr', ['-i', stateDir, path.join(stateDir, 'state.db')]);
    }
    // Nothing was lost or changed.
    expect(await runs()).toMatchObject([{ id, status: 'succeeded' }]);
  });

  it('a state folder that does not exist and cannot be made reads as an empty history; prune says it is read-only', async () => {
    const parent = rig.path('locked');
    execFileSync('mkdir', [parent]);
    execFileSync('chattr', ['+i', parent]);
    try {
      const env = { ORCHESTRATOR_STATE_DIR: path.join(parent, 'state') };
      const listed = await rig.run(['runs'], env);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toContain('No runs recorded yet.');
      const pruned = await rig.run(['prune', '--keep', '1'], env);
      expect(pruned.code).toBe(2);
      expect(pruned.stderr).toContain(`The state folder ${path.join(parent, 'state')} is read-only`);
      expect(pruned.stderr).not.toContain('ENOENT');
    } finally {
      execFileSync('chattr', ['-i', parent]);
    }
  });

  it('logs --follow streams a running step\'s output as it is written, and exits once the run ends', async () => {
    const ready = rig.path('ready');
    const gate = rig.path('gate');
    // Past 256 KiB the output spills to a file beside the log while the step runs.
    await rig.write(
      'scripts/big.sh',
      `head -c 300000 /dev/zero | tr '\\0' x\necho\necho live-marker\necho 1 > "${ready}"\nwhile [ ! -f "${gate}" ]; do sleep 0.05; done\necho after-gate\n`,
    );
    const { done } = rig.start(['run', 'scripts']);
    await waitForFile(ready);
    const [run] = await runs();
    const follower = rig.start(['logs', run?.id ?? '', 'big.sh', '--follow']);
    try {
      await waitForOutput(follower.child.stdout, 'live-marker');
    } finally {
      await rig.write('gate', '');
    }
    const followed = await within(follower.done, 10_000, 'logs --follow to exit once the run ended');
    expect((await done).code).toBe(0);
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toContain('big.sh · attempt 1');
    expect(followed.stdout).toContain('after-gate');
    // What was shown live is not shown again when the attempt's section reaches the log.
    expect(followed.stdout.split('live-marker')).toHaveLength(2);
    expect((followed.stdout.match(/x{100,}/g) ?? []).join('')).toHaveLength(300_000);
  });

  it('logs --follow shows a running step\'s small output within about a second, before the step ends', async () => {
    const ready = rig.path('ready');
    const gate = rig.path('gate');
    // A few bytes, far below the 256 KiB held in memory: they used to reach the log only at the end.
    await rig.write(
      'wf.yaml',
      [
        'name: live',
        'steps:',
        '  - id: progress',
        `    run: echo "progress 1"; echo 1 > "${ready}"; while [ ! -f "${gate}" ]; do sleep 0.05; done; echo "progress 2"`,
        '',
      ].join('\n'),
    );
    const { done } = rig.start(['run', 'wf.yaml']);
    await waitForFile(ready);
    const [run] = await runs();
    const follower = rig.start(['logs', run?.id ?? '', 'progress', '--follow']);
    try {
      await waitForOutput(follower.child.stdout, 'progress 1', 5_000);
    } finally {
      await rig.write('gate', '');
    }
    const followed = await within(follower.done, 10_000, 'logs --follow to exit once the run ended');
    expect((await done).code).toBe(0);
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toContain('progress 2');
    // Shown live, not again when the section reaches the log (the header's command line names it too).
    expect(followed.stdout.match(/^progress 1$/gm)).toHaveLength(1);
    // The log after the run is what it always was, and the spill files are gone.
    const logs = await rig.run(['logs', run?.id ?? '', 'progress']);
    expect(logs.stdout).toContain(`STDOUT (22 bytes)\n${'='.repeat(60)}\nprogress 1\nprogress 2\n${'='.repeat(60)}\nSTDERR (0 bytes)\n`);
    const logPath = (await show(run?.id ?? '')).steps[0]?.logPath ?? '';
    expect((await readdir(path.dirname(logPath))).filter((f) => f.includes('.part.'))).toEqual([]);
  });

  it('logs --follow prints each attempt as it ends and the last output of the run', async () => {
    const gate = rig.path('gate');
    const ready = rig.path('ready');
    const counter = rig.path('count');
    await rig.write(
      'scripts/flaky.sh',
      [
        `n=$(cat "${counter}" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "${counter}"`,
        'echo "attempt $n says hello"',
        '[ $n -lt 2 ] && exit 75',
        `echo 1 > "${ready}"`,
        `while [ ! -f "${gate}" ]; do sleep 0.05; done`,
        'echo "last words" >&2',
        '',
      ].join('\n'),
    );
    await rig.write('scripts/orchestrator.yaml', 'scripts:\n  flaky.sh:\n    retries: 1\n    retry_delay: 10ms\n    retry_on_exit_codes: [75]\n');
    const { done } = rig.start(['run', 'scripts']);
    await waitForFile(ready);
    const [run] = await runs();
    const follower = rig.start(['logs', run?.id ?? '', 'flaky.sh', '--follow']);
    try {
      // Attempt 1 ended (and is in the log) while attempt 2 still runs.
      await waitForOutput(follower.child.stdout, 'attempt 1 says hello');
    } finally {
      await rig.write('gate', '');
    }
    const followed = await within(follower.done, 10_000, 'logs --follow to exit once the run ended');
    expect((await done).code).toBe(0);
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toContain('attempt 2 says hello');
    expect(followed.stdout).toContain('last words');
    expect(followed.stdout.split('flaky.sh · attempt 2')).toHaveLength(2);
  });

  it('logs --follow ends when the orchestrator of the run was killed, instead of waiting forever', async () => {
    const ready = rig.path('ready');
    const gate = rig.path('gate');
    await rig.write('scripts/wait.sh', `echo 1 > "${ready}"\nwhile [ ! -f "${gate}" ]; do sleep 0.05; done\n`);
    const { child, done } = rig.start(['run', 'scripts']);
    await waitForFile(ready);
    const [run] = await runs();
    const follower = rig.start(['logs', run?.id ?? '', 'wait.sh', '--follow']);
    try {
      await waitForOutput(follower.child.stdout, '(no log yet)');
      child.kill('SIGKILL');
      await done;
      const followed = await within(follower.done, 10_000, 'logs --follow to exit after the orchestrator was killed');
      expect(followed.stderr).toContain(`run ${run?.id ?? ''} was interrupted`);
    } finally {
      follower.child.kill('SIGKILL');
      await rig.write('gate', '');
    }
  });

  it('logs --tail reads a huge log from its end, never the whole file', async () => {
    await rig.write('scripts/a.sh', 'echo one >&2\necho two >&2\n');
    expect((await rig.run(['run', 'scripts', '--reporter', 'json'])).code).toBe(0);
    const [run] = await runs();
    const logPath = (await show(run?.id ?? '')).steps[0]?.logPath ?? '';
    const log = await readFile(logPath);
    // 600 MB of hole before the log: read whole, it would not even fit in a string.
    await truncate(logPath, 0);
    const handle = await open(logPath, 'r+');
    await handle.write(log, 0, log.length, 600 * 1024 * 1024);
    await handle.close();
    const result = await rig.run(['logs', run?.id ?? '', 'a.sh', '--tail', '2']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('one\ntwo\n');
  });

  it('logs of a finished step whose log is empty (cut short on a full disk) says so, not nothing', async () => {
    await rig.write('scripts/a.sh', 'echo one\n');
    expect((await rig.run(['run', 'scripts', '--reporter', 'json'])).code).toBe(0);
    const [run] = await runs();
    const logPath = (await show(run?.id ?? '')).steps[0]?.logPath ?? '';
    await truncate(logPath, 0);
    for (const extra of [[], ['--tail', '5']]) {
      const result = await rig.run(['logs', run?.id ?? '', 'a.sh', ...extra]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe(`(the log at ${logPath} is empty: it could not be written when the step ran, on a full disk for instance)\n`);
    }
  });

  it('an ambiguous run id prefix says so and lists the runs it matches', async () => {
    await rig.write('scripts/a.sh', 'exit 0\n');
    for (let i = 0; i < 2; i += 1) expect((await rig.run(['run', 'scripts', '--reporter', 'json'])).code).toBe(0);
    const [a = '', b = ''] = (await runs()).map((r) => r.id);
    let prefix = '';
    while (prefix.length < a.length && a[prefix.length] === b[prefix.length]) prefix = a.slice(0, prefix.length + 1);
    for (const args of [['runs', 'show', prefix], ['logs', prefix]]) {
      const result = await rig.run(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(`"${prefix}" is ambiguous`);
      expect(result.stderr).toContain(a);
      expect(result.stderr).toContain(b);
      expect(result.stderr).not.toContain('no run matches');
    }
    expect((await rig.run(['runs', 'show', 'zzz'])).stderr).toContain('no run matches "zzz"');
  });

  it('runs --status with an unknown status is a usage error naming the allowed ones', async () => {
    const result = await rig.run(['runs', '--status', 'failed,bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('bogus');
    expect(result.stderr).toContain('running, succeeded, failed, timed-out, cancelled, interrupted');
    const good = await rig.run(['runs', '--status', 'failed,interrupted']);
    expect(good.code, good.stderr).toBe(0);
  });
});
