import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { describeFailure } from '../core/failure.js';
import { spawnErrorDetail } from '../execution/cwd-problem.js';
import { killLeftovers, leftoversMessage, reapGroup, TREE_MARKER_ENV } from '../execution/process-runner.js';
import { setLongTimeout, type LongTimeout } from '../util/long-timeout.js';
import { DEFAULT_KILL_GRACE_MS } from './build-step.js';
import { StepDescriptor, type StepConvertible } from './step-descriptor.js';
import {
  describeValue,
  isList,
  expectNonEmptyString,
  expectNonNegativeInteger,
  expectPositiveInteger,
  expectStringRecord,
} from './step-options.js';

/** Options of {@link pipe}. */
export interface PipeOptions {
  /** Milliseconds each command may run (from its start) before its process group is killed; 0 = none. @default 30000 */
  timeoutPerCommand?: number;
  /** When a command fails, kill the commands still running (they end `cancelled`). @default true */
  stopOnError?: boolean;
  /** Milliseconds between SIGTERM and SIGKILL. @default 5000 */
  killGrace?: number;
  /** Merged over `process.env` (over the workflow's env in a workflow). */
  env?: Record<string, string>;
  /** @default process.cwd() */
  cwd?: string;
  /** @default '/bin/sh' */
  shell?: string;
  /** Written to the first command's stdin. @default nothing (stdin is /dev/null) */
  input?: string;
  /** Bytes kept of the final stdout and of each stderr; beyond that only the last ones are. @default 16777216 */
  maxBuffer?: number;
  /** `run()` rejects with {@link PipeError} unless every command succeeds. @default false */
  check?: boolean;
}

/** One command of a pipeline. Its stdout went into the next command, so only its size is kept. */
export interface PipeCommandResult {
  command: string;
  index: number;
  status: 'succeeded' | 'failed' | 'timed-out' | 'cancelled';
  success: boolean;
  exitCode: number | null;
  signal: string | null;
  stderr: string;
  stdoutBytes: number;
  durationMs: number;
  timedOut: boolean;
  /** SIGKILL was needed after SIGTERM. */
  forcefullyKilled: boolean;
  /** What went wrong, when `success` is false. */
  error?: string;
}

/** What `pipe(...).run()` resolves to. Twin of the Python `pipe()` dict (`final_output` is `stdout`). */
export interface PipeResult {
  /** Every command succeeded (like `set -o pipefail`). */
  success: boolean;
  commands: string[];
  /** Commands that succeeded. */
  completed: number;
  results: PipeCommandResult[];
  /** The last command's stdout. */
  stdout: string;
  /** The last command's exit code. */
  exitCode: number | null;
  durationMs: number;
  /** The first failure, when `success` is false. */
  error?: string;
}

/** What `pipe(cmds, { check: true }).run()` rejects with, and what a failing pipe step throws. */
export class PipeError extends Error {
  override readonly name = 'PipeError';
  readonly result: PipeResult;
  constructor(result: PipeResult) {
    const failed = result.results.find((r) => !r.success && r.status !== 'cancelled');
    const stderr = failed?.stderr.trimEnd().slice(-2000);
    super(`Pipe failed: ${result.error ?? 'failed'}${stderr ? `\n${stderr}` : ''}`);
    this.result = result;
  }
}

export interface PipeRunOptions {
  /** Aborting it kills every command's process group. */
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_PER_COMMAND = 30_000;
const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024;
/** How long stdio may stay open after a command exited (an orphan holding it) before it is closed. */
const STDIO_CLOSE_WAIT_MS = 2_000;

/**
 * A real pipeline, `a | b | c`: all commands run at once and each one's stdout streams into the next
 * one's stdin (with backpressure), while every command stays observable: its exit code, signal,
 * stderr and duration. Run it with `run()`, or use it as a workflow step (a function step whose
 * value is the {@link PipeResult}; it fails with {@link PipeError}). Made by {@link pipe}.
 */
export class Pipe implements StepConvertible {
  readonly commands: readonly string[];
  readonly options: Readonly<PipeOptions>;

  constructor(commands: readonly string[], options: PipeOptions = {}) {
    if (!isList(commands) || commands.length === 0) {
      throw new TypeError(`Expected the commands of pipe() to be a non-empty list of strings, got ${describeValue(commands)}`);
    }
    commands.forEach((command, i) => expectNonEmptyString(command, `command ${i + 1} of pipe()`));
    validatePipeOptions(options);
    this.commands = [...commands];
    this.options = { ...options };
  }

