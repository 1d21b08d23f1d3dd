import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CANCEL_REQUEST_REASON, planFromRecord, recordRun } from '../../src/api/history.js';
import { runSpec } from '../../src/api/run-spec.js';
import { SqliteRunStore } from '../../src/store/index.js';
import { isProcessAlive, readPidFile } from '../helpers/processes.js';
import { commandStep, workflowSpec } from '../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

describe('recordRun: a library run recorded as the CLI records it', () => {
  let dir: string;
  let stateDir: string;
  let store: SqliteRunStore;
  let stepPid = 0;
  beforeEach(async () => {
    dir = await makeTmpDir('orch-record-run-');
    stateDir = path.join(dir, 'state');
    store = new SqliteRunStore({ stateDir });
  });
  afterEach(async () => {
    if (stepPid > 0 && isProcessAlive(stepPid)) process.kill(stepPid, 'SIGKILL');
    stepPid = 0;
    store.close();
    await removeTmpDir(dir);
  });

  it('honours a cancel request from another process (orchestrator cancel): the run is cancelled and recorded so', async () => {
    const pidFile = path.join(dir, 'step.pid');
    const spec = workflowSpec([commandStep(`echo $$ > "${pidFile}"; exec sleep 1000`, { id: 'long' })], { name: 'app' });
    const outputDir = path.join(dir, 'out');
    let asked = 0;
    const recording = await recordRun(store, { kind: 'workflow', source: 'app', projectRoot: dir, spec, outputDir, onCancelRequest: () => asked++ });
    const running = runSpec(spec, { outputDir, projectRoot: dir, signal: recording.signal, onStart: recording.onStart, onEvent: recording.onEvent });
    stepPid = await readPidFile(pidFile);
    const runId = recording.runId as string;
    // Recorded with its plan and this process as its owner, as `orchestrator run` records a run.
    const record = store.getRun(runId);
    expect(record).toMatchObject({ status: 'running', kind: 'workflow', source: 'app', pid: process.pid });
    expect(planFromRecord(record!)?.spec.name).toBe('app');

    // `orchestrator cancel <id>`, from another process: its own connection to the state folder.
    const other = new SqliteRunStore({ stateDir });
    const askedAt = Date.now();
    try {
      expect(other.requestCancel(runId)).toBe(true);
    } finally {
      other.close();
    }
    const { summary } = await running;
    const tookMs = Date.now() - askedAt;
    await recording.stop();
    expect(tookMs, `cancelled ${tookMs} ms after the request; expected within 3000 ms (polled every 250 ms)`).toBeLessThan(3000);
    expect(asked).toBe(1);
    expect(recording.cancelRequested).toBe(true);
    expect(recording.signal.reason).toBe(CANCEL_REQUEST_REASON);
    expect(summary.status).toBe('cancelled');
    expect(isProcessAlive(stepPid)).toBe(false);
    expect(store.getRun(runId)).toMatchObject({ status: 'cancelled' });
    expect(store.getSteps(runId).map((s) => [s.stepId, s.status])).toEqual([['long', 'cancelled']]);
  });

  it('a caller signal still cancels the run, and a run left alone finishes and stops the polling', async () => {
    const spec = workflowSpec([commandStep('exit 0', { id: 'quick' })], { name: 'quick' });
    const outputDir = path.join(dir, 'out');
    const recording = await recordRun(store, { kind: 'workflow', source: 'quick', projectRoot: dir, spec, outputDir });
    const { summary } = await runSpec(spec, { outputDir, signal: recording.signal, onStart: recording.onStart, onEvent: recording.onEvent });
    await recording.stop();
    expect(summary.status).toBe('succeeded');
    expect(store.getRun(recording.runId as string)).toMatchObject({ status: 'succeeded', counts: { succeeded: 1 } });
    expect(recording.signal.aborted).toBe(false);

    const controller = new AbortController();
    const second = await recordRun(store, { kind: 'workflow', source: 'quick', projectRoot: dir, spec, outputDir, signal: controller.signal });
    controller.abort('shutting down');
    expect(second.signal.aborted).toBe(true);
    expect(second.signal.reason).toBe('shutting down');
    await second.stop();
  });
});
