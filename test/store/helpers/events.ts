import os from 'node:os';
import type { RunEvent } from '../../../src/core/events.js';
import { countStatuses, type RunSummary, type StepResult } from '../../../src/core/result.js';
import type { FinalStatus } from '../../../src/core/status.js';
import type { RunInfo } from '../../../src/store/index.js';

/** A `RunInfo` for `runId` with this process as the orchestrator. */
export function runInfo(runId: string, overrides: Partial<RunInfo> = {}): RunInfo {
  return {
    runId,
    name: 'test-run',
    kind: 'workflow',
    source: 'workflow.yml',
    argv: ['run', 'workflow.yml'],
    cwd: process.cwd(),
    gitCommit: null,
    host: os.hostname(),
    pid: process.pid,
    pidStartTime: null,
    ...overrides,
  };
}

/** A finished step's result, as the engine builds it. */
export function stepResult(id: string, status: FinalStatus, overrides: Partial<StepResult> = {}): StepResult {
  return {
    id,
    name: id,
    kind: 'command',
    group: '.',
    status,
    command: ['/bin/sh', '-c', id],
    exitCode: status === 'succeeded' ? 0 : 1,
    signal: null,
    killSignal: null,
    timedOut: false,
    forcefullyKilled: false,
    attempts: 1,
    startedAt: new Date(1_000).toISOString(),
    finishedAt: new Date(1_010).toISOString(),
    durationMs: 10,
    stdoutTail: '',
    stderrTail: '',
    stdoutBytes: 0,
    stderrBytes: 0,
    logPath: null,
    outputs: {},
    tags: [],
    ...overrides,
  };
}

/**
 * The events of a whole run built by hand, for tests about what the store does with events rather
 * than what the engine emits: `run-started`, then per step `step-started` and `step-finished`
 * (attempt 1), then `run-finished`. Times start at `startedAt`.
 */
export function runEvents(
  runId: string,
  steps: { id: string; status: FinalStatus }[],
  options: { startedAt?: Date; name?: string } = {},
): RunEvent[] {
  const start = (options.startedAt ?? new Date()).getTime();
  const name = options.name ?? 'test-run';
  const events: RunEvent[] = [
    {
      type: 'run-started',
      runId,
      time: start,
      name,
      source: null,
      steps: steps.map((s) => ({ id: s.id, name: s.id, kind: 'command', group: '.', needs: [] })),
    },
  ];
  const results: StepResult[] = [];
  steps.forEach((s, i) => {
    const time = start + i * 10;
    events.push({ type: 'step-started', runId, time, stepId: s.id, attempt: 1, command: ['/bin/sh', '-c', s.id], pid: null });
    const result = stepResult(s.id, s.status, {
      startedAt: new Date(time).toISOString(),
      finishedAt: new Date(time + 5).toISOString(),
      durationMs: 5,
    });
    results.push(result);
    events.push({ type: 'step-finished', runId, time: time + 5, stepId: s.id, attempt: 1, result });
  });
  const finishedAt = start + steps.length * 10 + 1;
  const counts = countStatuses(results);
  const summary: RunSummary = {
    schemaVersion: 1,
    runId,
    name,
    source: null,
    status: counts.failed > 0 ? 'failed' : 'succeeded',
    startedAt: new Date(start).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    durationMs: finishedAt - start,
    counts,
    steps: results,
  };
  events.push({ type: 'run-finished', runId, time: finishedAt, summary });
  return events;
}
