import { isSuccessStatus } from '../../core/status.js';
import { colorsFor } from '../colors.js';
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import {
  AMBIGUOUS_RUNS_SHOWN,
  keptResults,
  lookUpRun,
  nothingToRerun,
  planFilesChangedSince,
  planFromRecord,
  rerunRecording,
  rerunTarget,
  stepsNamed,
  type RerunMode,
  type StoredPlan,
} from '../../api/history.js';
import { runSpec } from '../../api/run-spec.js';
import { EXIT_CODES } from '../../bridges/exit-code.js';
import { findProjectRoot } from '../../config/find-project-root.js';
import { readProc } from '../../execution/proc-tree.js';
import { formatDuration } from '../../core/duration.js';
import type { StepSpec, WorkflowSpec } from '../../core/spec.js';
import { ownerGone } from '../../store/run-owner.js';
import type { RunRecord, RunRecordStatus, RunStore, StepRecordStatus } from '../../store/run-store.js';
import { followLog, printFile, printTail, readRange, SectionPrinter } from '../log-view.js';
import { openRunStore, recoverAndReport } from '../store-session.js';
import { engineFlagsProblem } from '../engine-session.js';
import type { CliIo, RunFlags } from '../types.js';
import { runWithConsole } from './run.js';

export interface HistoryFlags {
  stateDir?: string;
  projectRoot?: string;
  json?: boolean;
  color?: boolean;
}

/**
 * Runs `body` with the project's store. `reads`: the command only reads, so a state folder that
 * cannot be written (a read-only mount) is opened read-only instead of being an error.
 */
async function withStore<T>(io: CliIo, flags: HistoryFlags, body: (store: RunStore) => Promise<T>, reads = false): Promise<T> {
  const projectRoot = flags.projectRoot ? path.resolve(io.cwd, flags.projectRoot) : await findProjectRoot(io.cwd);
  const store = (await openRunStore(io, flags, projectRoot, true, reads)) as RunStore;
  try {
    await recoverAndReport(store, io);
    return await body(store);
  } finally {
    store.close();
  }
}

function findRun(store: RunStore, id: string, io: CliIo): RunRecord | undefined {
  const found = lookUpRun(store, id);
  if (found.run) return found.run;
  const error = colorsFor(io.stderr, io).red('error:');
  const matches = found.matches;
  if (matches.length < 2) {
    io.stderr.write(`${error} no run matches "${id}" (see \`orchestrator runs\`)\n`);
    return undefined;
  }
  const more = matches.length > AMBIGUOUS_RUNS_SHOWN;
  io.stderr.write(
    `${error} run id prefix "${id}" is ambiguous: it matches ${more ? `more than ${AMBIGUOUS_RUNS_SHOWN}` : matches.length} runs; give more of the id${more ? ` (the newest ${AMBIGUOUS_RUNS_SHOWN}:)` : ':'}\n` +
      matches
        .slice(0, AMBIGUOUS_RUNS_SHOWN)
        .map((run) => `  ${run.id}  ${run.status}  ${run.name}  ${run.startedAt}\n`)
        .join(''),
  );
  return undefined;
}

/**
 * Steps by status, every status that has any (so the numbers add up to the run's steps): a cached
 * step is not a passed one, and a running run has running steps.
 */
function countsText(record: RunRecord): string {
  const c = record.counts;
  const parts = [`${c.succeeded} passed`];
  if (c.cached) parts.push(`${c.cached} cached`);
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c['timed-out']) parts.push(`${c['timed-out']} timed out`);
  if (c.cancelled) parts.push(`${c.cancelled} cancelled`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  if (c.interrupted) parts.push(`${c.interrupted} interrupted`);
  if (c.running) parts.push(`${c.running} running`);
  if (c.pending) parts.push(`${c.pending} pending`);
  return parts.join(', ');
}

