import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { RunEvent, RunListener, StepInfo } from '../../core/events.js';
import { countStatuses, overallStatus, type RunSummary, type StepResult } from '../../core/result.js';
import { retryDelay } from '../../core/retry.js';
import type { StepSpec, WorkflowSpec } from '../../core/spec.js';
import type { FailureReason, FinalStatus } from '../../core/status.js';
import { describeFailure } from '../../core/failure.js';
import { InterpreterResolver } from '../../execution/interpreter.js';
import { ProcessExecutor } from '../../execution/process-executor.js';
import type { AbortCause, AttemptResult, StepExecutor } from '../../execution/step-executor.js';
import { EventChannel } from '../../util/event-channel.js';
import { newRunId } from '../../util/run-id.js';
import type { Engine, RunHandle, SubmitOptions } from '../engine.js';

export interface LocalEngineOptions {
  /** Executors by step kind; the process executor runs `script` and `command` steps. */
  executors?: Partial<Record<StepSpec['kind'], StepExecutor>>;
}

/** Runs workflows in this process, eagerly: a step starts as soon as its needs are met and a slot is free. */
export class LocalEngine implements Engine {
  readonly name = 'local';
  readonly #executors: Record<string, StepExecutor>;
  readonly #runs = new Set<LocalRun>();

  constructor(options: LocalEngineOptions = {}) {
    const processExecutor = new ProcessExecutor() as StepExecutor;
    this.#executors = { script: processExecutor, command: processExecutor, ...options.executors };
  }