  /** Runs the pipeline; never rejects for failing commands unless `check` is set. */
  async run(options: PipeRunOptions = {}): Promise<PipeResult> {
    const result = await runPipeline(this.commands, this.options, options.signal);
    if (!result.success && this.options.check === true) throw new PipeError(result);
    return result;
  }

  /** The pipeline as a function step: value = {@link PipeResult}; a failure throws {@link PipeError}. */
  toStepDescriptor(): StepDescriptor {
    const commands = this.commands;
    const options = this.options;
    return new StepDescriptor({
      kind: 'function',
      fn: async (ctx) => {
        const result = await runPipeline(commands, { ...options, env: { ...ctx.env, ...options.env } }, ctx.signal);
        if (!result.success) throw new PipeError(result);
        ctx.log(`pipe: ${commands.length} commands succeeded, ${Buffer.byteLength(result.stdout)} bytes of output`);
        return result;
      },
    });
  }
}

/**
 * A pipeline of shell commands. `await pipe(['printf "b\\na\\n"', 'sort']).run()` resolves to a
 * {@link PipeResult} whose `stdout` is `"a\nb\n"`.
 */
export function pipe(commands: readonly string[], options: PipeOptions = {}): Pipe {
  return new Pipe(commands, options);
}

type KillReason = 'timed-out' | 'stopped' | 'cancelled';

interface Stage {
  index: number;
  command: string;
  child: ChildProcess | undefined;
  pid: number | undefined;
  startedAt: number;
  finishedAt: number;
  exited: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  spawnError: NodeJS.ErrnoException | undefined;
  /** What `spawnError` says, the missing working directory named (see `spawnErrorDetail`). */
  spawnDetail: string | undefined;
  killReason: KillReason | undefined;
  forcefullyKilled: boolean;
  /** Its stdout reached EOF here: it closed its output (a reader that goes away later is no excuse). */
  outputEnded: boolean;
  /** The next command ended on its own before this one's output ended. */
  readerGone: boolean;
  /** It wrote after its reader had gone, so the pipe was closed on it: a SIGPIPE or EPIPE is expected. */
  outputRefused: boolean;
  /** The next command was killed (timeout, stop, cancel) while this one still wrote: not the root cause. */
  readerKilled: boolean;
  stdoutBytes: number;
  stderr: Capture;
  timers: LongTimeout[];
  done: Promise<void>;
  /** The `ORCHESTRATOR_TREE_ID` its processes carry, so what escapes its group is found (`killLeftovers`). */
  treeId: string;
}

/** Keeps at most `limit` bytes: the last ones. */
class Capture {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #held = 0;
  #total = 0;
  constructor(limit: number) {
    this.#limit = limit;
  }
  push(chunk: Buffer): void {
    this.#total += chunk.length;
    this.#chunks.push(chunk);
    this.#held += chunk.length;
    while (this.#held - (this.#chunks[0]?.length ?? 0) >= this.#limit && this.#chunks.length > 1) {
      this.#held -= (this.#chunks.shift() as Buffer).length;
    }
  }
  text(): string {
    let buffer = Buffer.concat(this.#chunks);
    if (buffer.length > this.#limit) buffer = buffer.subarray(buffer.length - this.#limit);
    const text = buffer.toString('utf8');
    return this.#total > buffer.length ? text.replace(/^\uFFFD+/, '') : text;
  }
}

function groupSignal(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the pipeline with node:child_process directly, because `runProcess` cannot give a process a
 * stdin stream yet (it uses `'ignore'`). Each command is `detached`, so it leads its own process
 * group and `kill(-pid)` reaches everything it started (shells do not forward signals): SIGTERM,
 * then SIGKILL after `killGrace`, as `runProcess` does. Each also carries its own
 * `ORCHESTRATOR_TREE_ID`, so that what left its group with `setsid` is found and killed once the
 * pipe is over, as `runProcess` does too. Data is piped through this process rather
 * than by handing one child's stdout to the next as a file descriptor: Node may already have read
 * from that pipe (nodejs/node#9413), which loses data.
 */
async function runPipeline(commands: readonly string[], o: PipeOptions, signal: AbortSignal | undefined): Promise<PipeResult> {
  const startedAt = Date.now();
  const maxBuffer = o.maxBuffer ?? DEFAULT_MAX_BUFFER;
  const timeoutPerCommand = o.timeoutPerCommand ?? DEFAULT_TIMEOUT_PER_COMMAND;
  const killGrace = o.killGrace ?? DEFAULT_KILL_GRACE_MS;
  const stopOnError = o.stopOnError ?? true;
  const cwd = path.resolve(o.cwd ?? process.cwd());
  const env = { ...process.env, ...o.env };
  const stdout = new Capture(maxBuffer);
  const stages: Stage[] = [];

  const terminate = (stage: Stage, reason: KillReason): void => {
    if (stage.exited || stage.killReason !== undefined || stage.pid === undefined) return;
    stage.killReason = reason;
    const pid = stage.pid;
    groupSignal(pid, 'SIGTERM');
    stage.timers.push(
      setLongTimeout(() => {
        if (stage.exited) return;
        stage.forcefullyKilled = true;
        groupSignal(pid, 'SIGKILL');
      }, killGrace),
    );
  };
  const stopOthers = (reason: KillReason): void => {
    for (const stage of stages) terminate(stage, reason);
  };

  if (signal?.aborted) {
    return finish(commands, commands.map((command, index) => notStarted(command, index)), stdout, startedAt);
  }

  let previous: Readable | undefined;
  for (const [index, command] of commands.entries()) {
    const stage: Stage = {
      index,
      command,
      child: undefined,
      pid: undefined,
      startedAt: Date.now(),
      finishedAt: 0,
      exited: false,
      exitCode: null,
      signal: null,
      spawnError: undefined,
      spawnDetail: undefined,
      killReason: undefined,
      forcefullyKilled: false,
      outputEnded: false,
      readerGone: false,
      outputRefused: false,
      readerKilled: false,
      stdoutBytes: 0,
      stderr: new Capture(maxBuffer),
      timers: [],
      done: Promise.resolve(),
      treeId: randomUUID(),
    };
    stages.push(stage);
    const feedsFrom = previous;
    const firstInput = index === 0 && o.input !== undefined;
    let child: ChildProcess;
    try {
      child = spawn(o.shell ?? '/bin/sh', ['-c', command], {
        cwd,
        env: { ...env, [TREE_MARKER_ENV]: stage.treeId },
        detached: true,
        stdio: [feedsFrom || firstInput ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      stage.spawnError = error as NodeJS.ErrnoException;
      stage.exited = true;
      stage.finishedAt = Date.now();
      previous = undefined;
      feedsFrom?.destroy();
      if (stopOnError) stopOthers('stopped');
      continue;
    }
    stage.child = child;
    stage.pid = child.pid;
    const upstream = stages[index - 1];
    // The reader is gone. As in a shell, the command before it is not stopped for that: it runs on,
    // and only if it writes again is the pipe closed on it, so it gets SIGPIPE (or EPIPE/ECONNRESET:
    // Node's stdio pipes are socket pairs) instead of blocking on a full pipe forever. Until then its
    // output is read and dropped; what it had written before is dropped too (the reader did not take it).
    // Exit events of two processes may arrive in either order, so "the upstream has not exited"
    // alone is not the test: a reader that stopped after EOF has nothing to do with the upstream
    // failing, and neither has one that we killed.
    let readerLeft = false;
    const readerGone = (): void => {
      if (!feedsFrom || !upstream || readerLeft) return;
      readerLeft = true;
      feedsFrom.unpipe();
      if (upstream.outputEnded || upstream.exited || stage.killReason !== undefined) {
        if (!upstream.outputEnded && !upstream.exited) upstream.readerKilled = true;
        feedsFrom.destroy();
        return;
      }
      upstream.readerGone = true;
      while (feedsFrom.read() !== null);
      feedsFrom.once('data', () => {
        upstream.outputRefused = true;
        feedsFrom.destroy();
      });
      feedsFrom.resume();
    };
    if (child.stdin) {
      child.stdin.on('error', readerGone);
      if (feedsFrom && upstream) {
        feedsFrom.pipe(child.stdin);
        // Counted after piping: a 'data' listener added earlier would start the flow too soon.
        feedsFrom.on('data', (chunk: Buffer) => (upstream.stdoutBytes += chunk.length));
      } else if (firstInput) {
        child.stdin.end(o.input);
      }
    }
    child.stderr?.on('data', (chunk: Buffer) => stage.stderr.push(chunk));
    child.stdout?.on('error', () => undefined);
    child.stdout?.once('end', () => (stage.outputEnded = true));
    const isLast = index === commands.length - 1;
    if (isLast) {
      child.stdout?.on('data', (chunk: Buffer) => {
        stage.stdoutBytes += chunk.length;
        stdout.push(chunk);
      });
    }
    previous = isLast ? undefined : (child.stdout ?? undefined);

    if (timeoutPerCommand > 0) stage.timers.push(setLongTimeout(() => terminate(stage, 'timed-out'), timeoutPerCommand));

    const exited = new Promise<void>((resolve) => {
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        stage.exited = true;
        stage.finishedAt = Date.now();
        for (const timer of stage.timers) timer.clear();
        resolve();
      };
      child.once('error', (error) => {
        stage.spawnError = error;
        settle();
      });
      child.once('exit', (code, sig) => {
        stage.exitCode = code;
        stage.signal = sig;
        settle();
      });
    });
    stage.done = exited.then(async () => {
      readerGone();
      if (stopOnError && !stageSucceeded(stage)) stopOthers('stopped');
      // Processes it left in its group are never left running. Waited for, so that what the
      // sweep below finds is only what left the group.
      if (stage.pid !== undefined) await reapGroup(stage.pid, killGrace);
      await streamsClosed(child);
    });
  }

  const onAbort = (): void => stopOthers('cancelled');
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(stages.map((stage) => stage.done));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  // What left its group with `setsid` and holds no pipe: nothing else shows it (one /proc pass).
  const started = stages.filter((stage) => stage.pid !== undefined);
  const leftovers = await killLeftovers(new Map(started.map((stage) => [stage.treeId, { killGrace }])));
  for (const stage of started) {
    const count = leftovers.get(stage.treeId) ?? 0;
    if (count > 0) process.emitWarning(leftoversMessage(count, `command ${stage.index + 1} of the pipe (\`${stage.command}\`)`));
  }
  for (const stage of stages) {
    if (stage.spawnError) stage.spawnDetail = await spawnErrorDetail(stage.spawnError, cwd);
  }
  return finish(commands, stages.map((stage) => toCommandResult(stage, timeoutPerCommand)), stdout, startedAt, stages);
}

/** Waits for a child's stdout and stderr to close; closes them after a while (an orphan may hold them). */
async function streamsClosed(child: ChildProcess): Promise<void> {
  const streams = [child.stdout, child.stderr].filter((s): s is Readable => s !== null && !s.destroyed && !s.readableEnded);
  if (streams.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(streams.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())))),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STDIO_CLOSE_WAIT_MS);
    }),
  ]);
  if (timer) clearTimeout(timer);
  for (const stream of streams) stream.destroy();
}

