import path from 'node:path';
import picomatch from 'picomatch';

/** Whether a pattern has glob syntax (`*`, `?`, `[...]`, `{a,b}`, extglobs). */
export function isGlobPattern(pattern: string): boolean {
  return picomatch.scan(pattern).isGlob;
}

/**
 * The compiled matcher of a glob, or null for a plain path: each pattern is scanned and compiled
 * once, not once per script it is tried on (a folder of 10,000 scripts and a few rules).
 */
const matchers = new Map<string, ((text: string) => boolean) | null>();
function globMatcher(pattern: string): ((text: string) => boolean) | null {
  let matcher = matchers.get(pattern);
  if (matcher === undefined) {
    matcher = isGlobPattern(pattern) ? picomatch(pattern.replace(/^(\.\/)+/, ''), { dot: true }) : null;
    // Bounded: patterns come from config files and flags, but a long-lived library process may
    // see many.
    if (matchers.size >= 1000) matchers.clear();
    matchers.set(pattern, matcher);
  }
  return matcher;
}

function clean(text: string): string {
  return text.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

/**
 * Whether a config pattern matches a path relative to the config file's folder (POSIX separators).
 *
 * - A plain path matches whole trailing path segments: `a.py` matches `a.py` and `x/a.py` but not
 *   `x/ba.py`; `etl/load.py` matches `etl/load.py` and `sub/etl/load.py`.
 * - A glob is matched with picomatch (`dot: true`) against the whole relative path; a glob without
 *   `/` also matches the file name alone, so `*.sh` matches `deploy/run.sh`.
 *
 * Exported for reuse by discovery filters.
 */
export function matchesPattern(pattern: string, relativePath: string): boolean {
  const rel = clean(relativePath);
  const isMatch = globMatcher(pattern);
  if (isMatch !== null) return isMatch(rel) || (!pattern.includes('/') && isMatch(path.posix.basename(rel)));
  const plain = clean(pattern);
  return plain !== '' && (rel === plain || rel.endsWith(`/${plain}`));
}
