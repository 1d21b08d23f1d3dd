import path from 'node:path';
import type { WorkflowSpec } from '../core/spec.js';
import { findProjectRoot } from '../config/find-project-root.js';
import { loadWorkflowFile } from '../workflow-file/load-workflow-file.js';
import { checkOptions, expectPathArgument, RUN_WORKFLOW_FILE_OPTION_CHECKS } from './check-options.js';
import { runSpec, type RunSpecOptions, type SpecRunResult } from './run-spec.js';

export interface RunWorkflowFileOptions extends Partial<RunSpecOptions> {
  /** Overrides of the file's settings (CLI flags). */
  concurrency?: number;
  failurePolicy?: WorkflowSpec['failurePolicy'];
  /** Milliseconds for the whole run. */
  timeout?: number;
  onPlan?: (spec: WorkflowSpec) => void;
}

/**
 * Loads a YAML or JSON workflow file (every problem reported at once, nothing runs on a bad file),
 * runs it on the engine and writes the reports. @default outputDir `output` beside the file
 */
export async function runWorkflowFile(
  file: string,
  options: RunWorkflowFileOptions = {},
): Promise<SpecRunResult & { spec: WorkflowSpec }> {
  expectPathArgument(file, 'the file of runWorkflowFile()');
  checkOptions(options, 'runWorkflowFile()', RUN_WORKFLOW_FILE_OPTION_CHECKS);
  const { concurrency, failurePolicy, timeout, onPlan, ...runOptions } = options;
  const absolute = path.resolve(file);
  const projectRoot = options.projectRoot ?? (await findProjectRoot(path.dirname(absolute)));
  const loaded = await loadWorkflowFile(absolute, { projectRoot });
  const spec: WorkflowSpec = {
    ...loaded,
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(failurePolicy !== undefined ? { failurePolicy } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
  };
  onPlan?.(spec);
  const result = await runSpec(spec, {
    ...runOptions,
    outputDir: options.outputDir ?? path.join(path.dirname(absolute), 'output'),
    projectRoot,
  });
  return { ...result, spec };
}
