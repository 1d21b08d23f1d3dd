import type { RunSummary } from '../core/result.js';
import type { WorkflowSpec } from '../core/spec.js';
import type { Engine, RunHandle, SubmitOptions } from '../engines/engine.js';
import { LocalEngine } from '../engines/local/local-engine.js';
import { combineListeners, progressListener, type ProgressListener } from './progress.js';

/** How a workflow (or a single step) is run. Everything is optional. */
export interface RunOptions extends SubmitOptions {
  /** Simplified progress: started / retrying / finished per step, with counts. */
  onProgress?: ProgressListener;
  /** The engine to submit to; it is left open. @default a new `LocalEngine`, closed afterwards */
  engine?: Engine;
}

/**
 * Submits `spec` and waits for its summary; never rejects for step failures. `onHandle` sees the
 * run handle (for `cancel()`), and is called again with `undefined` when the run is over.
 */
export async function runSpec(
  spec: WorkflowSpec,
  options: RunOptions,
  onHandle?: (handle: RunHandle, done: boolean) => void,
): Promise<RunSummary> {
  const { engine: given, onProgress, onEvent, ...submit } = options;
  const engine = given ?? new LocalEngine();
  try {
    const listener = combineListeners(onEvent, onProgress ? progressListener(onProgress) : undefined);
    const handle = engine.submit(spec, { ...submit, ...(listener ? { onEvent: listener } : {}) });
    onHandle?.(handle, false);
    try {
      return await handle.result;
    } finally {
      onHandle?.(handle, true);
    }
  } finally {
    if (!given) await engine.close();
  }
}
