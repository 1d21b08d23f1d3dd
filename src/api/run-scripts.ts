import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { RunEvent } from '../core/events.js';
import type { RunSummary, StepResult } from '../core/result.js';
import type { FailurePolicy, WorkflowSpec } from '../core/spec.js';
import type { ScriptConfig } from '../config/types.js';
import { describeScript } from '../discovery/index.js';
import type { DiscoveredScript } from '../discovery/types.js';
import { LocalEngine } from '../engines/local/local-engine.js';
import { DEFAULT_KILL_GRACE_MS, DEFAULT_TIMEOUT_MS, stepFromConfig } from '../folder/folder-workflow.js';
import { checkOptions, expectPathArgument, expectScriptList, RUN_SCRIPT_OPTION_CHECKS, RUN_SCRIPTS_OPTION_CHECKS } from './check-options.js';
import { createRunDir } from './run-dir.js';

export interface RunScriptOptions {
  /** Milliseconds; a `timeout` in `config` beats it. @default 60000 */
  timeout?: number;
  /** Merged over the orchestrator's environment (config `env` on top). */
  env?: Record<string, string>;
  /** @default the script's folder */
  cwd?: string;
  args?: string[];
  /** Per-script config, as `getScriptConfig` returns it. */
  config?: ScriptConfig;
  memoryLimitMb?: number;
  /** Milliseconds between SIGTERM and SIGKILL. @default 5000 */
  killGrace?: number;
  signal?: AbortSignal;
  /** Write full logs to `<outputDir>/<runId>/logs/`. Unset: only output tails are kept. */
  outputDir?: string;
  /** Look for Python virtualenvs up to here. @default process.cwd() */
  projectRoot?: string;
}

export interface RunScriptsOptions extends Omit<RunScriptOptions, 'config'> {
  /** Scripts at once. @default number of CPUs */
  concurrency?: number;
  /** `true` means `no-new`: after a failure no new script starts. @default false */
  failFast?: boolean | FailurePolicy;
  /** Per-script config keyed by the script's path (absolute or as given). */
  configs?: Record<string, ScriptConfig>;
  /** Called with every event: started, retrying, finished, ... */
  onProgress?: (event: RunEvent) => void;
}

/**
 * Runs one script with a timeout and returns its result; never throws for a failing script.
 * camelCase twin of the Python `run_script(script_path, timeout, env, cwd, config, memory_limit_mb)`.
 */
export async function runScript(scriptPath: string, options: RunScriptOptions = {}): Promise<StepResult> {
  expectPathArgument(scriptPath, 'the script of runScript()');
  checkOptions(options, 'runScript()', RUN_SCRIPT_OPTION_CHECKS);
  const { config, ...rest } = options;
  const summary = await runScripts([scriptPath], {
    ...rest,
    concurrency: 1,
    ...(config ? { configs: { [scriptPath]: config } } : {}),
  });
  return summary.steps[0] as StepResult;
}

/**
 * Runs scripts in parallel (a workflow without dependencies on the local engine) and returns the
 * run summary, in the order given. Aborting `signal` kills every running process tree.
 */
export async function runScripts(
  scripts: readonly (string | DiscoveredScript)[],
  options: RunScriptsOptions = {},
): Promise<RunSummary> {
  expectScriptList(scripts, 'runScripts()');
  checkOptions(options, 'runScripts()', RUN_SCRIPTS_OPTION_CHECKS);
  const described = await Promise.all(
    scripts.map((entry) => (typeof entry === 'string' ? describeScript(path.resolve(entry)) : Promise.resolve(entry))),
  );
  const seen = new Map<string, number>();
  const steps = described.map((script, index) => {
    const given = scripts[index];
    const key = typeof given === 'string' ? given : script.path;
    const config: ScriptConfig = {
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
      ...(options.killGrace !== undefined ? { killGrace: options.killGrace } : {}),
      ...(options.args ? { args: options.args } : {}),
      ...(options.cwd ? { cwd: path.resolve(options.cwd) } : {}),
      ...(options.memoryLimitMb !== undefined ? { memoryLimitMb: options.memoryLimitMb } : {}),
      ...(options.configs?.[key] ?? options.configs?.[script.path]),
    };
    config.env = { ...options.env, ...config.env };
    const step = stepFromConfig(script, {
      timeout: DEFAULT_TIMEOUT_MS,
      killGrace: DEFAULT_KILL_GRACE_MS,
      ...config,
    });
    // Ids must be unique; the same file twice gets a suffix.
    const count = seen.get(step.id) ?? 0;
    seen.set(step.id, count + 1);
    return count === 0 ? step : { ...step, id: `${step.id}#${count + 1}` };
  });
  const failFast = options.failFast ?? false;
  const spec: WorkflowSpec = {
    name: 'scripts',
    steps,
    concurrency: options.concurrency ?? availableParallelism(),
    failurePolicy: failFast === true ? 'no-new' : failFast === false ? 'continue' : failFast,
    timeout: 0,
  };
  const run = options.outputDir ? await createRunDir(path.resolve(options.outputDir)) : undefined;
  const engine = new LocalEngine();
  try {
    const handle = engine.submit(spec, {
      ...(run ? { runId: run.runId, runDir: run.runDir } : {}),
      projectRoot: options.projectRoot ?? process.cwd(),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onEvent: options.onProgress } : {}),
    });
    return await handle.result;
  } finally {
    await engine.close();
  }
}
