import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliRig, isAlive, killIfAlive, waitForFile, waitForOutput, waitGone, writeSlowCleanupWorkflow } from './cli-rig.js';

let rig: CliRig;
beforeEach(async () => {
  rig = await CliRig.create();
});
afterEach(async () => {
  await rig.cleanup();
});

describe('orchestrator run', () => {
  it('runs a mixed folder, exits 1 on a failure and writes every report', async () => {
    await rig.write('scripts/a/ok.py', 'print("python ok")\n');
    await rig.write('scripts/a/ok.sh', 'echo shell ok\n');
    await rig.write('scripts/b/ok.js', 'console.log("node ok")\n');
    await rig.write('scripts/b/ok.ts', 'const x: number = 41; console.log(`ts ${x + 1}`);\n');
    await rig.write('scripts/b/bad.sh', 'echo "bad things" >&2\nexit 4\n');
    const result = await rig.run(['run', 'scripts', '-j', '2']);
    expect(result.code, result.stderr + result.stdout).toBe(1);
    const [runDir] = await rig.runDirs();
    expect(runDir).toBeDefined();
    const summary = await rig.summary(runDir as string);
    expect(summary.schemaVersion).toBe(1);
    expect(summary.counts).toMatchObject({ total: 5, succeeded: 4, failed: 1 });
    const bad = summary.steps.find((s) => s.id === 'b/bad.sh');
    expect(bad).toMatchObject({ status: 'failed', reason: 'exit-non-zero', exitCode: 4 });
    expect(bad?.stderrTail).toContain('bad things');
    expect(summary.steps.find((s) => s.id === 'b/ok.ts')?.stdoutTail).toContain('ts 42');
    for (const file of ['summary.md', 'junit.xml', 'logs/b/bad.sh.log', 'logs/a/ok.py.log']) {
      expect(existsSync(path.join(runDir as string, file)), file).toBe(true);
    }
    const log = await readFile(path.join(runDir as string, 'logs/b/bad.sh.log'), 'utf8');
    expect(log).toContain('bad things');
    expect(log).toContain('Exit code:  4');
    // Non-TTY console: one plain line per script, the failure with its reason, no colour codes.
    expect(result.stdout).toMatch(/b\/bad\.sh exited with code 4/);
    expect(result.stdout).toContain('4 passed, 1 failed');
    expect(result.stdout).not.toContain('\u001b[');
  });

  it('follows links that stay in the project, never one that leads out of it', async () => {
    await rig.write('scripts/own.sh', 'echo own\n', true);
    await rig.write('lib/shared.sh', 'echo shared\n', true);
    const outside = mkdtempSync(path.join(tmpdir(), 'orch-outside-'));
    try {
      writeFileSync(path.join(outside, 'evil.sh'), 'echo evil\n', { mode: 0o755 });
      symlinkSync(rig.path('lib'), rig.path('scripts', 'shared'));
      symlinkSync(outside, rig.path('scripts', 'elsewhere'));
      symlinkSync(path.join(outside, 'evil.sh'), rig.path('scripts', 'evil.sh'));
      const result = await rig.run(['run', 'scripts', '--reporter', 'json']);
      expect(result.code, result.stderr).toBe(0);
      const [runDir] = await rig.runDirs();
      const summary = await rig.summary(runDir as string);
      expect(summary.steps.map((s) => s.id).sort()).toEqual(['own.sh', 'shared/shared.sh']);
      const said = result.stdout + result.stderr;
      expect(said).toContain(`${rig.path('scripts', 'elsewhere')}: symlink points outside`);
      expect(said).toContain(`${rig.path('scripts', 'evil.sh')}: symlink points outside`);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('exits 0 when every script passes and skipped ones never count as failures', async () => {
    await rig.write('scripts/ok.sh', 'exit 0\n');
    await rig.write('scripts/old.sh', 'exit 9\n');
    await rig.write('scripts/orchestrator.yaml', 'skip:\n  - path: old.sh\n    reason: retired in 2025\n');
    const result = await rig.run(['run', 'scripts']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const summary = await rig.summary((await rig.runDirs())[0] as string);
    expect(summary.steps.find((s) => s.id === 'old.sh')).toMatchObject({
      status: 'skipped',
      reason: 'skipped-by-config',
    });
    expect(summary.steps.find((s) => s.id === 'old.sh')?.message).toContain('retired in 2025');
  });

  it('exits 2 on a bad config with file:line:column and runs nothing', async () => {
    await rig.write('scripts/marker.sh', `touch "${rig.path('ran')}"\n`);
    await rig.write('scripts/orchestrator.yaml', 'defaults:\n  timeout: soon\n  retrys: 2\n');
    const result = await rig.run(['run', 'scripts']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/orchestrator\.yaml:2:\d+: defaults\.timeout/);
    expect(result.stderr).toMatch(/orchestrator\.yaml:3:\d+: defaults.*retrys.*did you mean/);
    expect(existsSync(rig.path('ran'))).toBe(false);
  });

  it('dry run lists what would run and what is skipped and why, and runs nothing', async () => {
    await rig.write('scripts/marker.sh', `touch "${rig.path('ran')}"\n`);
    await rig.write('scripts/legacy.py', 'print(1)\n');
    await rig.write('scripts/orchestrator.yaml', 'scripts:\n  legacy.py:\n    skip: true\n    skip_reason: replaced by marker.sh\n');
    const result = await rig.run(['run', 'scripts', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('WOULD RUN  marker.sh');
    expect(result.stdout).toContain('WOULD SKIP legacy.py (replaced by marker.sh)');
    expect(existsSync(rig.path('ran'))).toBe(false);
  });

  it('dry run with --json prints the plan as JSON on stdout, for a folder and for a workflow file', async () => {
    await rig.write('scripts/a.sh', 'echo a\n');
    const folder = await rig.run(['run', 'scripts', '--dry-run', '--json']);
    expect(folder.code).toBe(0);
    expect((JSON.parse(folder.stdout) as { scripts: { id: string }[] }).scripts.map((s) => s.id)).toEqual(['a.sh']);
    await rig.write('wf.yaml', 'name: w\nsteps:\n  - id: one\n    run: "true"\n  - id: two\n    needs: one\n    run: "true"\n');
    const file = await rig.run(['run', 'wf.yaml', '--dry-run', '--json']);
    expect(file.code).toBe(0);
    expect(JSON.parse(file.stdout)).toMatchObject({ workflow: 'w', levels: [['one'], ['two']], steps: [{ id: 'one' }, { id: 'two', needs: ['one'] }] });
    // `list` is the same plan, for a workflow file too.
    const listed = await rig.run(['list', 'wf.yaml', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual(JSON.parse(file.stdout));
    const text = await rig.run(['list', 'wf.yaml']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('two');
  });

  it('--timeout is the timeout of workflow steps the file gives none; `timeout: 0` and defaults.timeout are kept', async () => {
    await rig.write(
      'to.yaml',
      'name: w\nfail_fast: continue\ndefaults:\n  timeout: 5s\nsteps:\n  - id: zero\n    run: sleep 0.4\n    timeout: 0\n  - id: def\n    run: "true"\n  - id: own\n    run: "true"\n    timeout: 2s\n',
    );
    await rig.write('bare.yaml', 'name: b\nsteps:\n  - id: none\n    run: "true"\n  - id: zero\n    run: "true"\n    timeout: 0\n');
    const timeouts = async (file: string): Promise<[string, number][]> => {
      const plan = await rig.run(['run', file, '--dry-run', '--json', '--timeout', '100ms']);
      expect(plan.code, plan.stderr).toBe(0);
      return (JSON.parse(plan.stdout) as { steps: { id: string; timeoutMs: number }[] }).steps.map((s) => [s.id, s.timeoutMs]);
    };
    expect(await timeouts('to.yaml')).toEqual([['zero', 0], ['def', 5000], ['own', 2000]]);
    expect(await timeouts('bare.yaml')).toEqual([['none', 100], ['zero', 0]]);
    const run = await rig.run(['run', 'to.yaml', '--timeout', '100ms']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain('✓ zero');
  });

  it('a reader that goes away (run | head -1) neither crashes the run nor loses its reports', async () => {
    await rig.write('scripts/chatty.sh', 'for i in 1 2 3 4 5; do echo "line $i"; done\nsleep 0.5\necho done\n');
    await rig.write('scripts/other.sh', 'echo other\n');
    const { child, done } = rig.start(['run', 'scripts', '-v']);
    // Like `head -1`: read the first output, then close the pipe.
    child.stdout?.once('data', () => child.stdout?.destroy());
    const result = await done;
    expect(result.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(result.code).toBe(0);
    const [runDir] = await rig.runDirs();
    expect((await rig.summary(runDir as string)).counts).toMatchObject({ total: 2, succeeded: 2 });
  });

  it('kills a process a script left in its own session, and says so as a plain warning', async () => {
    const pidFile = rig.path('escapee.pid');
    await rig.write('scripts/leaver.sh', await readFile(path.join(import.meta.dirname, '..', 'fixtures', 'scripts', 'setsid-quiet-exit.sh'), 'utf8'));
    const result = await rig.run(['run', 'scripts'], { PID_FILE: pidFile });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^warning: killed 1 process that step leaver\.sh left running outside its process group/m);
    expect(result.stderr).not.toContain('(node:');
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(await waitGone(pid)).toBe(true);
  });

  it('prints a machine-readable summary with --json', async () => {
    await rig.write('scripts/ok.sh', 'echo hi\n');
    const result = await rig.run(['run', 'scripts', '--json']);
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as { counts: { succeeded: number } };
    expect(parsed.counts.succeeded).toBe(1);
  });

  it('a timeout from config rules beats --timeout and kills the whole tree', async () => {
    const pidFile = rig.path('child.pid');
    await rig.write('scripts/slow.sh', `sleep 30 &\necho $! > "${pidFile}"\nwait\n`);
    await rig.write('scripts/orchestrator.yaml', 'scripts:\n  slow.sh:\n    timeout: 300ms\n');
    const started = Date.now();
    const result = await rig.run(['run', 'scripts', '--timeout', '60']);
    expect(result.code).toBe(1);
    expect(Date.now() - started, 'expected the 300 ms timeout, not 60 s').toBeLessThan(10_000);
    const summary = await rig.summary((await rig.runDirs())[0] as string);
    expect(summary.steps[0]).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
    expect(await isAlive(Number(await readFile(pidFile, 'utf8')))).toBe(false);
  });

  it('--fail-fast starts nothing new after a failure and still lists every script', async () => {
    await rig.write('scripts/1-fail.sh', 'exit 1\n');
    await rig.write('scripts/2-later.sh', 'exit 0\n');
    await rig.write('scripts/3-later.sh', 'exit 0\n');
    const result = await rig.run(['run', 'scripts', '-j', '1', '--fail-fast']);
    expect(result.code).toBe(1);
    const summary = await rig.summary((await rig.runDirs())[0] as string);
    expect(summary.steps.map((s) => [s.id, s.status, s.reason])).toEqual([
      ['1-fail.sh', 'failed', 'exit-non-zero'],
      ['2-later.sh', 'cancelled', 'fail-fast'],
      ['3-later.sh', 'cancelled', 'fail-fast'],
    ]);
  });

  it('SIGINT kills running trees, writes the report with cancelled scripts and exits 130', async () => {
    const pidFile = rig.path('child.pid');
    await rig.write('scripts/forever.sh', `sleep 1000 &\necho $! > "${pidFile}"\nwait\n`);
    await rig.write('scripts/quick.sh', 'exit 0\n');
    const { child, done } = rig.start(['run', 'scripts', '-j', '2']);
    const pid = Number(await waitForFile(pidFile));
    child.kill('SIGINT');
    const result = await done;
    expect(result.code, result.stderr).toBe(130);
    const summary = await rig.summary((await rig.runDirs())[0] as string);
    expect(summary.steps.find((s) => s.id === 'forever.sh')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(await isAlive(pid)).toBe(false);
  });

  it("SIGINT still runs a workflow's cleanup steps (if: cancelled(), always()), then writes the report and exits 130", async () => {
    const pidFile = rig.path('s1.pid');
    const cleaned = rig.path('cleaned');
    await rig.write(
      'wf.yaml',
      [
        'name: canc',
        'steps:',
        '  - id: s1',
        `    run: sleep 1000 & echo $! > "${pidFile}"; wait`,
        '  - id: oncancel',
        '    needs: s1',
        '    if: cancelled()',
        `    run: echo cleanup > "${cleaned}"`,
        '  - id: always',
        '    needs: s1',
        '    if: always()',
        '    run: echo always ran',
        '  - id: deploy',
        '    needs: s1',
        `    run: touch "${rig.path('deployed')}"`,
        '',
      ].join('\n'),
    );
    const { child, done } = rig.start(['run', 'wf.yaml']);
    const pid = Number(await waitForFile(pidFile));
    child.kill('SIGINT');
    const result = await done;
    expect(result.code, result.stderr + result.stdout).toBe(130);
    expect(await readFile(cleaned, 'utf8')).toBe('cleanup\n');
    expect(existsSync(rig.path('deployed'))).toBe(false);
    const summary = await rig.summary((await rig.runDirs(rig.path('output')))[0] as string);
    expect(summary.steps.map((s) => [s.id, s.status, s.reason])).toEqual([
      ['s1', 'cancelled', 'cancelled'],
      ['oncancel', 'succeeded', null],
      ['always', 'succeeded', null],
      // Not started when Ctrl-C came: cancelled, not skipped as if s1 had failed.
      ['deploy', 'cancelled', 'cancelled'],
    ]);
    expect(summary.steps.find((s) => s.id === 'deploy')?.message).toBe('cancelled: interrupted by SIGINT');
    expect(summary.steps.find((s) => s.id === 'always')?.stdoutTail).toBe('always ran\n');
    expect(summary.status).toBe('cancelled');
    expect(await isAlive(pid)).toBe(false);
  });

  it('a second Ctrl-C kills a cleanup step that the first one let run, and exits 130', async () => {
    const { stepPid: pidFile, cleanupPid } = await writeSlowCleanupWorkflow(rig);
    const { child, done } = rig.start(['run', 'wf.yaml']);
    await waitForFile(pidFile);
    child.kill('SIGINT');
    const pid = Number(await waitForFile(cleanupPid));
    try {
      child.kill('SIGINT');
      const result = await done;
      expect(result.code, result.stderr).toBe(130);
      expect(await waitGone(pid, 5_000), `cleanup step process ${pid} still running 5 s after the CLI exited`).toBe(true);
      // The history says so at once: not left `running` for the next command to find its pid gone.
      const listed = await rig.run(['runs', '--json']);
      expect(listed.stderr).not.toContain('orchestrator is gone');
      const [run] = JSON.parse(listed.stdout) as { status: string; reason: string | null; counts: Record<string, number> }[];
      expect(run?.status).toBe('interrupted');
      expect(run?.reason).toContain('second Ctrl-C');
      expect(run?.counts.running).toBe(0);
    } finally {
      killIfAlive(pid);
    }
  });

  it('a second Ctrl-C kills step trees that ignore SIGTERM before it exits', async () => {
    const pidFile = rig.path('pids');
    await rig.write('scripts/stubborn.sh', `trap '' TERM\nsleep 47 &\necho "$$ $!" > "${pidFile}"\nwait\n`);
    // A long grace: without the fix nothing would SIGKILL the tree for a minute.
    const { child, done } = rig.start(['run', 'scripts', '--kill-grace', '60s']);
    const told = waitForOutput(child.stdout, 'SIGINT received');
    const pids = (await waitForFile(pidFile)).split(' ').map(Number);
    try {
      child.kill('SIGINT');
      await told;
      child.kill('SIGINT');
      const result = await done;
      expect(result.code, result.stderr).toBe(130);
      for (const pid of pids) expect(await waitGone(pid, 5_000), `step process ${pid} still running 5 s after the CLI exited`).toBe(true);
    } finally {
      for (const pid of pids) {
        killIfAlive(pid);
      }
    }
  });

  it('SIGTERM to the orchestrator exits 143 with the report written', async () => {
    const pidFile = rig.path('child.pid');
    await rig.write('scripts/forever.sh', `echo $$ > "${pidFile}"\nsleep 1000\n`);
    const { child, done } = rig.start(['run', 'scripts']);
    await waitForFile(pidFile);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(143);
    expect((await rig.summary((await rig.runDirs())[0] as string)).counts.cancelled).toBe(1);
  });

  it('a missing interpreter fails that script with a clear reason while the others go on', async () => {
    await rig.write('scripts/a.sh', 'exit 0\n');
    await rig.write('scripts/b.sh', 'exit 0\n');
    await rig.write('scripts/orchestrator.yaml', 'scripts:\n  b.sh:\n    interpreter: no-such-shell-xyz\n');
    const result = await rig.run(['run', 'scripts']);
    expect(result.code).toBe(1);
    const summary = await rig.summary((await rig.runDirs())[0] as string);
    expect(summary.steps.find((s) => s.id === 'a.sh')?.status).toBe('succeeded');
    const b = summary.steps.find((s) => s.id === 'b.sh');
    expect(b).toMatchObject({ status: 'failed', reason: 'interpreter-not-found' });
    expect(b?.message).toContain('no-such-shell-xyz');
  });

  it('retries the exit codes worth retrying and records the attempts', async () => {
    const counter = rig.path('count');
    await rig.write(
      'scripts/flaky.sh',
      `n=$(cat "${counter}" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "${counter}"\n[ $n -ge 3 ] && exit 0\nexit 75\n`,
    );
    await rig.write('scripts/orchestrator.yaml', 'scripts:\n  flaky.sh:\n    retries: 3\n    retry_delay: 10ms\n    retry_on_exit_codes: [75]\n');
    const result = await rig.run(['run', 'scripts']);
    expect(result.code, result.stdout).toBe(0);
    const summary = await rig.summary((await rig.runDirs())[0] as string);
    expect(summary.steps[0]).toMatchObject({ status: 'succeeded', attempts: 3 });
  });

  it('honours --subdirs, --filter and --exclude', async () => {
    await rig.write('scripts/etl/load.py', 'print(1)\n');
    await rig.write('scripts/etl/test_load.py', 'print(1)\n');
    await rig.write('scripts/ops/x.sh', 'exit 0\n');
    const result = await rig.run(['list', 'scripts', '-s', 'etl', '--exclude', 'test_*', '--json']);
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as { scripts: { id: string }[] };
    expect(plan.scripts.map((s) => s.id)).toEqual(['etl/load.py']);
    const filtered = JSON.parse((await rig.run(['list', 'scripts', '-f', 'x.sh', '--json'])).stdout) as typeof plan;
    expect(filtered.scripts.map((s) => s.id)).toEqual(['ops/x.sh']);
    // A selection that matches nothing (a typo) is a warning that names it, not a quiet success.
    const none = await rig.run(['run', 'scripts', '-f', 'zzz', '-s', 'ops']);
    expect(none.code).toBe(0);
    expect(none.stderr).toContain(`warning: no scripts found in ${rig.path('scripts')} matching --subdirs ops --filter zzz`);
  });

  it('refuses a --subdirs folder that does not exist, naming it with a did-you-mean, in every command that takes it', async () => {
    await rig.write('scripts/test/a.sh', 'exit 0\n');
    await rig.write('scripts/etl/daily/b.sh', 'exit 0\n');
    const expected = `error: --subdirs "tset": no folder "tset" in ${rig.path('scripts')} (did you mean "test"?)`;
    for (const args of [['run'], ['run', '--dry-run'], ['list'], ['validate'], ['docs']]) {
      const result = await rig.run([...args, 'scripts', '-s', 'tset']);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(expected);
    }
    expect(await rig.runDirs(), 'nothing ran').toEqual([]);
    // A deeper path is checked part by part; a file is not a folder; a folder that is there is fine.
    const deep = await rig.run(['list', 'scripts', '-s', 'test,etl/dialy']);
    expect(deep.code).toBe(2);
    expect(deep.stderr).toContain(`error: --subdirs "etl/dialy": no folder "dialy" in ${rig.path('scripts', 'etl')} (did you mean "etl/daily"?)`);
    const file = await rig.run(['list', 'scripts', '-s', 'test/a.sh']);
    expect(file.code).toBe(2);
    expect(file.stderr).toContain(`error: --subdirs "test/a.sh": ${rig.path('scripts', 'test', 'a.sh')} is not a folder`);
    const json = await rig.run(['run', 'scripts', '-s', 'nothing-like-it', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { message: `--subdirs "nothing-like-it": no folder "nothing-like-it" in ${rig.path('scripts')}` } });
    expect((await rig.run(['list', 'scripts', '-s', 'etl/daily/'])).code).toBe(0);
  });

  it('two runs at the same time get different run folders', async () => {
    await rig.write('scripts/ok.sh', 'exit 0\n');
    const [a, b] = await Promise.all([rig.run(['run', 'scripts']), rig.run(['run', 'scripts'])]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(await rig.runDirs()).toHaveLength(2);
  });

  it('under GitHub Actions writes annotations, groups and the step summary', async () => {
    await rig.write('scripts/bad.sh', 'echo "it broke" >&2\nexit 2\n');
    const stepSummary = rig.path('step-summary.md');
    const result = await rig.run(['run', 'scripts'], {
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: stepSummary,
      GITHUB_WORKSPACE: rig.root,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^::error file=scripts\/bad\.sh,/m);
    expect(result.stdout).toMatch(/^::group::bad\.sh/m);
    expect(await readFile(stepSummary, 'utf8')).toContain('bad.sh');
    // With --json, stdout is the JSON document alone; the annotations go to stderr.
    const json = await rig.run(['run', 'scripts', '--json'], { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: stepSummary, GITHUB_WORKSPACE: rig.root });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'failed' });
    expect(json.stderr).toMatch(/^::error file=scripts\/bad\.sh,/m);
  });

  it('exits 2 with a clear message for a folder that does not exist', async () => {
    const result = await rig.run(['run', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('does not exist');
  });

  it('a failing step with continue_on_error neither fails the run nor its exit code, and every report agrees', async () => {
    await rig.write(
      'coe.yaml',
      'name: coe\nsteps:\n  - id: optional\n    run: exit 5\n    continue_on_error: true\n  - id: next\n    needs: optional\n    run: echo next\n',
    );
    const result = await rig.run(['run', 'coe.yaml']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('Run coe succeeded');
    expect(result.stdout).toContain('  PASS . 1/2 (1 failed with continue_on_error)');
    expect(result.stdout).not.toMatch(/^ {2}FAIL /m);
    expect(result.stdout).toContain('1 passed, 1 failed (continue_on_error) in');
    const [runDir = ''] = await rig.runDirs(rig.path('output'));
    const summary = await rig.summary(runDir);
    expect(summary.status).toBe('succeeded');
    expect(summary.steps.map((s) => [s.id, s.status])).toEqual([
      ['optional', 'failed'],
      ['next', 'succeeded'],
    ]);
    const junit = await readFile(path.join(runDir, 'junit.xml'), 'utf8');
    expect(junit).toMatch(/<testsuites [^>]*failures="0"/);
    expect(junit).toContain('<skipped message="failed (continue_on_error): exited with code 5"/>');
    const markdown = await readFile(path.join(runDir, 'summary.md'), 'utf8');
    expect(markdown).toContain('| `.` | ✅ PASS |');
    expect(markdown).toContain('## Continued on error');
    expect(markdown).not.toContain('## Failures');
  });

  it("a python step's return value is read by later steps as needs.<id>.value and steps.<id>.value", async () => {
    await rig.write('lib/calc.py', 'def stats(xs):\n    return {"sum": sum(xs), "names": ["a", "b"]}\n');
    await rig.write(
      'wf.yaml',
      [
        'name: values',
        'steps:',
        '  - id: py',
        '    python: { target: "calc:stats", args: [[20, 30]], python_path: [lib] }',
        '  - id: big',
        '    needs: py',
        '    if: needs.py.value.sum > 40',
        '    run: echo "sum=${{ needs.py.value.sum }} first=${{ steps.py.value.names[0] }}"',
        '  - id: small',
        '    needs: py',
        '    if: needs.py.value.sum <= 40',
        '    run: echo never',
      ].join('\n'),
    );
    const result = await rig.run(['run', 'wf.yaml', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { steps: { id: string; status: string; stdoutTail: string }[] };
    const byId = Object.fromEntries(summary.steps.map((s) => [s.id, s]));
    expect(byId.big).toMatchObject({ status: 'succeeded' });
    expect(byId.big?.stdoutTail).toBe('sum=50 first=a\n');
    expect(byId.small).toMatchObject({ status: 'skipped' });
  });

  it('writes no colour codes to a stream that is not a terminal, even where CI is set', async () => {
    // picocolors' global colours turn on whenever CI is in the environment; messages must decide by their stream.
    const result = await rig.run(['run', 'nope'], { NO_COLOR: undefined, CI: 'true' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: expected a folder of scripts/);
    expect(result.stderr).not.toContain('\u001b[');
  });
});

describe('orchestrator validate, list and docs', () => {
  it('graph prints a workflow file as Mermaid or JSON, refuses a broken one, and reads a folder with --project-root', async () => {
    await rig.write('wf.yaml', 'name: w\nsteps:\n  - id: one\n    run: "true"\n  - id: two\n    needs: one\n    run: "true"\n');
    const mermaid = await rig.run(['graph', 'wf.yaml']);
    expect(mermaid.code, mermaid.stderr).toBe(0);
    expect(mermaid.stdout).toMatch(/^flowchart TD\n {2}s0\["one"\]\n {2}s1\["two"\]\n {2}s0 --> s1\n/);
    const json = await rig.run(['graph', 'wf.yaml', '--format', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ levels: [['one'], ['two']], criticalPath: ['one', 'two'] });
    await rig.write('bad.yaml', 'name: b\nsteps:\n  - id: one\n    needs: nope\n    run: "true"\n');
    const bad = await rig.run(['graph', 'bad.yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('needs unknown step "nope"');
    // The project root's config leaves a.sh out; with --project-root scripts it is not read.
    await rig.write('orchestrator.yaml', 'discovery:\n  exclude: [scripts/a.sh]\n');
    await rig.write('scripts/a.sh', 'true\n');
    await rig.write('scripts/b.sh', 'true\n');
    const ids = async (args: string[]) => (JSON.parse((await rig.run(['graph', 'scripts', '--format', 'json', ...args])).stdout) as { order: string[] }).order;
    expect(await ids([])).toEqual(['b.sh']);
    expect(await ids(['--project-root', 'scripts'])).toEqual(['a.sh', 'b.sh']);
  });

  it("run, run --dry-run and graph print the loader's warnings as validate does, with unchanged exit codes", async () => {
    await rig.write('wf.yaml', 'name: w\nsteps:\n  - id: a\n    run: echo x=1 >> "$ORCHESTRATOR_OUTPUT"\n  - id: b\n    run: echo "${{ steps.a.outputs.x }}"\n');
    const validate = await rig.run(['validate', 'wf.yaml']);
    expect(validate.code).toBe(0);
    const warning = validate.stderr.split('\n')[0] as string;
    expect(warning).toMatch(/wf\.yaml:6:26: warning: steps\[1\]\.run: `steps\.a`: "a" is not a dependency of step "b"/);
    for (const args of [['run', 'wf.yaml'], ['run', 'wf.yaml', '--dry-run'], ['graph', 'wf.yaml']]) {
      const result = await rig.run(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stderr.split('\n'), args.join(' ')).toContain(warning);
    }
  });

  it('--json prints one JSON error document when the command fails before it starts', async () => {
    const missing = await rig.run(['validate', '--json', 'nonexist']);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toEqual({
      ok: false,
      error: { message: `expected a folder of scripts or a workflow file, got ${rig.path('nonexist')} (does not exist)`, diagnostics: [] },
    });
    expect(missing.stderr).toContain('does not exist');
    await rig.write('scripts/a.sh', 'true\n');
    await rig.write('scripts/orchestrator.yaml', 'defaults:\n  timeout: -1\n');
    const config = await rig.run(['run', 'scripts', '--json']);
    expect(config.code).toBe(2);
    expect(JSON.parse(config.stdout)).toMatchObject({
      ok: false,
      error: { message: 'invalid configuration', diagnostics: [{ severity: 'error', line: 2, field: 'defaults.timeout' }] },
    });
    const flag = await rig.run(['run', 'scripts', '--json', '--bogus']);
    expect(flag.code).toBe(2);
    expect(JSON.parse(flag.stdout)).toEqual({ ok: false, error: { message: "unknown option '--bogus'", diagnostics: [] } });
    // A command that prints its own document prints only that one.
    const invalid = await rig.run(['validate', 'scripts', '--json']);
    expect(invalid.code).toBe(2);
    expect(JSON.parse(invalid.stdout)).toMatchObject({ valid: false });
  });

  it('validate exits 2 with every diagnostic, and 0 on a good config', async () => {
    await rig.write('scripts/orchestrator.yaml', 'defaults:\n  timeout: -1\nscripts:\n  a.py:\n    args: 3\n');
    const bad = await rig.run(['validate', 'scripts']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/:2:\d+: defaults\.timeout/);
    expect(bad.stderr).toMatch(/:5:\d+: scripts\.a\.py\.args/);
    await rig.write('scripts/orchestrator.yaml', 'defaults:\n  timeout: 10\n');
    expect((await rig.run(['validate', 'scripts'])).code).toBe(0);
  });

  it('docs --run-help writes Markdown with docstrings and --help output, grouped by folder', async () => {
    await rig.write(
      'scripts/etl/load.py',
      '"""Load the warehouse tables."""\nimport sys\nif "--help" in sys.argv:\n    print("usage: load.py [--full]")\n',
    );
    await rig.write('scripts/ops/clean.sh', '#!/bin/sh\n# Remove temporary files.\necho "usage: clean.sh"\n');
    const result = await rig.run(['docs', 'scripts', '-o', 'SCRIPTS.md', '--run-help']);
    expect(result.code, result.stderr).toBe(0);
    const markdown = await readFile(rig.path('SCRIPTS.md'), 'utf8');
    expect(markdown).toContain('Load the warehouse tables.');
    expect(markdown).toContain('usage: load.py [--full]');
    expect(markdown).toContain('Remove temporary files.');
    expect(markdown.indexOf('etl/load.py')).toBeLessThan(markdown.indexOf('ops/clean.sh'));
  });
});
