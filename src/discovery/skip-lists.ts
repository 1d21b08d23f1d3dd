/**
 * Folder names that discovery never enters. Folders whose name ends in `.egg-info` and hidden folders
 * (name starts with `.`) are skipped as well, whatever the list says.
 * @see ../../docs/discovery.md
 */
export const DEFAULT_SKIP_DIRS: readonly string[] = Object.freeze([
  'node_modules',
  '.git',
  '__pycache__',
  'venv',
  '.venv',
  'build',
  'dist',
  'output',
  '.pytest_cache',
  '.mypy_cache',
  '.tox',
  '.orchestrator',
]);

/**
 * File names (or globs on the file name) that discovery never returns. Hidden files are skipped as
 * well, whatever the list says.
 * @see ../../docs/discovery.md
 */
export const DEFAULT_SKIP_FILES: readonly string[] = Object.freeze([
  '__init__.py',
  'conftest.py',
  'setup.py',
  '_orchestrator_utils.py',
  'run_all_scripts.py',
  '*.d.ts',
  '*.config.js',
  '*.config.mjs',
  '*.config.cjs',
  '*.config.ts',
]);

/**
 * Applies a config file's additions to a skip list: `name` adds an entry, `!name` removes one.
 * Entries are applied in order, so a later entry wins over an earlier one. The inputs are not changed.
 *
 * @example
 * mergeSkipList(DEFAULT_SKIP_DIRS, ['fixtures', '!build']);
 * // every default except 'build', then 'fixtures'
 */
export function mergeSkipList(defaults: readonly string[], additions: readonly string[]): string[] {
  assertStringArray('defaults', defaults);
  assertStringArray('additions', additions);
  const merged = [...defaults];
  for (const entry of additions) {
    if (entry.startsWith('!')) {
      const name = entry.slice(1);
      for (let index = merged.indexOf(name); index !== -1; index = merged.indexOf(name)) {
        merged.splice(index, 1);
      }
    } else if (entry !== '' && !merged.includes(entry)) {
      merged.push(entry);
    }
  }
  return merged;
}

function assertStringArray(name: string, value: unknown): asserts value is readonly string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new TypeError(
      `Expected the \`${name}\` argument to be an array of strings, got \`${String(value)}\` (${typeof value})`,
    );
  }
}
