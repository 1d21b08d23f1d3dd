import picomatch from 'picomatch';

const GLOB_CHARACTERS = /[*?[\]{}!]/;

/** Tells whether a script (by relative path and file name) matches any of a list of patterns. */
export type PatternMatcher = (relativePath: string, name: string) => boolean;

/**
 * Compiles `include`/`exclude` patterns. A pattern with glob characters (`*?[]{}!`) is a picomatch
 * glob: on the relative path when it has a `/`, on the file name otherwise. A pattern without glob
 * characters matches as a substring of the relative path, like the older Python tool's `--filter`.
 */
export function compilePatterns(patterns: readonly string[]): PatternMatcher {
  const nameGlobs: string[] = [];
  const pathGlobs: string[] = [];
  const substrings: string[] = [];
  for (const pattern of patterns) {
    if (!GLOB_CHARACTERS.test(pattern)) substrings.push(pattern);
    else if (pattern.includes('/')) pathGlobs.push(pattern);
    else nameGlobs.push(pattern);
  }
  // Name globs are matched against the name rather than through picomatch's `basename` option: that
  // option only falls back to the name when the whole path fails, which turns `!*.py` into "anything
  // in a subfolder".
  const matchName = globMatcher(nameGlobs);
  const matchPath = globMatcher(pathGlobs);
  return (relativePath, name) =>
    matchName(name) || matchPath(relativePath) || substrings.some((part) => relativePath.includes(part));
}

/** A matcher for file names against names or name globs (used for skip lists). */
export function compileNameMatcher(patterns: readonly string[]): (name: string) => boolean {
  const exact = new Set(patterns.filter((pattern) => !GLOB_CHARACTERS.test(pattern)));
  const matchGlob = globMatcher(patterns.filter((pattern) => GLOB_CHARACTERS.test(pattern)));
  return (name) => exact.has(name) || matchGlob(name);
}

function globMatcher(globs: readonly string[]): (input: string) => boolean {
  if (globs.length === 0) return () => false;
  // `dot` so that `**/*.sh` also matches inside a hidden folder the caller asked for through `subdirs`.
  return picomatch(globs as string[], { dot: true });
}
