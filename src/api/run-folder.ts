import path from 'node:path';
import type { RunListener } from '../core/events.js';
import type { RunSummary } from '../core/result.js';
import type { Engine, StepCache } from '../engines/engine.js';
import { buildFolderWorkflow, type FolderRunSettings, type FolderWorkflow } from '../folder/folder-workflow.js';
import type { ReportFormat } from './reports.js';
import { checkOptions, expectPathArgument, RUN_FOLDER_OPTION_CHECKS } from './check-options.js';
import { runSpec } from './run-spec.js';

export interface RunFolderOptions extends FolderRunSettings {
  /** Reports and logs go to `<outputDir>/<runId>/`. @default `run.output_dir` in config, else `output` under the folder */
  outputDir?: string;
  /** Report files to write. @default ['json', 'markdown', 'junit'] */
  reports?: readonly ReportFormat[];
  signal?: AbortSignal;
  /** Every event of the run, in order. */
  onEvent?: RunListener;
  /** Emit `step-output` events. @default false */
  emitOutput?: boolean;
  /** @default a new LocalEngine */
  engine?: Engine;
  /** Called once the workflow is built, before anything runs (e.g. to print discovery warnings). */
  onPlan?: (plan: FolderWorkflow) => void;
  cache?: StepCache;
  cacheAll?: boolean;
  /** Called once the run has its id and folder, before anything runs. */
  onStart?: (run: { runId: string; runDir: string; spec: FolderWorkflow['spec']; outputDir: string; projectRoot: string }) => void;
}

export interface FolderRunResult {
  summary: RunSummary;
  runDir: string;
  plan: FolderWorkflow;
  reports: string[];
  /** The reports that could not be written, each saying which and why (see `SpecRunResult`). */
  reportErrors: string[];
}

/**
 * Runs every script of a folder: discovery, config, the engine, then reports. A bad config throws
 * `ConfigError` before anything runs; failing scripts never throw, they are in the summary.
 *
 * @example
 * const { summary, runDir } = await runFolder('scripts', { concurrency: 4, timeout: 30_000 });
 */
export async function runFolder(folder: string, options: RunFolderOptions = {}): Promise<FolderRunResult> {
  expectPathArgument(folder, 'the folder of runFolder()');
  checkOptions(options, 'runFolder()', RUN_FOLDER_OPTION_CHECKS);
  const plan = await buildFolderWorkflow(folder, options);
  options.onPlan?.(plan);
  const outputDir = options.outputDir ?? plan.config.run.outputDir ?? path.join(path.resolve(folder), 'output');
  const result = await runSpec(plan.spec, {
    outputDir,
    projectRoot: plan.config.projectRoot,
    ...(options.reports ? { reports: options.reports } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.emitOutput ? { emitOutput: true } : {}),
    ...(options.engine ? { engine: options.engine } : {}),
    ...(options.cache ? { cache: options.cache, cacheAll: options.cacheAll === true } : {}),
    ...(options.onStart
      ? {
          onStart: (run: { runId: string; runDir: string }) =>
            options.onStart?.({ ...run, spec: plan.spec, outputDir: path.resolve(outputDir), projectRoot: plan.config.projectRoot }),
        }
      : {}),
  });
  return { ...result, plan };
}
