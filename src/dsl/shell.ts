import path from 'node:path';
import { describeFailure } from '../core/failure.js';
import { spawnErrorDetail } from '../execution/cwd-problem.js';
import { leftoversMessage, runProcess } from '../execution/process-runner.js';
import { DEFAULT_KILL_GRACE_MS } from './build-step.js';
import { DSL_PROCESS_TIMEOUT_MS } from './process-steps.js';
import { StepDescriptor, type StepConvertible } from './step-descriptor.js';
import {
  describeValue,
  expectNonEmptyString,
  expectNonNegativeInteger,
  expectPositiveInteger,
  expectStringRecord,
} from './step-options.js';

/** Options of {@link shell}. */
export interface ShellOptions {
  /** Milliseconds before the command's process group is killed; 0 = none. @default 60000 */
  timeout?: number;
  /** Milliseconds between SIGTERM and SIGKILL. @default 5000 */
  killGrace?: number;
  /** Merged over `process.env` (over the workflow's env in a workflow). */
  env?: Record<string, string>;
  /** @default process.cwd() */
  cwd?: string;
  /** `run()` rejects with {@link ShellError} unless the command succeeds. Ignored in a workflow (a failure fails the step). @default false */
  check?: boolean;
  /** @default '/bin/sh' */
  shell?: string;
  /** Bytes of stdout and of stderr kept by `run()`; beyond that only the last ones are. @default 16777216 */
  maxBuffer?: number;
}

/** What `shell(...).run()` resolves to. Twin of the Python `shell()` dict. */
export interface ShellResult {
  /** Exit code 0, not killed. */
  success: boolean;
  command: string;
  /** `null` when the command was killed or never started. */
  exitCode: number | null;
  /** The signal the shell died of, if any. */
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** One line saying what went wrong; set when `success` is false. */
  error?: string;
}

/** What `shell(cmd, { check: true }).run()` rejects with: the result is in `result`. */
export class ShellError extends Error {
  override readonly name = 'ShellError';
  readonly result: ShellResult;
  constructor(result: ShellResult) {
    super(`Command failed: ${result.command}: ${result.error ?? 'failed'}${result.stderr ? `\n${result.stderr.trimEnd().slice(-2000)}` : ''}`);
    this.result = result;
  }
}

/** Options of `ShellCommand.run()`. */
export interface ShellRunOptions {
  /** Aborting it kills the command's process group. */
  signal?: AbortSignal;
}

const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024;

/**
 * A shell command line: a step in a workflow (`kind: 'command'`), or run directly with `run()`.
 * Made by {@link shell}.
 */
export class ShellCommand implements StepConvertible {
  readonly command: string;
  readonly options: Readonly<ShellOptions>;

  constructor(command: string, options: ShellOptions = {}) {
    expectNonEmptyString(command, 'the shell command');
    validateShellOptions(options);
    this.command = command;
    this.options = { ...options };
  }

  /**
   * Runs the command in its own process group (`/bin/sh -c`) and resolves with its result. Never
   * rejects for a failing command unless `check` is set; a timeout kills the whole group. Nothing
   * it started is left running once it resolves, not even a process that left the group with
   * `setsid` (that one is killed with a process warning, as a workflow step's would be).
   */
  async run(options: ShellRunOptions = {}): Promise<ShellResult> {
    const o = this.options;
    const maxBuffer = o.maxBuffer ?? DEFAULT_MAX_BUFFER;
    const timeout = o.timeout ?? DSL_PROCESS_TIMEOUT_MS;
    const cwd = path.resolve(o.cwd ?? process.cwd());
    const outcome = await runProcess({
      command: o.shell ?? '/bin/sh',
      args: ['-c', this.command],
      cwd,
      env: { ...process.env, ...o.env },
      timeout,
      killGrace: o.killGrace ?? DEFAULT_KILL_GRACE_MS,
      tailBytes: maxBuffer,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (outcome.leftoversKilled > 0) process.emitWarning(leftoversMessage(outcome.leftoversKilled, `\`${this.command}\``));
    const timedOut = outcome.killReason === 'timed-out';
    const success = outcome.spawnError === null && outcome.killReason === null && outcome.exitCode === 0;
    let error: string | undefined;
    if (!success) {
      if (outcome.spawnError) error = describeFailure({ reason: 'spawn-error', detail: await spawnErrorDetail(outcome.spawnError, cwd) });
      else if (timedOut) error = describeFailure({ reason: 'timed-out', timeoutMs: timeout, forcefullyKilled: outcome.forcefullyKilled });
      else if (outcome.killReason === 'cancelled') error = describeFailure({ reason: 'cancelled' });
      else if (outcome.exitCode === null) error = describeFailure({ reason: 'signal', signal: outcome.signal });
      else error = describeFailure({ reason: 'exit-non-zero', exitCode: outcome.exitCode });
    }
    const result: ShellResult = {
      success,
      command: this.command,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      stdout: outcome.stdout.tail(),
      stderr: outcome.stderr.tail(),
      durationMs: outcome.durationMs,
      timedOut,
      ...(error !== undefined ? { error } : {}),
    };
    if (!success && o.check === true) throw new ShellError(result);
    return result;
  }

  /** The command as a workflow step (`kind: 'command'`), with its timeout, env and cwd. */
  toStepDescriptor(): StepDescriptor {
    const o = this.options;
    return new StepDescriptor(
      { kind: 'command', command: this.command, ...(o.shell !== undefined ? { shell: o.shell } : {}) },
      {
        timeout: o.timeout ?? DSL_PROCESS_TIMEOUT_MS,
        ...(o.killGrace !== undefined ? { killGrace: o.killGrace } : {}),
        ...(o.env !== undefined ? { env: o.env } : {}),
        ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
      },
    );
  }
}

/**
 * A shell command. Run it with `await shell('ls -l').run()` (resolves to a {@link ShellResult};
 * with `check: true` a failure rejects with {@link ShellError}), or use it as a workflow step:
 * `wf.step('list', shell('ls -l'))`.
 */
export function shell(command: string, options: ShellOptions = {}): ShellCommand {
  return new ShellCommand(command, options);
}

function validateShellOptions(options: unknown): asserts options is ShellOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`Expected the options of shell() to be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  const known = ['timeout', 'killGrace', 'env', 'cwd', 'check', 'shell', 'maxBuffer'];
  for (const key of Object.keys(o)) {
    if (!known.includes(key) && o[key] !== undefined) {
      throw new TypeError(`Unknown option \`${key}\` for shell() (known options: ${known.join(', ')})`);
    }
  }
  if (o.timeout !== undefined) expectNonNegativeInteger(o.timeout, 'the `timeout` option of shell()');
  if (o.killGrace !== undefined) expectNonNegativeInteger(o.killGrace, 'the `killGrace` option of shell()');
  if (o.env !== undefined) expectStringRecord(o.env, 'the `env` option of shell()');
  if (o.cwd !== undefined) expectNonEmptyString(o.cwd, 'the `cwd` option of shell()');
  if (o.check !== undefined && typeof o.check !== 'boolean') {
    throw new TypeError(`Expected the \`check\` option of shell() to be a boolean, got ${describeValue(o.check)}`);
  }
  if (o.shell !== undefined) expectNonEmptyString(o.shell, 'the `shell` option of shell()');
  if (o.maxBuffer !== undefined) expectPositiveInteger(o.maxBuffer, 'the `maxBuffer` option of shell()');
}
