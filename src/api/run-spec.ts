import path from 'node:path';
import type { RunListener } from '../core/events.js';
import type { RunSummary } from '../core/result.js';
import type { WorkflowSpec } from '../core/spec.js';
import type { Engine } from '../engines/engine.js';
import { LocalEngine } from '../engines/local/local-engine.js';
import { createRunDir } from './run-dir.js';
import { generateReport, REPORT_FORMATS, type ReportFormat } from './reports.js';

export interface RunSpecOptions {
  /** Reports and logs go to `<outputDir>/<runId>/`. */
  outputDir: string;
  /** @default ['json', 'markdown', 'junit'] */
  reports?: readonly ReportFormat[];
  signal?: AbortSignal;
  onEvent?: RunListener;
  emitOutput?: boolean;
  /** @default a new LocalEngine, closed afterwards */
  engine?: Engine;
  projectRoot?: string;
  env?: NodeJS.ProcessEnv;
}

export interface SpecRunResult {
  summary: RunSummary;
  runDir: string;
  reports: string[];
}

/** Runs any workflow spec (a folder run or a workflow file) and writes its reports. */
export async function runSpec(spec: WorkflowSpec, options: RunSpecOptions): Promise<SpecRunResult> {
  const { runId, runDir } = await createRunDir(path.resolve(options.outputDir));
  const engine = options.engine ?? new LocalEngine();
  try {
    const handle = engine.submit(spec, {
      runId,
      runDir,
      ...(options.projectRoot ? { projectRoot: options.projectRoot } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.emitOutput ? { emitOutput: true } : {}),
    });
    const summary = await handle.result;
    const reports = await generateReport(summary, runDir, options.reports ?? REPORT_FORMATS);
    return { summary, runDir, reports };
  } finally {
    if (!options.engine) await engine.close();
  }
}
