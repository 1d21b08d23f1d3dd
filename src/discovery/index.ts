export { describeScript } from './describe-script.js';
export { discoverScripts } from './discover-scripts.js';
export { DEFAULT_SKIP_DIRS, DEFAULT_SKIP_FILES, mergeSkipList } from './skip-lists.js';
export type { DiscoveredScript, DiscoverOptions, DiscoveryResult, DiscoveryWarning, ScriptKind } from './types.js';