/** `orchestrator runs`: recent runs, newest first. */
export async function runsCommand(
  io: CliIo,
  flags: HistoryFlags & { status?: RunRecordStatus[]; name?: string; limit?: number },
): Promise<number> {
  return withStore(io, flags, (store) => {
    const runs = store.listRuns({
      ...(flags.status ? { status: flags.status } : {}),
      ...(flags.name ? { name: flags.name } : {}),
      limit: flags.limit ?? 20,
    });
    if (flags.json) {
      io.stdout.write(`${JSON.stringify(runs.map(({ specJson: _spec, ...rest }) => rest), null, 2)}\n`);
      return Promise.resolve(EXIT_CODES.ok);
    }
    if (runs.length === 0) {
      // "No runs recorded yet" beside a filter would claim the history is empty when only the
      // filter matched nothing (a typo in --name, say).
      const filters = [
        ...(flags.status ? [`--status ${flags.status.join(',')}`] : []),
        ...(flags.name ? [`--name ${JSON.stringify(flags.name)}`] : []),
      ];
      const recorded = filters.length > 0 && store.listRuns({ limit: 1 }).length > 0;
      io.stdout.write(recorded ? `No runs match ${filters.join(' ')} (\`orchestrator runs\` lists every run).\n` : 'No runs recorded yet.\n');
      return Promise.resolve(EXIT_CODES.ok);
    }
    const c = colorsFor(io.stdout, io, flags.color);
    for (const run of runs) {
      const status = run.status === 'succeeded' ? c.green(run.status) : run.status === 'running' ? c.cyan(run.status) : c.red(run.status);
      const duration = run.durationMs === null ? '' : formatDuration(run.durationMs);
      io.stdout.write(`${run.id}  ${status.padEnd(20)} ${run.name}  ${c.dim(`${run.startedAt} ${duration}`)}  ${countsText(run)}\n`);
    }
    return Promise.resolve(EXIT_CODES.ok);
  }, true);
}

/** `orchestrator runs show <id>`: one run with its steps. */
export async function runsShowCommand(io: CliIo, id: string, flags: HistoryFlags): Promise<number> {
  return withStore(io, flags, (store) => {
    const run = findRun(store, id, io);
    if (!run) return Promise.resolve(EXIT_CODES.usage);
    const steps = store.getSteps(run.id);
    if (flags.json) {
      const { specJson: _spec, ...rest } = run;
      io.stdout.write(`${JSON.stringify({ run: rest, steps }, null, 2)}\n`);
      return Promise.resolve(EXIT_CODES.ok);
    }
    const c = colorsFor(io.stdout, io, flags.color);
    io.stdout.write(
      `${c.bold(run.id)} ${run.name} (${run.kind}) ${run.status}${run.reason ? `: ${run.reason}` : ''}\n` +
        c.dim(`  started ${run.startedAt}${run.durationMs === null ? '' : `, took ${formatDuration(run.durationMs)}`}, ${countsText(run)}\n`) +
        c.dim(`  ${run.argv.join(' ')} (in ${run.cwd ?? '?'}${run.gitCommit ? `, commit ${run.gitCommit.slice(0, 12)}` : ''}, host ${run.host ?? '?'}, pid ${run.pid ?? '?'})\n`),
    );
    for (const step of steps) {
      const duration = step.durationMs === null ? '' : formatDuration(step.durationMs);
      const attempts = step.attempt > 1 ? ` (attempt ${step.attempt})` : '';
      const why = step.message ?? step.reason ?? '';
      io.stdout.write(`  ${step.status.padEnd(11)} ${step.stepId}${attempts} ${c.dim(duration)}${why ? `  ${why}` : ''}\n`);
    }
    return Promise.resolve(EXIT_CODES.ok);
  }, true);
}

/**
 * "run X has no step "test"", listing the combinations when `stepId` is the base id of a matrix
 * step: `logs` and `explain` take one combination's id. Without a stored plan, the recorded ids
 * that look like combinations of it (`test (...)`) are listed.
 */
function noStepMessage(runId: string, stepId: string, planSteps: readonly StepSpec[] | undefined, recorded: readonly { stepId: string }[]): string {
  const combinations = planSteps
    ? planSteps.filter((s) => s.matrixOf === stepId).map((s) => s.id)
    : [...new Set(recorded.map((s) => s.stepId).filter((id) => id.startsWith(`${stepId} (`) && id.endsWith(')')))];
  const message = `run ${runId} has no step "${stepId}"`;
  if (combinations.length === 0) return message;
  return `${message}; it is a matrix step: name one of its combinations: ${combinations.map((id) => JSON.stringify(id)).join(', ')}`;
}

