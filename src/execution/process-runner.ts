import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { StreamCapture } from './output-capture.js';
import {
  findTree,
  isAlive,
  signalAll,
  signalGroup,
  snapshot,
  treeMemoryMb,
  type ProcInfo,
} from './proc-tree.js';

/** Environment variable that marks every process of a step, so escaped descendants can be found. */
export const TREE_MARKER_ENV = 'ORCHESTRATOR_TREE_ID';

export interface ProcessOptions {
  command: string;
  args: readonly string[];
  cwd: string;
  /** The complete environment of the child. */
  env: Record<string, string | undefined>;
  /** Milliseconds; 0 disables. */
  timeout: number;
  /** Milliseconds between SIGTERM and SIGKILL. */
  killGrace: number;
  memoryLimitMb?: number;
  signal?: AbortSignal;
  /** Bytes of each stream kept for reports. @default 16384 */
  tailBytes?: number;
  /** Bytes of each stream held in memory before spilling to disk. @default 262144 */
  memoryBytes?: number;
  /** Where full output spills (`<prefix>.stdout`, `<prefix>.stderr`); unset keeps only tails. */
  spillPrefix?: string;
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  onSpawn?: (pid: number) => void;
  /** How often the tree's memory is measured when a limit is set. @default 200 */
  memoryPollMs?: number;
}

export type KillReason = 'timed-out' | 'cancelled' | 'memory-limit';

export interface ProcessOutcome {
  pid: number | null;
  exitCode: number | null;
  /** The signal the main process died of. */
  signal: NodeJS.Signals | null;
  /** Why the orchestrator killed the tree, if it did. */
  killReason: KillReason | null;
  /** The last signal the orchestrator sent before the main process ended. */
  killSignal: NodeJS.Signals | null;
  forcefullyKilled: boolean;
  spawnError: NodeJS.ErrnoException | null;
  startedAt: number;
  finishedAt: number;
  durationMs: number;
  peakMemoryMb: number | undefined;
  stdout: StreamCapture;
  stderr: StreamCapture;
  /** Processes left behind after the main process exited that had to be killed. */
  orphansKilled: number;
}

const POLL_MS = 20;
const STDIO_CLOSE_WAIT_MS = 200;
const SIGKILL_WAIT_MS = 2000;

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/**
 * Runs one command as the leader of its own process group and owns the whole tree until it is
 * gone. Never rejects: spawn failures come back as `spawnError`.
 *
 * Why `detached`: it makes the child a new session and process group leader, so `kill(-pgid)`
 * reaches every process it starts. Shells do not forward signals to their children, so killing
 * only the direct child would leave its grandchildren running.
 */