/**
 * Like `set -o pipefail`, every command is held to its exit status, with one exception: a command
 * that wrote after its reader had gone and then ended by the broken pipe, as in `yes | head -n 3`.
 * That is SIGPIPE (141 from a shell), or exit code 1 from EPIPE or ECONNRESET (Node's stdio pipes
 * are socket pairs; coreutils and Node report those and exit 1). Any other status is a failure even
 * when the reader finished first: `(sleep 1; exit 3) | true` fails with 3.
 */
function stageSucceeded(stage: Stage): boolean {
  if (stage.spawnError !== undefined) return false;
  // Exit code 0 wins over a kill that came too late to matter (it had already exited).
  if (stage.exitCode === 0) return true;
  if (stage.killReason !== undefined || !stage.readerGone || !stage.outputRefused) return false;
  return stage.signal === 'SIGPIPE' || stage.exitCode === 141 || stage.exitCode === 1;
}

function toCommandResult(stage: Stage, timeoutMs: number): PipeCommandResult {
  let status: PipeCommandResult['status'];
  let error: string | undefined;
  if (stage.spawnError) {
    status = 'failed';
    error = describeFailure({ reason: 'spawn-error', detail: stage.spawnDetail ?? stage.spawnError.message });
  } else if (stageSucceeded(stage)) {
    status = 'succeeded';
  } else if (stage.killReason === 'timed-out') {
    status = 'timed-out';
    error = describeFailure({ reason: 'timed-out', timeoutMs, forcefullyKilled: stage.forcefullyKilled });
  } else if (stage.killReason === 'stopped') {
    status = 'cancelled';
    error = 'stopped: another command of the pipe failed';
  } else if (stage.killReason === 'cancelled') {
    status = 'cancelled';
    error = describeFailure({ reason: 'cancelled' });
  } else {
    status = 'failed';
    error =
      stage.exitCode === null
        ? describeFailure({ reason: 'signal', signal: stage.signal })
        : describeFailure({ reason: 'exit-non-zero', exitCode: stage.exitCode });
  }
  return {
    command: stage.command,
    index: stage.index,
    status,
    success: status === 'succeeded',
    exitCode: stage.exitCode,
    signal: stage.signal,
    stderr: stage.stderr.text(),
    stdoutBytes: stage.stdoutBytes,
    durationMs: Math.max(0, stage.finishedAt - stage.startedAt),
    timedOut: status === 'timed-out',
    forcefullyKilled: stage.forcefullyKilled,
    ...(error !== undefined ? { error } : {}),
  };
}