/** `orchestrator logs <id> [step] [--tail N] [--follow]`. */
export async function logsCommand(
  io: CliIo,
  id: string,
  stepId: string | undefined,
  flags: HistoryFlags & { tail?: number; follow?: boolean },
): Promise<number> {
  return withStore(io, flags, async (store) => {
    const run = findRun(store, id, io);
    if (!run) return EXIT_CODES.usage;
    const plan = planFromRecord(run);
    let steps: { stepId: string; status: StepRecordStatus; logPath: string | null; cacheKey: string | null }[] = store
      .getSteps(run.id)
      .filter((s) => stepId === undefined || s.stepId === stepId);
    if (stepId !== undefined && steps.length === 0 && plan?.spec.steps.some((s) => s.id === stepId)) {
      // A running run records its events in batches: a step of its plan may not be in the store yet.
      steps = [{ stepId, status: 'pending', logPath: null, cacheKey: null }];
    }
    if (stepId !== undefined && steps.length === 0) {
      io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} ${noStepMessage(run.id, stepId, plan?.spec.steps, store.getSteps(run.id))}\n`);
      return EXIT_CODES.usage;
    }
    for (const step of steps) {
      const logPath = step.logPath ?? (plan ? path.join(plan.runDir, 'logs', `${step.stepId}.log`) : undefined);
      if (steps.length > 1) io.stdout.write(`${colorsFor(io.stdout, io).bold(`==> ${step.stepId} (${step.status}) <==`)}\n`);
      if (step.status === 'cached') {
        // Nothing ran in this run, so there is no log here: the log is that of the run that made
        // the cache entry.
        io.stdout.write(cachedStepNote(store, run.id, step.stepId, step.cacheKey));
        continue;
      }
      const specStep = plan?.spec.steps.find((s) => s.id === step.stepId);
      if (plan && specStep?.kind === 'workflow') {
        // A sub-workflow step has no log of its own: its steps log under workflows/<step id>/.
        const dir = path.join(plan.runDir, 'workflows', step.stepId);
        if (flags.follow && steps.length === 1) {
          io.stderr.write(`${colorsFor(io.stderr, io).yellow('note:')} --follow follows one script's log; these are the logs of the steps of sub-workflow ${step.stepId} as they are now\n`);
        }
        io.stdout.write(`(${step.stepId} runs workflow ${specStep.workflow.name}: the logs of its steps are in ${path.join(dir, 'logs')})\n`);
        await printSubWorkflowLogs(io, dir, specStep.workflow, step.stepId, flags.tail);
        continue;
      }
      if (!logPath) {
        io.stdout.write('(no log)\n');
        continue;
      }
      const noLog = step.status === 'running' || step.status === 'pending' ? '(no log yet)\n' : `(no log at ${logPath})\n`;
      if (flags.follow && steps.length === 1) {
        await followStep(io, store, run.id, step.stepId, logPath, flags.tail, noLog);
        continue;
      }
      const printed = flags.tail !== undefined ? await printTail(io.stdout, logPath, flags.tail) : await printFile(io.stdout, logPath);
      if (printed === undefined) io.stdout.write(noLog);
      // A finished step's log always holds at least its section header: an empty one was cut
      // short when it was written (the run warned then).
      else if (printed === 0 && step.status !== 'running' && step.status !== 'pending') {
        io.stdout.write(`(the log at ${logPath} is empty: it could not be written when the step ran, on a full disk for instance)\n`);
      }
    }
    return EXIT_CODES.ok;
  }, true);
}

/**
 * Where a cached step's log is: with the run whose result it restored, when the store still has
 * that run, else only that it came from the cache.
 */
function cachedStepNote(store: RunStore, runId: string, stepId: string, cacheKey: string | null): string {
  const entry = cacheKey === null ? undefined : store.getCacheEntry(cacheKey);
  if (entry !== undefined && entry.runId !== runId && store.getRun(entry.runId) !== undefined) {
    return `(${stepId} did not run: its result came from the cache, made by run ${entry.runId}; its log: orchestrator logs ${entry.runId} ${entry.stepId})\n`;
  }
  return `(${stepId} did not run: its result was restored from the cache, so it has no log in this run)\n`;
}

