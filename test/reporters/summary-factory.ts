import { countStatuses, overallStatus, type RunSummary, type StepResult } from '../../src/core/result.js';

/** A step that succeeded, with every field set; override what a test cares about. */
export function makeStep(overrides: Partial<StepResult> & { id: string }): StepResult {
  const group = overrides.group ?? (overrides.id.includes('/') ? overrides.id.slice(0, overrides.id.lastIndexOf('/')) : '.');
  return {
    name: overrides.id,
    kind: 'script',
    group,
    path: overrides.id,
    status: 'succeeded',
    command: ['bash', overrides.id],
    exitCode: 0,
    signal: null,
    killSignal: null,
    timedOut: false,
    forcefullyKilled: false,
    attempts: 1,
    startedAt: '2024-05-01T10:00:00.000Z',
    finishedAt: '2024-05-01T10:00:01.000Z',
    durationMs: 1000,
    stdoutTail: '',
    stderrTail: '',
    stdoutBytes: 0,
    stderrBytes: 0,
    logPath: `/runs/r1/logs/${overrides.id.replace(/\//g, '__')}.log`,
    outputs: {},
    tags: [],
    ...overrides,
  };
}

export function makeSummary(steps: StepResult[], overrides: Partial<RunSummary> = {}): RunSummary {
  const counts = countStatuses(steps);
  return {
    schemaVersion: 1,
    runId: 'r1',
    name: 'nightly',
    source: 'scripts',
    status: overallStatus(counts, false),
    startedAt: '2024-05-01T10:00:00.000Z',
    finishedAt: '2024-05-01T10:00:03.400Z',
    durationMs: 3400,
    counts,
    steps,
    ...overrides,
  };
}

export const lines = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix} ${i + 1}`).join('\n') + '\n';

/**
 * The mix every reporter test uses, in two folders: `etl` (a success, a failure with exit code 3
 * and nasty stderr, a timeout that needed SIGKILL) and `reports` (a cancelled step, a skipped one
 * and a success whose name has a pipe in it).
 */
export function mixedSummary(): RunSummary {
  return makeSummary([
    makeStep({
      id: 'etl/load.py',
      command: ['python3', 'etl/load.py'],
      durationMs: 1230,
      stdoutTail: lines('loaded row', 30),
      stdoutBytes: 4000,
      outputs: { rows: '30', at: 'now' },
      tags: ['etl'],
    }),
    makeStep({
      id: 'etl/bad.sh',
      status: 'failed',
      reason: 'exit-non-zero',
      message: 'exited with code 3',
      exitCode: 3,
      durationMs: 50,
      stderrTail:
        lines('err', 12) +
        'fence ``` and ```` inside | pipe\n' +
        '<tag attr="x"> & \'q\' ]]> bell\u0007 esc\u001b[31mred\u001b[0m lone\uD800 ok\u{1F600}\n' +
        'last line\n',
      stderrBytes: 300,
    }),
    makeStep({
      id: 'etl/slow.py',
      status: 'timed-out',
      reason: 'timed-out',
      message: 'timed out after 2.00s (SIGKILL after SIGTERM was ignored)',
      exitCode: null,
      signal: 'SIGKILL',
      killSignal: 'SIGKILL',
      timedOut: true,
      forcefullyKilled: true,
      durationMs: 2000,
      stdoutTail: 'working\n',
      peakMemoryMb: 12.5,
    }),
    makeStep({
      id: 'reports/x.sh',
      status: 'cancelled',
      reason: 'cancelled',
      message: 'cancelled: the run was interrupted',
      exitCode: null,
      signal: 'SIGTERM',
      killSignal: 'SIGTERM',
      durationMs: 300,
    }),
    makeStep({
      id: 'reports/old.sh',
      status: 'skipped',
      reason: 'skipped-by-config',
      message: 'skipped by config: replaced by new.sh',
      command: [],
      exitCode: null,
      startedAt: null,
      finishedAt: null,
      durationMs: 0,
      logPath: null,
    }),
    makeStep({ id: 'reports/a|b.sh', durationMs: 700 }),
  ]);
}
