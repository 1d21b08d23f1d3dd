import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keptResults, planFromRecord, recoverInterruptedRuns, rerunStoredRun, resumableRunInfo } from '../../src/api/history.js';
import { runSpec } from '../../src/api/run-spec.js';
import type { WorkflowSpec } from '../../src/core/spec.js';
import { SqliteRunStore, storeListener } from '../../src/store/index.js';
import type { StepRecord } from '../../src/store/run-store.js';
import { isProcessAlive, waitFor } from '../helpers/processes.js';
import { commandStep, workflowSpec } from '../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';
import { killChild, startChild, waitForLine, type Child } from '../store/helpers/child.js';
import { runEvents } from '../store/helpers/events.js';

/** Lines in a marker file each run of a step appends to: how often it ran. */
function runsOf(file: string): number {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}

describe('run history API', () => {
  let dir: string;
  let stateDir: string;
  let store: SqliteRunStore;
  const children: Child[] = [];
  /** Process groups a test may leave behind (killed afterwards). */
  const groups: number[] = [];
  beforeEach(async () => {
    dir = await makeTmpDir('orch-history-');
    stateDir = path.join(dir, 'state');
    store = new SqliteRunStore({ stateDir });
  });
  afterEach(async () => {
    for (const child of children.splice(0)) killChild(child);
    for (const pid of groups.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    store.close();
    await removeTmpDir(dir);
  });

  /** Runs `spec` as the CLI records it (beginRun with its plan, every event), in `work`. */
  async function recordedRun(spec: WorkflowSpec, work: string) {
    const outputDir = path.join(dir, 'out');
    return runSpec(spec, {
      outputDir,
      reports: [],
      onEvent: storeListener(store),
      onStart: (run) =>
        store.beginRun(resumableRunInfo({ ...run, spec, outputDir }, { kind: 'workflow', source: 'wf.yaml', argv: ['run', 'wf.yaml'], projectRoot: work })),
    });
  }

  describe('recoverInterruptedRuns', () => {
    it('leaves a run recorded by storeListener alone while its orchestrator lives, and cleans up once it is gone', async () => {
      const child = startChild([stateDir, 'lib-run', 'listener']);
      children.push(child);
      await waitForLine(child, 'ready');
      const slow = store.getSteps('lib-run').find((s) => s.stepId === 'slow');
      const pid = slow?.pid ?? 0;
      groups.push(pid);

      // What `orchestrator runs` in another shell does first.
      expect(await recoverInterruptedRuns(store, 500)).toEqual([]);
      expect(isProcessAlive(pid), 'the live run\'s step was not killed').toBe(true);
      expect(store.getRun('lib-run')).toMatchObject({ status: 'running', pid: child.process.pid, host: hostname() });

      child.process.kill('SIGKILL');
      await child.exit;
      const [recovered, ...more] = await recoverInterruptedRuns(store, 500);
      expect(more).toEqual([]);
      expect(recovered).toMatchObject({ runId: 'lib-run', spillFiles: 0 });
      expect(recovered?.killed).toBeGreaterThan(0);
      await waitFor(`step process ${pid} to die`, () => (isProcessAlive(pid) ? undefined : true));
      expect(store.getRun('lib-run')?.status).toBe('interrupted');
    });

    it('never kills a running run whose owner was not recorded', async () => {
      for (const event of runEvents('legacy', [{ id: 'a', status: 'succeeded' }]).slice(0, 2)) store.recordEvent(event);
      await store.flush();
      // A row from before owners were recorded.
      const db = new Database(store.path);
      db.prepare(`UPDATE runs SET pid = NULL, pid_start_time = NULL, host = NULL WHERE id = 'legacy'`).run();
      db.close();
      const step = spawn('sleep', ['30'], { detached: true, stdio: 'ignore', env: { ...process.env, ORCHESTRATOR_RUN_ID: 'legacy' } });
      const pid = step.pid ?? 0;
      groups.push(pid);
      await waitFor(`sleep ${pid} to run`, () => (isProcessAlive(pid) ? true : undefined));

      expect(await recoverInterruptedRuns(store, 500)).toEqual([]);
      expect(isProcessAlive(pid)).toBe(true);
      expect(store.getRun('legacy')?.status).toBe('running');
    });

    it('stores a run whose end could not be committed (database locked) as succeeded, not interrupted', async () => {
      const child = startChild([stateDir, 'locked', 'finish-locked']);
      children.push(child);
      await waitForLine(child, 'ready');
      const lock = new Database(store.path, { timeout: 20 });
      try {
        lock.exec('BEGIN IMMEDIATE');
        child.process.stdin.write('go\n');
        expect(await waitForLine(child, /^closed: /)).toMatch(/locked|busy/i);
        expect(child.stdout).toContain('succeeded');
        expect(await child.exit).toBe(0);
      } finally {
        lock.exec('ROLLBACK');
        lock.close();
      }

      expect(store.getRun('locked')?.status, 'nothing of the run after beginRun was committed').toBe('running');
      expect(await recoverInterruptedRuns(store, 500), 'not reported as interrupted').toEqual([]);
      expect(store.getRun('locked')).toMatchObject({ status: 'succeeded', counts: { total: 2, succeeded: 2 } });
      expect(store.getSteps('locked').map((s) => [s.stepId, s.status])).toEqual([
        ['one', 'succeeded'],
        ['two', 'succeeded'],
      ]);
    });

    it('appends what a killed run left in spill files to the step log and removes them, inside the run folder only', async () => {
      const outputDir = path.join(dir, 'out');
      mkdirSync(outputDir);
      const child = startChild([stateDir, 'unused', 'spill', outputDir]);
      children.push(child);
      const runId = (await waitForLine(child, /^run /)).slice('run '.length);
      await waitForLine(child, 'ready');
      const logs = path.join(outputDir, runId, 'logs');
      // Spill-named files reached through links lead outside the run: they are not touched.
      const outside = path.join(dir, 'outside');
      mkdirSync(outside);
      writeFileSync(path.join(outside, 'x.log.1.part.stdout'), 'not the run\'s\n');
      symlinkSync(outside, path.join(logs, 'linked'));
      symlinkSync(path.join(outside, 'x.log.1.part.stdout'), path.join(logs, 'evil.log.1.part.stdout'));
      child.process.kill('SIGKILL');
      await child.exit;

      const [recovered] = await recoverInterruptedRuns(store, 500);
      expect(recovered).toMatchObject({ runId, spillFiles: 1 });
      expect(readdirSync(logs).sort()).toEqual(['evil.log.1.part.stdout', 'linked', 'loud.log']);
      expect(readdirSync(outside)).toEqual(['x.log.1.part.stdout']);
      expect(readFileSync(path.join(outside, 'x.log.1.part.stdout'), 'utf8')).toBe('not the run\'s\n');
      const log = readFileSync(path.join(logs, 'loud.log'), 'utf8');
      expect(log).toContain('loud · attempt 1');
      expect(log).toContain('interrupted');
      expect(log).toContain(`STDOUT (300005 bytes)\n${'='.repeat(60)}\n${'x'.repeat(300_000)}\nEND\n`);
    });
  });

  describe('rerunStoredRun', () => {
    it('reruns only the named step: a step that failed before is carried over, not run again', async () => {
      const work = path.join(dir, 'work');
      mkdirSync(work);
      const spec = workflowSpec([
        commandStep('echo ran >> deploy.count; exit 1', { id: 'deploy', cwd: work }),
        commandStep('echo ran >> docs.count', { id: 'docs', cwd: work }),
        commandStep('echo ran >> notify.count', { id: 'notify', needs: ['deploy'], cwd: work }),
      ]);
      const first = await recordedRun(spec, work);
      expect(first.summary.status).toBe('failed');

      const again = await rerunStoredRun(store, first.summary.runId, { kind: 'step', step: 'docs', downstream: false }, { onEvent: storeListener(store) });
      expect(runsOf(path.join(work, 'deploy.count')), 'deploy ran once, in the first run').toBe(1);
      expect(runsOf(path.join(work, 'docs.count'))).toBe(2);
      expect(runsOf(path.join(work, 'notify.count'))).toBe(0);
      expect(again.summary.status).toBe('failed');
      expect(again.summary.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
        ['deploy', 'failed', 1],
        ['docs', 'succeeded', 1],
        ['notify', 'skipped', 0],
      ]);
      expect(again.summary.counts).toMatchObject({ failed: 1, succeeded: 1, skipped: 1, total: 3 });
      expect(store.getRun(again.summary.runId)).toMatchObject({ status: 'failed', pid: process.pid });
      expect(store.getSteps(again.summary.runId).map((s) => [s.stepId, s.status, s.attempt, s.reason])).toEqual([
        ['deploy', 'failed', 1, 'exit-non-zero'],
        ['docs', 'succeeded', 1, null],
        ['notify', 'skipped', 0, 'dependency-failed'],
      ]);
    });

    it('records a rerun as the CLI records one (plan, command line, cwd, owner), so that the rerun can be rerun and resumed in turn', async () => {
      const work = path.join(dir, 'work');
      mkdirSync(work);
      // b fails twice, then succeeds.
      const spec = workflowSpec([
        commandStep('echo ran >> a.count', { id: 'a', cwd: work }),
        commandStep('echo ran >> b.count; [ "$(wc -l < b.count)" -ge 3 ]', { id: 'b', needs: ['a'], cwd: work }),
      ]);
      const first = await recordedRun(spec, work);
      expect(first.summary.status).toBe('failed');
      const firstPlan = planFromRecord(store.getRun(first.summary.runId) as NonNullable<ReturnType<typeof store.getRun>>);

      const again = await rerunStoredRun(store, first.summary.runId, { kind: 'failed' }, { onEvent: storeListener(store) });
      expect(again.summary.status).toBe('failed');
      const record = store.getRun(again.summary.runId);
      expect(record).toMatchObject({
        kind: 'workflow',
        source: 'wf.yaml',
        argv: ['rerun', first.summary.runId, '--failed'],
        cwd: process.cwd(),
        host: hostname(),
        pid: process.pid,
        status: 'failed',
      });
      expect(record?.pidStartTime).toEqual(expect.any(Number));
      // The plan is the one read for the first run: a rerun of this rerun compares the files with that time.
      expect(planFromRecord(record as NonNullable<typeof record>)).toEqual({ ...firstPlan, runDir: again.runDir });

      const third = await rerunStoredRun(store, again.summary.runId, { kind: 'failed' }, { onEvent: storeListener(store), argv: ['my-tool', 'retry'] });
      expect(third.summary.status).toBe('succeeded');
      expect(store.getRun(third.summary.runId)).toMatchObject({ argv: ['my-tool', 'retry'], status: 'succeeded' });
      expect(runsOf(path.join(work, 'a.count')), 'a ran once, in the first run').toBe(1);
      expect(runsOf(path.join(work, 'b.count'))).toBe(3);

      // And resumed: the second run failed, its resume runs b again (a fourth time).
      const resumed = await rerunStoredRun(store, again.summary.runId, { kind: 'resume' }, { onEvent: storeListener(store) });
      expect(resumed.summary.runId).toBe(again.summary.runId);
      expect(resumed.summary.status).toBe('succeeded');
      expect(store.getRun(again.summary.runId)).toMatchObject({ argv: ['resume', again.summary.runId], status: 'succeeded' });
    });

    it("a failed rerun runs every step downstream of a failed or timed-out step again, successes included; the rest keep their result", async () => {
      const work = path.join(dir, 'work');
      mkdirSync(work);
      const spec = workflowSpec([
        // Times out until `fixed` exists; `report` reports on it whatever happened.
        commandStep('echo ran >> slow.count; test -f fixed || exec sleep 30', { id: 'slow', cwd: work, timeout: 300, killGrace: 100 }),
        commandStep('echo ran >> report.count', { id: 'report', needs: ['slow'], if: 'always()', cwd: work }),
        // Fails until `fixed` exists, without failing the run: `after` and `last` run on it.
        commandStep('echo ran >> lenient.count; test -f fixed', { id: 'lenient', continueOnError: true, cwd: work }),
        commandStep('echo ran >> after.count', { id: 'after', needs: ['lenient'], cwd: work }),
        commandStep('echo ran >> last.count', { id: 'last', needs: ['after'], cwd: work }),
        commandStep('echo ran >> alone.count', { id: 'alone', cwd: work }),
      ]);
      const first = await recordedRun(spec, work);
      expect(store.getSteps(first.summary.runId).map((s) => [s.stepId, s.status])).toEqual([
        ['slow', 'timed-out'],
        ['report', 'succeeded'],
        ['lenient', 'failed'],
        ['after', 'succeeded'],
        ['last', 'succeeded'],
        ['alone', 'succeeded'],
      ]);
      writeFileSync(path.join(work, 'fixed'), '');

      const again = await rerunStoredRun(store, first.summary.runId, { kind: 'failed' }, { onEvent: storeListener(store) });
      expect(again.summary.status).toBe('succeeded');
      for (const id of ['slow', 'report', 'lenient', 'after', 'last']) expect(runsOf(path.join(work, `${id}.count`)), `${id} ran again`).toBe(2);
      expect(runsOf(path.join(work, 'alone.count')), 'alone kept its result').toBe(1);
    });

    it('gives a rerun whose events the caller does not record its final status, not `running`', async () => {
      const work = path.join(dir, 'work');
      mkdirSync(work);
      const first = await recordedRun(workflowSpec([commandStep('exit 1', { id: 'step', cwd: work })]), work);
      const again = await rerunStoredRun(store, first.summary.runId, { kind: 'failed' });
      expect(store.getRun(again.summary.runId)).toMatchObject({ status: 'failed', argv: ['rerun', first.summary.runId, '--failed'] });
      expect(planFromRecord(store.getRun(again.summary.runId) as NonNullable<ReturnType<typeof store.getRun>>)?.runDir).toBe(again.runDir);
    });

    it('says an id prefix that several runs match is ambiguous and names them; an unknown id is no such run', async () => {
      for (const id of ['2026-a', '2026-b']) {
        for (const event of runEvents(id, [{ id: 'a', status: 'failed' }])) store.recordEvent(event);
      }
      await store.flush();
      await expect(rerunStoredRun(store, '2026', { kind: 'failed' })).rejects.toThrow(
        new TypeError('Expected the id of a stored run, got `2026` (an ambiguous prefix: it matches 2 runs, 2026-b, 2026-a; give more of the id)'),
      );
      await expect(rerunStoredRun(store, '1999', { kind: 'failed' })).rejects.toThrow(
        new TypeError('Expected the id of a stored run, got `1999` (no such run)'),
      );
    });

    it('refuses to resume a run that succeeded, or to rerun --failed one with nothing that failed, and leaves its record alone', async () => {
      const work = path.join(dir, 'work');
      mkdirSync(work);
      const { summary } = await recordedRun(workflowSpec([commandStep('echo ran >> step.count', { id: 'step', cwd: work })]), work);
      const before = store.getRun(summary.runId);
      await expect(rerunStoredRun(store, summary.runId, { kind: 'resume' })).rejects.toThrow(
        new TypeError(`Expected a run with something to resume, got run ${summary.runId}: it succeeded`),
      );
      await expect(rerunStoredRun(store, summary.runId, { kind: 'failed' })).rejects.toThrow(
        `Expected a run with something to rerun, got run ${summary.runId}: every step succeeded, came from the cache or was skipped`,
      );
      expect(runsOf(path.join(work, 'step.count'))).toBe(1);
      expect(store.getRun(summary.runId)).toEqual(before);
      expect(store.listRuns()).toHaveLength(1);
    });

    it('refuses to resume a run another live process has claimed, naming it, and resumes it once that process is gone', async () => {
      const work = path.join(dir, 'work');
      mkdirSync(work);
      const spec = workflowSpec([commandStep('echo ran >> step.count; exit 1', { id: 'step', cwd: work })]);
      const { summary } = await recordedRun(spec, work);
      const child = startChild([stateDir, summary.runId, 'claim']);
      children.push(child);
      await waitForLine(child, 'ready');
      child.process.stdin.write('go\n');
      expect(JSON.parse(await waitForLine(child, /^\{/))).toEqual({ claimed: true });

      await expect(rerunStoredRun(store, summary.runId, { kind: 'resume' })).rejects.toThrow(
        `run ${summary.runId} is already being resumed by pid ${child.process.pid} on ${hostname()}`,
      );
      expect(runsOf(path.join(work, 'step.count'))).toBe(1);

      child.process.stdin.write('exit\n');
      expect(await child.exit).toBe(0);
      const resumed = await rerunStoredRun(store, summary.runId, { kind: 'resume' }, { onEvent: storeListener(store) });
      expect(runsOf(path.join(work, 'step.count'))).toBe(2);
      expect(resumed.summary.steps[0]?.attempts).toBe(2);
      expect(store.getRun(summary.runId)).toMatchObject({ status: 'failed', pid: process.pid });
    });
  });
});

describe('keptResults', () => {
  const record = (stepId: string, status: StepRecord['status'], needs: string[] = []): StepRecord => ({
    runId: 'r1', stepId, name: stepId, kind: 'command', group: '.', needs, attempt: 1, status,
    reason: status === 'failed' ? 'exit-non-zero' : null, message: null, exitCode: status === 'failed' ? 1 : 0,
    signal: null, durationMs: 5, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z',
    outputs: status === 'cached' ? { n: '1' } : {}, logPath: null, command: ['sh'], pid: null, pidStartTime: null,
    cacheKey: status === 'cached' ? 'k' : null, cacheExplain: [],
  });
  const spec = workflowSpec([
    commandStep('true', { id: 'built' }),
    commandStep('true', { id: 'lint' }),
    commandStep('true', { id: 'test', needs: ['built'] }),
  ]);
  const records = [record('built', 'cached'), record('lint', 'succeeded'), record('test', 'failed', ['built'])];

  it('keeps steps that came from the cache, as it keeps succeeded ones, on resume and rerun --failed', () => {
    for (const mode of [{ kind: 'resume' }, { kind: 'failed' }] as const) {
      const kept = keptResults(records, spec, mode);
      expect(Object.keys(kept).sort(), mode.kind).toEqual(mode.kind === 'resume' ? ['built', 'lint', 'test'] : ['built', 'lint']);
      expect(kept.built).toMatchObject({ status: 'cached', outputs: { n: '1' } });
    }
  });
});
