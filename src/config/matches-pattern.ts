import path from 'node:path';
import picomatch from 'picomatch';

/** Whether a pattern has glob syntax (`*`, `?`, `[...]`, `{a,b}`, extglobs). */
export function isGlobPattern(pattern: string): boolean {
  return picomatch.scan(pattern).isGlob;
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
  if (isGlobPattern(pattern)) {
    const isMatch = picomatch(pattern.replace(/^(\.\/)+/, ''), { dot: true });
    return isMatch(rel) || (!pattern.includes('/') && isMatch(path.posix.basename(rel)));
  }
  const plain = clean(pattern);
  return plain !== '' && (rel === plain || rel.endsWith(`/${plain}`));
}
