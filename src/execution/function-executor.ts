import { describeFailure } from '../core/failure.js';
import { NonRetryableError } from '../core/errors.js';
import type { FunctionStep } from '../core/spec.js';
import type { AbortCause, AttemptResult, ExecutionContext, StepExecutor } from './step-executor.js';

const TAIL_BYTES = 16_384;

/**
 * Runs an in-process function step. Its `signal` aborts on timeout, cancellation or fail-fast; the
 * step ends then even if the function ignores the signal (in-process code cannot be killed: use a
 * `module` step to run a function in a child process that can).
 */
export class FunctionExecutor implements StepExecutor<FunctionStep> {
  async execute(step: FunctionStep, context: ExecutionContext): Promise<AttemptResult> {
    const startedAt = Date.now();
    const controller = new AbortController();
    const outputs: Record<string, string> = {};
    let logText = '';
    const onParentAbort = (): void => controller.abort(context.signal.reason);
    if (context.signal.aborted) onParentAbort();
    else context.signal.addEventListener('abort', onParentAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed-out'>((resolve) => {
      if (step.timeout > 0) {
        timer = setTimeout(() => {
          resolve('timed-out');
          controller.abort('timeout');
        }, step.timeout);
      }
    });
    // Only the engine's signal counts as a cancel; our own timeout abort is reported as a timeout.
    const aborted = new Promise<'aborted'>((resolve) => {
      if (context.signal.aborted) resolve('aborted');
      context.signal.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    const base: Omit<AttemptResult, 'status' | 'finishedAt'> = {
      command: [],
      exitCode: null,
      signal: null,
      killSignal: null,
      timedOut: false,
      forcefullyKilled: false,
      startedAt,
      stdoutTail: '',
      stderrTail: '',
      stdoutBytes: 0,
      stderrBytes: 0,
      outputs,
    };
    context.onSpawn?.(0, []);
    try {
      // Sync and async functions alike; a sync throw becomes a rejection.
      const call = Promise.resolve().then(() =>
        step.fn({
          runId: context.runId,
          stepId: step.id,
          attempt: context.attempt,
          signal: controller.signal,
          needs: context.needs,
          env: step.env,
          matrix: step.matrix ?? {},
          setOutput: (key, value) => {
            outputs[key] = String(value);
          },
          log: (message) => {
            logText = (logText + message + '\n').slice(-TAIL_BYTES);
            context.onOutput?.('stdout', Buffer.from(message + '\n'));
          },
        }),
      );
      const winner = await Promise.race([call.then((value) => ({ value })), timedOut, aborted]);
      const finishedAt = Date.now();
      if (winner === 'timed-out') {
        void call.catch(() => undefined);
        return {
          ...base,
          status: 'timed-out',
          reason: 'timed-out',
          message: describeFailure({ reason: 'timed-out', timeoutMs: step.timeout }),
          timedOut: true,
          finishedAt,
          stdoutTail: logText,
        };
      }
      if (winner === 'aborted') {
        void call.catch(() => undefined);
        const cause = context.signal.reason as AbortCause;
        if (cause === 'run-timeout') {
          return { ...base, status: 'timed-out', reason: 'timed-out', message: "killed: the run's timeout was reached", timedOut: true, finishedAt };
        }
        return {
          ...base,
          status: 'cancelled',
          reason: cause === 'fail-fast' ? 'fail-fast' : 'cancelled',
          message: cause === 'fail-fast' ? 'stopped: another step failed (--fail-fast kill)' : 'stopped: the run was cancelled',
          finishedAt,
          stdoutTail: logText,
        };
      }
      let value = winner.value;
      if (step.transformResult) value = step.transformResult(value);
      return { ...base, status: 'succeeded', value, finishedAt, stdoutTail: logText, stdoutBytes: Buffer.byteLength(logText) };
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const stack = error instanceof Error && error.stack ? error.stack : message;
      return {
        ...base,
        status: 'failed',
        reason: 'function-threw',
        message: describeFailure({ reason: 'function-threw', detail: message }),
        error,
        nonRetryable: error instanceof NonRetryableError,
        finishedAt: Date.now(),
        stdoutTail: logText,
        stderrTail: stack.slice(-TAIL_BYTES),
        stderrBytes: Buffer.byteLength(stack),
      };
    } finally {
      if (timer) clearTimeout(timer);
      context.signal.removeEventListener('abort', onParentAbort);
    }
  }
}
