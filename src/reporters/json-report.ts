import type { RunSummary, StatusCounts, StepResult } from '../core/result.js';
import { FAILURE_REASONS, FINAL_STATUSES, RUN_STATUSES, type FailureReason, type FinalStatus } from '../core/status.js';
import { compareText, countByGroup, type GroupCounts } from './group-counts.js';
import { lastLines } from './last-lines.js';
import { writeReportFile } from './write-report-file.js';

/** Lines of each output tail kept in `summary.json`; the full output is in the step's log file. */
export const JSON_TAIL_LINES = 20;

/** One step as written to `summary.json`. Optional fields of `StepResult` are `null` when unset. */
export interface StepJson {
  id: string;
  name: string;
  kind: string;
  group: string;
  path: string | null;
  status: FinalStatus;
  reason: FailureReason | null;
  message: string | null;
  command: string[];
  exitCode: number | null;
  signal: string | null;
  killSignal: string | null;
  timedOut: boolean;
  forcefullyKilled: boolean;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number;
  stdoutTail: string;
  stderrTail: string;
  stdoutBytes: number;
  stderrBytes: number;
  logPath: string | null;
  peakMemoryMb: number | null;
  outputs: Record<string, string>;
  tags: string[];
  /** Workflow steps: the steps it depended on; empty for folder runs. */
  needs: string[];
  /** Matrix values of an expanded step, else null. */
  matrix: Record<string, string | number | boolean> | null;
  /** A function step's return value (JSON), else null. */
  value: unknown;
  /** The step failed but had `continue_on_error`, so the run did not fail for it. */
  continuedOnError: boolean;
  /** The cache key, when caching was on for the step, else null. */
  cacheKey: string | null;
  /** Why a cached step ran or was taken from the cache. */
  cacheExplain: string[];
}

/** The content of `summary.json`, version 1. @see docs/reports.md */
export interface SummaryJson {
  schemaVersion: 1;
  runId: string;
  name: string;
  source: string | null;
  status: FinalStatus;
  cancelReason: string | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  counts: StatusCounts;
  byGroup: Record<string, GroupCounts>;
  steps: StepJson[];
}

/**
 * Turns a run summary into the `summary.json` document: every field of `RunSummary` in a fixed key
 * order, plus `byGroup`, with each output tail cut to its last 20 lines.
 * @see docs/reports.md
 */
export function toJsonSummary(summary: RunSummary): SummaryJson {
  const { counts: c } = summary;
  const counts: StatusCounts = {
    total: c.total,
    pending: c.pending,
    running: c.running,
    succeeded: c.succeeded,
    failed: c.failed,
    'timed-out': c['timed-out'],
    cancelled: c.cancelled,
    skipped: c.skipped,
    cached: c.cached,
  };
  const byGroup: Record<string, GroupCounts> = {};
  for (const [group, groupCounts] of countByGroup(summary.steps)) byGroup[group] = groupCounts;
  return {
    schemaVersion: 1,
    runId: summary.runId,
    name: summary.name,
    source: summary.source,
    status: summary.status,
    cancelReason: summary.cancelReason ?? null,
    startedAt: summary.startedAt,
    finishedAt: summary.finishedAt,
    durationMs: summary.durationMs,
    counts,
    byGroup,
    steps: summary.steps.map(stepToJson),
  };
}

function stepToJson(step: StepResult): StepJson {
  const outputs: Record<string, string> = {};
  for (const key of Object.keys(step.outputs).sort(compareText)) outputs[key] = step.outputs[key] ?? '';
  return {
    id: step.id,
    name: step.name,
    kind: step.kind,
    group: step.group,
    path: step.path ?? null,
    status: step.status,
    reason: step.reason ?? null,
    message: step.message ?? null,
    command: [...step.command],
    exitCode: step.exitCode,
    signal: step.signal,
    killSignal: step.killSignal,
    timedOut: step.timedOut,
    forcefullyKilled: step.forcefullyKilled,
    attempts: step.attempts,
    startedAt: step.startedAt,
    finishedAt: step.finishedAt,
    durationMs: step.durationMs,
    stdoutTail: lastLines(step.stdoutTail, JSON_TAIL_LINES),
    stderrTail: lastLines(step.stderrTail, JSON_TAIL_LINES),
    stdoutBytes: step.stdoutBytes,
    stderrBytes: step.stderrBytes,
    logPath: step.logPath,
    peakMemoryMb: step.peakMemoryMb ?? null,
    outputs,
    tags: [...step.tags],
    needs: [...(step.needs ?? [])],
    matrix: step.matrix ?? null,
    value: step.value === undefined ? null : step.value,
    continuedOnError: step.continuedOnError === true,
    cacheKey: step.cacheKey ?? null,
    cacheExplain: [...(step.cacheExplain ?? [])],
  };
}

/** Writes `<dir>/summary.json` (pretty-printed, ending in a newline) and returns its path. */
export async function writeJsonReport(summary: RunSummary, dir: string): Promise<string> {
  return writeReportFile(dir, 'summary.json', `${JSON.stringify(toJsonSummary(summary), null, 2)}\n`);
}

