import { describeFailure } from '../core/failure.js';
import { NonRetryableError } from '../core/errors.js';
import { OUTPUT_LIMITS } from '../core/outputs.js';
import type { FunctionStep, NeedResult, StepContext } from '../core/spec.js';
import { AbortHandle } from '../util/abort-handle.js';
import { setLongTimeout } from '../util/long-timeout.js';
import { attemptWithoutProcess, type AbortCause, type AttemptResult, type ExecutionContext, type StepExecutor } from './step-executor.js';

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
    const onOutput = context.onOutput;
    // Its signal is the function's own switch: thrown by the step timeout or by the engine's abort.
    const ctx = new FunctionStepContext(
      context.runId,
      step,
      context.attempt,
      context,
      needsOfContext,
      onOutput ? (_stepId, _attempt, chunk) => onOutput('stdout', chunk) : undefined,
    );
    let ending: Ending | undefined;
    let wake: ((ending: Ending) => void) | undefined;
    const end = (value: Ending): void => {
      if (ending) return;
      ending = value;
      ctx.end(value.kind === 'timed-out' ? 'timeout' : value.cause);
      wake?.(value);
    };
    let unsubscribe: (() => void) | undefined;
    const timer = step.timeout > 0 ? setLongTimeout(() => end({ kind: 'timed-out' }), step.timeout) : undefined;
    context.onSpawn?.(0, []);
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
      const overflow = outputLimitFailure(ctx, startedAt, finishedAt);
      if (overflow) return overflow;
      const outputs = ctx.outputs ?? {};
      const finalEnding = ending;
      if (finalEnding) return functionEnded(step, finalEnding.kind === 'timed-out' ? 'timeout' : finalEnding.cause, startedAt, finishedAt, outputs, ctx.logText);
      if (step.transformResult) value = step.transformResult(value);
      return result(startedAt, finishedAt, outputs, ctx.logText, { status: 'succeeded', value });
    } catch (error) {
      return outputLimitFailure(ctx, startedAt, Date.now()) ?? functionThrew(startedAt, Date.now(), ctx.outputs ?? {}, ctx.logText, error);
    } finally {
      timer?.clear();
      unsubscribe?.();
    }
  }
}

const needsOfContext = (context: unknown): Record<string, NeedResult> => (context as ExecutionContext).needs;

/**
 * The one context a function step gets; a class, so nothing is allocated per step but the object:
 * the signal, the outputs and the needs exist on first use. On the local engine's fast path (no
 * step timeout, first attempt) the engine itself ends the attempt on cancellation (`end`), so no
 * promise race is built per step.
 */
/** The `matrix` of a step without one: shared, and frozen so that no step can change it for the others. */
const NO_MATRIX: Record<string, string | number | boolean> = Object.freeze({});

export class FunctionStepContext implements StepContext {
  readonly runId: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly env: Record<string, string>;
  readonly matrix: Record<string, string | number | boolean>;
  logText = '';
  outputs: Record<string, string> | undefined;
  /** Set once `setOutput` went past the output limit: the attempt fails (`output-limit`). */
  outputOverflow: string | undefined = undefined;
  #outputBytes = 0;
  /** Set once the attempt is over (settled, or ended by the engine): a later settlement is ignored. */
  over = false;
  #handle: AbortHandle | undefined;
  #endedBy: AbortCause | 'timeout' | undefined;
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
    this.matrix = step.matrix ?? NO_MATRIX;
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

  /** Ends the attempt (timeout, cancel, run timeout, fail-fast): its signal aborts. */
  end(cause: AbortCause | 'timeout'): void {
    this.over = true;
    this.#endedBy = cause;
    this.#handle?.abort(cause);
  }

  setOutput(key: string, value: string): void {
    const text = String(value);
    const outputs = (this.outputs ??= {});
    // Counted as the `key=value` lines of an output file, under the same limit: past it the step
    // fails (`output-limit`), whatever the function does with the error thrown here.
    const before = Object.hasOwn(outputs, key) ? outputBytes(key, outputs[key] as string) : 0;
    const total = this.#outputBytes - before + outputBytes(key, text);
    if (total > OUTPUT_LIMITS.fileBytes) {
      this.outputOverflow ??= `setOutput("${key.slice(0, 60)}") brought its outputs to ${total} bytes, the limit is ${OUTPUT_LIMITS.fileBytes}`;
      throw new RangeError(`Output limit: ${this.outputOverflow}`);
    }
    this.#outputBytes = total;
    outputs[key] = text;
  }

  log(message: string): void {
    this.logText = (this.logText + message + '\n').slice(-TAIL_BYTES);
    this.#onLog?.(this.stepId, this.attempt, Buffer.from(message + '\n'));
  }
}

/** Bytes of one output as a `key=value` line of an output file. */
function outputBytes(key: string, value: string): number {
  return Buffer.byteLength(key) + Buffer.byteLength(value) + 2;
}

/**
 * The attempt of a function step whose `setOutput` calls went past the output limit, however it
 * ended (the function may have caught the error): failed, `output-limit`, its outputs dropped.
 */
export function outputLimitFailure(ctx: FunctionStepContext, startedAt: number, finishedAt: number): AttemptResult | undefined {
  if (ctx.outputOverflow === undefined) return undefined;
  return result(startedAt, finishedAt, {}, ctx.logText, {
    status: 'failed',
    reason: 'output-limit',
    message: describeFailure({ reason: 'output-limit', detail: ctx.outputOverflow }),
    nonRetryable: true,
  });
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
    message: failFast ? 'stopped: another step failed (fail-fast policy kill)' : 'stopped: the run was cancelled',
  });
}

/** A function attempt: no process, its log as stdout. */
function result(
  startedAt: number,
  finishedAt: number,
  outputs: Record<string, string>,
  logText: string,
  fields: Partial<AttemptResult> & Pick<AttemptResult, 'status'>,
): AttemptResult {
  return attemptWithoutProcess({ startedAt, finishedAt, outputs, stdoutTail: logText, stdoutBytes: logText.length, ...fields });
}
