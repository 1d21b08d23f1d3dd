import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { findProjectRoot } from './find-project-root.js';
import { parseConfigFile } from './parse-config-text.js';
import { isInside, realPathOf } from './is-inside.js';
import { NotRegularFileError, readRegularFile } from '../util/regular-file.js';
import type { ConfigFile, Diagnostic, DiscoveryConfig, RunConfig } from './types.js';

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
  return configNamesAmong(entries);
}

/** The config file names among a folder's entries, in `CONFIG_FILE_NAMES` order. */
export function configNamesAmong(entries: readonly string[]): string[] {
  return CONFIG_FILE_NAMES.filter((name) => entries.includes(name));
}

/**
 * Reads and parses the config files `names` of one folder (more than one is an error). `runFolder`
 * is set for a folder below the folder being run: see `parseConfigFile`. `mayChangeDiscovery`: the
 * folder has an error, and a file of it that did not parse might hold `discovery` settings (or
 * could not be read at all), so its errors may hide scripts.
 */
export async function readConfigFolder(
  dir: string,
  names: readonly string[],
  projectRoot: string,
  runFolder?: string,
): Promise<{ files: ConfigFile[]; diagnostics: Diagnostic[]; mayChangeDiscovery: boolean }> {
  const files: ConfigFile[] = [];
  const diagnostics: Diagnostic[] = [];
  let mayChangeDiscovery = false;
  if (names.length > 1) {
    diagnostics.push({
      severity: 'error',
      file: path.join(dir, names[1] ?? ''),
      line: 1,
      column: 1,
      field: '',
      message: `found both ${names.join(' and ')} in ${dir}; keep only one`,
    });
  }
  const boundary = realPathOf(projectRoot);
  for (const name of names) {
    const file = path.join(dir, name);
    // A config file is trusted like a script: one whose real path leaves the project (a link to
    // another project's settings, or to /etc/passwd) is not read, wherever it sits, as discovery
    // does not follow such links. The same file is then skipped whichever folder is run.
    const real = realPathOf(file);
    if (!isInside(boundary, real)) {
      diagnostics.push({ severity: 'warning', file, line: 1, column: 1, field: '', message: `symlink points outside "${boundary}" (to "${real}"), not followed` });
      continue;
    }
    let text: string;
    try {
      // A FIFO, socket or device is never opened: reading one could wait forever.
      text = await readRegularFile(file);
    } catch (error: unknown) {
      const message =
        error instanceof NotRegularFileError
          ? `expected a config file (a regular file), got ${error.type}; it is not read`
          : `cannot read the file: ${error instanceof Error ? error.message : String(error)}`;
      diagnostics.push({ severity: 'error', file, line: 1, column: 1, field: '', message });
      // What it holds is unknown: it may have had `discovery` settings.
      mayChangeDiscovery = true;
      continue;
    }
    const parsed = parseConfigFile(text, file, projectRoot, runFolder);
    diagnostics.push(...parsed.diagnostics);
    if (parsed.file !== undefined) files.push(parsed.file);
    // (A file that parsed is ignored too when another file of its folder has an error.)
    if (parsed.file === undefined ? mentionsDiscovery(text) : Object.keys(parsed.file.discovery).length > 0) mayChangeDiscovery = true;
  }
  return { files, diagnostics, mayChangeDiscovery: mayChangeDiscovery && diagnostics.some((d) => d.severity === 'error') };
}

/**
 * Whether the text of a file with errors might hold `discovery` settings, which its errors hide:
 * any mention of the word (in any case, anywhere), or an escape that could spell it
 * (`"disc\u006fvery"`). Only a file with neither certainly has none.
 */
function mentionsDiscovery(text: string): boolean {
  return /discovery/i.test(text) || text.includes('\\');
}

/** The `discovery` settings of the files, root-most first: nearer files win, lists are concatenated. */
export function mergeDiscovery(files: readonly ConfigFile[]): DiscoveryConfig {
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

/** The `run` settings of the files, root-most first: nearer files win. */
export function mergeRun(files: readonly ConfigFile[]): RunConfig {
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
 * Reads every config file from the project root down to `folder` (not below it: see
 * `folder/scan-folder.ts`) and collects all diagnostics. `files` holds the files that parsed without
 * errors, root-most first, even when another file has one, so a caller can go on and report more.
 */
export async function collectConfig(
  folder: string,
  options: LoadConfigOptions = {},
): Promise<{ folder: string; projectRoot: string; files: ConfigFile[]; diagnostics: Diagnostic[] }> {
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
    const read = await readConfigFolder(current, await configNamesIn(current), projectRoot);
    files.push(...read.files);
    diagnostics.push(...read.diagnostics);
  }
  return { folder: dir, projectRoot, files, diagnostics };
}
