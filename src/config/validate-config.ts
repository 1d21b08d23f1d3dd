import { collectConfig } from './collect-config.js';
import type { LoadConfigOptions } from './collect-config.js';
import type { Diagnostic } from './types.js';

/**
 * Checks the same files as `loadConfig` and returns every diagnostic (errors and warnings)
 * instead of throwing. An empty list means the config is valid. For the `validate` command.
 * @see docs/config.md
 */
export async function validateConfig(folder: string, options: LoadConfigOptions = {}): Promise<Diagnostic[]> {
  const { diagnostics } = await collectConfig(folder, options);
  return diagnostics;
}
