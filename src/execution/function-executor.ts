import { describeFailure } from '../core/failure.js';
import { NonRetryableError } from '../core/errors.js';
import type { FunctionStep, NeedResult, StepContext } from '../core/spec.js';
import { AbortHandle } from '../util/abort-handle.js';
import type { AbortCause, AttemptResult, ExecutionContext, StepExecutor } from './step-executor.js';

const TAIL_BYTES = 16_384;

type Ending = { kind: 'timed-out' } | { kind: 'aborted'; cause: AbortCause };

/**
 * Runs an in-process function step. Its `signal` aborts on timeout, cancellation or fail-fast, and
 * the step ends then even if the function ignores the signal (in-process code cannot be killed:
 * use a `module` step to run a function in a child process that can).
 *
 * This is the hot path of in-process workflows, so nothing is built that the function does not
 * ask for: the signal, the needs and the log exist on first access.
 */
export class FunctionExecutor implements StepExecutor<FunctionStep> {
  async execute(step: FunctionStep, context: ExecutionContext): Promise<AttemptResult> {
    const startedAt = Date.now();
    const outputs: Record<string, string> = {};
    let logText = '';
    // (outputs stays empty for most steps; it is the step's own object, handed to the result.)
    // The function's own switch: thrown by the step timeout or by the engine's abort.
    const own = new AbortHandle();
    let ending: Ending | undefined;
    let wake: ((ending: Ending) => void) | undefined;
    const end = (value: Ending): void => {
      if (ending) return;
      ending = value;
      own.abort(value.kind === 'timed-out' ? 'timeout' : value.cause);
      wake?.(value);
    };
    let unsubscribe: (() => void) | undefined;
    const timer = step.timeout > 0 ? setTimeout(() => end({ kind: 'timed-out' }), step.timeout) : undefined;
    context.onSpawn?.(0, []);
    const ctx = new FunctionContext(step, context, own, outputs);
    const cause = context.abortCause;
    if (cause !== undefined) end({ kind: 'aborted', cause });
    try {
      let value: unknown = ending ? undefined : step.fn(ctx);
      if (value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function') {
        // Only a function that is still running can be cut short: listen for the abort now.
        unsubscribe = context.onAbort((abortCause) => end({ kind: 'aborted', cause: abortCause }));
        // One promise settled by whichever comes first: the function, or the end (timeout, abort).
        const pending = value as PromiseLike<unknown>;
        value = await new Promise<unknown>((resolve, reject) => {
          wake = () => resolve(undefined);
          if (ending) resolve(undefined);
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the step's own error, passed through
          pending.then(resolve, (error: unknown) => (ending ? resolve(undefined) : reject(error)));
        });
      }
      const finishedAt = Date.now();
      logText = ctx.logText;
      const finalEnding = ending;
      if (finalEnding) return this.#ended(step, finalEnding, startedAt, finishedAt, outputs, logText);
      if (step.transformResult) value = step.transformResult(value);
      return result(startedAt, finishedAt, outputs, logText, { status: 'succeeded', value });
    } catch (error) {
      return functionThrew(startedAt, Date.now(), outputs, ctx.logText, error);
    } finally {
      if (timer) clearTimeout(timer);
      unsubscribe?.();
    }
  }

  #ended(
    step: FunctionStep,
    ending: Ending,
    startedAt: number,
    finishedAt: number,
    outputs: Record<string, string>,
    logText: string,
  ): AttemptResult {
    return functionEnded(step, ending.kind === 'timed-out' ? 'timeout' : ending.cause, startedAt, finishedAt, outputs, logText);
  }
}

/**
 * The context of a function step that the local engine runs on its fast path (no step timeout, its
 * first attempt): the engine itself ends it on cancellation, so no promise race is built per step.
 * The signal, the outputs and the needs exist on first use.
 */
export class InlineFunctionContext implements StepContext {
  readonly runId: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly env: Record<string, string>;
  readonly matrix: Record<string, string | number | boolean>;
  logText = '';
  outputs: Record<string, string> | undefined;
  /** Set once the attempt is over (settled, or ended by the engine): a later settlement is ignored. */
  over = false;
  #handle: AbortHandle | undefined;
  #endedBy: AbortCause | undefined;
  readonly #key: unknown;
  readonly #needsOf: (key: unknown) => Record<string, NeedResult>;
  readonly #onLog: ((stepId: string, attempt: number, chunk: Buffer) => void) | undefined;

  constructor(
    runId: string,
    step: FunctionStep,
    attempt: number,
    key: unknown,
    needsOf: (key: unknown) => Record<string, NeedResult>,
    onLog?: (stepId: string, attempt: number, chunk: Buffer) => void,
  ) {
    this.runId = runId;
    this.stepId = step.id;
    this.attempt = attempt;
    this.env = step.env;
    this.matrix = step.matrix ?? {};
    this.#key = key;
    this.#needsOf = needsOf;
    this.#onLog = onLog;
  }

