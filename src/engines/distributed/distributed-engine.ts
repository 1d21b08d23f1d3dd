/**
 * The distributed engine: the local engine's scheduler (DAG, conditions, retries, timeouts,
 * outputs, matrix, store) with every process step executed by workers through BullMQ.
 */
import type { WorkflowSpec } from '../../core/spec.js';
import type { StepExecutor } from '../../execution/step-executor.js';
import { LocalEngine } from '../local/local-engine.js';
import type { Engine, RunHandle, SubmitOptions } from '../engine.js';
import { Coordinator, type CoordinatorOptions } from './coordinator.js';
import { remoteProblem } from './protocol.js';

export type DistributedEngineOptions = CoordinatorOptions;

export class DistributedEngine implements Engine {
  readonly name = 'bullmq';
  readonly #coordinator: Coordinator;
  readonly #engines = new Set<LocalEngine>();
  #closed = false;

  private constructor(coordinator: Coordinator) {
    this.#coordinator = coordinator;
  }

  /** Connects to Redis (a clear error within `connectTimeout` when it cannot). */
  static async connect(options: DistributedEngineOptions): Promise<DistributedEngine> {
    return new DistributedEngine(await Coordinator.connect(options));
  }

  submit(spec: WorkflowSpec, options: SubmitOptions = {}): RunHandle {
    if (this.#closed) throw new TypeError('Expected an open engine, got one that was closed');
    const root = options.projectRoot ?? process.cwd();
    const checked = new Set<string>();
    for (const step of spec.steps) {
      const problem = remoteProblem(step, root, checked);
      if (problem) throw new TypeError(`Cannot run workflow "${spec.name}" on the distributed engine: ${problem}`);
    }
    const remote = this.#coordinator.executor(root) as StepExecutor;
    const refuse: StepExecutor = {
      execute: () => Promise.reject(new TypeError('in-process function steps cannot run on the distributed engine')),
    };
    const engine = new LocalEngine({ executors: { script: remote, command: remote, module: remote, python: remote, function: refuse } });
    this.#engines.add(engine);
    const handle = engine.submit(spec, options);
    // A forced stop (a cancel after a cancel or the signal, the run timeout after a cancel, `halt`)
    // reaches the workers through the executor's `kill`: they kill the run's step trees at once.
    void handle.result.finally(() => {
      this.#engines.delete(engine);
      void engine.close();
    });
    return handle;
  }

  /** The Redis URL, password hidden. */
  get redisUrl(): string {
    return this.#coordinator.redisUrl;
  }

  /** Asks every worker to kill what it still runs for a run (after its coordinator died). */
  cancelRemote(runId: string, cause?: string): Promise<void> {
    return this.#coordinator.cancelRun(runId, cause);
  }

  /**
   * Stops a run at once on the workers: they SIGKILL its step trees (cleanup steps included) and
   * start none of its jobs; waits up to 2 s for them to confirm. The CLI's second Ctrl-C.
   */
  killRemote(runId: string, cause = 'cancelled'): Promise<void> {
    return this.#coordinator.killRun(runId, cause);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Closing halts every run (synchronously), then the workers kill what those runs still hold.
    const closing = Promise.allSettled([...this.#engines].map((engine) => engine.close()));
    await this.#coordinator.killAll('cancelled: engine closed');
    await closing;
    await this.#coordinator.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
