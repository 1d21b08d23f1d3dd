import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { endianness, constants as osConstants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';

/** How a process ended: its exit code, or the signal that ended it. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A process started as the leader of a new session and process group (pid = pgid), stdin on
 * /dev/null, stdout and stderr on pipes: what `child_process.spawn` gives with `detached: true`
 * and `stdio: ['ignore', 'pipe', 'pipe']`, from whichever starter made it.
 */
export interface StartedProcess {
  /** Its pid once it runs, or the error that kept it from starting (Node's: `spawn /bin/nope ENOENT`). */
  readonly started: Promise<number | NodeJS.ErrnoException>;
  readonly stdout: NodeJS.ReadableStream & { destroy(): void };
  readonly stderr: NodeJS.ReadableStream & { destroy(): void };
  /** The exit, or the error that kept the process from starting. */
  readonly exited: Promise<ProcessExit | Error>;
  /** Resolves once the process has exited (or failed to start) and both pipes are closed. */
  readonly closed: Promise<true>;
}

/** The native module (native/spawn.c). */
interface NativeStarter {
  /**
   * [stdout fd, stderr fd]; a thread starts the child and reports on `notifyFd` in records that
   * start with `token`: started (pid, or -errno), then exited (code or -1, signal or 0).
   */
  spawn(file: string, argv: string[], envp: string[], cwd: string, notifyFd: number, token: number): [number, number];
  /** [read fd, write fd] of a socket pair for the records: int32 token, kind, a, b. */
  notifier(): [number, number];
}

const RECORD_BYTES = 16;
const RECORD_STARTED = 1;
const RECORD_EXITED = 2;

/** An int32 as the native side wrote it (in this machine's byte order). */
const readInt32 = endianness() === 'LE' ? (bytes: Buffer, at: number): number => bytes.readInt32LE(at) : (bytes: Buffer, at: number): number => bytes.readInt32BE(at);

/** A start the native side reports on. */
interface Pending {
  started: (result: number | NodeJS.ErrnoException) => void;
  exited: (exit: ProcessExit | Error) => void;
  /** The error for a start that failed with `errno`. */
  failure: (errno: number) => NodeJS.ErrnoException;
}

/**
 * Reads the native starter's records. Each start has its own token: a pid can be reused by a new
 * child before the record of the old one is read.
 */
class Notifier {
  readonly writeFd: number;
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  #partial: Buffer | undefined;
  #nextToken = 0;

  constructor(starter: NativeStarter) {
    const [readFd, writeFd] = starter.notifier();
    this.writeFd = writeFd;
    this.#socket = new Socket({ fd: readFd, readable: true, writable: false });
    this.#socket.on('data', (chunk: Buffer) => this.#read(chunk));
    // Only a child that is starting or running keeps the process alive.
    this.#socket.unref();
  }

  /** A token for the next start (int32, never one still in use). */
  token(): number {
    do this.#nextToken = (this.#nextToken + 1) | 0;
    while (this.#pending.has(this.#nextToken));
    return this.#nextToken;
  }

  watch(token: number, pending: Pending): void {
    this.#pending.set(token, pending);
    if (this.#pending.size === 1) this.#socket.ref();
  }

  #read(chunk: Buffer): void {
    let bytes = this.#partial ? Buffer.concat([this.#partial, chunk]) : chunk;
    let at = 0;
    for (; at + RECORD_BYTES <= bytes.length; at += RECORD_BYTES) {
      const token = readInt32(bytes, at);
      const kind = readInt32(bytes, at + 4);
      const a = readInt32(bytes, at + 8);
      const b = readInt32(bytes, at + 12);
      const pending = this.#pending.get(token);
      if (pending === undefined) continue;
      if (kind === RECORD_STARTED && a > 0) {
        pending.started(a);
      } else if (kind === RECORD_STARTED) {
        const error = pending.failure(-a);
        this.#pending.delete(token);
        pending.started(error);
        pending.exited(error);
      } else if (kind === RECORD_EXITED) {
        this.#pending.delete(token);
        pending.exited({ code: a < 0 ? null : a, signal: b === 0 ? null : (signalNames.get(b) ?? null) });
      }
    }
    bytes = bytes.subarray(at);
    this.#partial = bytes.length > 0 ? Buffer.from(bytes) : undefined;
    if (this.#pending.size === 0) this.#socket.unref();
  }
}

let notifier: Notifier | undefined;

let native: NativeStarter | null | undefined;

/**
 * The native starter (native/spawn.c, built by `npm install` on Linux), or null where it is not
 * built, or while ORCHESTRATOR_NATIVE_SPAWN=0: processes then start through `child_process`. The
 * module sits two folders above this file in the sources, in dist/ and in the CLI bundle alike.
 */
export function nativeStarter(): NativeStarter | null {
  if (process.env.ORCHESTRATOR_NATIVE_SPAWN === '0') return null;
  if (native !== undefined) return native;
  native = null;
  if (process.platform !== 'linux') return native;
  try {
    const file = fileURLToPath(new URL('../../native/build/Release/orchestrator_spawn.node', import.meta.url));
    const loaded = createRequire(import.meta.url)(file) as Partial<NativeStarter>;
    // No `spawn` where the C library lacks what it needs (glibc before 2.29).
    if (typeof loaded.spawn === 'function' && typeof loaded.notifier === 'function') native = loaded as NativeStarter;
  } catch {
    native = null;
  }
  return native;
}

/** Signal numbers to names; the first name of each number, as Node reports them (SIGABRT, not SIGIOT). */
const signalNames = new Map<number, NodeJS.Signals>();
for (const [name, number] of Object.entries(osConstants.signals)) if (!signalNames.has(number)) signalNames.set(number, name as NodeJS.Signals);

/** Errno numbers to names (ENOEXEC too, which libuv has no name for). */
const errnoNames = new Map<number, string>();
for (const [name, number] of Object.entries(osConstants.errno)) if (!errnoNames.has(number)) errnoNames.set(number, name);

/**
 * Starts `command` with `args` in a new session (see `StartedProcess`). Through the native
 * starter where there is one: posix_spawn copies nothing of this process, where fork() (what
 * `child_process` does) costs more the more memory the orchestrator holds, at every step. Throws,
 * as `child_process.spawn` does, for arguments it refuses (a NUL byte). A program or folder that
 * cannot be started is told through `started` (and `exited`) with Node's error
 * (`spawn /bin/nope ENOENT`); child_process throws some of those at once (ENOTDIR).
 */
export function startProcess(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: Record<string, string | undefined> },
): StartedProcess {
  const starter = nativeStarter();
  // What child_process refuses (an empty command, NUL bytes) it refuses with its own errors.
  if (starter === null || command === '' || hasNul(command, args, options.cwd)) return startWithChildProcess(command, args, options);
  const envp: string[] = [];
  // Inherited properties too, as child_process reads an env (see `layeredEnv`).
  for (const name in options.env) {
    const value = options.env[name] as unknown;
    if (value === undefined) continue;
    // Node writes `${name}=${value}` whatever the value is (a number, null).
    const text = typeof value === 'string' ? value : `${value as number | boolean | null}`;
    if (name.includes('\0') || text.includes('\0')) return startWithChildProcess(command, args, options);
    envp.push(`${name}=${text}`);
  }
  return startNative(starter, command, args, options.cwd, envp);
}

function hasNul(command: string, args: readonly string[], cwd: string): boolean {
  return command.includes('\0') || cwd.includes('\0') || args.some((arg) => arg.includes('\0'));
}

/**
 * Hands the start to a native thread and returns at once: posix_spawn suspends its caller until
 * the child has exec'd (about 1 ms here), and that caller is not this thread. Throws only when no
 * thread can be had (EAGAIN, as child_process throws when it cannot fork).
 */
function startNative(starter: NativeStarter, command: string, args: readonly string[], cwd: string, envp: string[]): StartedProcess {
  notifier ??= new Notifier(starter);
  const token = notifier.token();
  let fds: [number, number];
  try {
    // Resolved now, as child_process does: the thread may run after a process.chdir().
    fds = starter.spawn(command, [command, ...args], envp, path.resolve(cwd), notifier.writeFd, token);
  } catch (error) {
    throw spawnError(command, args, (error as { errno?: number }).errno);
  }
  const stdout = new Socket({ fd: fds[0], readable: true, writable: false });
  const stderr = new Socket({ fd: fds[1], readable: true, writable: false });
  let onStarted!: (result: number | NodeJS.ErrnoException) => void;
  let onExited!: (exit: ProcessExit | Error) => void;
  const started = new Promise<number | NodeJS.ErrnoException>((resolve) => (onStarted = resolve));
  const exited = new Promise<ProcessExit | Error>((resolve) => (onExited = resolve));
  // Records are read on a later turn of the event loop at the earliest: none can be missed.
  notifier.watch(token, {
    started: onStarted,
    exited: (exit) => {
      // A start that failed leaves pipes nobody writes to.
      if (exit instanceof Error) {
        stdout.destroy();
        stderr.destroy();
      }
      onExited(exit);
    },
    failure: (errno) => spawnError(command, args, errno),
  });
  const closed = Promise.all([exited, socketClosed(stdout), socketClosed(stderr)]).then(() => true as const);
  return { started, stdout, stderr, exited, closed };
}

function socketClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
  });
}