/** The log of every step of a sub-workflow (and of its own sub-workflows), each under a header. */
async function printSubWorkflowLogs(io: CliIo, dir: string, workflow: WorkflowSpec, label: string, tail: number | undefined): Promise<void> {
  for (const inner of workflow.steps) {
    const name = `${label} › ${inner.id}`;
    if (inner.kind === 'workflow') {
      await printSubWorkflowLogs(io, path.join(dir, 'workflows', inner.id), inner.workflow, name, tail);
      continue;
    }
    const logPath = path.join(dir, 'logs', `${inner.id}.log`);
    io.stdout.write(`${colorsFor(io.stdout, io).bold(`==> ${name} <==`)}\n`);
    const printed = tail !== undefined ? await printTail(io.stdout, logPath, tail) : await printFile(io.stdout, logPath);
    if (printed === undefined) io.stdout.write(`(no log at ${logPath})\n`);
  }
}

/** `logs <id> <step> --follow`: what is in the log (or its tail), then what comes until the run ends. */
async function followStep(
  io: CliIo,
  store: RunStore,
  runId: string,
  stepId: string,
  logPath: string,
  tail: number | undefined,
  noLog: string,
): Promise<void> {
  const shownLive = new Map<string, number>();
  const printer = new SectionPrinter(io.stdout, (attempt, stream) => shownLive.get(`${attempt}.${stream}`) ?? 0);
  let from = 0;
  if (!(await stat(logPath).then(() => true, () => false))) io.stdout.write(noLog);
  else if (tail !== undefined) from = (await printTail(io.stdout, logPath, tail)) ?? 0;
  else from = await readRange(logPath, 0, (chunk) => printer.push(chunk));
  await followLog({
    logPath,
    from,
    printer,
    shownLive,
    out: io.stdout,
    running: async () => {
      // An orchestrator killed with SIGKILL leaves its run `running`: this marks it interrupted.
      await recoverAndReport(store, io);
      const now = store.getRun(runId);
      // A read-only history cannot mark it: a run whose orchestrator is gone is over all the same.
      return now?.status === 'running' && !(store.readOnly === true && ownerGone(now));
    },
    recordedAttempt: () => store.getAttempts(runId, stepId).at(-1)?.attempt ?? 0,
  });
}

