import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
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
  await mkdir(path.dirname(logPath), { recursive: true });
  const out = createWriteStream(logPath, { flags: 'a' });
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
  out.write(header.join('\n'));
  out.write(`${RULE}\nSTDOUT (${stdout.bytes} bytes)\n${RULE}\n`);
  await stdout.copyTo(out);
  if (!stdout.endsWithNewline) out.write('\n');
  out.write(`${RULE}\nSTDERR (${stderr.bytes} bytes)\n${RULE}\n`);
  await stderr.copyTo(out);
  if (!stderr.endsWithNewline) out.write('\n');
  out.end();
  await once(out, 'close');
}

/** Quotes an argument for display the way a POSIX shell would need it. */
export function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
