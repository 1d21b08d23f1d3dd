import { stat } from 'node:fs/promises';
import path from 'node:path';
import pc from 'picocolors';
import { runFolder } from '../../api/run-folder.js';
import type { ReportFormat } from '../../api/reports.js';
import { EXIT_CODES, exitCodeFor } from '../../bridges/exit-code.js';
import { githubAnnotations, groupLines, isGitHubActions, writeStepSummary } from '../../bridges/github-actions.js';
import { folderToWorkflow, type FolderRunSettings } from '../../folder/folder-workflow.js';
import { ConsoleReporter } from '../../reporters/console-reporter.js';
import { toJsonSummary } from '../../reporters/json-report.js';
import type { CliIo, RunFlags } from '../types.js';
import { renderPlan } from '../plan-view.js';

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

export async function assertFolder(folder: string, io: CliIo): Promise<string | undefined> {
  const abs = path.resolve(io.cwd, folder);
  try {
    if ((await stat(abs)).isDirectory()) return abs;
    io.stderr.write(`${pc.red('error:')} expected a folder of scripts, got ${abs} (not a folder)\n`);
  } catch {
    io.stderr.write(`${pc.red('error:')} expected a folder of scripts, got ${abs} (does not exist)\n`);
  }
  return undefined;
}

export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag: boolean | undefined): boolean {
  return flag !== false && stream.isTTY === true && !('NO_COLOR' in env) && env.TERM !== 'dumb';
}

export async function runCommand(folderArg: string, flags: RunFlags, io: CliIo): Promise<number> {
  const folder = await assertFolder(folderArg, io);
  if (!folder) return EXIT_CODES.usage;
  const settings = settingsFromFlags(flags);
  const human = flags.json ? io.stderr : io.stdout;
  const color = useColor(human, io.env, flags.color);

  if (flags.dryRun) {
    const plan = await folderToWorkflow(folder, settings);
    human.write(renderPlan(plan, color));
    return EXIT_CODES.ok;
  }

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
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    if (interruptedBy) {
      // A second interrupt: the trees already have SIGTERM; stop waiting for them.
      process.exit(signal === 'SIGINT' ? EXIT_CODES.sigint : EXIT_CODES.sigterm);
    }
    interruptedBy = signal;
    human.write(`\n${signal} received: killing running scripts and writing the report...\n`);
    controller.abort(`interrupted by ${signal}`);
  };
  const onSigint = (): void => onSignal('SIGINT');
  const onSigterm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  try {
    const result = await runFolder(folder, {
      ...settings,
      ...(flags.outputDir ? { outputDir: path.resolve(io.cwd, flags.outputDir) } : {}),
      reports,
      signal: controller.signal,
      emitOutput: flags.verbose ?? false,
      onPlan: (plan) => {
        for (const warning of plan.warnings) human.write(`${pc.yellow('warning:')} ${warning.path}: ${warning.message}\n`);
        if (plan.spec.steps.length === 0) human.write(`No scripts found in ${folder}.\n`);
      },
      ...(consoleReporter ? { onEvent: (event) => consoleReporter.onEvent(event) } : {}),
    });
    consoleReporter?.close();
    const { summary, runDir } = result;
    if (isGitHubActions(io.env)) {
      const prefix = path.relative(io.env.GITHUB_WORKSPACE ?? io.cwd, folder);
      const out: string[] = [];
      for (const step of summary.steps) {
        if (step.status !== 'failed' && step.status !== 'timed-out') continue;
        out.push(...groupLines(`${step.id}: ${step.message ?? step.status}`, step.stderrTail.split('\n')));
      }
      out.push(...githubAnnotations(summary, { pathPrefix: prefix }));
      io.stdout.write(out.map((l) => `${l}\n`).join(''));
      await writeStepSummary(summary, io.env);
    }
    if (flags.json) io.stdout.write(`${JSON.stringify(toJsonSummary(summary), null, 2)}\n`);
    const shown = path.relative(io.cwd, runDir);
    human.write(`${pc.createColors(color).dim(`Reports: ${shown && !shown.startsWith('..') ? shown : runDir}`)}\n`);
    return exitCodeFor(summary, interruptedBy);
  } finally {
    consoleReporter?.close();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}