export async function runProcess(options: ProcessOptions): Promise<ProcessOutcome> {
  const tailBytes = options.tailBytes ?? 16_384;
  const memoryBytes = options.memoryBytes ?? 262_144;
  const stdout = new StreamCapture({
    tailBytes,
    memoryBytes,
    ...(options.spillPrefix ? { spillPath: `${options.spillPrefix}.stdout` } : {}),
  });
  const stderr = new StreamCapture({
    tailBytes,
    memoryBytes,
    ...(options.spillPrefix ? { spillPath: `${options.spillPrefix}.stderr` } : {}),
  });
  const marker = `${TREE_MARKER_ENV}=${randomUUID()}`;
  const startedAt = Date.now();
  const outcome: ProcessOutcome = {
    pid: null,
    exitCode: null,
    signal: null,
    killReason: null,
    killSignal: null,
    forcefullyKilled: false,
    spawnError: null,
    startedAt,
    finishedAt: startedAt,
    durationMs: 0,
    peakMemoryMb: undefined,
    stdout,
    stderr,
    orphansKilled: 0,
  };

  if (options.signal?.aborted) {
    outcome.killReason = 'cancelled';
    return outcome;
  }

  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: { ...options.env, [TREE_MARKER_ENV]: marker.slice(TREE_MARKER_ENV.length + 1) },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    outcome.spawnError = error as NodeJS.ErrnoException;
    return finish(outcome);
  }

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error>(
    (resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve(error));
    },
  );
  const stdioClosed = new Promise<boolean>((resolve) => {
    child.once('close', () => resolve(true));
  });

  const pid = child.pid;
  if (pid === undefined) {
    const result = await exited;
    outcome.spawnError = result instanceof Error ? (result) : null;
    return finish(outcome);
  }
  outcome.pid = pid;
  options.onSpawn?.(pid);

  pipe(child.stdout, stdout, 'stdout', options.onOutput);
  pipe(child.stderr, stderr, 'stderr', options.onOutput);

  let mainExited = false;
  let known: ProcInfo[] = [];
  let killing: Promise<void> | undefined;

  const terminate = (reason: KillReason): void => {
    if (killing || mainExited) return;
    outcome.killReason = reason;
    killing = killTree();
  };

  // SIGTERM now, SIGKILL after the grace period to whatever is still alive.
  const killTree = async (): Promise<void> => {
    known = findTree({ rootPid: pid, pgid: pid, envMarker: marker });
    outcome.killSignal = 'SIGTERM';
    signalGroup(pid, 'SIGTERM');
    signalAll(
      known.filter((p) => p.pgid !== pid),
      'SIGTERM',
    );
    const deadline = Date.now() + options.killGrace;
    while (Date.now() < deadline) {
      if (mainExited && !anyAlive(known) && !groupAlive(pid)) return;
      await sleep(POLL_MS);
    }
    const again = findTree({ rootPid: pid, pgid: pid, envMarker: marker });
    const all = mergeProcs(known, again).filter(isAlive);
    if (all.length > 0 || !mainExited) {
      outcome.forcefullyKilled = true;
      if (!mainExited) outcome.killSignal = 'SIGKILL';
    }
    signalGroup(pid, 'SIGKILL');
    signalAll(all, 'SIGKILL');
    await waitGone(all, pid);
  };

  const timer =
    options.timeout > 0 ? setTimeout(() => terminate('timed-out'), options.timeout) : undefined;
  const onAbort = (): void => terminate('cancelled');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // A cancel from inside `onSpawn` (a step-started listener) came before the listener existed.
  if (options.signal?.aborted) terminate('cancelled');

  let memoryTimer: NodeJS.Timeout | undefined;
  if (options.memoryLimitMb !== undefined) {
    const limit = options.memoryLimitMb;
    memoryTimer = setInterval(() => {
      const mb = treeMemoryMb(findTree({ rootPid: pid, pgid: pid }));
      outcome.peakMemoryMb = Math.max(outcome.peakMemoryMb ?? 0, mb);
      if (mb > limit) terminate('memory-limit');
    }, options.memoryPollMs ?? 200);
  }

  const exit = await exited;
  mainExited = true;
  outcome.finishedAt = Date.now();
  if (timer) clearTimeout(timer);
  if (memoryTimer) clearInterval(memoryTimer);
  options.signal?.removeEventListener('abort', onAbort);
  if (exit instanceof Error) {
    outcome.spawnError = exit;
  } else {
    outcome.exitCode = exit.code;
    outcome.signal = exit.signal;
  }

  if (killing) {
    await killing;
  } else if (signalGroup(pid, 0)) {
    // The script exited but left processes in its group: orphans are never left running.
    const leftovers = findTree({ rootPid: pid, pgid: pid });
    outcome.orphansKilled = leftovers.length;
    await reap(leftovers, pid, options.killGrace);
  }

  // Orphans that escaped the group may still hold the pipes open; the outcome is already decided.
  const closed = await closedWithin(stdioClosed, STDIO_CLOSE_WAIT_MS);
  if (!closed) {
    const escaped = findTree({ rootPid: pid, pgid: pid, envMarker: marker }).filter(
      (p) => p.pid !== pid,
    );
    outcome.orphansKilled += escaped.length;
    await reap(escaped, pid, options.killGrace);
    const closedNow = await closedWithin(stdioClosed, STDIO_CLOSE_WAIT_MS);
    if (!closedNow) {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }
  }
  return finish(outcome);
}

/** Waits for the pipes to close, at most `ms`; the timer is cleared so it never holds the process. */
async function closedWithin(closed: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function finish(outcome: ProcessOutcome): ProcessOutcome {
  if (outcome.finishedAt === outcome.startedAt) outcome.finishedAt = Date.now();
  outcome.durationMs = outcome.finishedAt - outcome.startedAt;
  return outcome;
}

function pipe(
  readable: NodeJS.ReadableStream | null,
  capture: StreamCapture,
  name: 'stdout' | 'stderr',
  onOutput: ProcessOptions['onOutput'],
): void {
  if (!readable) return;
  readable.on('data', (chunk: Buffer) => {
    onOutput?.(name, chunk);
    if (!capture.push(chunk)) {
      // The disk is slower than the script: pause the pipe so the script blocks, not our memory.
      readable.pause();
      void capture
        .drain()
        .catch(() => undefined)
        .finally(() => readable.resume());
    }
  });
  readable.on('error', () => undefined);
}

/** Live (non-zombie) members of a process group; `kill(-pgid, 0)` would count zombies too. */
function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  for (const info of snapshot().values()) {
    if (info.pgid === pgid && info.state !== 'Z') return true;
  }
  return false;
}

function anyAlive(procs: readonly ProcInfo[]): boolean {
  return procs.some(isAlive);
}

function mergeProcs(a: readonly ProcInfo[], b: readonly ProcInfo[]): ProcInfo[] {
  const map = new Map<number, ProcInfo>();
  for (const p of a) map.set(p.pid, p);
  for (const p of b) if (!map.has(p.pid)) map.set(p.pid, p);
  return [...map.values()];
}

async function waitGone(procs: readonly ProcInfo[], pgid: number): Promise<void> {
  const deadline = Date.now() + SIGKILL_WAIT_MS;
  while (Date.now() < deadline && (anyAlive(procs) || groupAlive(pgid))) {
    await sleep(POLL_MS);
  }
}

/** SIGTERM, wait up to `graceMs` for them to go, then SIGKILL the rest. */
async function reap(procs: readonly ProcInfo[], pgid: number, graceMs: number): Promise<void> {
  if (procs.length === 0 && !groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGTERM');
  signalAll(procs, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!anyAlive(procs) && !groupAlive(pgid)) return;
    await sleep(POLL_MS);
  }
  signalGroup(pgid, 'SIGKILL');
  signalAll(procs.filter(isAlive), 'SIGKILL');
  await waitGone(procs, pgid);
}