/** `orchestrator resume <id>` and `orchestrator rerun <id>`: another attempt that keeps what succeeded. */
export async function rerunCommand(io: CliIo, id: string, mode: RerunMode, flags: RunFlags & HistoryFlags): Promise<number> {
  const projectRoot = flags.projectRoot ? path.resolve(io.cwd, flags.projectRoot) : await findProjectRoot(io.cwd);
  const store = (await openRunStore(io, flags, projectRoot, true)) as RunStore;
  let run: RunRecord | undefined;
  let steps;
  let plan;
  try {
    await recoverAndReport(store, io);
    run = findRun(store, id, io);
    if (!run) return EXIT_CODES.usage;
    // Usage errors first, so that none of them leaves the run claimed.
    plan = planFromRecord(run);
    if (!plan) {
      io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} run ${run.id} has no stored plan to run again\n`);
      return EXIT_CODES.usage;
    }
    const stepId = mode.kind === 'step' ? mode.step : undefined;
    if (stepId !== undefined && stepsNamed(plan.spec.steps, stepId).length === 0) {
      io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} run ${run.id} has no step "${stepId}"\n`);
      return EXIT_CODES.usage;
    }
    const engineProblem = engineFlagsProblem(flags, run.argv);
    if (engineProblem !== undefined) {
      io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} ${mode.kind === 'resume' ? 'resume' : 'rerun'} of run ${run.id}: ${engineProblem}\n`);
      return EXIT_CODES.usage;
    }
    // Refused before the claim: a resume that ran nothing would still rewrite the run's record.
    const nothing = nothingToRerun(run, store.getSteps(run.id), plan.spec, mode);
    if (nothing !== undefined) {
      const verb = mode.kind === 'resume' ? 'resume' : 'rerun';
      const source = run.source ?? plan.spec.source;
      const again = `${source ? `orchestrator run ${shownPath(io, source)}, or ` : ''}one step of it: orchestrator rerun ${run.id} --step <id>`;
      io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} run ${run.id} has nothing to ${verb}: ${nothing}. To run it again: ${again}\n`);
      return EXIT_CODES.usage;
    }
    if (mode.kind === 'resume') {
      // Atomic: of two resumes started at once, exactly one gets the run.
      const claim = store.claimRun(run.id);
      if (!claim.claimed) {
        const by = `pid ${claim.pid ?? '?'}${claim.host ? ` on ${claim.host}` : ''}`;
        io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} run ${run.id} is already running or being resumed (${by}); cancel it first with: orchestrator cancel ${run.id}\n`);
        return EXIT_CODES.usage;
      }
    }
    steps = store.getSteps(run.id);
  } finally {
    store.close();
  }
  await noteChangedFiles(io, run, plan, mode);
  const previous = keptResults(steps, plan.spec, mode);
  // `rerun --step` keeps every other step's result as it is; the others keep successes only
  // (a step that came from the cache is one).
  const kept = mode.kind === 'step' ? Object.keys(previous).length : Object.values(previous).filter((r) => isSuccessStatus(r.status)).length;
  (flags.json ? io.stderr : io.stdout).write(
    `${mode.kind === 'resume' ? 'Resuming' : 'Rerunning'} ${run.id}: ${kept} step(s) kept from before, ${plan.spec.steps.length - kept} to run\n`,
  );
  const resumeTarget = await rerunTarget(run, plan, mode);
  const recording = rerunRecording(run, plan);
  return runWithConsole(io, flags, {
    kind: run.kind,
    source: recording.source,
    projectRoot: plan.projectRoot,
    annotateFrom: plan.spec.source ?? io.cwd,
    ...(mode.kind === 'resume' ? { resumes: run.id } : {}),
    start: (common) =>
      runSpec(plan.spec, {
        ...common,
        outputDir: plan.outputDir,
        projectRoot: plan.projectRoot,
        resume: { ...resumeTarget, previous, ...(mode.kind === 'step' ? { final: true } : {}) },
        // A rerun runs its steps again: a cache hit would only repeat the old result.
        ...(mode.kind === 'resume' ? {} : { refreshCache: true }),
        onStart: (started) => common.onStart(recording.started(started)),
      }),
  });
}

/** A path as the user would type it: relative to the cwd when it is below it. */
function shownPath(io: CliIo, file: string): string {
  const relative = path.relative(io.cwd, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/**
 * Says on stderr when a file the stored plan was read from changed after it was read. Resume and
 * rerun run the stored plan (as documented), so "fix the YAML, rerun --failed" would otherwise
 * run the old command without a word.
 */
async function noteChangedFiles(io: CliIo, run: RunRecord, plan: StoredPlan, mode: RerunMode): Promise<void> {
  const since = new Date(plan.plannedAt ?? run.startedAt);
  if (Number.isNaN(since.getTime())) return;
  const changed = await planFilesChangedSince(plan, since);
  if (changed.length === 0) return;
  const names = changed.map((file) => shownPath(io, file));
  const listed = names.length === 1 ? `${names[0] ?? ''} was` : `${names.slice(0, -1).join(', ')} and ${names.at(-1) ?? ''} were`;
  const source = run.source ?? plan.spec.source;
  io.stderr.write(
    `${colorsFor(io.stderr, io).yellow('note:')} ${listed} modified after the plan of run ${run.id} was read; ` +
      `${mode.kind === 'resume' ? 'resume' : 'rerun'} runs that stored plan, not the file${names.length === 1 ? '' : 's'} as ${names.length === 1 ? 'it is' : 'they are'} now` +
      `${source ? `. To run the current version: orchestrator run ${shownPath(io, source)}` : ''}\n`,
  );
}

/** `orchestrator cancel <id>`: asks the orchestrator running it (in another terminal) to stop. */
export async function cancelCommand(io: CliIo, id: string, flags: HistoryFlags & { wait?: boolean }): Promise<number> {
  return withStore(io, flags, async (store) => {
    const run = findRun(store, id, io);
    if (!run) return EXIT_CODES.usage;
    const again = run.status === 'running' && run.cancelRequestedAt !== null;
    if (again) {
      // Asked before: now it must stop at once, as after a second Ctrl-C (cleanup steps that the
      // first cancel let run are killed too). The owner takes a signal after a cancel request as
      // that; it is signalled only when it is certainly the process that runs the run.
      const forced = forceCancel(run);
      if (forced !== true) {
        io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} run ${run.id}: ${forced}\n`);
        return EXIT_CODES.usage;
      }
      io.stdout.write(`Asked the orchestrator running ${run.id} (pid ${run.pid ?? '?'}) again: it stops at once, cleanup steps included.\n`);
    } else {
      if (!store.requestCancel(run.id)) {
        io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} run ${run.id} is not running (${run.status})\n`);
        return EXIT_CODES.usage;
      }
      await store.flush();
      if (libraryOwner(run)) {
        // Only a process that polls the store sees the request: the orchestrator command does,
        // and so does a program that records its runs with the library's `recordRun`.
        io.stdout.write(
          `Recorded a request to cancel ${run.id}. Its process (pid ${run.pid ?? '?'}) is not the orchestrator command: it cancels the run only if it polls for cancel requests, as the library's recordRun() does (see docs/store.md).\n`,
        );
      } else {
        io.stdout.write(`Asked the orchestrator running ${run.id} (pid ${run.pid ?? '?'}) to cancel it (cancel it again to stop at once).\n`);
      }
    }
    if (flags.wait === false) return EXIT_CODES.ok;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const now = store.getRun(run.id);
      if (now && now.status !== 'running') {
        io.stdout.write(`Run ${run.id} ended: ${now.status}\n`);
        return EXIT_CODES.ok;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const why = libraryOwner(run) ? ': its process does not seem to poll for cancel requests (see recordRun in docs/store.md); stop it there' : '';
    io.stderr.write(`${colorsFor(io.stderr, io).yellow('warning:')} run ${run.id} is still running after 60 s${why}\n`);
    return EXIT_CODES.failed;
  });
}

