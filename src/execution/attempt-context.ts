import type { NeedResult } from '../core/spec.js';
import type { AbortHandle } from '../util/abort-handle.js';
import type { InterpreterResolver } from './interpreter.js';
import type { AbortCause, ExecutionContext } from './step-executor.js';

const NO_NEEDS = (): Record<string, NeedResult> => ({});

/**
 * One attempt's context over an abort switch, for every engine (the local scheduler, and a
 * worker of the distributed one); a class, so building it per step costs one plain object.
 */
export class AttemptContext implements ExecutionContext {
  logPath?: string;
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  onSpawn?: (pid: number, command: string[]) => void;
  readonly #handle: AbortHandle;
  readonly #needs: () => Record<string, NeedResult>;

  constructor(
    readonly runId: string,
    readonly attempt: number,
    handle: AbortHandle,
    readonly baseEnv: NodeJS.ProcessEnv,
    readonly resolver: InterpreterResolver,
    readonly scratchDir: string,
    needs: () => Record<string, NeedResult> = NO_NEEDS,
  ) {
    this.#handle = handle;
    this.#needs = needs;
  }

  get signal(): AbortSignal {
    return this.#handle.signal;
  }

  onAbort(listener: (cause: AbortCause) => void): () => void {
    return this.#handle.onAbort(listener as (reason: unknown) => void);
  }

  get abortCause(): AbortCause | undefined {
    return this.#handle.aborted ? (this.#handle.reason as AbortCause) : undefined;
  }

  get needs(): Record<string, NeedResult> {
    return this.#needs();
  }
}
