import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunEvent, RunEventOf } from '../core/events.js';

/*
 * The per-run journal, `<state dir>/journal/<run id>.jsonl`: JSON lines appended with one
 * `writeSync` each (no fsync), which the kernel keeps even if the orchestrator is killed with
 * SIGKILL before its next batch is committed: the run's `run-started` event (its steps), then
 * its `step-finished` events and its `run-finished` event, cut down to what the store keeps
 * (`finishedLine`, `runFinishedLine`). The journal is deleted once the run's events are committed,
 * or replayed when the run is marked interrupted (so a run whose end could not be committed, the
 * database being busy or full, is read back as finished, not interrupted). When a line cannot be
 * written there (the state folder is full or read-only), it and every later line of the run go to
 * the run's fallback file instead (`RunInfo.journalFallback`), which is read after the journal.
 */

/**
 * The name of the journal's fallback in a run's folder (`RunInfo.journalFallback`, set by
 * `resumableRunInfo`): where the journal goes on when the state folder cannot take it.
 */
export const UNSAVED_HISTORY_FILE = 'unsaved-history.jsonl';

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
 * One journal line (with its newline) for a finished step, cut down to the fields the store
 * writes (see `SqliteRunStore#stepFinished`): the output tails and byte counts are not stored, so
 * they are not journaled either.
 */
export function finishedLine(event: RunEventOf<'step-finished'>): string {
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
  const line = { type: event.type, runId: event.runId, time: event.time, stepId: event.stepId, attempt: event.attempt, result };
  // A value JSON cannot hold (a cycle) is not stored either: journal the step without it rather
  // than an empty line a crash would lose the step by.
  const text = toJson(line) ?? toJson({ ...line, result: { ...result, value: undefined } });
  return `${text ?? '{}'}\n`;
}

/**
 * One journal line (with its newline) for the end of a run: the summary without its steps (they
 * are journaled one by one as they finish), which is all `SqliteRunStore` writes for it.
 */
export function runFinishedLine(event: RunEventOf<'run-finished'>): string {
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
  return `${toJson({ type: event.type, runId: event.runId, time: event.time, summary }) ?? '{}'}\n`;
}

/**
 * The events of a journal, in order (`run-started`, `step-finished`, `run-finished`; the last
 * two cut down as above); undefined when there is none. Lines cut short by a crash are skipped.
 */
export function readJournal(file: string): RunEvent[] | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const events: RunEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      events.push(JSON.parse(line) as RunEvent);
    } catch {
      // A line cut short by the crash.
    }
  }
  return events;
}
