import path from 'node:path';
import { isInside } from './is-inside.js';
import { isGlobPattern, matchesPattern } from './matches-pattern.js';
import type { ConfigFile, LoadedConfig, ScriptConfig, ScriptRule } from './types.js';
import { expectPathArgument } from '../api/check-options.js';
import { describeValue } from '../dsl/step-options.js';

function merge(target: ScriptConfig, source: ScriptConfig): void {
  const { env, skip: _skip, skipReason: _skipReason, ...rest } = source;
  // Lists and scalars replace; only env merges key by key.
  for (const [key, value] of Object.entries(rest) as [keyof typeof rest, unknown][]) {
    if (value !== undefined) Object.assign(target, { [key]: Array.isArray(value) ? [...(value as unknown[])] : value });
  }
  if (env !== undefined) target.env = { ...target.env, ...env };
}

/** The file's `scripts` rules that match, least specific first. */
function matchingRules(file: ConfigFile, relativePath: string): ScriptRule[] {
  const globs: ScriptRule[] = [];
  const suffixes: ScriptRule[] = [];
  const exact: ScriptRule[] = [];
  for (const rule of file.scripts) {
    if (!matchesPattern(rule.pattern, relativePath)) continue;
    if (isGlobPattern(rule.pattern)) globs.push(rule);
    else if (rule.pattern === relativePath) exact.push(rule);
    else suffixes.push(rule);
  }
  const segments = (rule: ScriptRule) => rule.pattern.split('/').length;
  suffixes.sort((a, b) => segments(a) - segments(b) || a.pattern.length - b.pattern.length);
  return [...globs, ...suffixes, ...exact];
}

/**
 * The settings for one script: the camelCase twin of the Python `get_script_config(script_path,
 * scripts_dir, global_config)`. `scriptPath` is absolute or relative to `scriptsDir`. A config file
 * applies only to scripts inside its own folder, and its patterns are matched against the path
 * relative to that folder.
 *
 * Precedence, later wins (env merges key by key, lists replace):
 * 1. `defaults` of each file, root-most first;
 * 2. (CLI flags such as `--timeout`, applied by the caller between 1 and 3);
 * 3. matching `scripts` rules of each file, root-most first; within a file globs (in file order),
 *    then plain paths matching as a suffix (fewer segments first), then the exact relative path;
 * 4. skip: a matching `skip` entry or `scripts` rule with `skip: true` skips the script, and no
 *    rule can un-skip it. With several, the reason is the first one: `scripts` rules in the order
 *    above, then `skip` entries, root-most file first.
 *
 * In short: defaults < CLI flags < scripts rules < skip.
 * @see docs/config.md
 */
export function getScriptConfig(scriptPath: string, scriptsDir: string, config: LoadedConfig): ScriptConfig {
  expectPathArgument(scriptPath, 'the script of getScriptConfig()');
  expectPathArgument(scriptsDir, 'the scripts folder of getScriptConfig()');
  if (typeof config !== 'object' || config === null || !Array.isArray((config as Partial<LoadedConfig>).files)) {
    throw new TypeError(`Expected the config of getScriptConfig() to be what loadConfig() returns, got ${describeValue(config)}`);
  }
  const absolute = path.resolve(scriptsDir, scriptPath);
  const applicable: { file: ConfigFile; relativePath: string }[] = [];
  for (const file of config.files) {
    const relative = path.relative(file.dir, absolute);
    if (relative === '' || !isInside(file.dir, absolute)) continue;
    applicable.push({ file, relativePath: relative.split(path.sep).join('/') });
  }

  const result: ScriptConfig = {};
  const skipReasons: string[] = [];
  for (const { file } of applicable) merge(result, file.defaults);
  for (const { file, relativePath } of applicable) {
    for (const rule of matchingRules(file, relativePath)) {
      merge(result, rule.config);
      if (rule.config.skip === true) skipReasons.push(rule.config.skipReason ?? `skip: true in scripts.${rule.pattern}`);
    }
  }
  for (const { file, relativePath } of applicable) {
    for (const entry of file.skip) {
      if (matchesPattern(entry.pattern, relativePath)) skipReasons.push(entry.reason);
    }
  }
  const [reason] = skipReasons;
  if (reason !== undefined) {
    result.skip = true;
    result.skipReason = reason;
  }
  return result;
}
