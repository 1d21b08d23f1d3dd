import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { StreamCapture } from './output-capture.js';
import { startProcess, type StartedProcess } from './start-process.js';
import { setLongTimeout } from '../util/long-timeout.js';
import {
  findProcessesByEnv,
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
  /**
   * The complete environment of the child, inherited properties included (as `child_process`
   * reads it): a caller can layer a step's variables over a shared base with `Object.create`
   * instead of copying the base for every process. `undefined` leaves a variable out.
   */
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
  /**
   * Milliseconds after which a command still running sends its output to the spill files even
   * below `memoryBytes` (`StreamCapture.spillNow`), so `logs --follow` shows it as it comes.
   * Quicker commands never touch the disk for it. Needs `spillPrefix`.
   * @default 1000
   */
  spillAfterMs?: number;
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  onSpawn?: (pid: number) => void;
  /** How often the tree's memory is measured when a limit is set. @default 200 */
  memoryPollMs?: number;
  /**
   * A file the command writes whose size is bounded (`$ORCHESTRATOR_OUTPUT`): measured while it
   * runs, and once it holds more than `maxBytes` the tree is killed (`output-limit`), so a runaway
   * writer neither runs on until its timeout nor fills the disk. Measured every 250 ms.
   */
  boundedFile?: { path: string; maxBytes: number };
  /**
   * Once the command has ended, kill what escaped its tree unseen (a `setsid` process with its
   * output redirected holds no pipe and is in no group of ours) with one pass over /proc
   * (`killLeftovers`), and count it in `leftoversKilled`. The process executor turns it off: it
   * sweeps once per run for all its steps, a /proc pass per step being too dear.
   * @default true
   */
  killLeftovers?: boolean;
}

export type KillReason = 'timed-out' | 'cancelled' | 'memory-limit' | 'output-limit';

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
  /**
   * Processes that had left the tree's process group unseen (`setsid`, output redirected) and
   * were found by the tree's marker and killed once the command ended (see `killLeftovers` in
   * `ProcessOptions`); `leftoversMessage` says so.
   */
  leftoversKilled: number;
  /**
   * The value of `ORCHESTRATOR_TREE_ID` the tree carries. A process that still carries it after
   * `runProcess` resolved escaped unseen (own session, output redirected): `killLeftovers` finds it.
   */
  treeId: string;
}

const POLL_MS = 20;
const STDIO_CLOSE_WAIT_MS = 200;
const SIGKILL_WAIT_MS = 2000;
/**
 * Output that may still arrive once every writer is gone: what the pipes and this process buffer
 * (a pipe holds at most 1 MiB). More than this while waiting for the pipes to close means someone
 * is still writing.
 */