function notStarted(command: string, index: number): PipeCommandResult {
  return {
    command,
    index,
    status: 'cancelled',
    success: false,
    exitCode: null,
    signal: null,
    stderr: '',
    stdoutBytes: 0,
    durationMs: 0,
    timedOut: false,
    forcefullyKilled: false,
    error: describeFailure({ reason: 'cancelled', detail: 'the signal was aborted before the pipe started' }),
  };
}

function finish(
  commands: readonly string[],
  results: PipeCommandResult[],
  stdout: Capture,
  startedAt: number,
  stages: readonly Stage[] = [],
): PipeResult {
  // The root cause first: a command that failed or timed out, not one stopped because of it.
  const failed =
    results.find((r, i) => (r.status === 'failed' || r.status === 'timed-out') && !stages[i]?.readerKilled) ??
    results.find((r) => r.status === 'failed' || r.status === 'timed-out') ??
    results.find((r) => !r.success);
  const success = failed === undefined;
  return {
    success,
    commands: [...commands],
    completed: results.filter((r) => r.success).length,
    results,
    stdout: stdout.text(),
    exitCode: results[results.length - 1]?.exitCode ?? null,
    durationMs: Date.now() - startedAt,
    ...(failed ? { error: `command ${failed.index + 1} (${failed.command}) ${failed.error ?? failed.status}` } : {}),
  };
}

