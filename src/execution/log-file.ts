import { appendFileSync, createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import path from 'node:path';
import { formatDuration } from '../core/duration.js';
import { writeTo, type StreamCapture } from './output-capture.js';

const RULE = '='.repeat(60);

export interface LogSection {
  title: string;
  command: string[];
  cwd: string;
  startedAt: number;
  finishedAt: number;
  status: string;
  message?: string | undefined;
  exitCode: number | null;
  signal: string | null;
}

/**
 * One attempt's log section as bytes when both streams are still held in memory (the common case:
 * small output); undefined when one spilled to disk and must be streamed.
 */
function heldSection(section: LogSection, stdout: StreamCapture, stderr: StreamCapture): Buffer | undefined {
  const heldOut = stdout.held();
  const heldErr = stderr.held();
  if (!heldOut || !heldErr) return undefined;
  const parts: Buffer[] = [Buffer.from(renderHeader(section) + sectionRule('STDOUT', stdout.bytes)), ...heldOut];
  if (!stdout.endsWithNewline) parts.push(Buffer.from('\n'));
  parts.push(Buffer.from(sectionRule('STDERR', stderr.bytes)), ...heldErr);
  if (!stderr.endsWithNewline) parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

/**
 * Appends one attempt to a step's log with one synchronous write, when its output is held in
 * memory. Returns false (nothing written) when the output spilled to disk: use `appendLogSection`.
 * A small append costs ~25 µs here, against ~200 µs of main-thread work for the same append
 * through the thread pool; callers fall back to the async path when a write turns out slow.
 */
export function appendLogSectionSync(
  logPath: string,
  section: LogSection,
  stdout: StreamCapture,
  stderr: StreamCapture,
): boolean {
  const bytes = heldSection(section, stdout, stderr);
  if (!bytes) return false;
  try {
    appendFileSync(logPath, bytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(path.dirname(logPath), { recursive: true });
    appendFileSync(logPath, bytes);
  }
  return true;
}

/**
 * Appends one attempt to a step's log: a header, then the complete stdout and stderr (streamed
 * from memory or from the spill files, never loaded whole).
 */
export async function appendLogSection(
  logPath: string,
  section: LogSection,
  stdout: StreamCapture,
  stderr: StreamCapture,
): Promise<void> {
  const bytes = heldSection(section, stdout, stderr);
  if (bytes) {
    try {
      await appendFile(logPath, bytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(path.dirname(logPath), { recursive: true });
      await appendFile(logPath, bytes);
    }
    return;
  }
  let out: WriteStream | undefined;
  try {
    await mkdir(path.dirname(logPath), { recursive: true });
    out = createWriteStream(logPath, { flags: 'a' });
    // Failures surface through `copyTo`, `write` and `finished`; unheard, they would crash us.
    out.on('error', () => undefined);
    await writeTo(out, renderHeader(section) + sectionRule('STDOUT', stdout.bytes));
    await stdout.copyTo(out);
    await writeTo(out, `${stdout.endsWithNewline ? '' : '\n'}${sectionRule('STDERR', stderr.bytes)}`);
    await stderr.copyTo(out);
    if (!stderr.endsWithNewline) await writeTo(out, '\n');
    out.end();
    await finished(out);
  } finally {
    out?.destroy();
    // Whatever failed, the spill files go: the log has what it could get.
    await Promise.all([stdout.discard(), stderr.discard()]);
  }
}

function sectionRule(name: string, bytes: number): string {
  return `${RULE}\n${name} (${bytes} bytes)\n${RULE}\n`;
}

function renderHeader(section: LogSection): string {
  const header = [
    RULE,
    section.title,
    RULE,
    `Command:    ${section.command.map(quoteArg).join(' ')}`,
    `Cwd:        ${section.cwd}`,
    `Status:     ${section.status}${section.message ? ` (${section.message})` : ''}`,
    `Exit code:  ${section.exitCode ?? '-'}`,
    `Signal:     ${section.signal ?? '-'}`,
    `Started:    ${new Date(section.startedAt).toISOString()}`,
    `Finished:   ${new Date(section.finishedAt).toISOString()}`,
    `Duration:   ${formatDuration(section.finishedAt - section.startedAt)}`,
    '',
  ];
  return header.join('\n');
}

/** Quotes an argument for display the way a POSIX shell would need it. */
export function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
