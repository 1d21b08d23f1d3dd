import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunEvent, RunEventOf } from '../core/events.js';
import { readProc } from '../execution/proc-tree.js';
import type { RunInfo } from './run-store.js';

/*
 * The per-run journal, `<state dir>/journal/<run id>.jsonl`: JSON lines appended with one
 * `writeSync` each (no fsync), which the kernel keeps even if the orchestrator is killed with
 * SIGKILL before its next batch is committed. Lines are:
 * - `{"type":"run-info","time":...,"info":RunInfo}`: what `beginRun` records, written by an
 *   orchestrator that commits in the background (a run killed before its first commit is then
 *   still found, see `SqliteRunStore.adoptOrphanJournals`);
 * - a `run-started` event, after a `run-info` line;
 * - `step-finished` events, cut down to what the store keeps (`compactEvent`).
 * The journal is deleted once its run's events are committed, or replayed when the run is marked
 * interrupted.
 */

/** The first line of a journal written by a background-committing orchestrator. */
export interface RunInfoLine {
  type: 'run-info';
  /** When `beginRun` was called, in milliseconds since the epoch. */
  time: number;
  info: RunInfo;
}

export type JournalLine = RunInfoLine | RunEvent;

export function journalPath(journalDir: string, runId: string): string {
  return path.join(journalDir, `${runId.replace(/[^A-Za-z0-9._-]+/g, '_')}.jsonl`);
}

/**
 * JSON text for a column or a journal line. Never throws: one odd value must not block the whole
 * batch behind it. A bigint becomes its decimal string; anything else JSON cannot hold (cycles) is
 * not stored. Plain `JSON.stringify` first: a replacer function costs a call per key.
 */
export function toJson(value: unknown): string | null {
  if (value === undefined) return null;
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    try {
      return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? null;
    } catch {
      return null;
    }
  }
}

/**
 * An event cut down to the fields the store writes (see `SqliteRunStore#apply`): a finished
 * step's tails and byte counts, a run summary's step results, are not stored, so they are neither
 * journaled nor copied to the store's worker. `undefined` for `step-output` (never stored).
 */
export function compactEvent(event: RunEvent): RunEvent | undefined {
  switch (event.type) {
    case 'step-output':
      return undefined;
    case 'step-finished': {
      const r = event.result;
      const result = {
        status: r.status,
        reason: r.reason,
        message: r.message,
        exitCode: r.exitCode,
        signal: r.signal,
        durationMs: r.durationMs,
        finishedAt: r.finishedAt,
        outputs: r.outputs,
        logPath: r.logPath,
        value: r.value,
        command: r.command,
        cacheKey: r.cacheKey,
        cacheExplain: r.cacheExplain,
      };
      const compact = { type: event.type, runId: event.runId, time: event.time, stepId: event.stepId, attempt: event.attempt, result };
      return compact as unknown as RunEventOf<'step-finished'>;
    }
    case 'run-finished': {
      const s = event.summary;
      const summary = {
        name: s.name,
        source: s.source,
        status: s.status,
        startedAt: s.startedAt,
        finishedAt: s.finishedAt,
        durationMs: s.durationMs,
        counts: s.counts,
        cancelReason: s.cancelReason,
      };
      return { type: event.type, runId: event.runId, time: event.time, summary } as unknown as RunEventOf<'run-finished'>;
    }
    case 'step-started':
      return {
        type: event.type,
        runId: event.runId,
        time: event.time,
        stepId: event.stepId,
        attempt: event.attempt,
        command: event.command,
        pid: event.pid,
      };
    default:
      return event;
  }
}

/** One journal line (with its newline) for a finished step. */
export function finishedLine(event: RunEventOf<'step-finished'>): string {
  return `${toJson(compactEvent(event)) ?? '{}'}\n`;
}

export interface Journal {
  /** The `run-info` line, when the journal starts with one. */
  info?: RunInfoLine;
  /** `run-started` and `step-finished` events, in order. */
  events: RunEvent[];
}

/** Reads a journal; undefined when there is none. Lines cut short by a crash are skipped. */
export function readJournal(file: string): Journal | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const journal: Journal = { events: [] };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let parsed: JournalLine;
    try {
      parsed = JSON.parse(line) as JournalLine;
    } catch {
      continue;
    }
    if (parsed.type === 'run-info') journal.info ??= parsed;
    else journal.events.push(parsed);
  }
  return journal;
}

/** True when `pid` is still the orchestrator that started at `startTime` (clock ticks since boot). */
export function orchestratorAlive(pid: number | null, startTime: number | null): boolean {
  if (pid === null) return false;
  const info = readProc(pid);
  if (!info || info.state === 'Z') return false;
  return startTime === null || info.startTime === startTime;
}