  submit(spec: WorkflowSpec, options: SubmitOptions = {}): RunHandle {
    const run = new LocalRun(spec, options, this.#executors);
    this.#runs.add(run);
    void run.result.finally(() => this.#runs.delete(run));
    // Start on the next tick so callers can subscribe to every event first.
    setImmediate(() => run.start());
    return run;
  }

  async close(): Promise<void> {
    const running = [...this.#runs];
    for (const run of running) run.cancel('engine closed');
    await Promise.allSettled(running.map((run) => run.result));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

interface StepState {
  spec: StepSpec;
  index: number;
  waitingOn: number;
  dependents: StepState[];
  result?: StepResult;
  attempt: number;
  controller?: AbortController;
  firstStartedAt?: number;
}

class LocalRun implements RunHandle {
  readonly id: string;
  readonly result: Promise<RunSummary>;
  readonly #spec: WorkflowSpec;
  readonly #options: SubmitOptions;
  readonly #executors: Record<string, StepExecutor>;
  readonly #channel = new EventChannel<RunEvent>();
  readonly #controller = new AbortController();
  readonly #states: StepState[];
  readonly #ready: StepState[] = [];
  readonly #concurrency: number;
  #resolve!: (summary: RunSummary) => void;
  #running = 0;
  #stopping: { cause: AbortCause | 'no-new'; message: string } | undefined;
  #startedAt = Date.now();
  #resolver: InterpreterResolver;
  #runTimer: NodeJS.Timeout | undefined;
  #done = false;
  #eventsIterable: AsyncIterable<RunEvent> | undefined;
  #started = false;
  /** A cancel that arrived before `start()`: applied right after `run-started`. */
  #pendingCancel: string | undefined;

  constructor(spec: WorkflowSpec, options: SubmitOptions, executors: Record<string, StepExecutor>) {
    this.id = options.runId ?? newRunId();
    this.#spec = spec;
    this.#options = options;
    this.#executors = executors;
    this.#concurrency = Math.max(1, spec.concurrency || availableParallelism());
    this.#resolver = new InterpreterResolver({
      projectRoot: options.projectRoot ?? process.cwd(),
      ...(options.env ? { env: options.env } : {}),
    });
    this.result = new Promise((resolve) => (this.#resolve = resolve));
    if (options.onEvent) this.#channel.on(options.onEvent);
    const byId = new Map<string, StepState>();
    this.#states = spec.steps.map((step, index) => {
      const state: StepState = { spec: step, index, waitingOn: 0, dependents: [], attempt: 0 };
      byId.set(step.id, state);
      return state;
    });
    for (const state of this.#states) {
      for (const need of state.spec.needs) {
        const dependency = byId.get(need);
        // Specs are validated before they reach an engine; an unknown need here is a bug upstream.
        if (!dependency) throw new TypeError(`Step "${state.spec.id}" needs unknown step "${need}"`);
        dependency.dependents.push(state);
        state.waitingOn += 1;
      }
    }
  }

  get events(): AsyncIterable<RunEvent> {
    this.#eventsIterable ??= this.#channel.iterate();
    return this.#eventsIterable;
  }

  on(listener: RunListener): () => void {
    return this.#channel.on(listener);
  }

  cancel(reason = 'cancelled'): void {
    if (!this.#started) {
      this.#pendingCancel ??= reason;
      return;
    }
    this.#stop('cancelled', reason);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#startedAt = Date.now();
    const steps: StepInfo[] = this.#spec.steps.map((s) => ({
      id: s.id,
      name: s.name,
      kind: s.kind,
      group: s.group,
      needs: s.needs,
    }));
    this.#emit({
      type: 'run-started',
      runId: this.id,
      time: this.#startedAt,
      name: this.#spec.name,
      source: this.#spec.source ?? null,
      steps,
    });
    const signal = this.#options.signal;
    if (this.#pendingCancel !== undefined) {
      this.#stop('cancelled', this.#pendingCancel);
    } else if (signal?.aborted) {
      this.#stop('cancelled', abortMessage(signal));
    }
    if (this.#done) return;
    signal?.addEventListener('abort', () => this.#stop('cancelled', abortMessage(signal)), { once: true });
    if (this.#spec.timeout > 0) {
      this.#runTimer = setTimeout(
        () => this.#stop('run-timeout', `the run's timeout of ${this.#spec.timeout} ms was reached`),
        this.#spec.timeout,
      );
    }
    for (const state of this.#states) {
      if (state.result) continue;
      if (state.spec.skip) {
        this.#finishStep(state, this.#skipped(state, 'skipped-by-config', state.spec.skip.reason));
      } else if (state.waitingOn === 0) {
        this.#ready.push(state);
      }
    }
    this.#pump();
  }

  #emit(event: RunEvent): void {
    this.#channel.emit(event);
  }

  #stop(cause: AbortCause | 'no-new', message: string): void {
    if (this.#done) return;
    if (this.#stopping && this.#stopping.cause !== 'no-new') return;
    this.#stopping = { cause, message };
    if (cause !== 'no-new') {
      this.#emit({ type: 'run-cancelling', runId: this.id, time: Date.now(), reason: message });
      for (const state of this.#states) state.controller?.abort(cause);
      this.#controller.abort(cause);
    }
    this.#pump();
  }

  #pump(): void {
    while (!this.#stopping && this.#running < this.#concurrency && this.#ready.length > 0) {
      const state = this.#ready.shift() as StepState;
      this.#running += 1;
      void this.#runStep(state);
    }
    if (this.#running === 0 && (this.#stopping || this.#ready.length === 0)) this.#finishRun();
  }

  async #runStep(state: StepState): Promise<void> {
    const step = state.spec;
    const executor = this.#executors[step.kind];
    const logPath = this.#options.runDir
      ? path.join(this.#options.runDir, 'logs', `${step.id}.log`)
      : undefined;
    let result: StepResult;
    try {
      if (!executor) throw new TypeError(`No executor for steps of kind "${step.kind}"`);
      let attempt: AttemptResult;
      for (;;) {
        state.attempt += 1;
        state.controller = new AbortController();
        if (this.#stopping && this.#stopping.cause !== 'no-new') state.controller.abort(this.#stopping.cause);
        const attemptNumber = state.attempt;
        attempt = await executor.execute(step, {
          runId: this.id,
          attempt: attemptNumber,
          signal: state.controller.signal,
          baseEnv: this.#options.env ?? process.env,
          resolver: this.#resolver,
          ...(logPath ? { logPath } : {}),
          ...(this.#options.emitOutput
            ? {
                onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) =>
                  this.#emit({
                    type: 'step-output',
                    runId: this.id,
                    stepId: step.id,
                    attempt: attemptNumber,
                    stream,
                    chunk,
                    time: Date.now(),
                  }),
              }
            : {}),
          onSpawn: (pid, command) => {
            state.firstStartedAt ??= Date.now();
            this.#emit({
              type: 'step-started',
              runId: this.id,
              stepId: step.id,
              attempt: attemptNumber,
              command,
              pid,
              time: Date.now(),
            });
          },
        });
        if (!this.#shouldRetry(step, attempt, state.attempt)) break;
        const delayMs = retryDelay(step.retry, state.attempt + 1);
        this.#emit({
          type: 'step-retrying',
          runId: this.id,
          stepId: step.id,
          attempt: state.attempt,
          delayMs,
          reason: attempt.reason ?? 'exit-non-zero',
          message: attempt.message ?? '',
          time: Date.now(),
        });
        if (!(await abortableDelay(delayMs, this.#controller.signal))) break;
      }
      result = this.#toStepResult(state, attempt, logPath);
    } catch (error) {
      // Catch at the boundary: an executor bug fails this step, never the engine.
      result = {
        ...this.#skipped(state, 'unknown-error-thrown', error instanceof Error ? error.message : String(error)),
        status: 'failed',
      };
    }
    state.controller = undefined;
    this.#running -= 1;
    this.#finishStep(state, result);
    this.#pump();
  }

  #shouldRetry(step: StepSpec, attempt: AttemptResult, attemptsSoFar: number): boolean {
    if (attempt.status !== 'failed' && attempt.status !== 'timed-out') return false;
    if (attemptsSoFar >= step.retry.maxAttempts) return false;
    if (this.#stopping && this.#stopping.cause !== 'no-new') return false;
    const permanent: FailureReason[] = ['interpreter-not-found', 'script-missing', 'not-executable', 'spawn-error'];
    if (attempt.reason && permanent.includes(attempt.reason)) return false;
    const codes = step.retry.retryOnExitCodes;
    if (codes.length > 0) return attempt.exitCode !== null && codes.includes(attempt.exitCode);
    return true;
  }

  #toStepResult(state: StepState, attempt: AttemptResult, logPath: string | undefined): StepResult {
    const step = state.spec;
    let message = attempt.message;
    if (message && state.attempt > 1 && attempt.status !== 'succeeded') {
      message = `${message} (after ${state.attempt} attempts)`;
    }
    return {
      id: step.id,
      name: step.name,
      kind: step.kind,
      group: step.group,
      ...(step.kind === 'script' ? { path: step.relativePath } : {}),
      status: attempt.status,
      ...(attempt.reason ? { reason: attempt.reason } : {}),
      ...(message ? { message } : {}),
      command: attempt.command,
      exitCode: attempt.exitCode,
      signal: attempt.signal,
      killSignal: attempt.killSignal,
      timedOut: attempt.timedOut,
      forcefullyKilled: attempt.forcefullyKilled,
      attempts: state.attempt,
      startedAt: new Date(state.firstStartedAt ?? attempt.startedAt).toISOString(),
      finishedAt: new Date(attempt.finishedAt).toISOString(),
      durationMs: attempt.finishedAt - attempt.startedAt,
      stdoutTail: attempt.stdoutTail,
      stderrTail: attempt.stderrTail,
      stdoutBytes: attempt.stdoutBytes,
      stderrBytes: attempt.stderrBytes,
      logPath: logPath && attempt.command.length > 0 ? logPath : null,
      ...(attempt.peakMemoryMb !== undefined ? { peakMemoryMb: attempt.peakMemoryMb } : {}),
      outputs: attempt.outputs,
      tags: step.tags,
    };
  }

  #skipped(state: StepState, reason: FailureReason, detail: string): StepResult {
    const step = state.spec;
    const status: FinalStatus =
      reason === 'fail-fast' || reason === 'cancelled' ? 'cancelled' : 'skipped';
    return {
      id: step.id,
      name: step.name,
      kind: step.kind,
      group: step.group,
      ...(step.kind === 'script' ? { path: step.relativePath } : {}),
      status,
      reason,
      message: describeFailure({ reason, detail }),
      command: [],
      exitCode: null,
      signal: null,
      killSignal: null,
      timedOut: false,
      forcefullyKilled: false,
      attempts: state.attempt,
      startedAt: null,
      finishedAt: null,
      durationMs: 0,
      stdoutTail: '',
      stderrTail: '',
      stdoutBytes: 0,
      stderrBytes: 0,
      logPath: null,
      outputs: {},
      tags: step.tags,
    };
  }

  #finishStep(state: StepState, result: StepResult): void {
    state.result = result;
    this.#emit({
      type: 'step-finished',
      runId: this.id,
      stepId: state.spec.id,
      attempt: state.attempt,
      result,
      time: Date.now(),
    });
    for (const dependent of state.dependents) {
      if (dependent.result) continue;
      if (result.status !== 'succeeded') {
        this.#finishStep(
          dependent,
          this.#skipped(dependent, 'dependency-failed', `${state.spec.id} ${result.status}`),
        );
        continue;
      }
      dependent.waitingOn -= 1;
      if (dependent.waitingOn === 0) this.#ready.push(dependent);
    }
    if ((result.status === 'failed' || result.status === 'timed-out') && !this.#stopping) {
      const policy = this.#spec.failurePolicy;
      const why = `${state.spec.id} ${result.message ?? 'failed'}`;
      if (policy === 'no-new') this.#stopping = { cause: 'no-new', message: why };
      else if (policy === 'kill') this.#stop('fail-fast', why);
    }
  }

  #finishRun(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#runTimer) clearTimeout(this.#runTimer);
    // Logs are written in the background; the run is finished when they are on disk.
    const flushes = [...new Set(Object.values(this.#executors))].map((e) => e.flush?.() ?? Promise.resolve([]));
    void Promise.all(flushes).then(
      (problems) => this.#complete(problems.flat()),
      (error: unknown) => this.#complete([String(error)]),
    );
  }

  #complete(logProblems: string[]): void {
    for (const problem of logProblems) process.emitWarning(`Could not write a log: ${problem}`);
    const stopping = this.#stopping;
    for (const state of this.#states) {
      if (state.result) continue;
      const reason: FailureReason =
        stopping?.cause === 'no-new' || stopping?.cause === 'fail-fast' ? 'fail-fast' : 'cancelled';
      // Not started: cancelled, with the reason the run stopped.
      const result = this.#skipped(state, reason, stopping && reason === 'cancelled' ? stopping.message : '');
      state.result = result;
      this.#emit({
        type: 'step-finished',
        runId: this.id,
        stepId: state.spec.id,
        attempt: state.attempt,
        result,
        time: Date.now(),
      });
    }
    const steps = this.#states.map((s) => s.result as StepResult);
    const counts = countStatuses(steps);
    const finishedAt = Date.now();
    const cancelled = stopping !== undefined && stopping.cause !== 'no-new' && stopping.cause !== 'fail-fast';
    const summary: RunSummary = {
      schemaVersion: 1,
      runId: this.id,
      name: this.#spec.name,
      source: this.#spec.source ?? null,
      status: overallStatus(counts, cancelled),
      startedAt: new Date(this.#startedAt).toISOString(),
      finishedAt: new Date(finishedAt).toISOString(),
      durationMs: finishedAt - this.#startedAt,
      counts,
      steps,
      ...(cancelled && stopping ? { cancelReason: stopping.message } : {}),
    };
    this.#emit({ type: 'run-finished', runId: this.id, time: finishedAt, summary });
    this.#channel.close();
    this.#resolve(summary);
  }
}

function abortMessage(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return 'cancelled';
}

/** Waits `ms`; resolves false at once if `signal` aborts. */
function abortableDelay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
