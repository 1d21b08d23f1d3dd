import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { endianness, constants as osConstants } from 'node:os';
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
  /** Undefined when the start failed late (`exited` then resolves to the error). */
  readonly pid: number | undefined;
  readonly stdout: NodeJS.ReadableStream & { destroy(): void };
  readonly stderr: NodeJS.ReadableStream & { destroy(): void };
  /** The exit, or the error that kept the process from starting. */
  readonly exited: Promise<ProcessExit | Error>;
  /** Resolves once the process has exited and both pipes are closed. */
  readonly closed: Promise<true>;
}

/** The native module (native/spawn.c). */
interface NativeStarter {
  /** [pid, stdout fd, stderr fd]; the exit comes as a record starting with `token` on `notifyFd`. */
  spawn(file: string, argv: string[], envp: string[], cwd: string, notifyFd: number, token: number): [number, number, number];
  /** [read fd, write fd] of a socket pair for exit records: int32 token, pid, exit code or -1, signal or 0. */
  notifier(): [number, number];
}

const RECORD_BYTES = 16;

/** An int32 as the native side wrote it (in this machine's byte order). */
const readInt32 = endianness() === 'LE' ? (bytes: Buffer, at: number): number => bytes.readInt32LE(at) : (bytes: Buffer, at: number): number => bytes.readInt32BE(at);

/**
 * Exit records read from the native starter's notification socket. Each start has its own token:
 * a pid can be reused by a new child before the record of the old one is read.
 */
class ExitNotifier {
  readonly writeFd: number;
  readonly #socket: Socket;
  readonly #waiting = new Map<number, (exit: ProcessExit) => void>();
  #partial: Buffer | undefined;
  #nextToken = 0;

  constructor(starter: NativeStarter) {
    const [readFd, writeFd] = starter.notifier();
    this.writeFd = writeFd;
    this.#socket = new Socket({ fd: readFd, readable: true, writable: false });
    this.#socket.on('data', (chunk: Buffer) => this.#read(chunk));
    // Only a child that is still running keeps the process alive.
    this.#socket.unref();
  }

  /** A token for the next start (int32, never one that is still waited for). */
  token(): number {
    do this.#nextToken = (this.#nextToken + 1) | 0;
    while (this.#waiting.has(this.#nextToken));
    return this.#nextToken;
  }

  wait(token: number): Promise<ProcessExit> {
    return new Promise((resolve) => {
      this.#waiting.set(token, resolve);
      if (this.#waiting.size === 1) this.#socket.ref();
    });
  }

  #read(chunk: Buffer): void {
    let bytes = this.#partial ? Buffer.concat([this.#partial, chunk]) : chunk;
    let at = 0;
    for (; at + RECORD_BYTES <= bytes.length; at += RECORD_BYTES) {
      const token = readInt32(bytes, at);
      const code = readInt32(bytes, at + 8);
      const signal = readInt32(bytes, at + 12);
      const resolve = this.#waiting.get(token);
      if (resolve === undefined) continue;
      this.#waiting.delete(token);
      resolve({ code: code < 0 ? null : code, signal: signal === 0 ? null : (signalNames.get(signal) ?? null) });
    }
    bytes = bytes.subarray(at);
    this.#partial = bytes.length > 0 ? Buffer.from(bytes) : undefined;
    if (this.#waiting.size === 0) this.#socket.unref();
  }
}

let notifier: ExitNotifier | undefined;

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
 * as `child_process.spawn` does, for arguments it refuses (a NUL byte); a program or folder that
 * cannot be started is a rejected start, told through `exited` or thrown, with Node's message
 * (`spawn /bin/nope ENOENT`).
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
  try {
    return startNative(starter, command, args, options.cwd, envp);
  } catch (error) {
    // The C library cannot do it after all: child_process from now on.
    if ((error as NodeJS.ErrnoException).code !== 'ENOSYS') throw error;
    native = null;
    return startWithChildProcess(command, args, options);
  }
}

function hasNul(command: string, args: readonly string[], cwd: string): boolean {
  return command.includes('\0') || cwd.includes('\0') || args.some((arg) => arg.includes('\0'));
}

function startNative(starter: NativeStarter, command: string, args: readonly string[], cwd: string, envp: string[]): StartedProcess {
  notifier ??= new ExitNotifier(starter);
  const token = notifier.token();
  let started: [number, number, number];
  try {
    started = starter.spawn(command, [command, ...args], envp, cwd, notifier.writeFd, token);
  } catch (error) {
    throw spawnError(command, args, (error as { errno?: number }).errno);
  }
  const [pid, out, err] = started;
  // Read on a later turn of the event loop at the earliest: the record cannot be missed.
  const exited = notifier.wait(token);
  const stdout = new Socket({ fd: out, readable: true, writable: false });
  const stderr = new Socket({ fd: err, readable: true, writable: false });
  const closed = Promise.all([exited, socketClosed(stdout), socketClosed(stderr)]).then(() => true as const);
  return { pid, stdout, stderr, exited, closed };
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
  return { pid: child.pid, stdout: child.stdout, stderr: child.stderr, exited, closed };
}