/** Node options whose value is the next argument (`-r file`), so it is not taken for the script. */
const NODE_OPTIONS_WITH_VALUE = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '--env-file',
  '-C',
  '--conditions',
  '--title',
  '--inspect-port',
  '--disable-warning',
  '--unhandled-rejections',
]);

/**
 * Whether a process runs this package's `orchestrator` command: the script Node runs is, links
 * resolved, `dist/bin/orchestrator.cjs` (or `orchestrator.js`, `cli.cjs`) of a package named
 * codomyrmex-orchestrator. Not a guess from a file name: a program that records runs through the
 * library may well be called `cli.cjs`, and a signal would kill it.
 */
function isOrchestratorCli(pid: number): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
    let script: string | undefined;
    for (let i = 1; i < args.length && script === undefined; i++) {
      const arg = args[i] as string;
      if (NODE_OPTIONS_WITH_VALUE.has(arg)) i++;
      else if (!arg.startsWith('-')) script = arg;
    }
    if (script === undefined) return false;
    const file = realpathSync(path.resolve(readlinkSync(`/proc/${pid}/cwd`), script));
    const bin = path.dirname(file);
    if (!['orchestrator.cjs', 'orchestrator.js', 'cli.cjs'].includes(path.basename(file))) return false;
    if (path.basename(bin) !== 'bin' || path.basename(path.dirname(bin)) !== 'dist') return false;
    const pkg = JSON.parse(readFileSync(path.join(bin, '..', '..', 'package.json'), 'utf8')) as { name?: unknown };
    return pkg.name === 'codomyrmex-orchestrator';
  } catch {
    return false;
  }
}

/**
 * Whether `run` is certainly owned by a live process on this host that is not the `orchestrator`
 * command (a program using the library): the same checks as before a second cancel's signal.
 */
function libraryOwner(run: RunRecord): boolean {
  if (run.pid === null || run.host !== hostname() || run.pidStartTime === null || ownerGone(run)) return false;
  return readProc(run.pid)?.startTime === run.pidStartTime && !isOrchestratorCli(run.pid);
}

