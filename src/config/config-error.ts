import { formatDiagnostic } from './format-diagnostic.js';
import type { Diagnostic } from './types.js';

/**
 * Thrown by `loadConfig` when a config file is invalid. It holds every diagnostic of every file
 * that was read, so one run shows all problems; `message` has one formatted diagnostic per line.
 * @see docs/config.md
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly diagnostics: Diagnostic[];

  constructor(diagnostics: Diagnostic[], options?: ErrorOptions) {
    super(diagnostics.map(formatDiagnostic).join('\n'), options);
    this.diagnostics = diagnostics;
  }
}
