import type { LoadConfigOptions } from '../config/collect-config.js';
import type { Diagnostic } from '../config/types.js';
import { checkOptions, CONFIG_OPTION_CHECKS, expectPathArgument } from '../api/check-options.js';
import { scanFolder } from './scan-folder.js';

/**
 * Checks the same files as `loadConfig` (the folder's, its parents' and those of the subfolders a
 * run searches) and returns every diagnostic (errors and warnings) instead of throwing. An empty
 * list means the config is valid, or that there is none.
 * @see docs/config.md
 */
export async function validateConfig(folder: string, options: LoadConfigOptions = {}): Promise<Diagnostic[]> {
  expectPathArgument(folder, 'the folder of validateConfig()');
  checkOptions(options, 'validateConfig()', CONFIG_OPTION_CHECKS);
  const { diagnostics } = await scanFolder(folder, { ...options, scripts: false });
  return diagnostics;
}
