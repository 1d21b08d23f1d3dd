import { createWriteStream } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { formatDuration } from '../core/duration.js';
import type { StreamCapture } from './output-capture.js';

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
 * Appends one attempt to a step's log: a header, then the complete stdout and stderr (streamed
 * from memory or from the spill files, never loaded whole).
 */
export async function appendLogSection(
  logPath: string,
  section: LogSection,
  stdout: StreamCapture,
  stderr: StreamCapture,
): Promise<void> {
  const headerText = renderHeader(section);
  const heldOut = stdout.held();
  const heldErr = stderr.held();
  if (heldOut && heldErr) {
    // The common case: small output, one write.
    const parts: Buffer[] = [Buffer.from(headerText + sectionRule('STDOUT', stdout.bytes)), ...heldOut];
    if (!stdout.endsWithNewline) parts.push(Buffer.from('\n'));
    parts.push(Buffer.from(sectionRule('STDERR', stderr.bytes)), ...heldErr);
    if (!stderr.endsWithNewline) parts.push(Buffer.from('\n'));
    try {
      await appendFile(logPath, Buffer.concat(parts));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(path.dirname(logPath), { recursive: true });
      await appendFile(logPath, Buffer.concat(parts));
    }
    return;
  }
  await mkdir(path.dirname(logPath), { recursive: true });
  const out = createWriteStream(logPath, { flags: 'a' });
  out.write(headerText);
  out.write(sectionRule('STDOUT', stdout.bytes));
  await stdout.copyTo(out);
  if (!stdout.endsWithNewline) out.write('\n');
  out.write(sectionRule('STDERR', stderr.bytes));
  await stderr.copyTo(out);
  if (!stderr.endsWithNewline) out.write('\n');
  out.end();
  await once(out, 'close');
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