function validatePipeOptions(options: unknown): asserts options is PipeOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`Expected the options of pipe() to be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  const known = ['timeoutPerCommand', 'stopOnError', 'killGrace', 'env', 'cwd', 'shell', 'input', 'maxBuffer', 'check'];
  for (const key of Object.keys(o)) {
    if (!known.includes(key) && o[key] !== undefined) {
      const hint = key === 'timeout_per_command' ? ': use `timeoutPerCommand`' : key === 'stop_on_error' ? ': use `stopOnError`' : '';
      throw new TypeError(`Unknown option \`${key}\` for pipe()${hint} (known options: ${known.join(', ')})`);
    }
  }
  if (o.timeoutPerCommand !== undefined) expectNonNegativeInteger(o.timeoutPerCommand, 'the `timeoutPerCommand` option of pipe()');
  if (o.killGrace !== undefined) expectNonNegativeInteger(o.killGrace, 'the `killGrace` option of pipe()');
  for (const key of ['stopOnError', 'check'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      throw new TypeError(`Expected the \`${key}\` option of pipe() to be a boolean, got ${describeValue(o[key])}`);
    }
  }
  if (o.env !== undefined) expectStringRecord(o.env, 'the `env` option of pipe()');
  if (o.cwd !== undefined) expectNonEmptyString(o.cwd, 'the `cwd` option of pipe()');
  if (o.shell !== undefined) expectNonEmptyString(o.shell, 'the `shell` option of pipe()');
  if (o.input !== undefined && typeof o.input !== 'string') {
    throw new TypeError(`Expected the \`input\` option of pipe() to be a string, got ${describeValue(o.input)}`);
  }
  if (o.maxBuffer !== undefined) expectPositiveInteger(o.maxBuffer, 'the `maxBuffer` option of pipe()');
}