const PENDING_OUTPUT_MAX = 4 * 1024 * 1024;
/** Rounds of `killLeftovers`: each finds what the ones it killed had forked meanwhile. */
const LEFTOVER_ROUNDS = 5;

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
  const treeId = randomUUID();
  const marker = `${TREE_MARKER_ENV}=${treeId}`;
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
    leftoversKilled: 0,
    treeId,
  };

  if (options.signal?.aborted) {
    outcome.killReason = 'cancelled';
    return outcome;
  }

  let child: StartedProcess;
  try {
    child = startProcess(options.command, options.args, {
      cwd: options.cwd,
      env: layeredEnv(options.env, TREE_MARKER_ENV, treeId),
    });
  } catch (error) {
    outcome.spawnError = error as NodeJS.ErrnoException;
    return finish(outcome);
  }

  const exited = child.exited;
  const stdioClosed = child.closed;

  const started = await child.started;
  if (typeof started !== 'number') {
    outcome.spawnError = started;
    return finish(outcome);
  }
  const pid = started;
  outcome.pid = pid;
  options.onSpawn?.(pid);

  const pipes = [
    pipe(child.stdout, stdout, 'stdout', options.onOutput),
    pipe(child.stderr, stderr, 'stderr', options.onOutput),
  ];

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

  const timer = options.timeout > 0 ? setLongTimeout(() => terminate('timed-out'), options.timeout) : undefined;
  const onAbort = (): void => terminate('cancelled');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // A cancel from inside `onSpawn` (a step-started listener) came before the listener existed.
  if (options.signal?.aborted) terminate('cancelled');

  // One timer per running command; a short command clears it unfired, so it costs no file.
  const spillTimer = options.spillPrefix
    ? setTimeout(() => {
        stdout.spillNow();
        stderr.spillNow();
      }, options.spillAfterMs ?? 1000)
    : undefined;

  let memoryTimer: NodeJS.Timeout | undefined;
  if (options.memoryLimitMb !== undefined) {
    const limit = options.memoryLimitMb;
    memoryTimer = setInterval(() => {
      const mb = treeMemoryMb(findTree({ rootPid: pid, pgid: pid }));
      outcome.peakMemoryMb = Math.max(outcome.peakMemoryMb ?? 0, mb);
      if (mb > limit) terminate('memory-limit');
    }, options.memoryPollMs ?? 200);
  }

  let fileTimer: NodeJS.Timeout | undefined;
  const bounded = options.boundedFile;
  if (bounded !== undefined) {
    fileTimer = setInterval(() => {
      let size = 0;
      try {
        size = statSync(bounded.path, { throwIfNoEntry: false })?.size ?? 0;
      } catch {
        // Unreadable right now: the next look tries again (the size is checked after exit too).
      }
      if (size > bounded.maxBytes) terminate('output-limit');
    }, 250);
  }

  const exit = await exited;
  mainExited = true;
  outcome.finishedAt = Date.now();
  timer?.clear();
  clearTimeout(spillTimer);
  if (memoryTimer) clearInterval(memoryTimer);
  if (fileTimer) clearInterval(fileTimer);
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
  // A pipe paused because the spill file is slow is not held open: it is read to its end.
  const closed = await pipesClosed(stdioClosed, pipes);
  if (!closed) {
    const escaped = findTree({ rootPid: pid, pgid: pid, envMarker: marker }).filter(
      (p) => p.pid !== pid,
    );
    outcome.orphansKilled += escaped.length;
    await reap(escaped, pid, options.killGrace);
    if (!(await pipesClosed(stdioClosed, pipes))) {
      child.stdout.destroy();
      child.stderr.destroy();
    }
  }
  if (options.killLeftovers !== false) {
    const killed = await killLeftovers(new Map([[treeId, { killGrace: options.killGrace }]]));
    outcome.leftoversKilled = killed.get(treeId) ?? 0;
  }
  return finish(outcome);
}

/**
 * `base` with `name=value` over it, without copying `base`: an object whose prototype is `base`.
 * `child_process` reads an env's inherited properties too (Node's own tests pin it), and a copy
 * of a 40-variable environment is ~8 KB of garbage per process, which grows the young
 * generation and so makes every later fork() of this process dearer.
 */
export function layeredEnv(base: Record<string, string | undefined>, name: string, value: string): Record<string, string | undefined> {
  const env = Object.create(base) as Record<string, string | undefined>;
  env[name] = value;
  return env;
}

/**
 * The warning for processes `killLeftovers` killed: `what` left them running where the kill of
 * its own tree could not see them. One wording for steps, `shell().run()` and pipes.
 * @example leftoversMessage(1, 'step build') // 'killed 1 process that step build left running outside its process group (setsid)'
 */
export function leftoversMessage(count: number, what: string): string {
  return `killed ${count} ${count === 1 ? 'process' : 'processes'} that ${what} left running outside its process group (setsid)`;
}

/**
 * Waits for the pipes to close while they make progress. False when they stay open though nothing
 * waits for the disk (a writer we do not know holds them), or when more output arrives than the
 * buffers could have held (a writer is still writing).
 */
async function pipesClosed(closed: Promise<boolean>, pipes: readonly PipeState[]): Promise<boolean> {
  const bytesAtStart = receivedBytes(pipes);
  for (;;) {
    const drainsBefore = drains(pipes);
    if (await closedWithin(closed, STDIO_CLOSE_WAIT_MS)) return true;
    if (receivedBytes(pipes) - bytesAtStart > PENDING_OUTPUT_MAX) return false;
    const waiting = pipes.flatMap((p) => (p.draining ? [p.draining] : []));
    if (waiting.length > 0) {
      // Paused for backpressure: the rest comes once the spill file takes more.
      await Promise.race([closed, ...waiting]);
    } else if (drains(pipes) === drainsBefore) {
      return false;
    }
  }
}

