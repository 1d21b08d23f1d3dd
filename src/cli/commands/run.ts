import { colorsFor, useColor } from '../colors.js';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ReportFormat } from '../../api/reports.js';
import { EXIT_CODES, exitCodeFor } from '../../bridges/exit-code.js';
import { isGitHubActions } from '../../bridges/ci-env.js';
import type { FolderRunSettings } from '../../folder/folder-workflow.js';
import { ConsoleReporter } from '../../reporters/console-reporter.js';
import { toJsonSummary } from '../../reporters/json-report.js';
import { resolveTarget } from '../resolve-target.js';
import { checkSubdirs } from '../check-subdirs.js';
import type { CliIo, RunFlags } from '../types.js';
import { planJson, renderPlan, renderWorkflowPlan, workflowPlanJson } from '../plan-view.js';
import { runSpec } from '../../api/run-spec.js';
import type { RunEvent } from '../../core/events.js';
import type { WorkflowSpec } from '../../core/spec.js';
import type { Diagnostic } from '../../config/types.js';
import { formatDiagnostic } from '../../config/format-diagnostic.js';
import type { RunSummary } from '../../core/result.js';
import type { StepCache } from '../../engines/engine.js';
import { openRunStore, recordRun, recoverAndReport } from '../store-session.js';
import type { Engine } from '../../engines/engine.js';
import { openEngine, redactArgv } from '../engine-session.js';
import { findProcessesWithEnv, signalAll, signalGroup } from '../../execution/proc-tree.js';

/**
 * CLI flags over a workflow file's own settings. `--timeout` is not here: it is the timeout of the
 * steps the file gives none (see `stepTimeout` of `loadWorkflowFile`), and only the loader knows
 * which those are (`timeout: 0` means none, and `defaults.timeout` counts as the file's).
 */
export function applyWorkflowFlags(spec: WorkflowSpec, flags: RunFlags): WorkflowSpec {
  const killGrace = flags.killGrace;
  return {
    ...spec,
    ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
    ...(flags.failFast !== undefined ? { failurePolicy: flags.failFast } : {}),
    ...(flags.runTimeout !== undefined ? { timeout: flags.runTimeout } : {}),
    steps: killGrace !== undefined ? spec.steps.map((s) => ({ ...s, killGrace })) : spec.steps,
  };
}

/** What the flags change in how a workflow file is read: `--timeout` for the steps it gives no timeout. */
function workflowLoadOptions(flags: RunFlags): { stepTimeout?: number } {
  return flags.timeout !== undefined ? { stepTimeout: flags.timeout } : {};
}

export function settingsFromFlags(flags: RunFlags): FolderRunSettings {
  return {
    ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
    ...(flags.killGrace !== undefined ? { killGrace: flags.killGrace } : {}),
    ...(flags.runTimeout !== undefined ? { runTimeout: flags.runTimeout } : {}),
    ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
    ...(flags.failFast !== undefined ? { failFast: flags.failFast } : {}),
    ...(flags.maxDepth !== undefined ? { maxDepth: flags.maxDepth } : {}),
    ...(flags.subdirs ? { subdirs: flags.subdirs } : {}),
    ...(flags.filter ? { include: flags.filter } : {}),
    ...(flags.exclude ? { exclude: flags.exclude } : {}),
    ...(flags.projectRoot ? { projectRoot: path.resolve(flags.projectRoot) } : {}),
  };
}

/** A workflow file (`.yaml`, `.yml`, `.json`) or a folder of scripts, resolved against the cwd. */
export async function assertFolder(folder: string, io: CliIo): Promise<string | undefined> {
  const abs = path.resolve(io.cwd, folder);
  try {
    if ((await stat(abs)).isDirectory()) return abs;
    io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} expected a folder of scripts, got ${abs} (not a folder)\n`);
  } catch {
    io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} expected a folder of scripts, got ${abs} (does not exist)\n`);
  }
  return undefined;
}

/** The workflow loader's warnings, on stderr as `validate` prints them (they never change the exit code). */
export function printLoaderWarnings(warnings: readonly Diagnostic[], io: CliIo): void {
  for (const warning of warnings) io.stderr.write(`${formatDiagnostic(warning)}\n`);
}

/**
 * What `run` would do, run nothing: `run --dry-run` and `list`. With --json the plan goes to
 * stdout as data, for scripts and `jq`.
 */