  get signal(): AbortSignal {
    if (!this.#handle) {
      this.#handle = new AbortHandle();
      if (this.#endedBy !== undefined) this.#handle.abort(this.#endedBy);
    }
    return this.#handle.signal;
  }

  get needs(): Record<string, NeedResult> {
    return this.#needsOf(this.#key);
  }

  /** Ends the attempt from outside (cancel, run timeout, fail-fast): its signal aborts. */
  end(cause: AbortCause): void {
    this.over = true;
    this.#endedBy = cause;
    this.#handle?.abort(cause);
  }

  setOutput(key: string, value: string): void {
    (this.outputs ??= {})[key] = String(value);
  }

  log(message: string): void {
    this.logText = (this.logText + message + '\n').slice(-TAIL_BYTES);
    this.#onLog?.(this.stepId, this.attempt, Buffer.from(message + '\n'));
  }
}

/** The attempt of a function step that threw (or returned a rejected promise). */
export function functionThrew(
  startedAt: number,
  finishedAt: number,
  outputs: Record<string, string>,
  logText: string,
  error: unknown,
): AttemptResult {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const stack = error instanceof Error && error.stack ? error.stack : message;
  const failed = result(startedAt, finishedAt, outputs, logText, {
    status: 'failed',
    reason: 'function-threw',
    message: describeFailure({ reason: 'function-threw', detail: message }),
    error,
    nonRetryable: error instanceof NonRetryableError,
  });
  failed.stderrTail = stack.slice(-TAIL_BYTES);
  failed.stderrBytes = Buffer.byteLength(stack);
  return failed;
}

/** The attempt of a function step cut short by its timeout (`cause` 'timeout') or the engine. */
export function functionEnded(
  step: FunctionStep,
  cause: AbortCause | 'timeout',
  startedAt: number,
  finishedAt: number,
  outputs: Record<string, string>,
  logText: string,
): AttemptResult {
  if (cause === 'timeout') {
    return result(startedAt, finishedAt, outputs, logText, {
      status: 'timed-out',
      reason: 'timed-out',
      message: describeFailure({ reason: 'timed-out', timeoutMs: step.timeout }),
      timedOut: true,
    });
  }
  if (cause === 'run-timeout') {
    return result(startedAt, finishedAt, outputs, logText, {
      status: 'timed-out',
      reason: 'timed-out',
      message: "stopped: the run's timeout was reached",
      timedOut: true,
    });
  }
  const failFast = cause === 'fail-fast';
  return result(startedAt, finishedAt, outputs, logText, {
    status: 'cancelled',
    reason: failFast ? 'fail-fast' : 'cancelled',
    message: failFast ? 'stopped: another step failed (--fail-fast kill)' : 'stopped: the run was cancelled',
  });
}

/** The one context a function step gets; a class so nothing is allocated per step but the object. */
class FunctionContext implements StepContext {
  readonly runId: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly env: Record<string, string>;
  readonly matrix: Record<string, string | number | boolean>;
  logText = '';
  readonly #context: ExecutionContext;
  readonly #own: AbortHandle;
  readonly #outputs: Record<string, string>;

  constructor(step: FunctionStep, context: ExecutionContext, own: AbortHandle, outputs: Record<string, string>) {
    this.runId = context.runId;
    this.stepId = step.id;
    this.attempt = context.attempt;
    this.env = step.env;
    this.matrix = step.matrix ?? {};
    this.#context = context;
    this.#own = own;
    this.#outputs = outputs;
  }

  get signal(): AbortSignal {
    return this.#own.signal;
  }

  get needs(): StepContext['needs'] {
    return this.#context.needs;
  }

  setOutput(key: string, value: string): void {
    this.#outputs[key] = String(value);
  }

  log(message: string): void {
    this.logText = (this.logText + message + '\n').slice(-TAIL_BYTES);
    this.#context.onOutput?.('stdout', Buffer.from(message + '\n'));
  }
}

function result(
  startedAt: number,
  finishedAt: number,
  outputs: Record<string, string>,
  logText: string,
  fields: Partial<AttemptResult> & Pick<AttemptResult, 'status'>,
): AttemptResult {
  return {
    command: [],
    exitCode: null,
    signal: null,
    killSignal: null,
    timedOut: false,
    forcefullyKilled: false,
    startedAt,
    finishedAt,
    stdoutTail: logText,
    stderrTail: '',
    stdoutBytes: logText.length,
    stderrBytes: 0,
    outputs,
    ...fields,
  };
}
