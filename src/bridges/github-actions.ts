import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { isContinuedFailure, type RunSummary, type StepResult } from '../core/result.js';
import { lastLines } from '../reporters/last-lines.js';
import { renderMarkdownReport } from '../reporters/markdown-report.js';
import { openFence } from '../reporters/markdown-syntax.js';
import { stripControlCharacters } from '../reporters/strip-control-characters.js';
import { stepMessage } from '../reporters/step-message.js';

type Env = Readonly<Record<string, string | undefined>>;

export { detectCi, isGitHubActions, type CiProvider } from './ci-env.js';

/** Escapes the message part of a workflow command, as GitHub's toolkit does. */
export function escapeCommandData(text: string): string {
  return stripControlCharacters(text).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escapes a property value (`file=`, `title=`): the data escapes plus `:` and `,`. */
export function escapeCommandProperty(text: string): string {
  return escapeCommandData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export interface GitHubAnnotationOptions {
  /**
   * Prepended to each step's path in `file=`, so it is relative to the repository root (GitHub only
   * links annotations to files given that way). For example the run folder, `scripts`.
   * @default the summary's `source` when it is a relative path, else nothing
   */
  pathPrefix?: string;
  /** Lines of stderr put in each annotation's message. @default 5 */
  stderrLines?: number;
}

/**
 * One workflow command per step that did not succeed: `::error` for failed and timed-out steps,
 * `::warning` for cancelled ones and for failures with `continue_on_error` (skipped steps get none). The title is the step id and its reason
 * message; the message adds the exit, log path and the end of stderr.
 * @see docs/ci.md
 */
export function githubAnnotations(summary: RunSummary, options: GitHubAnnotationOptions = {}): string[] {
  const prefix =
    options.pathPrefix ??
    (summary.source !== null && !path.isAbsolute(summary.source) ? summary.source : '');
  const stderrLines = options.stderrLines ?? 5;
  const lines: string[] = [];
  for (const step of summary.steps) {
    let command: 'error' | 'warning';
    // A failure the run went on from (continue_on_error) does not fail the job: a warning.
    if (step.status === 'failed' || step.status === 'timed-out') command = isContinuedFailure(step) ? 'warning' : 'error';
    else if (step.status === 'cancelled') command = 'warning';
    else continue;
    const message = stepMessage(step);
    const properties: string[] = [];
    if (step.path !== undefined) {
      const file = prefix === '' ? step.path : path.posix.join(prefix.replace(/\\/g, '/'), step.path);
      properties.push(`file=${escapeCommandProperty(file)}`);
    }
    properties.push(`title=${escapeCommandProperty(`${step.id} ${message}`)}`);
    lines.push(`::${command} ${properties.join(',')}::${escapeCommandData(annotationBody(step, message, stderrLines))}`);
  }
  return lines;
}

function annotationBody(step: StepResult, message: string, stderrLines: number): string {
  const parts = [`${step.id} ${message}`];
  if (step.logPath !== null) parts.push(`log: ${step.logPath}`);
  const stderr = lastLines(step.stderrTail, stderrLines).replace(/\n$/, '');
  if (stderr.trim() !== '') parts.push('', stderr);
  return parts.join('\n');
}

/**
 * Wraps lines in a collapsible `::group::` in the job log. When a line could be read as a workflow
 * command (script output starting with `::`), the lines are also fenced with `::stop-commands::` so
 * a script cannot set outputs, masks or annotations through our log.
 */
export function groupLines(title: string, lines: readonly string[]): string[] {
  const body = [...lines];
  if (body.some((line) => /^\s*::/.test(line))) {
    const token = randomUUID();
    body.unshift(`::stop-commands::${token}`);
    body.push(`::${token}::`);
  }
  return [`::group::${escapeCommandData(title)}`, ...body, '::endgroup::'];
}

// GitHub rejects a step summary over 1 MiB; we stay well under it.
const STEP_SUMMARY_LIMIT = 1000 * 1000;

/**
 * Appends the Markdown report to the file named by `GITHUB_STEP_SUMMARY`, when that is set.
 * Returns the file written, or `null` when there is no step summary file.
 * @see docs/ci.md
 */
export async function writeStepSummary(summary: RunSummary, env: Env = process.env): Promise<string | null> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (file === undefined || file === '') return null;
  let markdown = renderMarkdownReport(summary);
  if (Buffer.byteLength(markdown) > STEP_SUMMARY_LIMIT) {
    const cut = Buffer.from(markdown).subarray(0, STEP_SUMMARY_LIMIT).toString('utf8');
    const kept = cut.slice(0, cut.lastIndexOf('\n') + 1);
    // A cut inside a fenced block would turn the note, and whatever later steps append, into code.
    const fence = openFence(kept);
    markdown = `${kept}${fence === null ? '' : `${fence}\n`}\n\n_Summary truncated: see summary.md in the report folder._\n`;
  }
  await appendFile(file, `${markdown}\n`, 'utf8');
  return file;
}