export async function printPlan(
  target: { kind: 'file' | 'folder'; path: string },
  flags: RunFlags,
  io: CliIo,
  human: CliIo['stdout'] = io.stdout,
  color = useColor(human, io.env, flags.color),
): Promise<void> {
  const json = (value: unknown): void => void io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  if (target.kind === 'file') {
    const { loadWorkflowFileWithWarnings } = await import('../../workflow-file/load-workflow-file.js');
    const loaded = await loadWorkflowFileWithWarnings(target.path, workflowLoadOptions(flags));
    printLoaderWarnings(loaded.warnings, io);
    const spec = applyWorkflowFlags(loaded.spec, flags);
    if (flags.json) json(workflowPlanJson(spec));
    else human.write(renderWorkflowPlan(spec, color));
  } else {
    // Loaded here: discovery and config (zod, yaml) are for folders; a workflow file run skips them.
    const { folderToWorkflow } = await import('../../folder/folder-workflow.js');
    const plan = await folderToWorkflow(target.path, settingsFromFlags(flags));
    if (flags.json) json(planJson(plan));
    else human.write(renderPlan(plan, color));
  }
}

export async function runCommand(targetArg: string, flags: RunFlags, io: CliIo): Promise<number> {
  const target = await resolveTarget(targetArg, io);
  if (!target) return EXIT_CODES.usage;
  if (target.kind === 'folder' && !(await checkSubdirs(target.path, flags.subdirs, io))) return EXIT_CODES.usage;
  const folder = target.path;
  const settings = settingsFromFlags(flags);
  const human = flags.json ? io.stderr : io.stdout;
  const color = useColor(human, io.env, flags.color);

  if (flags.dryRun) {
    await printPlan(target, flags, io, human, color);
    return EXIT_CODES.ok;
  }

  // Taken before any file is read: `rerun` and `resume` compare the files' mtimes with it, to say
  // when the stored plan is older than the file.
  const plannedAt = new Date().toISOString();
  const { findProjectRoot } = await import('../../config/find-project-root.js');
  const projectRoot = settings.projectRoot ?? (await findProjectRoot(target.kind === 'file' ? path.dirname(folder) : folder));
  let configFiles: string[] | undefined;
  return runWithConsole(io, flags, {
    kind: target.kind === 'file' ? 'workflow' : 'folder',
    source: folder,
    projectRoot,
    annotateFrom: target.kind === 'file' ? path.dirname(folder) : folder,
    start: async (common) => {
      if (target.kind === 'file') {
        const { loadWorkflowFileWithWarnings } = await import('../../workflow-file/load-workflow-file.js');
        const loaded = await loadWorkflowFileWithWarnings(folder, { projectRoot, ...workflowLoadOptions(flags) });
        printLoaderWarnings(loaded.warnings, io);
        const spec = applyWorkflowFlags(loaded.spec, flags);
        const outputDir = common.outputDir ?? path.join(path.dirname(folder), 'output');
        return runSpec(spec, {
          ...common,
          outputDir,
          projectRoot,
          onStart: (run) => common.onStart({ ...run, spec, outputDir: path.resolve(outputDir), plannedAt }),
        });
      }
      const { runFolder } = await import('../../api/run-folder.js');
      return runFolder(folder, {
        ...settings,
        ...common,
        projectRoot,
        onStart: (run) => common.onStart({ ...run, plannedAt, ...(configFiles ? { configFiles } : {}) }),
        onPlan: (plan) => {
          configFiles = plan.config.files.map((file) => file.path);
          for (const warning of plan.warnings) human.write(`${colorsFor(human, io, flags.color).yellow('warning:')} ${warning.path}: ${warning.message}\n`);
          if (plan.spec.steps.length === 0) {
            // Said as a warning, with the selection that matched nothing: a typo in a CI job's
            // --filter would otherwise pass as a run that "succeeded".
            const selection = [
              ...(flags.subdirs ?? []).map((s) => `--subdirs ${s}`),
              ...(flags.filter ?? []).map((f) => `--filter ${f}`),
              ...(flags.exclude ?? []).map((e) => `--exclude ${e}`),
            ];
            io.stderr.write(
              `${colorsFor(io.stderr, io, flags.color).yellow('warning:')} no scripts found in ${folder}${selection.length > 0 ? ` matching ${selection.join(' ')}` : ''}\n`,
            );
          }
        },
      });
    },
  });
}

