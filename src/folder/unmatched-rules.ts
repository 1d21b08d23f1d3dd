import path from 'node:path';
import { isInside } from '../config/is-inside.js';
import { formatFieldPath } from '../config/field-path.js';
import { isGlobPattern, matchesPattern } from '../config/matches-pattern.js';
import { scriptRuleLocator, skipEntryLocator, type PatternPlace } from '../config/parse-config-text.js';
import type { ConfigFile, Diagnostic } from '../config/types.js';
import type { DiscoveredScript } from '../discovery/types.js';

/** Whether `pattern` matches one of `relativePaths`; plain paths are looked up among their `suffixes`. */
function matchesAny(pattern: string, relativePaths: readonly string[], suffixes: ReadonlySet<string>): boolean {
  if (!isGlobPattern(pattern)) return pattern !== '' && suffixes.has(pattern.replace(/\\/g, '/').replace(/^(\.\/)+/, ''));
  return relativePaths.some((relative) => matchesPattern(pattern, relative));
}

/** Every trailing run of whole segments of each path (`a/b.sh` gives `a/b.sh` and `b.sh`): what a plain pattern matches. */
function suffixesOf(relativePaths: readonly string[]): Set<string> {
  const suffixes = new Set<string>();
  for (const relative of relativePaths) {
    suffixes.add(relative);
    for (let slash = relative.indexOf('/'); slash !== -1; slash = relative.indexOf('/', slash + 1)) suffixes.add(relative.slice(slash + 1));
  }
  return suffixes;
}

/**
 * Warnings for the `scripts` rules and `skip` entries of config files that match no script at all:
 * a pattern written relative to the project (`scripts/b.sh` in `scripts/orchestrator.yaml`, where
 * it must be `b.sh`) or with a stray space would otherwise be ignored without a word.
 *
 * Only files whose whole tree the walk covered are judged (not those of the folders above `root`,
 * the folder being run), and the caller skips this when the run is narrowed (`subdirs`,
 * `include`, `exclude`, a depth flag), since a rule for a script the selection left out is not a
 * mistake. `scripts` are every script the walk found, skipped ones included.
 */
export function unmatchedRuleWarnings(
  files: readonly ConfigFile[],
  scripts: readonly DiscoveredScript[],
  root: string,
  projectRoot: string,
): Diagnostic[] {
  const warnings: Diagnostic[] = [];
  // Sorted once: the scripts below a folder are then one contiguous range (found by binary search).
  const paths = scripts.map((script) => script.path).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const file of files) {
    if (file.scripts.length === 0 && file.skip.length === 0) continue;
    // The folder's own file: the walk is the one a run of its folder makes. A file further down
    // only with a `max_depth` of its own: otherwise the depth limit counts from the folder being
    // run, and scripts its rules rightly name may lie deeper than this walk went.
    if (file.dir !== root && !(file.discovery.maxDepth !== undefined && isInside(root, file.dir))) continue;
    const relativePaths = scriptsBelow(paths, file.dir).map((absolute) => path.relative(file.dir, absolute).split(path.sep).join('/'));
    let suffixes: Set<string> | undefined;
    const fileWarnings: Diagnostic[] = [];
    const judge = (
      patterns: readonly string[],
      locator: (file: ConfigFile) => ((index: number) => PatternPlace | undefined) | undefined,
      fallbackField: (index: number, pattern: string) => (string | number)[],
    ): void => {
      let locate: ReturnType<typeof locator>;
      patterns.forEach((pattern, index) => {
        suffixes ??= suffixesOf(relativePaths);
        if (matchesAny(pattern, relativePaths, suffixes)) return;
        locate ??= locator(file);
        const where = locate?.(index);
        const written = where?.written ?? pattern;
        const hint = hintFor(pattern, file.dir, projectRoot, relativePaths, suffixes);
        fileWarnings.push({
          severity: 'warning',
          file: file.path,
          line: where?.line ?? 1,
          column: where?.column ?? 1,
          field: formatFieldPath(where?.field ?? fallbackField(index, pattern)),
          message: `${JSON.stringify(written)} matches no script in ${file.dir}${hint}`,
        });
      });
    };
    judge(
      file.scripts.map((rule) => rule.pattern),
      scriptRuleLocator,
      (_index, pattern) => ['scripts', pattern],
    );
    judge(
      file.skip.map((entry) => entry.pattern),
      skipEntryLocator,
      (index) => ['skip', index],
    );
    // In the order of the file, whichever of `scripts` and `skip` comes first.
    fileWarnings.sort((a, b) => a.line - b.line || a.column - b.column);
    warnings.push(...fileWarnings);
  }
  return warnings;
}

/** The paths of `sorted` below `dir`. */
function scriptsBelow(sorted: readonly string[], dir: string): string[] {
  const prefix = dir.endsWith(path.sep) ? dir : `${dir}${path.sep}`;
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as string) < prefix) low = middle + 1;
    else high = middle;
  }
  let end = low;
  while (end < sorted.length && (sorted[end] as string).startsWith(prefix)) end++;
  return sorted.slice(low, end);
}

/** What the pattern was probably meant to be, when something close to it does match. */
function hintFor(pattern: string, dir: string, projectRoot: string, relativePaths: readonly string[], suffixes: ReadonlySet<string>): string {
  const trimmed = pattern.trim();
  if (trimmed !== pattern && trimmed !== '' && matchesAny(trimmed, relativePaths, suffixes)) {
    return `; it has spaces at its start or end, without which it would match (write ${JSON.stringify(trimmed)})`;
  }
  // Read relative to a parent folder (the project root, say) instead of the file's own.
  for (let parent = path.dirname(dir), child = dir; parent !== child && isInside(projectRoot, parent); child = parent, parent = path.dirname(parent)) {
    const target = path.resolve(parent, pattern);
    const relative = path.relative(dir, target);
    if (relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative)) {
      const meant = relative.split(path.sep).join('/');
      if (matchesAny(meant, relativePaths, suffixes)) {
        return `; patterns are relative to the folder of the config file, and this one would match relative to ${parent} (write ${JSON.stringify(meant)})`;
      }
    }
  }
  return '';
}
