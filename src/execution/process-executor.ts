import { accessSync, constants, readFileSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describeFailure } from '../core/failure.js';
import { OUTPUT_LIMITS, parseOutputs } from '../core/outputs.js';
import type { CommandStep, ModuleStep, PythonStep, ScriptStep } from '../core/spec.js';
import { NODE_FUNCTION_RUNNER, PYTHON_FUNCTION_RUNNER } from './function-runners.js';
import type { FailureReason, FinalStatus } from '../core/status.js';
import { appendLogSection, appendLogSectionSync, type LogSection } from './log-file.js';
import { fileNameFor } from '../util/file-name.js';
import { cwdProblem } from './cwd-problem.js';
import { killLeftovers, leftoversMessage, runProcess, type ProcessOutcome } from './process-runner.js';
import { tsxLoader } from './tsx-loader.js';
import { attemptWithoutProcess, type AbortCause, type AttemptResult, type ExecutionContext, type StepExecutor } from './step-executor.js';

export type ProcessStep = ScriptStep | CommandStep | ModuleStep | PythonStep;

/** A synchronous log append this slow counts as slow (see `#writeLog`). */
const SLOW_LOG_WRITE_MS = 2;
/** Slow appends among the last eight that send the rest of the run's log writes to the thread pool. */
const SLOW_LOG_WRITES = 3;
/** Finished trees (of any runs) after which leftovers are looked for without waiting for `flush()`. */
const LEFTOVER_SWEEP_TREES = 256;

/** A finished step's process tree, by the run the step belongs to. */
interface FinishedTree {
  runId: string;
  stepId: string;
  killGrace: number;
}

/**
 * Runs every step that is a process: scripts, shell commands, module functions and Python
 * functions. Nothing else in the project spawns steps.
 */
export class ProcessExecutor implements StepExecutor<ProcessStep> {
  // Checked once per folder: most steps of a run share a handful of folders, and every fs call
  // here is a round trip through libuv's thread pool on the hot path.
  readonly #dirProblems = new Map<string, Promise<string | undefined>>();
  readonly #logDirs = new Map<string, Promise<unknown>>();
  /** The last write to each log (they are chained), and the run whose log it is. */
  readonly #logWrites = new Map<string, { write: Promise<void>; runId: string }>();
  readonly #slowLogWriteMs: number;
  readonly #leftoverSweepTrees: number;
  #syncLogs = true;
  /** The last eight synchronous appends, one bit each, 1 for a slow one. */
  #recentSlowWrites = 0;
  /**
   * Trees of steps that finished since the last sweep, by tree id. A process that still carries
   * one escaped the step unseen; sweeping for them costs one /proc pass, so it is done once per
   * run (`flush(runId)`), not per step. One executor serves every run of an engine, at once too:
   * each tree says whose it is, so that a run's end sweeps only its own.
   */
  #finishedTrees = new Map<string, FinishedTree>();
  #sweeping: Promise<void> | undefined;
  /** What `flush()` has to tell, by run id: log writes that failed, leftovers killed. */
  readonly #reports = new Map<string, { logErrors: string[]; leftovers: string[] }>();

  /**
   * `slowLogWriteMs`: see `#writeLog` (default 2 ms; 0 sends every write after the third to the
   * thread pool). `leftoverSweepTrees`: finished trees that start a sweep before any flush
   * (default 256).
   */
  constructor(options: { slowLogWriteMs?: number; leftoverSweepTrees?: number } = {}) {
    this.#slowLogWriteMs = options.slowLogWriteMs ?? SLOW_LOG_WRITE_MS;
    this.#leftoverSweepTrees = options.leftoverSweepTrees ?? LEFTOVER_SWEEP_TREES;
  }