function receivedBytes(pipes: readonly PipeState[]): number {
  let bytes = 0;
  for (const p of pipes) bytes += p.capture.bytes;
  return bytes;
}

function drains(pipes: readonly PipeState[]): number {
  let count = 0;
  for (const p of pipes) count += p.drains;
  return count;
}

/**
 * Kills the processes that outlived their step: live processes that carry the `treeId` of a step
 * whose `runProcess` has resolved, such as a `setsid` escapee that redirected its output. One pass
 * over /proc, and one more after each round that killed something (for what those forked
 * meanwhile). SIGTERM, then SIGKILL after the largest grace among the trees involved; a pid whose
 * start time changed is never signalled. Returns how many processes each tree had left.
 */
export async function killLeftovers(trees: ReadonlyMap<string, { killGrace: number }>): Promise<Map<string, number>> {
  const killed = new Map<string, number>();
  const seen = new Set<string>();
  const ids = new Set(trees.keys());
  for (let round = 0; round < LEFTOVER_ROUNDS && ids.size > 0; round++) {
    const procs: ProcInfo[] = [];
    let grace = 0;
    for (const [id, found] of findProcessesByEnv(TREE_MARKER_ENV, ids)) {
      const fresh = found.filter((p) => !seen.has(`${p.pid}:${p.startTime}`));
      if (fresh.length === 0) continue;
      for (const p of fresh) seen.add(`${p.pid}:${p.startTime}`);
      procs.push(...fresh);
      killed.set(id, (killed.get(id) ?? 0) + fresh.length);
      grace = Math.max(grace, trees.get(id)?.killGrace ?? 0);
    }
    if (procs.length === 0) break;
    await reap(procs, null, grace);
  }
  return killed;
}

/**
 * SIGTERM to what is left in a process group whose leader has exited, SIGKILL after `graceMs`
 * to what is still there; resolves once the group is gone. For callers that spawn their own
 * detached children (`pipe()`, which needs stdin), so they leave no orphans either.
 */
export function reapGroup(pgid: number, graceMs: number): Promise<void> {
  return reap([], pgid, graceMs);
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

/** One output pipe: whether it waits for its spill file, and how often it had to. */
interface PipeState {
  capture: StreamCapture;
  /** Set while the pipe is paused until the spill file takes more. */
  draining: Promise<void> | undefined;
  /** Pauses that ended. */
  drains: number;
}

function pipe(
  readable: NodeJS.ReadableStream | null,
  capture: StreamCapture,
  name: 'stdout' | 'stderr',
  onOutput: ProcessOptions['onOutput'],
): PipeState {
  const state: PipeState = { capture, draining: undefined, drains: 0 };
  if (!readable) return state;
  readable.on('data', (chunk: Buffer) => {
    onOutput?.(name, chunk);
    if (!capture.push(chunk)) {
      // The disk is slower than the script: pause the pipe so the script blocks, not our memory.
      // (Node resumes the pipes once when the child exits, so a pause may come while one waits.)
      readable.pause();
      const draining: Promise<void> = capture
        .drain()
        .catch(() => undefined)
        .then(() => {
          state.drains++;
          if (state.draining !== draining) return;
          state.draining = undefined;
          readable.resume();
        });
      state.draining = draining;
    }
  });
  readable.on('error', () => undefined);
  return state;
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

async function waitGone(procs: readonly ProcInfo[], pgid: number | null): Promise<void> {
  const deadline = Date.now() + SIGKILL_WAIT_MS;
  while (Date.now() < deadline && (anyAlive(procs) || (pgid !== null && groupAlive(pgid)))) {
    await sleep(POLL_MS);
  }
}

/** SIGTERM, wait up to `graceMs` for them to go, then SIGKILL the rest (and the group, if given). */
async function reap(procs: readonly ProcInfo[], pgid: number | null, graceMs: number): Promise<void> {
  const groupLive = (): boolean => pgid !== null && groupAlive(pgid);
  if (procs.length === 0 && !groupLive()) return;
  if (pgid !== null) signalGroup(pgid, 'SIGTERM');
  signalAll(procs, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!anyAlive(procs) && !groupLive()) return;
    await sleep(POLL_MS);
  }
  if (pgid !== null) signalGroup(pgid, 'SIGKILL');
  signalAll(procs.filter(isAlive), 'SIGKILL');
  await waitGone(procs, pgid);
}
