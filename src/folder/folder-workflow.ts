import { availableParallelism } from 'node:os';
import path from 'node:path';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../core/retry.js';
import type { FailurePolicy, ScriptStep, WorkflowSpec } from '../core/spec.js';
import { ConfigError } from '../config/config-error.js';
import { getScriptConfig } from '../config/script-config.js';
import type { ConfigFile, Diagnostic, LoadedConfig, ScriptConfig } from '../config/types.js';
import type { DiscoveredScript, DiscoveryWarning } from '../discovery/types.js';
import { scanFolder } from './scan-folder.js';
import { checkOptions, expectPathArgument, FOLDER_SETTINGS_CHECKS } from '../api/check-options.js';

/** Built-in defaults, the lowest layer of the precedence. */
export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_KILL_GRACE_MS = 5_000;

/** Run-wide settings, usually CLI flags. They beat config `defaults` and lose to `scripts` rules. */
export interface FolderRunSettings {
  /** Milliseconds per script. @default 60000 */
  timeout?: number;
  /** Milliseconds between SIGTERM and SIGKILL. @default 5000 */
  killGrace?: number;
  /** @default number of CPUs (or `run.concurrency` in config) */
  concurrency?: number;
  /** `true` means `no-new`. @default 'continue' (or `run.fail_fast` in config) */
  failFast?: boolean | FailurePolicy;
  /** Milliseconds for the whole run; 0 disables. @default 0 */
  runTimeout?: number;
  env?: Record<string, string>;
  maxDepth?: number;
  subdirs?: string[];
  include?: string[];
  exclude?: string[];
  /** Look for config and virtualenvs up to here. @default nearest folder with .git, package.json or pyproject.toml */
  projectRoot?: string;
}

export interface FolderWorkflow {
  spec: WorkflowSpec;
  /** Every config file that applies to the scripts, those of subfolders included. */
  config: LoadedConfig;
  scripts: DiscoveredScript[];
  /**
   * Config warnings first (`path` is then `file:line:column` and `message` starts with the field),
   * then discovery warnings.
   */
  warnings: DiscoveryWarning[];
}

/**
 * Turns a folder into a workflow: discovery plus config give one script step per file, with no
 * dependencies. Config files in subfolders apply to the scripts below them. Never runs anything.
 * Throws `ConfigError` (every diagnostic of every file at once) on bad config.
 */
export async function folderToWorkflow(
  folder: string,
  settings: FolderRunSettings = {},
): Promise<FolderWorkflow> {
  expectPathArgument(folder, 'the folder of folderToWorkflow()');
  checkOptions(settings, 'folderToWorkflow()', FOLDER_SETTINGS_CHECKS);
  return buildFolderWorkflow(folder, settings);
}

/** `folderToWorkflow` without its checks: for callers whose options hold more than `FolderRunSettings`. */
export async function buildFolderWorkflow(folder: string, settings: FolderRunSettings): Promise<FolderWorkflow> {
  const root = path.resolve(folder);
  const scan = await scanFolder(root, {
    ...(settings.projectRoot ? { projectRoot: settings.projectRoot } : {}),
    ...(settings.maxDepth !== undefined ? { maxDepth: settings.maxDepth } : {}),
    ...(settings.subdirs ? { subdirs: settings.subdirs } : {}),
    ...(settings.include ? { include: settings.include } : {}),
    ...(settings.exclude ? { exclude: settings.exclude } : {}),
  });
  const { config, scripts } = scan;
  if (config === undefined) throw new ConfigError(scan.diagnostics);
  const resolve = scriptConfigResolver(config, settings);
  const steps = scripts.map((script) => stepFromConfig(script, resolve(script, root)));
  const failFast = settings.failFast ?? config.run.failFast ?? false;
  const spec: WorkflowSpec = {
    name: path.basename(root),
    source: root,
    steps,
    concurrency: settings.concurrency ?? config.run.concurrency ?? availableParallelism(),
    failurePolicy: failFast === true ? 'no-new' : failFast === false ? 'continue' : failFast,
    timeout: settings.runTimeout ?? config.run.timeout ?? 0,
  };
  // Config warnings go with the discovery ones, so every surface that shows a plan shows them: a
  // setting that is ignored must never be ignored silently.
  const warnings = [...scan.diagnostics.map(asWarning), ...scan.warnings];
  return { spec, config, scripts, warnings };
}

function asWarning(diagnostic: Diagnostic): DiscoveryWarning {
  const { file, line, column, field, message } = diagnostic;
  return { path: `${file}:${line}:${column}`, message: field === '' ? message : `${field}: ${message}` };
}

