import { hostname } from 'node:os';
import { readProc } from '../execution/proc-tree.js';

/** The process that runs a run: the one crash recovery checks, and the one a claim records. */
export interface RunOwner {
  pid: number;
  /** Start time in clock ticks since boot, so a reused pid is not taken for the owner. */
  pidStartTime: number | null;
  host: string;
}

let current: RunOwner | undefined;

/** This process as the owner of a run. */
export function currentOwner(): RunOwner {
  current ??= { pid: process.pid, pidStartTime: readProc(process.pid)?.startTime ?? null, host: hostname() };
  return current;
}

/**
 * True only when a run's recorded owner is known to be gone: it ran on this host, and its pid is
 * no longer alive or now belongs to a process with another start time. An owner that was never
 * recorded, or one on another host, is never taken for gone: recovery must not kill, and a claim
 * must not take over, a run it cannot attribute.
 */
export function ownerGone(owner: { pid: number | null; pidStartTime: number | null; host: string | null }): boolean {
  if (owner.pid === null || owner.host === null || owner.host !== currentOwner().host) return false;
  const info = readProc(owner.pid);
  if (!info || info.state === 'Z' || info.state === 'X') return true;
  return owner.pidStartTime !== null && info.startTime !== owner.pidStartTime;
}