export interface CommonRunOptions {
  /** Unset: a local engine. */
  engine?: Engine;
  outputDir?: string;
  reports: ReportFormat[];
  signal: AbortSignal;
  emitOutput: boolean;
  onEvent: (event: RunEvent) => void;
  /** `configFiles` and `plannedAt` go into the stored plan (see `StoredPlan`). */
  onStart: (run: { runId: string; runDir: string; spec: WorkflowSpec; outputDir: string; configFiles?: string[]; plannedAt?: string }) => void;
  cache?: StepCache;
  cacheAll?: boolean;
}

/**
 * What every command that runs something shares (run, resume, rerun): the console, Ctrl-C and
 * SIGTERM handling, run history, CI annotations, `--json`, and the exit code.
 */
export async function runWithConsole(
  io: CliIo,
  flags: RunFlags,
  how: {
    kind: 'folder' | 'workflow';
    source: string;
    projectRoot: string;
    annotateFrom: string;
    start: (common: CommonRunOptions) => Promise<{ summary: RunSummary; runDir: string; reportErrors: string[] }>;
    /** A run being resumed: workers still running its steps from before are told to stop. */
    resumes?: string;
  },
): Promise<number> {
  const human = flags.json ? io.stderr : io.stdout;
  const color = useColor(human, io.env, flags.color);
  const reporters = flags.reporter ?? ['console', 'json', 'markdown', 'junit'];
  const reports = reporters.filter((r): r is ReportFormat => r !== 'console');
  const consoleReporter = reporters.includes('console')
    ? new ConsoleReporter({
        stream: human,
        color,
        live: human.isTTY === true && !flags.verbose && io.env.CI !== 'true',
        verbose: flags.verbose ?? false,
        env: io.env,
      })
    : undefined;

  // Ctrl-C or SIGTERM: kill every running tree, still write the report, exit 130/143.
  const controller = new AbortController();
  let interruptedBy: 'SIGINT' | 'SIGTERM' | null = null;
  // Steps run in their own process groups, so the terminal's Ctrl-C never reaches them: what a
  // second interrupt must kill is known only from here (step-started pids, and the run id every
  // step process carries in its environment).
  let runId: string | undefined;
  const stepGroups = new Map<string, number>();
  let localSteps = true;
  // Set by `orchestrator cancel`: after it, a signal (a second `orchestrator cancel` sends SIGTERM)
  // forces, as a second Ctrl-C does.
  let cancelRequested = false;
  let killRemote: ((runId: string) => Promise<void>) | undefined = undefined;
  let forcing = false;
  // Set once the run is being recorded: marks it interrupted in the history before an exit at once.
  let abandonRecording: ((reason: string) => void) | undefined;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    if (interruptedBy || cancelRequested) {
      // A second interrupt: the trees already have SIGTERM; stop waiting for them, and leave
      // nothing behind, not even a tree that ignores SIGTERM.
      const code = signal === 'SIGINT' ? EXIT_CODES.sigint : EXIT_CODES.sigterm;
      const why = `stopped at once by a second ${signal === 'SIGINT' ? 'Ctrl-C (SIGINT)' : 'SIGTERM'}: steps still running were killed, no report was written`;
      if (localSteps) killStepTrees(runId, stepGroups.values());
      else if (killRemote && runId !== undefined && !forcing) {
        // Remote steps: the workers kill them (SIGKILL); exit once they confirm (2 s at most).
        forcing = true;
        void killRemote(runId).finally(() => {
          abandonRecording?.(why);
          process.exit(code);
        });
        return;
      }
      abandonRecording?.(why);
      process.exit(code);
    }
    interruptedBy = signal;
    // (Cleanup steps, `if: always()` or `cancelled()`, still run after this one.)
    human.write(`\n${signal} received: killing running steps and writing the report (a second ${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} stops at once, cleanup steps included)...\n`);
    controller.abort(`interrupted by ${signal}`);
  };
  const onSigint = (): void => onSignal('SIGINT');
  const onSigterm = (): void => onSignal('SIGTERM');
  let engineSession;
  try {
    engineSession = await openEngine(io, flags);
  } catch (error) {
    io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_CODES.usage;
  }
  // Steps of a remote engine run on workers: their pids mean nothing here.
  localSteps = engineSession.engine === undefined;
  killRemote = engineSession.killRemote;
  if (how.resumes !== undefined) await engineSession.cancelRemote?.(how.resumes);
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  const store = await openRunStore(io, flags, how.projectRoot);
  if (store) await recoverAndReport(store, io);
  const recording = store
    ? await recordRun(store, io, {
        kind: how.kind,
        source: how.source,
        argv: redactArgv(process.argv.slice(2)),
        projectRoot: how.projectRoot,
        onCancelRequest: () => {
          cancelRequested = true;
          human.write('\nCancel requested (orchestrator cancel): killing running steps and writing the report (cancelling again stops at once, cleanup steps included)...\n');
          controller.abort('cancelled with orchestrator cancel');
        },
      })
    : undefined;
  if (recording) abandonRecording = (reason) => recording.abandon(reason);
  try {
    const result = await how.start({
      ...(engineSession.engine ? { engine: engineSession.engine } : {}),
      ...(flags.outputDir ? { outputDir: path.resolve(io.cwd, flags.outputDir) } : {}),
      reports,
      signal: controller.signal,
      emitOutput: flags.verbose ?? false,
      onEvent: (event: RunEvent) => {
        if (event.type === 'step-started' && event.pid !== null) stepGroups.set(event.stepId, event.pid);
        else if (event.type === 'step-finished' || event.type === 'step-retrying') stepGroups.delete(event.stepId);
        consoleReporter?.onEvent(event);
        recording?.listener(event);
      },
      onStart: (run) => {
        runId = run.runId;
        recording?.onStart(run);
      },
      ...(store && flags.cache !== false ? { cache: store, cacheAll: flags.cache === true } : {}),
    });
    consoleReporter?.close();
    const { summary, runDir } = result;
    if (isGitHubActions(io.env)) {
      const { githubAnnotations, groupLines, writeStepSummary } = await import('../../bridges/github-actions.js');
      const prefix = path.relative(io.env.GITHUB_WORKSPACE ?? io.cwd, how.annotateFrom);
      const out: string[] = [];
      for (const step of summary.steps) {
        if (step.status !== 'failed' && step.status !== 'timed-out') continue;
        out.push(...groupLines(`${step.id}: ${step.message ?? step.status}`, step.stderrTail.split('\n')));
      }
      out.push(...githubAnnotations(summary, { pathPrefix: prefix }));
      // With --json, stdout holds the one JSON document: the annotations go with the console
      // output to stderr (the runner reads workflow commands on both streams).
      (flags.json ? io.stderr : io.stdout).write(out.map((l) => `${l}\n`).join(''));
      await writeStepSummary(summary, io.env);
    }
    if (flags.explain) {
      for (const step of summary.steps) {
        if (!step.cacheExplain) continue;
        human.write(`${step.id}: ${step.status === 'cached' ? 'from the cache' : 'ran'}: ${step.cacheExplain.join('; ')}\n`);
      }
    }
    if (flags.json) io.stdout.write(`${JSON.stringify(toJsonSummary(summary), null, 2)}\n`);
    for (const problem of result.reportErrors) io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} ${problem}\n`);
    const shown = path.relative(io.cwd, runDir);
    human.write(`${colorsFor(human, io, flags.color).dim(`Reports: ${shown && !shown.startsWith('..') ? shown : runDir}`)}\n`);
    const code = exitCodeFor(summary, interruptedBy);
    // Reports asked for and not written: CI reading junit.xml must not take the run for clean.
    return result.reportErrors.length > 0 && code === EXIT_CODES.ok ? EXIT_CODES.failed : code;
  } finally {
    consoleReporter?.close();
    await recording?.stop();
    await engineSession.close();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}

/**
 * SIGKILL to every process of the run's steps, at once (the process is about to exit): each step's
 * process group, and every process carrying the run's `ORCHESTRATOR_RUN_ID`, which finds those that
 * left their group with setsid too.
 */
function killStepTrees(runId: string | undefined, groups: Iterable<number>): void {
  for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
  if (runId !== undefined) signalAll(findProcessesWithEnv(`ORCHESTRATOR_RUN_ID=${runId}`), 'SIGKILL');
}