/** The error child_process gives for a start that failed: `spawn <file> <CODE>`, with errno. */
function spawnError(command: string, args: readonly string[], errno: number | undefined): NodeJS.ErrnoException {
  const code = errno === undefined ? 'UNKNOWN' : (errnoNames.get(errno) ?? safeErrorName(-errno));
  const error: NodeJS.ErrnoException & { spawnargs?: string[] } = new Error(`spawn ${command} ${code}`);
  error.errno = errno === undefined ? undefined : -errno;
  error.code = code;
  error.syscall = `spawn ${command}`;
  error.path = command;
  error.spawnargs = [...args];
  return error;
}

function safeErrorName(errno: number): string {
  try {
    return getSystemErrorName(errno);
  } catch {
    return 'UNKNOWN';
  }
}

function startWithChildProcess(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: Record<string, string | undefined> },
): StartedProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<ProcessExit | Error>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve(error));
  });
  const closed = new Promise<true>((resolve) => {
    child.once('close', () => resolve(true));
  });
  // Without a pid the start failed: the 'error' event says why.
  const pid = child.pid;
  const started = pid !== undefined ? Promise.resolve(pid) : exited.then((exit) => (exit instanceof Error ? exit : new Error(`spawn ${command} failed`)));
  return { started, stdout: child.stdout, stderr: child.stderr, exited, closed };
}
