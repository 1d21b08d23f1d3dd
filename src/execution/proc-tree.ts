import { readdirSync, readFileSync } from 'node:fs';

/** One process as seen in /proc. `startTime` (clock ticks since boot) tells a reused pid apart. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** Process state letter from /proc (R, S, D, Z, ...). Zombies are dead but not yet reaped. */
  state: string;
  startTime: number;
  /** Resident set size in pages. */
  rssPages: number;
}

const PAGE_SIZE = 4096;

/** Parses /proc/<pid>/stat. The command name is in parentheses and may itself contain them. */
export function readProc(pid: number): ProcInfo | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); ppid is field 4, pgrp 5, session 6, starttime 22, rss 24.
  return {
    pid,
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    sid: Number(fields[3]),
    startTime: Number(fields[19]),
    rssPages: Number(fields[21]),
  };
}

export function listPids(): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of names) {
    const code = name.charCodeAt(0);
    if (code >= 48 && code <= 57) pids.push(Number(name));
  }
  return pids;
}

export function snapshot(): Map<number, ProcInfo> {
  const procs = new Map<number, ProcInfo>();
  for (const pid of listPids()) {
    const info = readProc(pid);
    if (info) procs.set(pid, info);
  }
  return procs;
}

/** True when /proc/<pid>/environ holds `NAME=value` exactly. */
function hasEnvMarker(pid: number, marker: Buffer): boolean {
  let env: Buffer;
  try {
    env = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return false;
  }
  let at = env.indexOf(marker);
  while (at >= 0) {
    const startsEntry = at === 0 || env[at - 1] === 0;
    const endsEntry = at + marker.length === env.length || env[at + marker.length] === 0;
    if (startsEntry && endsEntry) return true;
    at = env.indexOf(marker, at + 1);
  }
  return false;
}

export interface TreeQuery {
  /** The step's main process. */
  rootPid: number;
  /** Its process group (the root's pid, since it was spawned detached). */
  pgid: number;
  /**
   * `NAME=value` set in the step's environment. Descendants inherit it, so it finds processes that
   * left the group with setsid even after their parent exited and they were reparented.
   */
  envMarker?: string;
}

/**
 * Every live process that belongs to a step: the root, its descendants by parent chain (including
 * those that called setsid), members of its process group, and, when `envMarker` is given, any
 * process carrying the step's environment marker.
 */
export function findTree(query: TreeQuery, procs = snapshot()): ProcInfo[] {
  const children = new Map<number, number[]>();
  for (const info of procs.values()) {
    const list = children.get(info.ppid);
    if (list) list.push(info.pid);
    else children.set(info.ppid, [info.pid]);
  }
  const found = new Map<number, ProcInfo>();
  // Zombies are already dead; counting them would make a kill wait for their reaping.
  const queue: number[] = [];
  const add = (pid: number): void => {
    const info = procs.get(pid);
    if (!info || info.state === 'Z' || found.has(pid) || pid === process.pid) return;
    found.set(pid, info);
    queue.push(pid);
  };
  add(query.rootPid);
  for (const info of procs.values()) if (info.pgid === query.pgid) add(info.pid);
  if (query.envMarker) {
    const marker = Buffer.from(query.envMarker);
    for (const pid of procs.keys()) if (!found.has(pid) && hasEnvMarker(pid, marker)) add(pid);
  }
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    for (const child of children.get(pid) ?? []) add(child);
  }
  return [...found.values()];
}

/** Sends `signal` to each process, unless its pid now belongs to a different process. */
export function signalAll(procs: readonly ProcInfo[], signal: NodeJS.Signals): void {
  for (const info of procs) {
    const now = readProc(info.pid);
    if (!now || now.startTime !== info.startTime) continue;
    try {
      process.kill(info.pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Signals a whole process group; false when the group has no members left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  // An empty group (ESRCH) is the common answer after a step exits: its error needs no stack,
  // and capturing one is most of what the call costs.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function isAlive(info: ProcInfo): boolean {
  const now = readProc(info.pid);
  return now !== undefined && now.startTime === info.startTime && now.state !== 'Z';
}

/** Resident memory of the processes, in MiB. */
export function treeMemoryMb(procs: readonly ProcInfo[]): number {
  let pages = 0;
  for (const info of procs) pages += info.rssPages;
  return (pages * PAGE_SIZE) / (1024 * 1024);
}

/**
 * Every live process whose environment holds `NAME=value` exactly. Steps inherit
 * `ORCHESTRATOR_RUN_ID`, so this finds what a crashed run left behind, including processes that
 * left their group with setsid and were reparented.
 */
export function findProcessesWithEnv(entry: string, procs = snapshot()): ProcInfo[] {
  const marker = Buffer.from(entry);
  const found: ProcInfo[] = [];
  for (const info of procs.values()) {
    if (info.pid === process.pid || info.state === 'Z') continue;
    if (hasEnvMarker(info.pid, marker)) found.push(info);
  }
  return found;
}

/**
 * Live processes whose environment holds `name=<one of values>`, by value. One pass over /proc
 * for any number of values: each environment is read once, and only a match has its stat read.
 */
export function findProcessesByEnv(name: string, values: ReadonlySet<string>): Map<string, ProcInfo[]> {
  const found = new Map<string, ProcInfo[]>();
  if (values.size === 0) return found;
  const prefix = Buffer.from(`${name}=`);
  // Most pids are not ours to read or gone (errors): their stacks are never looked at.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (const pid of listPids()) {
      if (pid === process.pid) continue;
      const value = envValue(pid, prefix);
      if (value === undefined || !values.has(value)) continue;
      const info = readProc(pid);
      // Read again after the stat: the start time then belongs to the process that carries it.
      if (!info || info.state === 'Z' || envValue(pid, prefix) !== value) continue;
      const list = found.get(value);
      if (list) list.push(info);
      else found.set(value, [info]);
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
  return found;
}

/** The value of the first `NAME=` entry (`prefix`) in /proc/<pid>/environ, if any. */
function envValue(pid: number, prefix: Buffer): string | undefined {
  let env: Buffer;
  try {
    env = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined;
  }
  let at = env.indexOf(prefix);
  while (at >= 0) {
    if (at === 0 || env[at - 1] === 0) {
      const end = env.indexOf(0, at + prefix.length);
      return env.toString('latin1', at + prefix.length, end < 0 ? env.length : end);
    }
    at = env.indexOf(prefix, at + 1);
  }
  return undefined;
}

/** Start time of a live process (clock ticks since boot), to tell a reused pid apart later. */
export function processStartTime(pid: number): number | null {
  return readProc(pid)?.startTime ?? null;
}
