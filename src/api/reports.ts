import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunSummary, StepResult } from '../core/result.js';
import { writeJsonReport } from '../reporters/json-report.js';
import { writeJUnitReport } from '../reporters/junit-report.js';
import { writeMarkdownReport } from '../reporters/markdown-report.js';
import { formatDuration } from '../core/duration.js';
import { fileNameFor } from '../util/file-name.js';

export const REPORT_FORMATS = ['json', 'markdown', 'junit'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/**
 * Writes the run's reports into `runDir`: `summary.json`, `summary.md` and `junit.xml` (the
 * formats asked for). Returns the paths written. camelCase twin of the Python `generate_report`.
 */
export async function generateReport(
  summary: RunSummary,
  runDir: string,
  formats: readonly ReportFormat[] = REPORT_FORMATS,
): Promise<string[]> {
  await mkdir(runDir, { recursive: true });
  const written: string[] = [];
  for (const format of formats) {
    switch (format) {
      case 'json':
        written.push(await writeJsonReport(summary, runDir));
        break;
      case 'markdown':
        written.push(await writeMarkdownReport(summary, runDir));
        break;
      case 'junit':
        written.push(await writeJUnitReport(summary, runDir));
        break;
    }
  }
  return written;
}

/**
 * Writes a log for a result that has none, from its output tails, to
 * `<outputDir>/<runId>/logs/<id>.log`. Runs with a run folder write full logs by themselves; this
 * is the twin of the Python `save_log` for results built elsewhere. An id (or run id) that would
 * leave that folder (`..`, an absolute path; matrix values can hold them) gets a safe file name
 * instead, as the local engine's logs do.
 */
export async function saveLog(result: StepResult, outputDir: string, runId: string): Promise<string> {
  const file = logFileFor(path.join(outputDir, inside(outputDir, runId) ? runId : fileNameFor(runId), 'logs'), result.id);
  await mkdir(path.dirname(file), { recursive: true });
  const rule = '='.repeat(60);
  const text = [
    rule,
    result.id,
    rule,
    `Command:    ${result.command.join(' ')}`,
    `Status:     ${result.status}${result.message ? ` (${result.message})` : ''}`,
    `Exit code:  ${result.exitCode ?? '-'}`,
    `Signal:     ${result.signal ?? '-'}`,
    `Started:    ${result.startedAt ?? '-'}`,
    `Finished:   ${result.finishedAt ?? '-'}`,
    `Duration:   ${formatDuration(result.durationMs)}`,
    `${rule}\nSTDOUT (last ${result.stdoutTail.length} of ${result.stdoutBytes} bytes)\n${rule}`,
    result.stdoutTail,
    `${rule}\nSTDERR (last ${result.stderrTail.length} of ${result.stderrBytes} bytes)\n${rule}`,
    result.stderrTail,
    '',
  ].join('\n');
  await writeFile(file, text);
  return file;
}

/** Whether `name` joined to `dir` stays strictly below it. */
function inside(dir: string, name: string): boolean {
  const joined = path.join(dir, name);
  return joined.startsWith(path.join(dir, path.sep)) && joined !== path.join(dir, path.sep);
}

/** `<logs>/<id>.log`, or a safe name when the id would leave `logs` (same rule as the local engine). */
function logFileFor(logs: string, id: string): string {
  return inside(logs, `${id}.log`) ? path.join(logs, `${id}.log`) : path.join(logs, `${fileNameFor(id)}.log`);
}