  /**
   * Waits until the run's log writes have finished, and kills the processes that its finished
   * steps left running where their own kill could not see them (in a new session, output
   * redirected). Returns the writes that failed and the leftovers killed, the early sweeps' too
   * (see `LEFTOVER_SWEEP_TREES`). Without `runId`: those of every run.
   */
  async flush(runId?: string): Promise<string[]> {
    const ofRun = (id: string): boolean => runId === undefined || id === runId;
    if ([...this.#finishedTrees.values()].some((tree) => ofRun(tree.runId))) void this.#sweepLeftovers(runId);
    for (;;) {
      const writes = [...this.#logWrites.values()].filter((w) => ofRun(w.runId));
      if (writes.length === 0) break;
      await Promise.all(writes.map((w) => w.write));
    }
    // Sweeps run one after another: the last one started ends after every earlier one.
    while (this.#sweeping) await this.#sweeping;
    const logErrors: string[] = [];
    const leftovers: string[] = [];
    for (const [id, reports] of this.#reports) {
      if (!ofRun(id)) continue;
      this.#reports.delete(id);
      logErrors.push(...reports.logErrors);
      leftovers.push(...reports.leftovers);
    }
    return [...logErrors, ...leftovers];
  }

  #report(runId: string, kind: 'logErrors' | 'leftovers', message: string): void {
    let reports = this.#reports.get(runId);
    if (!reports) {
      reports = { logErrors: [], leftovers: [] };
      this.#reports.set(runId, reports);
    }
    reports[kind].push(message);
  }

  /**
   * Kills what the finished trees of `runId` (without it: of every run) left behind, and keeps
   * what it killed for the flush of the run each tree belongs to; sweeps run one at a time.
   */
  #sweepLeftovers(runId?: string): Promise<void> {
    let trees = this.#finishedTrees;
    if (runId === undefined) {
      this.#finishedTrees = new Map();
    } else {
      trees = new Map();
      for (const [treeId, tree] of this.#finishedTrees) {
        if (tree.runId !== runId) continue;
        trees.set(treeId, tree);
        this.#finishedTrees.delete(treeId);
      }
    }
    const sweep = (this.#sweeping ?? Promise.resolve())
      .then(() => killLeftovers(trees))
      .then(
        (killed) => {
          for (const [treeId, count] of killed) {
            const tree = trees.get(treeId);
            if (tree) this.#report(tree.runId, 'leftovers', leftoversMessage(count, `step ${tree.stepId}`));
          }
        },
        (error: unknown) => {
          const message = `could not look for processes left running: ${error instanceof Error ? error.message : String(error)}`;
          for (const id of new Set([...trees.values()].map((tree) => tree.runId))) this.#report(id, 'leftovers', message);
        },
      )
      .finally(() => {
        if (this.#sweeping === sweep) this.#sweeping = undefined;
      });
    this.#sweeping = sweep;
    return sweep;
  }

  #cwdProblem(dir: string): Promise<string | undefined> {
    let problem = this.#dirProblems.get(dir);
    if (!problem) {
      problem = cwdProblem(dir);
      this.#dirProblems.set(dir, problem);
    }
    return problem;
  }

  #ensureDir(dir: string): Promise<unknown> {
    let made = this.#logDirs.get(dir);
    if (!made) {
      made = mkdir(dir, { recursive: true });
      this.#logDirs.set(dir, made);
    }
    return made;
  }

  /**
   * Appends an attempt to its log. Small output (held in memory) is written at once with one
   * synchronous append: ~25 µs, where the same append through the thread pool costs ~200 µs of
   * this thread's time. Should three of the last eight such writes take `slowLogWriteMs` or
   * longer (a slow or network disk), the rest go through the thread pool, off the step's critical
   * path; `flush()` waits for those. One slow write is not enough: on a busy machine this thread
   * is often descheduled for a few milliseconds in the middle of a fast write. Writes to one log
   * are chained so attempts stay in order.
   */
  #writeLog(runId: string, logPath: string, section: LogSection, outcome: ProcessOutcome): void {
    const failed = (error: unknown): void => {
      this.#report(runId, 'logErrors', `could not write the log ${logPath}: ${error instanceof Error ? error.message : String(error)}`);
    };
    const previous = this.#logWrites.get(logPath)?.write;
    if (previous === undefined && this.#syncLogs) {
      const started = performance.now();
      try {
        const written = appendLogSectionSync(logPath, section, outcome.stdout, outcome.stderr);
        const slow = performance.now() - started >= this.#slowLogWriteMs ? 1 : 0;
        this.#recentSlowWrites = ((this.#recentSlowWrites << 1) | slow) & 0xff;
        if (slow === 1 && popCount(this.#recentSlowWrites) >= SLOW_LOG_WRITES) this.#syncLogs = false;
        if (written) return;
      } catch (error) {
        failed(error);
        return;
      }
    }
    const write = (previous ?? Promise.resolve())
      .then(() => appendLogSection(logPath, section, outcome.stdout, outcome.stderr))
      .catch(failed);
    this.#logWrites.set(logPath, { write, runId });
    void write.finally(() => {
      if (this.#logWrites.get(logPath)?.write === write) this.#logWrites.delete(logPath);
    });
  }

  async execute(step: ProcessStep, context: ExecutionContext): Promise<AttemptResult> {
    const startedAt = Date.now();
    const cwdUnusable = await this.#cwdProblem(step.cwd);
    if (cwdUnusable !== undefined) return notStarted('spawn-error', cwdUnusable, startedAt, []);
    const prepared = await prepare(step, context);
    if (!prepared.ok) {
      return notStarted(prepared.reason, prepared.detail, startedAt, prepared.command);
    }
    const argv = prepared.argv;
    // The inline runner programs would drown the command line in logs and reports.
    const shown =
      step.kind === 'module'
        ? [argv[0] as string, '<function runner>', `${step.module}#${step.export}`]
        : step.kind === 'python'
          ? [argv[0] as string, '<function runner>', step.target]
          : argv;
    const scratch = path.join(context.scratchDir, `${fileNameFor(step.id)}.${context.attempt}`);
    const outputFile = `${scratch}.out`;
    const fnInput = `${scratch}.fn-input.json`;
    const fnResult = `${scratch}.fn-result.json`;
    const isFunction = step.kind === 'module' || step.kind === 'python';
    await this.#ensureDir(context.scratchDir);
    if (isFunction) writeFileSync(fnInput, JSON.stringify(functionInput(step)));
    // The step's variables over the run's environment, which is shared, not copied (see
    // `layeredEnv`): the run's base, then PYTHONUNBUFFERED, the step's env, and ours.
    const env = Object.create(context.baseEnv) as Record<string, string | undefined>;
    if ((step.kind === 'script' && step.scriptKind === 'python') || step.kind === 'python') env.PYTHONUNBUFFERED = '1';
    // defineProperty, not `=`: a variable named `__proto__` must stay a variable.
    for (const name of Object.keys(step.env)) Object.defineProperty(env, name, { value: step.env[name], enumerable: true, writable: true, configurable: true });
    env.ORCHESTRATOR_RUN_ID = context.runId;
    env.ORCHESTRATOR_STEP_ID = step.id;
    env.ORCHESTRATOR_ATTEMPT = String(context.attempt);
    env.ORCHESTRATOR_OUTPUT = outputFile;
    if (isFunction) {
      env.ORCHESTRATOR_FN_INPUT = fnInput;
      env.ORCHESTRATOR_FN_RESULT = fnResult;
    }
    // Spill files live beside the log, so its folder must exist before the first byte arrives.
    if (context.logPath) await this.#ensureDir(path.dirname(context.logPath));
    const outcome = await runProcess({
      command: argv[0] as string,
      args: argv.slice(1),
      cwd: step.cwd,
      env,
      timeout: step.timeout,
      killGrace: step.killGrace,
      ...(step.memoryLimitMb !== undefined ? { memoryLimitMb: step.memoryLimitMb } : {}),
      signal: context.signal,
      ...(context.logPath ? { spillPrefix: `${context.logPath}.${context.attempt}.part` } : {}),
      ...(context.onOutput ? { onOutput: context.onOutput } : {}),
      onSpawn: (pid) => context.onSpawn?.(pid, shown),
      // Swept once per run for every step (see `flush(runId)`): a /proc pass per step is too dear.
      killLeftovers: false,
      boundedFile: { path: outputFile, maxBytes: OUTPUT_LIMITS.fileBytes },
    });
    if (outcome.pid !== null) {
      this.#finishedTrees.set(outcome.treeId, { runId: context.runId, stepId: step.id, killGrace: step.killGrace });
      if (this.#finishedTrees.size >= this.#leftoverSweepTrees) void this.#sweepLeftovers();
    }
    const result = toAttemptResult(step, outcome, shown, context.abortCause);
    await collectOutputs(result, outputFile);
    if (isFunction) {
      await collectFunctionResult(result, fnResult, outcome.spawnError !== null);
      rmSync(fnInput, { force: true });
    }
    if (context.logPath) {
      this.#writeLog(
        context.runId,
        context.logPath,
        {
          title: `${step.id} · attempt ${context.attempt}`,
          command: shown,
          cwd: step.cwd,
          startedAt: outcome.startedAt,
          finishedAt: outcome.finishedAt,
          status: result.status,
          message: result.message,
          exitCode: outcome.exitCode,
          signal: outcome.signal,
        },
        outcome,
      );
    } else {
      await Promise.all([outcome.stdout.discard(), outcome.stderr.discard()]);
    }
    return result;
  }
}


function popCount(bits: number): number {
  let count = 0;
  for (let rest = bits; rest !== 0; rest &= rest - 1) count++;
  return count;
}

function functionInput(step: ModuleStep | PythonStep): unknown {
  return step.kind === 'module'
    ? { module: step.module, export: step.export, args: step.args }
    : { target: step.target, args: step.args, kwargs: step.kwargs, path: step.pythonPath };
}

/**
 * Files this small are read, written and removed synchronously: ~10-30 µs each, where a round
 * trip through libuv's thread pool costs ~70 µs of this thread's time per operation.
 */
const SYNC_FILE_BYTES = 256 * 1024;

async function readText(file: string, size: number): Promise<string> {
  return size <= SYNC_FILE_BYTES ? readFileSync(file, 'utf8') : readFile(file, 'utf8');
}

/**
 * Reads `$ORCHESTRATOR_OUTPUT`. A bad or oversized file fails a step that otherwise succeeded; a
 * step that exited with a failure keeps the outputs of a good file (for `if: failure() && ...`)
 * and its own reason otherwise. The file of a step that was killed (timeout, cancel, memory
 * limit, signal) may be half-written: it is removed unread.
 */
async function collectOutputs(result: AttemptResult, file: string): Promise<void> {
  const judged = result.status === 'succeeded';
  const readable = judged || result.reason === 'exit-non-zero';
  let text: string;
  try {
    // Most steps write no outputs: a missing file is the common case, told without an exception.
    const info = statSync(file, { throwIfNoEntry: false });
    if (info === undefined) return;
    if (!readable || info.size > OUTPUT_LIMITS.fileBytes) {
      rmSync(file, { force: true });
      if (judged) failAttempt(result, 'output-limit', `${info.size} bytes written to $ORCHESTRATOR_OUTPUT, the limit is ${OUTPUT_LIMITS.fileBytes}`);
      return;
    }
    text = await readText(file, info.size);
  } catch {
    return;
  }
  rmSync(file, { force: true });
  const parsed = parseOutputs(text);
  if (parsed.ok) result.outputs = parsed.outputs;
  else if (judged) failAttempt(result, 'invalid-output', parsed.message);
}

async function collectFunctionResult(result: AttemptResult, file: string, spawnFailed: boolean): Promise<void> {
  if (spawnFailed || result.status === 'timed-out' || result.status === 'cancelled') return;
  let data: { ok: boolean; value?: unknown; name?: string; message?: string };
  try {
    const info = statSync(file, { throwIfNoEntry: false });
    if (info === undefined) throw new Error('no result file');
    data = JSON.parse(await readText(file, info.size)) as typeof data;
  } catch {
    if (result.status === 'succeeded') failAttempt(result, 'function-threw', 'the function runner wrote no result');
    return;
  } finally {
    rmSync(file, { force: true });
  }
  if (data.ok) {
    result.value = data.value;
  } else {
    failAttempt(result, 'function-threw', `${data.name ?? 'Error'}: ${data.message ?? ''}`);
    result.error = { name: data.name, message: data.message };
    if (data.name === 'NonRetryableError') result.nonRetryable = true;
  }
}

function failAttempt(result: AttemptResult, reason: FailureReason, detail: string): void {
  result.status = 'failed';
  result.reason = reason;
  result.message = describeFailure({ reason, detail });
}

type Prepared =
  | { ok: true; argv: string[] }
  | { ok: false; reason: FailureReason; detail: string; command: string[] };

async function prepare(step: ProcessStep, context: ExecutionContext): Promise<Prepared> {
  if (step.kind === 'command') {
    return { ok: true, argv: [step.shell ?? '/bin/sh', '-c', step.command] };
  }
  if (step.kind === 'module') {
    // Told here rather than by the runner's failed import, which would be `function-threw`.
    if (!isFile(step.module)) {
      return { ok: false, reason: 'script-missing', detail: `module ${step.module} does not exist`, command: [step.module] };
    }
    const typescript = /\.[cm]?ts$/.test(step.module);
    return {
      ok: true,
      argv: [process.execPath, ...(typescript ? ['--import', tsxLoader()] : []), '--input-type=module', '-e', NODE_FUNCTION_RUNNER],
    };
  }
  if (step.kind === 'python') {
    const python = await context.resolver.python(step.cwd);
    if (!python) return { ok: false, reason: 'interpreter-not-found', detail: '`python3` is not on PATH (needed for python steps)', command: [] };
    return { ok: true, argv: [python, '-c', PYTHON_FUNCTION_RUNNER] };
  }
  if (!isFile(step.path)) {
    // A shebang was read from the file when the plan was made (discovery, script(), a workflow
    // file): it was there then. Without one nothing says it ever was.
    const gone = step.shebang !== undefined ? 'no longer exists' : 'does not exist';
    return { ok: false, reason: 'script-missing', detail: `${step.path} ${gone}`, command: [step.path] };
  }
  try {
    accessSync(step.path, constants.R_OK);
  } catch {
    return { ok: false, reason: 'not-executable', detail: `${step.path} is not readable`, command: [step.path] };
  }
  const resolution = await context.resolver.resolve({
    path: step.path,
    kind: step.scriptKind,
    shebang: step.shebang,
    interpreter: step.interpreter,
  });
  if (!resolution.ok) {
    return { ok: false, reason: resolution.reason, detail: resolution.detail, command: [step.path] };
  }
  return { ok: true, argv: [...resolution.argv, step.path, ...step.args] };
}

/**
 * Whether `file` is a regular file. Synchronous: a local stat costs ~5 µs here, a round trip
 * through the thread pool ~100 µs of this thread's time, twice per script step.
 */
function isFile(file: string): boolean {
  let info: Stats | undefined;
  try {
    info = statSync(file, { throwIfNoEntry: false });
  } catch {
    info = undefined; // a folder on the way that cannot be searched, a link loop: not there for us
  }
  return info?.isFile() === true;
}

function notStarted(
  reason: FailureReason,
  detail: string,
  startedAt: number,
  command: string[],
): AttemptResult {
  return attemptWithoutProcess({ status: 'failed', reason, message: describeFailure({ reason, detail }), command, startedAt });
}

function toAttemptResult(
  step: ProcessStep,
  outcome: ProcessOutcome,
  argv: string[],
  cause: AbortCause | undefined,
): AttemptResult {
  let status: FinalStatus;
  let reason: FailureReason | undefined;
  let message: string | undefined;
  if (outcome.spawnError) {
    status = 'failed';
    const code = outcome.spawnError.code;
    reason = code === 'ENOENT' ? 'interpreter-not-found' : code === 'EACCES' ? 'not-executable' : 'spawn-error';
    message = describeFailure({ reason, detail: `${argv[0] ?? ''}: ${outcome.spawnError.message}` });
  } else if (outcome.killReason === 'timed-out' || (outcome.killReason === 'cancelled' && cause === 'run-timeout')) {
    status = 'timed-out';
    reason = 'timed-out';
    message =
      outcome.killReason === 'timed-out'
        ? describeFailure({ reason, timeoutMs: step.timeout, forcefullyKilled: outcome.forcefullyKilled })
        : `killed: the run's timeout was reached${outcome.forcefullyKilled ? ' (SIGKILL after SIGTERM was ignored)' : ''}`;
  } else if (outcome.killReason === 'output-limit') {
    status = 'failed';
    reason = 'output-limit';
    message = describeFailure({
      reason,
      detail: `more than ${OUTPUT_LIMITS.fileBytes} bytes written to $ORCHESTRATOR_OUTPUT while it ran, the limit; it was killed${outcome.forcefullyKilled ? ' (SIGKILL after SIGTERM was ignored)' : ''}`,
    });
  } else if (outcome.killReason === 'memory-limit') {
    status = 'failed';
    reason = 'memory-limit';
    message = describeFailure({ reason, ...(step.memoryLimitMb !== undefined ? { memoryLimitMb: step.memoryLimitMb } : {}) });
  } else if (outcome.killReason === 'cancelled') {
    status = 'cancelled';
    reason = cause === 'fail-fast' ? 'fail-fast' : 'cancelled';
    message = cause === 'fail-fast' ? 'killed: another step failed (fail-fast policy kill)' : 'killed: the run was cancelled';
  } else if (outcome.signal) {
    status = 'failed';
    reason = 'signal';
    message = describeFailure({ reason, signal: outcome.signal });
  } else if (outcome.exitCode !== null && step.allowedExitCodes.includes(outcome.exitCode)) {
    status = 'succeeded';
  } else {
    status = 'failed';
    reason = 'exit-non-zero';
    message = describeFailure({ reason, exitCode: outcome.exitCode });
  }
  return {
    status,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
    command: argv,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    killSignal: outcome.killSignal,
    timedOut: status === 'timed-out',
    forcefullyKilled: outcome.forcefullyKilled,
    startedAt: outcome.startedAt,
    finishedAt: outcome.finishedAt,
    stdoutTail: outcome.stdout.tail(),
    stderrTail: outcome.stderr.tail(),
    stdoutBytes: outcome.stdout.bytes,
    stderrBytes: outcome.stderr.bytes,
    ...(outcome.peakMemoryMb !== undefined ? { peakMemoryMb: Math.round(outcome.peakMemoryMb) } : {}),
    outputs: {},
  };
}
