import { constants } from 'node:fs';
import { lstat, open, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';

const RULE = '='.repeat(60);
/** `<step>.log.<attempt>.part.<stream>`: where a step's output goes once it outgrows memory or runs past a second. */
const SPILL = /^(.+\.log)\.(\d+)\.part\.(stdout|stderr)$/;
const CHUNK = 1 << 20;

interface Spilled {
  /** The step's log file, beside the spill files. */
  log: string;
  stepId: string;
  attempt: number;
  stdout?: string;
  stderr?: string;
}

/**
 * Saves the output an orchestrator killed with SIGKILL left in spill files under `<runDir>/logs`
 * (`<step>.log.<attempt>.part.stdout` and `.stderr`, which it would have copied into the step's
 * log at the end of the attempt): each attempt's output is appended to its step's log as a
 * section marked interrupted, then the spill files are removed. Only the run's own folder is
 * touched: symbolic links are neither followed nor written through. Returns how many spill files
 * were recovered. Call it only once the processes that wrote them are gone.
 */
export async function recoverSpillFiles(runDir: string): Promise<number> {
  const logsDir = path.join(runDir, 'logs');
  const spilled = new Map<string, Spilled>();
  await collect(logsDir, logsDir, spilled);
  let recovered = 0;
  for (const entry of spilled.values()) {
    try {
      await appendSection(entry);
    } catch {
      // The log cannot be written (a link in the way, a full disk): the spill files are kept.
      continue;
    }
    for (const file of [entry.stdout, entry.stderr]) {
      if (file === undefined) continue;
      await unlink(file).catch(() => undefined);
      recovered += 1;
    }
  }
  return recovered;
}

async function collect(dir: string, logsDir: string, found: Map<string, Spilled>): Promise<void> {
  // lstat, not stat: a `logs` folder (or a folder in it) that is a link may lead out of the run.
  const info = await lstat(dir).catch(() => undefined);
  if (!info?.isDirectory()) return;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await collect(file, logsDir, found);
      continue;
    }
    const match = entry.isFile() ? SPILL.exec(entry.name) : null;
    if (!match) continue;
    const [, logName, attempt, stream] = match as unknown as [string, string, string, 'stdout' | 'stderr'];
    const log = path.join(dir, logName);
    const key = `${log}\0${attempt}`;
    const spilled = found.get(key) ?? {
      log,
      stepId: path.relative(logsDir, log).slice(0, -'.log'.length).split(path.sep).join('/'),
      attempt: Number(attempt),
    };
    spilled[stream] = file;
    found.set(key, spilled);
  }
}

async function appendSection(entry: Spilled): Promise<void> {
  // O_NOFOLLOW: a log that is a link is not written through.
  const log = await open(entry.log, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  try {
    await log.write(
      [
        RULE,
        `${entry.stepId} · attempt ${entry.attempt}`,
        RULE,
        'Status:     interrupted (the orchestrator was killed; this output was recovered from its spill files)',
        '',
      ].join('\n'),
    );
    for (const [name, file] of [['STDOUT', entry.stdout], ['STDERR', entry.stderr]] as const) {
      await copyStream(log, name, file);
    }
  } finally {
    await log.close();
  }
}

async function copyStream(log: import('node:fs/promises').FileHandle, name: string, file: string | undefined): Promise<void> {
  if (file === undefined) {
    await log.write(`${RULE}\n${name} (not saved: it was still held in memory)\n${RULE}\n`);
    return;
  }
  const input = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const { size } = await input.stat();
    await log.write(`${RULE}\n${name} (${size} bytes)\n${RULE}\n`);
    // In chunks: a spill file is by definition too big to hold in memory.
    const buffer = Buffer.alloc(CHUNK);
    let last = 0x0a;
    for (;;) {
      const { bytesRead } = await input.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      await log.write(buffer.subarray(0, bytesRead));
      last = buffer[bytesRead - 1] ?? last;
    }
    if (last !== 0x0a) await log.write('\n');
  } finally {
    await input.close();
  }
}
