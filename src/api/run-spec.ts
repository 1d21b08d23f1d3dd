import path from 'node:path';
import type { RunListener } from '../core/events.js';
import type { RunSummary, StepResult } from '../core/result.js';
import type { WorkflowSpec } from '../core/spec.js';
import type { Engine, StepCache } from '../engines/engine.js';
import { LocalEngine } from '../engines/local/local-engine.js';
import { describeValue } from '../dsl/step-options.js';
import { checkOptions, RUN_SPEC_OPTION_CHECKS } from './check-options.js';
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
  /**
   * Run again in this existing run folder, under this id (resume and rerun). The engine reuses
   * the `previous` results that succeeded and runs the others again, continuing their attempt
   * numbers; with `final: true` (`rerun --step`) every result in `previous` is kept as it is,
   * whatever its status, and only the steps missing from it run.
   */
  resume?: { runId: string; runDir: string; previous: Readonly<Record<string, StepResult>>; final?: boolean };
  /** Where cached steps look up and store results (the run history store). */
  cache?: StepCache;
  /** Cache every step, not only those with `cache` set. */
  cacheAll?: boolean;
  /** Steps that run skip the cache lookup (and still store a success): `rerun`. */
  refreshCache?: boolean;
  /** Called once the run has its id and folder, before anything runs (e.g. to record it). */
  onStart?: (run: { runId: string; runDir: string }) => void;
}

export interface SpecRunResult {
  summary: RunSummary;
  runDir: string;
  /** The reports written. */
  reports: string[];
  /**
   * The reports that could not be written (a full disk, a folder made read-only), each saying
   * which and why. The run's summary is returned all the same: a report that cannot be written
   * never costs the results.
   */
  reportErrors: string[];
}

/** Runs any workflow spec (a folder run or a workflow file) and writes its reports. */
export async function runSpec(spec: WorkflowSpec, options: RunSpecOptions): Promise<SpecRunResult> {
  if (typeof spec !== 'object' || spec === null || !Array.isArray((spec as Partial<WorkflowSpec>).steps)) {
    throw new TypeError(`Expected the spec of runSpec() to be a WorkflowSpec (an object with \`steps\`), got ${describeValue(spec)}`);
  }
  checkOptions(options, 'runSpec()', RUN_SPEC_OPTION_CHECKS);
  if (options === undefined || (options.resume === undefined && options.outputDir === undefined)) {
    throw new TypeError('Expected the `outputDir` option of runSpec(), got none');
  }
  const { runId, runDir } = options.resume ?? (await createRunDir(path.resolve(options.outputDir)));
  options.onStart?.({ runId, runDir });
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
      ...(options.resume ? { previous: options.resume.previous, ...(options.resume.final === true ? { previousFinal: true } : {}) } : {}),
      ...(options.cache ? { cache: options.cache, cacheAll: options.cacheAll === true } : {}),
      ...(options.refreshCache === true ? { refreshCache: true } : {}),
    });
    const summary = await handle.result;
    const reports: string[] = [];
    const reportErrors: string[] = [];
    // One format at a time: a summary.json too big for what is left of the disk does not keep
    // the smaller junit.xml from being written.
    for (const format of options.reports ?? REPORT_FORMATS) {
      try {
        reports.push(...(await generateReport(summary, runDir, [format])));
      } catch (error) {
        reportErrors.push(`could not write the ${format} report in ${runDir}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return { summary, runDir, reports, reportErrors };
  } finally {
    if (!options.engine) await engine.close();
  }
}