/**
 * SIGTERM to the orchestrator that runs `run`, which after a cancel request stops at once; true,
 * or why it was not sent. Never to a process that is not certainly the run's owner: another host,
 * an owner not recorded, or a pid now used by another process (its start time differs).
 */
function forceCancel(run: RunRecord): true | string {
  if (run.pid === null || run.host === null) return 'its orchestrator is not recorded, so it cannot be told to stop at once';
  if (run.host !== hostname()) return `its orchestrator runs on ${run.host}; cancel it again there`;
  if (ownerGone(run)) return 'its orchestrator is gone (the next command marks the run interrupted)';
  if (run.pidStartTime === null || readProc(run.pid)?.startTime !== run.pidStartTime) {
    return `pid ${run.pid} cannot be told apart from another process, so it is not signalled`;
  }
  // Only the CLI takes a SIGTERM after a cancel request as "stop at once". A program that records
  // runs through the library would just die of it (with its step trees left running).
  if (!isOrchestratorCli(run.pid)) {
    return `its process (pid ${run.pid}) is not certainly the orchestrator command (a program using the library would die of a signal), so it is not sent one; stop it there`;
  }
  try {
    process.kill(run.pid, 'SIGTERM');
    return true;
  } catch (error) {
    return `could not signal pid ${run.pid}: ${(error as Error).message}`;
  }
}

/**
 * `orchestrator prune --keep N | --older-than 30d`. `flags.olderThan` is milliseconds, parsed by
 * `ageOption`, which requires a unit.
 */
export async function pruneCommand(io: CliIo, flags: HistoryFlags & { keep?: number; olderThan?: number }): Promise<number> {
  if (flags.keep === undefined && flags.olderThan === undefined) {
    io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} say what to prune: --keep N and/or --older-than 30d\n`);
    return EXIT_CODES.usage;
  }
  const olderThan = flags.olderThan === undefined ? undefined : new Date(Date.now() - flags.olderThan);
  return withStore(io, flags, (store) => {
    const removed = store.prune({ ...(flags.keep !== undefined ? { keep: flags.keep } : {}), ...(olderThan ? { olderThan } : {}) });
    io.stdout.write(`Pruned ${removed} run(s).\n`);
    return Promise.resolve(EXIT_CODES.ok);
  });
}

/** `orchestrator explain <id> <step>`: why a cached step ran, or that it came from the cache. */
export async function explainCommand(io: CliIo, id: string, stepId: string, flags: HistoryFlags): Promise<number> {
  return withStore(io, flags, (store) => {
    const run = findRun(store, id, io);
    if (!run) return Promise.resolve(EXIT_CODES.usage);
    const step = store.getSteps(run.id).find((s) => s.stepId === stepId);
    if (!step) {
      io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} ${noStepMessage(run.id, stepId, planFromRecord(run)?.spec.steps, store.getSteps(run.id))}\n`);
      return Promise.resolve(EXIT_CODES.usage);
    }
    if (step.cacheKey === null && (step.status === 'skipped' || (step.status === 'cancelled' && step.attempt === 0))) {
      // Never started: there was no cache lookup to explain, whatever the cache settings.
      const why = step.message ?? step.reason ?? '';
      const status = why.startsWith(`${step.status}:`) ? why : why ? `${step.status}: ${why}` : step.status;
      io.stdout.write(`${stepId} did not run in run ${run.id} (${status}), so there was no cache lookup\n`);
      return Promise.resolve(EXIT_CODES.ok);
    }
    if (step.cacheKey === null) {
      io.stdout.write(`${stepId} was not cached in run ${run.id}: caching was off for it (\`cache:\` in the workflow, or --cache)\n`);
      return Promise.resolve(EXIT_CODES.ok);
    }
    const verdict = step.status === 'cached' ? 'came from the cache' : `ran (${step.status})`;
    io.stdout.write(`${stepId} ${verdict} in run ${run.id}; key ${step.cacheKey.slice(0, 16)}\n`);
    for (const line of step.cacheExplain) io.stdout.write(`  ${line}\n`);
    return Promise.resolve(EXIT_CODES.ok);
  }, true);
}