/**
 * The config of one script with the documented precedence, lowest first: built-in defaults,
 * config `defaults` (root-most file first), run-wide settings (CLI flags), config `scripts` rules,
 * then `skip` lists.
 */
export function resolveScriptConfig(
  script: Pick<DiscoveredScript, 'path'>,
  scriptsDir: string,
  config: LoadedConfig,
  settings: FolderRunSettings = {},
): ScriptConfig {
  return scriptConfigResolver(config, settings)(script, scriptsDir);
}

/**
 * `resolveScriptConfig` for many scripts. The files that apply to a folder are picked once per
 * folder, by walking up from it: a tree with a config file in each of its folders would otherwise
 * cost scripts × files.
 */
function scriptConfigResolver(
  config: LoadedConfig,
  settings: FolderRunSettings,
): (script: Pick<DiscoveredScript, 'path'>, scriptsDir: string) => ScriptConfig {
  const filesByDir = new Map<string, ConfigFile[]>();
  for (const file of config.files) filesByDir.set(file.dir, [...(filesByDir.get(file.dir) ?? []), file]);
  const byFolder = new Map<string, { defaultsOnly: LoadedConfig; rulesOnly: LoadedConfig }>();
  const fromSettings: ScriptConfig = {
    ...(settings.timeout !== undefined ? { timeout: settings.timeout } : {}),
    ...(settings.killGrace !== undefined ? { killGrace: settings.killGrace } : {}),
  };
  return (script, scriptsDir) => {
    const absolute = path.resolve(scriptsDir, script.path);
    const folder = path.dirname(absolute);
    let layers = byFolder.get(folder);
    if (layers === undefined) {
      const files: ConfigFile[] = [];
      for (let dir = folder; ; dir = path.dirname(dir)) {
        files.unshift(...(filesByDir.get(dir) ?? []));
        if (dir === config.projectRoot || path.dirname(dir) === dir) break;
      }
      layers = {
        defaultsOnly: { ...config, files: files.map((f) => ({ ...f, scripts: [], skip: [] })) },
        rulesOnly: { ...config, files: files.map((f) => ({ ...f, defaults: {} })) },
      };
      byFolder.set(folder, layers);
    }
    const fromDefaults = getScriptConfig(absolute, folder, layers.defaultsOnly);
    const fromRules = getScriptConfig(absolute, folder, layers.rulesOnly);
    return {
      ...fromDefaults,
      ...fromSettings,
      ...fromRules,
      env: { ...settings.env, ...fromDefaults.env, ...fromRules.env },
    };
  };
}

export function scriptToStep(
  script: DiscoveredScript,
  scriptsDir: string,
  config: LoadedConfig,
  settings: FolderRunSettings = {},
): ScriptStep {
  const resolved = resolveScriptConfig(script, scriptsDir, config, settings);
  return stepFromConfig(script, resolved);
}

/** A script step from a discovered script and its resolved config (built-in defaults fill the gaps). */
export function stepFromConfig(script: DiscoveredScript, resolved: ScriptConfig): ScriptStep {
  const retry: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    maxAttempts: 1 + (resolved.retries ?? 0),
    ...(resolved.retryDelay !== undefined ? { initialDelay: resolved.retryDelay } : {}),
    retryOnExitCodes: resolved.retryOnExitCodes ?? [],
  };
  return {
    kind: 'script',
    id: script.relativePath,
    name: script.name,
    needs: [],
    timeout: resolved.timeout ?? DEFAULT_TIMEOUT_MS,
    killGrace: resolved.killGrace ?? DEFAULT_KILL_GRACE_MS,
    retry,
    env: resolved.env ?? {},
    cwd: resolved.cwd ?? path.dirname(script.path),
    allowedExitCodes: resolved.allowedExitCodes ?? [0],
    ...(resolved.memoryLimitMb !== undefined ? { memoryLimitMb: resolved.memoryLimitMb } : {}),
    tags: resolved.tags ?? [],
    group: script.group,
    ...(resolved.skip ? { skip: { reason: resolved.skipReason ?? 'skipped by config' } } : {}),
    path: script.path,
    relativePath: script.relativePath,
    args: resolved.args ?? [],
    scriptKind: script.kind,
    ...(script.shebang !== undefined ? { shebang: script.shebang } : {}),
    ...(resolved.interpreter ? { interpreter: resolved.interpreter } : {}),
  };
}
