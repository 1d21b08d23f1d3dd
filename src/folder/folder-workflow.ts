import { availableParallelism } from 'node:os';
import path from 'node:path';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../core/retry.js';
import type { FailurePolicy, ScriptStep, WorkflowSpec } from '../core/spec.js';
import { getScriptConfig, loadConfig } from '../config/index.js';
import type { LoadedConfig, ScriptConfig } from '../config/types.js';
import {
  DEFAULT_SKIP_DIRS,
  DEFAULT_SKIP_FILES,
  discoverScripts,
  mergeSkipList,
} from '../discovery/index.js';
import type { DiscoveredScript, DiscoveryWarning } from '../discovery/types.js';

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
  config: LoadedConfig;
  scripts: DiscoveredScript[];
  warnings: DiscoveryWarning[];
}

/**
 * Turns a folder into a workflow: discovery plus config give one script step per file, with no
 * dependencies. Never runs anything. Throws `ConfigError` (every diagnostic at once) on bad config.
 */
export async function folderToWorkflow(
  folder: string,
  settings: FolderRunSettings = {},
): Promise<FolderWorkflow> {
  const root = path.resolve(folder);
  const config = await loadConfig(root, settings.projectRoot ? { projectRoot: settings.projectRoot } : {});
  const discovery = config.discovery;
  const { scripts, warnings } = await discoverScripts(root, {
    maxDepth: settings.maxDepth ?? discovery.maxDepth ?? 2,
    ...(settings.subdirs && settings.subdirs.length > 0 ? { subdirs: settings.subdirs } : {}),
    ...nonEmpty('include', [...(discovery.include ?? []), ...(settings.include ?? [])]),
    ...nonEmpty('exclude', [...(discovery.exclude ?? []), ...(settings.exclude ?? [])]),
    skipDirs: mergeSkipList(DEFAULT_SKIP_DIRS, discovery.skipDirs ?? []),
    skipFiles: mergeSkipList(DEFAULT_SKIP_FILES, discovery.skipFiles ?? []),
    // Links may lead anywhere in the project (scripts/shared -> ../lib), never out of it.
    projectRoot: config.projectRoot,
  });
  const steps = scripts.map((script) => scriptToStep(script, root, config, settings));
  const failFast = settings.failFast ?? config.run.failFast ?? false;
  const spec: WorkflowSpec = {
    name: path.basename(root),
    source: root,
    steps,
    concurrency: settings.concurrency ?? config.run.concurrency ?? availableParallelism(),
    failurePolicy: failFast === true ? 'no-new' : failFast === false ? 'continue' : failFast,
    timeout: settings.runTimeout ?? config.run.timeout ?? 0,
  };
  return { spec, config, scripts, warnings };
}

function nonEmpty<K extends string>(key: K, list: string[]): Partial<Record<K, string[]>> {
  return list.length > 0 ? ({ [key]: list } as Record<K, string[]>) : {};
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
  const defaultsOnly: LoadedConfig = { ...config, files: config.files.map((f) => ({ ...f, scripts: [], skip: [] })) };
  const rulesOnly: LoadedConfig = { ...config, files: config.files.map((f) => ({ ...f, defaults: {} })) };
  const fromDefaults = getScriptConfig(script.path, scriptsDir, defaultsOnly);
  const fromRules = getScriptConfig(script.path, scriptsDir, rulesOnly);
  const fromSettings: ScriptConfig = {
    ...(settings.timeout !== undefined ? { timeout: settings.timeout } : {}),
    ...(settings.killGrace !== undefined ? { killGrace: settings.killGrace } : {}),
  };
  return {
    ...fromDefaults,
    ...fromSettings,
    ...fromRules,
    env: { ...settings.env, ...fromDefaults.env, ...fromRules.env },
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
