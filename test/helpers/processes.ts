import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

const POLL_MS = 10;

interface Stat {
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
}

/** Fields of /proc/<pid>/stat, or undefined when the pid does not exist. */
export function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may contain ") "; the state follows the last one.
  const fields = text.slice(text.lastIndexOf(') ') + 2).split(' ');
  return {
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    sid: Number(fields[3]),
  };
}

/**
 * True while the process runs. A zombie (killed, not yet reaped: PID 1 reaps slowly here) and a
 * missing pid both count as dead.
 */
export function isProcessAlive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** Live children of `ppid`. */
export function childPids(ppid: number): number[] {
  return allPids().filter((pid) => readStat(pid)?.ppid === ppid && isProcessAlive(pid));
}

/** Live processes (other than this one) whose environment holds `name=value` exactly. */
export function livePidsWithEnv(name: string, value: string): number[] {
  const entry = `${name}=${value}`;
  return allPids().filter((pid) => {
    if (pid === process.pid || !isProcessAlive(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry);
    } catch {
      return false;
    }
  });
}

/** Polls `check` until it returns a value other than undefined; rejects after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Waits (polling, at most `timeoutMs`) for a fixture to write its pid, and returns it. */
export function readPidFile(file: string, timeoutMs = 5000): Promise<number> {
  return waitFor(
    `a pid in ${file}`,
    async () => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        return undefined;
      }
      // Wait for the newline so a half-written pid is never read.
      const match = /^(\d+)\n/.exec(text);
      return match ? Number(match[1]) : undefined;
    },
    timeoutMs,
  );
}

/** Waits for `ppid` to have a live child and returns the child's pid. */
export function waitForChild(ppid: number, timeoutMs = 5000): Promise<number> {
  return waitFor(`a child of ${ppid}`, () => childPids(ppid)[0], timeoutMs);
}
