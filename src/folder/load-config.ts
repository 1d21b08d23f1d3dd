import type { LoadConfigOptions } from '../config/collect-config.js';
import { ConfigError } from '../config/config-error.js';
import type { LoadedConfig } from '../config/types.js';
import { checkOptions, CONFIG_OPTION_CHECKS, expectPathArgument } from '../api/check-options.js';
import { scanFolder } from './scan-folder.js';

/**
 * Loads every config file that applies to the scripts of `folder`: `orchestrator.yaml`,
 * `orchestrator.yml` or `orchestrator.json` in the folder and in each parent up to and including
 * the project root, and in the subfolders a run of the folder searches (the walk follows the
 * `discovery` settings of config files, nested ones included). Files come root-most first, then
 * the subfolders' by path; `discovery` and `run` are merged from the folder and its parents only
 * (nearer files win, lists are concatenated); durations are in milliseconds and folders absolute.
 *
 * Throws `ConfigError` with the diagnostics of all files when any file has an error; it never
 * returns part of a config. Warnings alone do not throw (use `validateConfig` to see them).
 *
 * @example
 * const config = await loadConfig('scripts');
 * const settings = getScriptConfig('etl/load.py', 'scripts', config);
 * @see docs/config.md
 */
export async function loadConfig(folder: string, options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  expectPathArgument(folder, 'the folder of loadConfig()');
  checkOptions(options, 'loadConfig()', CONFIG_OPTION_CHECKS);
  const { config, diagnostics } = await scanFolder(folder, { ...options, scripts: false });
  if (config === undefined) throw new ConfigError(diagnostics);
  return config;
}
