/**
 * Config for one script, resolved: camelCase, times in milliseconds, paths absolute. Every field is
 * optional; unset fields fall back to the run-wide defaults (CLI flags, then built-in defaults).
 */
export interface ScriptConfig {
  /** Milliseconds. From `timeout` (seconds, or a duration string such as `90s`, `2m`). */
  timeout?: number;
  args?: string[];
  env?: Record<string, string>;
  /** Absolute path, resolved against the config file's folder; always inside the project root. */
  cwd?: string;
  /** Command prefix, e.g. `['python3', '-X', 'dev']`. From a string (split on spaces) or a list. */
  interpreter?: string[];
  allowedExitCodes?: number[];
  /** Extra attempts after the first one. */
  retries?: number;
  /** Exit codes worth retrying; unset or empty: any failure that is not a cancel. */
  retryOnExitCodes?: number[];
  /** Milliseconds before the first retry (doubles each time). */
  retryDelay?: number;
  memoryLimitMb?: number;
  /** Milliseconds between SIGTERM and SIGKILL. */
  killGrace?: number;
  skip?: boolean;
  skipReason?: string;
  tags?: string[];
}

/** Where a problem in a config file is. Lines and columns start at 1. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  column: number;
  /** Dotted path of the field, e.g. `scripts.etl/load.py.timeout`; empty for the whole file. */
  field: string;
  message: string;
}

export interface SkipRule {
  /** Path or glob relative to the config file's folder. */
  pattern: string;
  reason: string;
}

export interface ScriptRule {
  /** Path or glob relative to the config file's folder (the key under `scripts`). */
  pattern: string;
  config: ScriptConfig;
}

/** One parsed config file. */
export interface ConfigFile {
  path: string;
  /** Folder of the file: patterns are relative to it. */
  dir: string;
  defaults: ScriptConfig;
  skip: SkipRule[];
  scripts: ScriptRule[];
  discovery: DiscoveryConfig;
  run: RunConfig;
}

export interface DiscoveryConfig {
  maxDepth?: number;
  include?: string[];
  exclude?: string[];
  /** Folder names added to the default skip list; `!name` removes a default. */
  skipDirs?: string[];
  /** File names or globs added to the default skip list; `!name` removes a default. */
  skipFiles?: string[];
}

export interface RunConfig {
  concurrency?: number;
  failFast?: boolean;
  /** Milliseconds. */
  timeout?: number;
  outputDir?: string;
}

/**
 * Every config file that applies to the scripts of a folder: the root-most first, then the folder's
 * own, then those of its subfolders by path (a folder's file always comes before its subfolders').
 */
export interface LoadedConfig {
  /** The folder the config was loaded for. */
  folder: string;
  projectRoot: string;
  files: ConfigFile[];
  /**
   * Discovery settings merged from the folder's file and its parents' (nearer files win, lists are
   * concatenated). A subfolder's file changes discovery only below itself, so it is not in here.
   */
  discovery: DiscoveryConfig;
  /** Run settings merged from the folder's file and its parents'; subfolders' files never set them. */
  run: RunConfig;
}
