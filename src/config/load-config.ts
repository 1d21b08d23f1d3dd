import { collectConfig } from './collect-config.js';
import type { LoadConfigOptions } from './collect-config.js';
import { ConfigError } from './config-error.js';
import type { LoadedConfig } from './types.js';

/**
 * Loads every config file that applies to `folder`: `orchestrator.yaml`, `orchestrator.yml` or
 * `orchestrator.json` in the folder and in each parent up to and including the project root.
 * Files come root-most first; `discovery` and `run` are merged (nearer files win, lists are
 * concatenated); durations are in milliseconds and folders absolute.
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
  const { config, diagnostics } = await collectConfig(folder, options);
  if (config === undefined) throw new ConfigError(diagnostics);
  return config;
}