const nullable = (type: string) => ({ type: [type, 'null'] }) as const;
const count = { type: 'integer', minimum: 0 } as const;
const isoTime = { type: 'string', format: 'date-time' } as const;

const GROUP_COUNTS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['total', 'succeeded', 'failed', 'timed-out', 'cancelled', 'skipped', 'cached', 'continuedOnError'],
  properties: {
    total: count,
    succeeded: count,
    failed: count,
    'timed-out': count,
    cancelled: count,
    skipped: count,
    cached: count,
    continuedOnError: { ...count, description: 'Of the failed and timed-out steps, those with `continue_on_error`.' },
  },
} as const;

const STEP_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id', 'name', 'kind', 'group', 'path', 'status', 'reason', 'message', 'command', 'exitCode',
    'signal', 'killSignal', 'timedOut', 'forcefullyKilled', 'attempts', 'startedAt', 'finishedAt',
    'durationMs', 'stdoutTail', 'stderrTail', 'stdoutBytes', 'stderrBytes', 'logPath',
    'peakMemoryMb', 'outputs', 'tags', 'needs', 'matrix', 'value', 'continuedOnError', 'cacheKey',
    'cacheExplain',
  ],
  properties: {
    id: { type: 'string', description: 'Unique step id; for folder runs the relative script path.' },
    name: { type: 'string', description: 'Display name.' },
    kind: { type: 'string', description: 'Step kind: `script` or `command`.' },
    group: { type: 'string', description: 'Folder of the step, relative; `.` is the top level.' },
    path: { ...nullable('string'), description: 'Script path relative to the run folder.' },
    status: { enum: [...FINAL_STATUSES] },
    reason: { enum: [...FAILURE_REASONS, null], description: 'Why the step did not succeed.' },
    message: { ...nullable('string'), description: 'One line saying what happened.' },
    command: { type: 'array', items: { type: 'string' }, description: 'The argv that was run.' },
    exitCode: nullable('integer'),
    signal: { ...nullable('string'), description: 'Signal the process died of.' },
    killSignal: { ...nullable('string'), description: 'Signal the orchestrator sent to end it.' },
    timedOut: { type: 'boolean' },
    forcefullyKilled: { type: 'boolean', description: 'SIGKILL was needed after SIGTERM.' },
    attempts: count,
    startedAt: { anyOf: [isoTime, { type: 'null' }] },
    finishedAt: { anyOf: [isoTime, { type: 'null' }] },
    durationMs: { type: 'number', minimum: 0, description: 'Duration of the last attempt.' },
    stdoutTail: { type: 'string', description: 'Last 20 lines (at most) of stdout.' },
    stderrTail: { type: 'string', description: 'Last 20 lines (at most) of stderr.' },
    stdoutBytes: count,
    stderrBytes: count,
    logPath: { ...nullable('string'), description: 'Full log of the step, when written.' },
    peakMemoryMb: { type: ['number', 'null'], minimum: 0 },
    outputs: { type: 'object', additionalProperties: { type: 'string' } },
    tags: { type: 'array', items: { type: 'string' } },
    needs: { type: 'array', items: { type: 'string' }, description: 'Steps it depended on (workflows).' },
    matrix: { type: ['object', 'null'], additionalProperties: { type: ['string', 'number', 'boolean'] } },
    value: { description: 'A function step\'s return value (JSON), else null.' },
    continuedOnError: { type: 'boolean', description: 'Failed, but `continue_on_error` kept the run green.' },
    cacheKey: { ...nullable('string'), description: 'The cache key when caching was on for the step.' },
    cacheExplain: { type: 'array', items: { type: 'string' }, description: 'Why it ran, or that it came from the cache.' },
  },
} as const;

/**
 * Hand-written JSON Schema (draft-07) for `summary.json`, `schemaVersion` 1. Adding a field is a
 * compatible change; renaming or removing one bumps `schemaVersion`.
 * @see docs/reports.md
 */
export const SUMMARY_JSON_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://codomyrmex.dev/schema/summary.v1.json',
  title: 'codomyrmex-orchestrator run summary',
  type: 'object',
  additionalProperties: false,
  required: [
    'schemaVersion', 'runId', 'name', 'source', 'status', 'cancelReason', 'startedAt', 'finishedAt',
    'durationMs', 'counts', 'byGroup', 'steps',
  ],
  properties: {
    schemaVersion: { const: 1 },
    runId: { type: 'string' },
    name: { type: 'string' },
    source: { ...nullable('string'), description: 'Folder or file the run came from.' },
    status: { enum: [...FINAL_STATUSES] },
    cancelReason: { ...nullable('string'), description: 'Why the run itself was cancelled.' },
    startedAt: isoTime,
    finishedAt: isoTime,
    durationMs: { type: 'number', minimum: 0 },
    counts: {
      type: 'object',
      additionalProperties: false,
      required: ['total', ...RUN_STATUSES],
      properties: Object.fromEntries(['total', ...RUN_STATUSES].map((key) => [key, count])),
    },
    byGroup: { type: 'object', additionalProperties: GROUP_COUNTS_SCHEMA },
    steps: { type: 'array', items: STEP_SCHEMA },
  },
} as const;
