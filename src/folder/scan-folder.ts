import path from 'node:path';
import {
  collectConfig,
  configNamesAmong,
  mergeDiscovery,
  mergeRun,
  readConfigFolder,
} from '../config/collect-config.js';
import { isInside } from '../config/is-inside.js';
import type { ConfigFile, Diagnostic, LoadedConfig } from '../config/types.js';
import { discoverWithHooks, type FolderRules } from '../discovery/discover-scripts.js';
import type { DiscoveredScript, DiscoveryWarning } from '../discovery/types.js';
import { unmatchedRuleWarnings } from './unmatched-rules.js';

export interface ScanFolderOptions {
  /** @default the nearest folder with .git, package.json or pyproject.toml */
  projectRoot?: string;
  /** Beats every `discovery.max_depth` in config, nested ones included. */
  maxDepth?: number;
  subdirs?: string[];
  /** Relative to the folder; added to the config's lists. */
  include?: string[];
  exclude?: string[];
  /**
   * `false`: look for config files only (no shebangs read); `scripts` is then empty, and an error in
   * a subfolder's file stays an error even when no script is below it (see `diagnostics`). @default true
   */
  scripts?: boolean;
}

export interface FolderScan {
  folder: string;
  projectRoot: string;
  /**
   * Every config file that parsed without errors: the folder's and its parents' (root-most first),
   * then those in the subfolders the walk entered, by path (so a folder's file comes before its
   * subfolders' files).
   */
  files: ConfigFile[];
  /** Set only when no config file has an error. */
  config?: LoadedConfig;
  /**
   * Of every config file read, in the order of `files`; errors and warnings. The errors of a file in
   * a subfolder with no script kept below it are warnings (it applies to nothing); links to config
   * files outside the project root are warnings too, and are not read.
   */
  diagnostics: Diagnostic[];
  scripts: DiscoveredScript[];
  warnings: DiscoveryWarning[];
}

function patternsOf(file: ConfigFile): NonNullable<FolderRules['patterns']>[number] {
  return { base: file.dir, include: file.discovery.include, exclude: file.discovery.exclude };
}

function appliesToNoScript(diagnostic: Diagnostic): Diagnostic {
  if (diagnostic.severity !== 'error') return diagnostic;
  return { ...diagnostic, severity: 'warning', message: `${diagnostic.message} (ignored: this file applies to no script of the run)` };
}

/** Sorts by key with a plain code-unit comparison: a folder sorts before everything below it. */
function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

/**
 * One walk of a folder that finds its scripts and every config file that applies to them: the
 * folder's own and its parents' up to the project root, and those of the subfolders discovery
 * enters. A config file in a subfolder changes discovery below it (`discovery` settings) as soon as
 * the walk gets there, and its settings apply to the scripts below it, so a script gets the same
 * settings whichever folder above it is run. Each folder's names come from the listing discovery
 * makes anyway: no extra stat, and a config file is read once per folder, never per script.
 *
 * Never throws for a bad config: the diagnostics say what is wrong, and `config` is then unset.
 */
export async function scanFolder(folder: string, options: ScanFolderOptions = {}): Promise<FolderScan> {
  const root = path.resolve(folder);
  const chain = await collectConfig(root, options.projectRoot === undefined ? {} : { projectRoot: options.projectRoot });
  const { projectRoot } = chain;
  const chainDiscovery = mergeDiscovery(chain.files);
  // A --max-depth flag is about this run: it beats config, nested files included.
  const depthFromConfig = options.maxDepth === undefined;

  const rootRules: FolderRules = {
    ...(depthFromConfig && chainDiscovery.maxDepth !== undefined ? { maxDepth: chainDiscovery.maxDepth } : {}),
    ...(chainDiscovery.skipDirs ? { skipDirs: chainDiscovery.skipDirs } : {}),
    ...(chainDiscovery.skipFiles ? { skipFiles: chainDiscovery.skipFiles } : {}),
    // Each file's patterns are relative to its own folder, wherever the run starts.
    patterns: chain.files.map(patternsOf),
  };
  const nested: { dir: string; files: ConfigFile[]; diagnostics: Diagnostic[]; hasDiscovery: boolean }[] = [];

  const { scripts, warnings } = await discoverWithHooks(
    root,
    {
      ...(options.maxDepth !== undefined ? { maxDepth: options.maxDepth } : {}),
      ...(options.subdirs && options.subdirs.length > 0 ? { subdirs: options.subdirs } : {}),
      ...(options.include && options.include.length > 0 ? { include: options.include } : {}),
      ...(options.exclude && options.exclude.length > 0 ? { exclude: options.exclude } : {}),
      // Links may lead anywhere in the project (scripts/shared -> ../lib), never out of it.
      projectRoot,
    },
    {
      probe: options.scripts !== false,
      folderRules: async ({ path: dir, relativePath, names }) => {
        if (relativePath === '') return rootRules;
        const found = configNamesAmong(names);
        if (found.length === 0) return undefined;
        // (A file whose real path leaves the project is skipped there with a warning, as any other.)
        const read = await readConfigFolder(dir, found, projectRoot, root);
        nested.push({ dir, files: read.files, diagnostics: read.diagnostics, hasDiscovery: read.mayChangeDiscovery });
        const [file] = read.files;
        // A broken file lends its subtree nothing; the walk goes on so that every bad file is reported.
        if (file === undefined || read.diagnostics.some((d) => d.severity === 'error')) return undefined;
        return {
          ...(depthFromConfig && file.discovery.maxDepth !== undefined ? { maxDepth: file.discovery.maxDepth } : {}),
          ...(file.discovery.skipDirs ? { skipDirs: file.discovery.skipDirs } : {}),
          ...(file.discovery.skipFiles ? { skipFiles: file.discovery.skipFiles } : {}),
          patterns: [patternsOf(file)],
        };
      },
    },
  );

  // Folders are entered concurrently: sort so that output does not depend on timing.
  nested.sort(byKey((entry) => entry.dir));
  const files = [...chain.files, ...nested.flatMap((entry) => entry.files)];
  const diagnostics = [
    ...chain.diagnostics,
    ...nested.flatMap((entry) =>
      // Read only because the walk went through its folder: a file that applies to no script kept
      // (its whole folder excluded, say) cannot break the run. Only known once scripts are found.
      // A broken file that might have `discovery` settings of its own (any mention of the word, or
      // a file that could not be read) is no such file: they might have kept scripts below it (a
      // larger max_depth), which its errors hid; it stays an error.
      options.scripts !== false && !scripts.some((script) => isInside(entry.dir, script.path)) && !entry.hasDiscovery
        ? entry.diagnostics.map(appliesToNoScript)
        : entry.diagnostics,
    ),
  ];
  const valid = !diagnostics.some((diagnostic) => diagnostic.severity === 'error');
  // Rules that match no script are only judged against a whole tree: a selection (subdirs, a
  // filter, a depth flag) leaves out scripts that rules rightly name.
  const narrowed =
    (options.subdirs?.length ?? 0) > 0 || (options.include?.length ?? 0) > 0 || (options.exclude?.length ?? 0) > 0 || options.maxDepth !== undefined;
  if (valid && options.scripts !== false && !narrowed) diagnostics.push(...unmatchedRuleWarnings(files, scripts, root, projectRoot));
  return {
    folder: root,
    projectRoot,
    files,
    ...(valid
      ? {
          config: {
            folder: root,
            projectRoot,
            files,
            // Whole-run settings: only the folder's own file and its parents' give them.
            discovery: chainDiscovery,
            run: mergeRun(chain.files),
          },
        }
      : {}),
    diagnostics,
    scripts,
    warnings,
  };
}
