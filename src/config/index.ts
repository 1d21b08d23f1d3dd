export { CONFIG_FILE_NAMES } from './collect-config.js';
export type { LoadConfigOptions } from './collect-config.js';
export { ConfigError } from './config-error.js';
export { findProjectRoot, PROJECT_ROOT_MARKERS } from './find-project-root.js';
export { formatDiagnostic } from './format-diagnostic.js';
export { matchesPattern } from './matches-pattern.js';
export { DEFAULT_SKIP_REASON, parseConfigText } from './parse-config-text.js';
export { CONFIG_SCHEMA_ID, configJsonSchema, configSchema } from './schema.js';
export { getScriptConfig } from './script-config.js';
export type {
  ConfigFile,
  Diagnostic,
  DiscoveryConfig,
  LoadedConfig,
  RunConfig,
  ScriptConfig,
  ScriptRule,
  SkipRule,
} from './types.js';
