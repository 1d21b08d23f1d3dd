import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { findProjectRoot } from './find-project-root.js';
import { parseConfigText } from './parse-config-text.js';
import { isInside } from './is-inside.js';
import type { ConfigFile, Diagnostic, DiscoveryConfig, LoadedConfig, RunConfig } from './types.js';

/** Config file names, in the order they are read when (wrongly) more than one exists. */
export const CONFIG_FILE_NAMES = ['orchestrator.yaml', 'orchestrator.yml', 'orchestrator.json'] as const;

export interface LoadConfigOptions {
  /**
   * Where the lookup of config files stops (inclusive). Must be the folder or one of its parents.
   * @default the nearest folder with `.git`, `package.json` or `pyproject.toml` (see `findProjectRoot`)
   */
  projectRoot?: string;
}


async function configNamesIn(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    // A missing or unreadable folder has no config; discovery reports the folder itself.
    return [];
  }
  return CONFIG_FILE_NAMES.filter((name) => entries.includes(name));
}

function mergeDiscovery(files: readonly ConfigFile[]): DiscoveryConfig {
  const merged: DiscoveryConfig = {};
  for (const { discovery } of files) {
    if (discovery.maxDepth !== undefined) merged.maxDepth = discovery.maxDepth;
    for (const key of ['include', 'exclude', 'skipDirs', 'skipFiles'] as const) {
      const list = discovery[key];
      if (list !== undefined) merged[key] = [...(merged[key] ?? []), ...list];
    }
  }
  return merged;
}

function mergeRun(files: readonly ConfigFile[]): RunConfig {
  const merged: RunConfig = {};
  for (const { run } of files) {
    if (run.concurrency !== undefined) merged.concurrency = run.concurrency;
    if (run.failFast !== undefined) merged.failFast = run.failFast;
    if (run.timeout !== undefined) merged.timeout = run.timeout;
    if (run.outputDir !== undefined) merged.outputDir = run.outputDir;
  }
  return merged;
}

/**
 * Reads every config file from the project root down to `folder` and collects all diagnostics.
 * `config` is set only when there is no error. Shared by `loadConfig` and `validateConfig`.
 */
export async function collectConfig(
  folder: string,
  options: LoadConfigOptions = {},
): Promise<{ config?: LoadedConfig; diagnostics: Diagnostic[] }> {
  const dir = path.resolve(folder);
  const projectRoot = options.projectRoot === undefined ? await findProjectRoot(dir) : path.resolve(options.projectRoot);
  if (!isInside(projectRoot, dir)) {
    throw new TypeError(
      `Expected the \`projectRoot\` option to be ${JSON.stringify(dir)} or one of its parents, got ${JSON.stringify(projectRoot)}`,
    );
  }
  const dirs: string[] = [];
  for (let current = dir; ; current = path.dirname(current)) {
    dirs.unshift(current);
    if (current === projectRoot) break;
  }

  const files: ConfigFile[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const current of dirs) {
    const names = await configNamesIn(current);
    if (names.length > 1) {
      diagnostics.push({
        severity: 'error',
        file: path.join(current, names[1] ?? ''),
        line: 1,
        column: 1,
        field: '',
        message: `found both ${names.join(' and ')} in ${current}; keep only one`,
      });
    }
    for (const name of names) {
      const file = path.join(current, name);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error: unknown) {
        const message = error instanceof Error ? error.message : String(error);
        diagnostics.push({ severity: 'error', file, line: 1, column: 1, field: '', message: `cannot read the file: ${message}` });
        continue;
      }
      const parsed = parseConfigText(text, file, projectRoot);
      diagnostics.push(...parsed.diagnostics);
      if (parsed.file !== undefined) files.push(parsed.file);
    }
  }

  if (diagnostics.some((diagnostic) => diagnostic.severity === 'error')) return { diagnostics };
  return {
    config: { folder: dir, projectRoot, files, discovery: mergeDiscovery(files), run: mergeRun(files) },
    diagnostics,
  };
}
