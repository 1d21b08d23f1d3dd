import { statSync, type Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isInside, realPathOf } from '../config/is-inside.js';
import { compileNameMatcher, compilePatterns, type PatternMatcher } from './patterns.js';
import { KIND_BY_EXTENSION, kindFromShebang, readShebangSync, SHEBANG_BYTES } from './shebang.js';
import { DEFAULT_SKIP_DIRS, DEFAULT_SKIP_FILES, mergeSkipList } from './skip-lists.js';
import type {
  DiscoveredScript,
  DiscoverOptions,
  DiscoveryResult,
  DiscoveryWarning,
} from './types.js';


/**
 * Files probed (stat, read the first bytes) per event-loop turn. Probes are synchronous (see
 * `readShebangSync`); a batch of this size takes a few milliseconds, so a server that calls discovery
 * stays responsive.
 */
const PROBE_BATCH = 128;

/**
 * Rules for one folder's subtree, given by a caller while the walk is under way: how config files in
 * subfolders change discovery below themselves (see `DiscoveryHooks.folderRules`).
 */
export interface FolderRules {
  /** Levels searched below this folder (0: its own files only), replacing the limit from above. */
  maxDepth?: number;
  /** Added to the inherited skip list for this subtree; `!name` removes an entry (as `mergeSkipList`). */
  skipDirs?: readonly string[];
  /** Added to the inherited skip list for this subtree; `!name` removes an entry (as `mergeSkipList`). */
  skipFiles?: readonly string[];
  /**
   * Pattern lists as for `include`/`exclude`, each matched against the script's path relative to
   * `base`: this folder or one of its parents (a config file above the discovered folder).
   */
  patterns?: readonly { base: string; include?: readonly string[]; exclude?: readonly string[] }[];
}

/** Points in the walk where a caller can step in: folder runs read nested config files, tests change the tree. */
export interface DiscoveryHooks {
  /** Called with the absolute path of each folder just before it is read. */
  beforeReadDir?: (folder: string) => void | Promise<void>;
  /**
   * Called once for each folder the walk enters, the root included, with the names in it, before any
   * of them is looked at. The rules it returns apply to that folder and everything below it, on top
   * of the rules inherited from above. The names let a caller look for a file without a stat of its own.
   */
  folderRules?: (folder: {
    path: string;
    /** Relative to the discovered folder, `/` separators; `''` for the root itself. */
    relativePath: string;
    names: readonly string[];
  }) => FolderRules | undefined | Promise<FolderRules | undefined>;
  /** `false`: only walk (for callers that want `folderRules` calls and no scripts); `scripts` is empty. @default true */
  probe?: boolean;
}

/**
 * Finds the scripts in a folder: files with a script extension, and executable files that start with
 * a shebang. It never runs anything: it reads folders, stats files and reads at most the first 256
 * bytes of each script. Symlinks are followed only when their real path stays inside the folder (or
 * `projectRoot`). Odd entries (broken symlinks, symlink loops, symlinks that lead outside, unreadable
 * or vanished folders) become warnings. The scripts are sorted by relative path.
 *
 * @throws {TypeError} When `folder` does not exist or is not a folder, or an option is invalid.
 * @example
 * const { scripts, warnings } = await discoverScripts('scripts', { maxDepth: 1, exclude: ['test_*'] });
 * @see ../../docs/discovery.md
 */
export async function discoverScripts(folder: string, options: DiscoverOptions = {}): Promise<DiscoveryResult> {
  return discoverWithHooks(folder, options, {});
}

interface Walk {
  readonly root: string;
  /** Where symlinks may lead, as given (for messages): the project root, or else the root. */
  readonly boundary: string;
  /** Whether a real path is one a symlink may lead to. */
  readonly allows: (real: string) => boolean;
  /** The rules from the options, before any `folderRules`. */
  readonly rootScope: Scope;
  /** Each folder's rules by absolute path, so overlapping subdirs ask `folderRules` once per folder. */
  readonly scopes: Map<string, Promise<Scope>>;
  readonly hooks: DiscoveryHooks;
  /** Files that passed the name checks, probed once the walk is over. */
  readonly candidates: Candidate[];
  readonly scripts: DiscoveredScript[];
  readonly warnings: DiscoveryWarning[];
}

/** Real paths of the folders from the root down to the current one, mapped to their relative paths. */
type Ancestors = ReadonlyMap<string, string>;

/** The rules in force in one folder; its subfolders inherit them unless `folderRules` adds some. */
interface Scope {
  /** Deepest level searched, counted from the root (the root's files are level 0). */
  readonly depthLimit: number;
  readonly skipDirList: readonly string[];
  readonly skipDirs: ReadonlySet<string>;
  readonly skipFileList: readonly string[];
  readonly skipFile: (name: string) => boolean;
  /** A script is kept when no exclude list matches and, if there are include lists, one of them does. */
  readonly includes: readonly ScopedPatterns[];
  readonly excludes: readonly ScopedPatterns[];
}

interface ScopedPatterns {
  readonly matches: PatternMatcher;
  /** The script's path (relative to the root) as the patterns see it: relative to their own base. */
  readonly local: (relativePath: string) => string;
}

const SAME_PATH = (relativePath: string): string => relativePath;

// Exported for folder runs, which read config files in subfolders through `folderRules`, and for
// testing: `beforeReadDir` lets a test remove a folder at an exact point of the walk, without sleeps
// or mocks.
export async function discoverWithHooks(
  folder: string,
  options: DiscoverOptions,
  hooks: DiscoveryHooks,
): Promise<DiscoveryResult> {
  if (typeof folder !== 'string' || folder === '') {
    throw new TypeError(`Expected a folder of scripts, got \`${describe(folder)}\` (${typeof folder})`);
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`Expected the options of discoverScripts() to be an object, got \`${describe(options)}\` (${options === null ? 'null' : typeof options})`);
  }
  const maxDepth = options.maxDepth ?? 2;
  if (typeof maxDepth !== 'number' || !(Number.isInteger(maxDepth) || maxDepth === Infinity) || maxDepth < 0) {
    throw new TypeError(
      'Expected the `maxDepth` option to be a non-negative integer or Infinity, ' +
        `got \`${describe(maxDepth)}\` (${typeof maxDepth})`,
    );
  }
  const include = stringList('include', options.include);
  const exclude = stringList('exclude', options.exclude) ?? [];
  const subdirs = stringList('subdirs', options.subdirs)?.map(normalizeSubdir);
  const skipDirs = stringList('skipDirs', options.skipDirs) ?? DEFAULT_SKIP_DIRS;
  const skipFiles = stringList('skipFiles', options.skipFiles) ?? DEFAULT_SKIP_FILES;
  const projectRootOption: unknown = options.projectRoot;
  if (projectRootOption !== undefined && (typeof projectRootOption !== 'string' || projectRootOption === '')) {
    throw new TypeError(
      `Expected the \`projectRoot\` option to be a folder path, got \`${describe(projectRootOption)}\` (${typeof projectRootOption})`,
    );
  }

  const root = path.resolve(folder);
  const projectRoot = projectRootOption === undefined ? root : path.resolve(projectRootOption);
  if (!isInside(projectRoot, root)) {
    throw new TypeError(
      `Expected the \`projectRoot\` option to be "${root}" or one of its parents, got \`${projectRootOption}\` (string)`,
    );
  }
  await assertFolder(folder, root);
  const rootReal = await realpath(root);
  const projectReal = projectRoot === root ? rootReal : realPathOf(projectRoot);

  const walk: Walk = {
    root,
    boundary: projectRoot,
    // The folder being run may itself be a link out of the project: its own tree is what was asked for.
    allows: (real) => isInside(rootReal, real) || isInside(projectReal, real),
    rootScope: {
      depthLimit: maxDepth,
      skipDirList: skipDirs,
      skipDirs: new Set(skipDirs),
      skipFileList: skipFiles,
      skipFile: compileNameMatcher(skipFiles),
      // An empty `include` keeps nothing, as it always did.
      includes: include === undefined ? [] : [{ matches: compilePatterns(include), local: SAME_PATH }],
      excludes: exclude.length === 0 ? [] : [{ matches: compilePatterns(exclude), local: SAME_PATH }],
    },
    scopes: new Map(),
    hooks,
    candidates: [],
    scripts: [],
    warnings: [],
  };

  if (subdirs === undefined) {
    await walkFolder(walk, root, '', 0, rootReal, new Map([[rootReal, '.']]), walk.rootScope);
  } else {
    await Promise.all([...new Set(subdirs)].map((subdir) => walkSubdir(walk, subdir, rootReal)));
  }
  if (hooks.probe !== false) await probeCandidates(walk);
  return {
    scripts: uniqueSorted(walk.scripts, (script) => script.relativePath),
    warnings: uniqueSorted(walk.warnings, (warning) => `${warning.path}\0${warning.message}`),
  };
}

async function assertFolder(folder: string, root: string): Promise<void> {
  let stats: Stats;
  try {
    stats = await stat(root);
  } catch (error) {
    const code = errorCode(error);
    const reason =
      code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read: ${code ?? String(error)}`;
    throw new TypeError(`Expected a folder of scripts, got "${folder}" (${reason})`, { cause: error });
  }
  if (!stats.isDirectory()) {
    throw new TypeError(`Expected a folder of scripts, got "${folder}" (not a folder)`);
  }
}

async function walkSubdir(walk: Walk, subdir: string, rootReal: string): Promise<void> {
  const absolute = path.join(walk.root, ...subdir.split('/'));
  const parts = subdir.split('/');
  const depth = parts.length;
  // Without folderRules the limit is known before anything is read, and a subdir that is too deep is
  // reported as such even when it does not exist.
  if (walk.hooks.folderRules === undefined && depth > walk.rootScope.depthLimit) {
    warnTooDeep(walk, absolute, subdir, walk.rootScope.depthLimit);
    return;
  }
  try {
    const stats = await stat(absolute);
    if (!stats.isDirectory()) {
      warn(walk, absolute, `subdir "${subdir}" is not a folder`);
      return;
    }
  } catch (error) {
    const code = errorCode(error);
    if (code === undefined) throw error;
    const missing = code === 'ENOENT' || code === 'ENOTDIR';
    warn(walk, absolute, missing ? `subdir "${subdir}" does not exist` : `subdir "${subdir}" cannot be read (${code})`);
    return;
  }
  // Seed the loop check with every folder between the root and the subdir, so a link back to any of
  // them is caught.
  const ancestors = new Map([[rootReal, '.']]);
  const reals = [rootReal];
  let real = rootReal;
  try {
    for (let length = 1; length <= parts.length; length++) {
      real = await realpath(path.join(walk.root, ...parts.slice(0, length)));
      ancestors.set(real, parts.slice(0, length).join('/'));
      reals.push(real);
    }
  } catch (error) {
    warnFolderError(walk, absolute, error);
    return;
  }
  if (!walk.allows(real)) {
    warn(walk, absolute, `subdir "${subdir}" ${outsideMessage(walk, real)}`);
    return;
  }
  // The folders between the root and the subdir are not searched, but their rules (nested config
  // files) apply below them all the same: the subdir gets the rules a full walk would give it.
  let scope = walk.rootScope;
  const { folderRules } = walk.hooks;
  for (let length = 0; folderRules !== undefined && length < parts.length; length++) {
    // A folder on the way that is a link out of the project lends the subdir nothing.
    if (!walk.allows(reals[length] ?? rootReal)) continue;
    const folder = path.join(walk.root, ...parts.slice(0, length));
    scope = await scopeFor(walk, folderRules, folder, parts.slice(0, length).join('/'), length, scope, () => namesIn(folder));
  }
  if (depth > scope.depthLimit) {
    warnTooDeep(walk, absolute, subdir, scope.depthLimit);
    return;
  }
  await walkFolder(walk, absolute, subdir, depth, real, ancestors, scope);
}

function warnTooDeep(walk: Walk, absolute: string, subdir: string, limit: number): void {
  const depth = subdir.split('/').length;
  warn(walk, absolute, `subdir "${subdir}" is ${depth} levels deep, deeper than maxDepth ${limit}; it was not searched`);
}

async function namesIn(folder: string): Promise<string[]> {
  try {
    return await readdir(folder);
  } catch {
    // Whatever went wrong is reported when the walk reaches the folder (or the subdir below it).
    return [];
  }
}

/**
 * The rules of one folder: its parent's, plus what `folderRules` says for it. Asked once per folder
 * path; `names` is only called when the folder has not been seen yet.
 */
function scopeFor(
  walk: Walk,
  folderRules: NonNullable<DiscoveryHooks['folderRules']>,
  folder: string,
  relativeFolder: string,
  depth: number,
  parent: Scope,
  names: () => readonly string[] | Promise<readonly string[]>,
): Promise<Scope> {
  let scope = walk.scopes.get(folder);
  if (scope === undefined) {
    scope = (async () => {
      const rules = await folderRules({
        path: folder,
        relativePath: relativeFolder,
        names: await names(),
      });
      return rules === undefined ? parent : applyRules(walk, parent, rules, folder, depth);
    })();
    walk.scopes.set(folder, scope);
  }
  return scope;
}

function applyRules(walk: Walk, parent: Scope, rules: FolderRules, folder: string, depth: number): Scope {
  const skipDirList =
    rules.skipDirs === undefined || rules.skipDirs.length === 0 ? parent.skipDirList : mergeSkipList(parent.skipDirList, rules.skipDirs);
  const skipFileList =
    rules.skipFiles === undefined || rules.skipFiles.length === 0
      ? parent.skipFileList
      : mergeSkipList(parent.skipFileList, rules.skipFiles);
  const includes = [...parent.includes];
  const excludes = [...parent.excludes];
  for (const { base, include, exclude } of rules.patterns ?? []) {
    const local = localPath(walk.root, folder, base);
    // An empty list sets nothing: `include: []` in a config file does not mean "keep nothing".
    if (include !== undefined && include.length > 0) includes.push({ matches: compilePatterns(include), local });
    if (exclude !== undefined && exclude.length > 0) excludes.push({ matches: compilePatterns(exclude), local });
  }
  return {
    depthLimit: rules.maxDepth === undefined ? parent.depthLimit : depth + rules.maxDepth,
    skipDirList,
    skipDirs: skipDirList === parent.skipDirList ? parent.skipDirs : new Set(skipDirList),
    skipFileList,
    skipFile: skipFileList === parent.skipFileList ? parent.skipFile : compileNameMatcher(skipFileList),
    includes,
    excludes,
  };
}

/** Turns a path relative to the root into one relative to `base`, which is `folder` or one of its parents. */
function localPath(root: string, folder: string, base: string): (relativePath: string) => string {
  const resolved = path.resolve(base);
  if (!isInside(resolved, folder)) {
    throw new TypeError(`Expected the \`base\` of folder rules to be "${folder}" or one of its parents, got "${base}"`);
  }
  if (isInside(root, resolved)) {
    const prefix = path.relative(root, resolved).split(path.sep).join('/');
    // Rules only ever apply below their own folder, so every path they see starts with the prefix.
    return prefix === '' ? SAME_PATH : (relativePath) => relativePath.slice(prefix.length + 1);
  }
  const prefix = path.relative(resolved, root).split(path.sep).join('/');
  return (relativePath) => `${prefix}/${relativePath}`;
}

async function walkFolder(
  walk: Walk,
  folder: string,
  relativeFolder: string,
  depth: number,
  folderReal: string,
  ancestors: Ancestors,
  parentScope: Scope,
): Promise<void> {
  let entries;
  try {
    await walk.hooks.beforeReadDir?.(folder);
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    warnFolderError(walk, folder, error);
    return;
  }
  const listed = entries;
  const { folderRules } = walk.hooks;
  const scope =
    folderRules === undefined
      ? parentScope
      : await scopeFor(walk, folderRules, folder, relativeFolder, depth, parentScope, () => listed.map((entry) => entry.name));
  const pending: Promise<void>[] = [];
  for (const entry of entries) {
    // Hidden files and folders are never scripts, whatever the skip lists say.
    if (entry.name.startsWith('.')) continue;
    const absolute = path.join(folder, entry.name);
    const relativePath = relativeFolder === '' ? entry.name : `${relativeFolder}/${entry.name}`;
    if (entry.isSymbolicLink()) {
      pending.push(visitSymlink(walk, scope, absolute, relativePath, entry.name, depth, ancestors));
    } else if (entry.isDirectory()) {
      if (entersFolder(scope, entry.name, depth + 1)) {
        const real = path.join(folderReal, entry.name);
        const below = new Map([...ancestors, [real, relativePath]]);
        pending.push(walkFolder(walk, absolute, relativePath, depth + 1, real, below, scope));
      }
    } else if (entry.isFile()) {
      visitFile(walk, scope, absolute, relativePath, entry.name);
    }
    // Sockets, FIFOs and devices are not scripts; opening a FIFO would block.
  }
  await Promise.all(pending);
}

async function visitSymlink(
  walk: Walk,
  scope: Scope,
  absolute: string,
  relativePath: string,
  name: string,
  depth: number,
  ancestors: Ancestors,
): Promise<void> {
  let stats: Stats;
  try {
    stats = await stat(absolute);
  } catch (error) {
    warnLinkError(walk, absolute, error);
    return;
  }
  if (stats.isDirectory()) {
    if (!entersFolder(scope, name, depth + 1)) return;
    const real = await realInside(walk, absolute, warnFolderError);
    if (real === undefined) return;
    const loopsTo = ancestors.get(real);
    if (loopsTo !== undefined) {
      warn(walk, absolute, `symlink loop: points back to "${loopsTo}", not followed`);
      return;
    }
    await walkFolder(walk, absolute, relativePath, depth + 1, real, new Map([...ancestors, [real, relativePath]]), scope);
  } else if (stats.isFile()) {
    // Only a link that could be a script is resolved and judged, so a link to a data file outside
    // (no script extension, not executable) is left out quietly, as it always was.
    if (!wantsFile(scope, relativePath, name) || !mayBeScript(name, stats)) return;
    if ((await realInside(walk, absolute, warnLinkError)) === undefined) return;
    walk.candidates.push({ absolute, relativePath, name, stats });
  }
}

/**
 * A link's real path when links may lead there; otherwise undefined, with a warning (outside the
 * boundary, or `onError`'s when it cannot be resolved).
 */
async function realInside(
  walk: Walk,
  absolute: string,
  onError: (walk: Walk, path: string, error: unknown) => void,
): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(absolute);
  } catch (error) {
    onError(walk, absolute, error);
    return undefined;
  }
  if (walk.allows(real)) return real;
  warn(walk, absolute, `symlink ${outsideMessage(walk, real)}`);
  return undefined;
}

function outsideMessage(walk: Walk, real: string): string {
  return `points outside "${walk.boundary}" (to "${real}"), not followed`;
}

function warnLinkError(walk: Walk, link: string, error: unknown): void {
  const code = errorCode(error);
  if (code === 'ENOENT' || code === 'ENOTDIR') warn(walk, link, 'broken symlink: its target does not exist');
  else if (code === 'ELOOP') warn(walk, link, 'symlink loop: the link cannot be resolved (ELOOP)');
  else if (code !== undefined) warn(walk, link, `symlink cannot be followed (${code})`);
  else throw error;
}

function entersFolder(scope: Scope, name: string, depth: number): boolean {
  return depth <= scope.depthLimit && !scope.skipDirs.has(name) && !name.endsWith('.egg-info');
}

interface Candidate {
  absolute: string;
  relativePath: string;
  name: string;
  /** From a followed symlink; plain files are stat'ed only when the extension does not decide. */
  stats: Stats | undefined;
}

function visitFile(walk: Walk, scope: Scope, absolute: string, relativePath: string, name: string): void {
  if (wantsFile(scope, relativePath, name)) walk.candidates.push({ absolute, relativePath, name, stats: undefined });
}

function wantsFile(scope: Scope, relativePath: string, name: string): boolean {
  // Declaration files are never scripts, even when the skip list no longer names `*.d.ts`.
  return !name.endsWith('.d.ts') && !scope.skipFile(name) && keeps(scope, relativePath, name);
}

function keeps(scope: Scope, relativePath: string, name: string): boolean {
  // Exclude wins over include.
  if (scope.excludes.some((patterns) => patterns.matches(patterns.local(relativePath), name))) return false;
  return scope.includes.length === 0 || scope.includes.some((patterns) => patterns.matches(patterns.local(relativePath), name));
}

/** The test `probeCandidate` applies before reading: a script extension, or an executable file. */
function mayBeScript(name: string, stats: Stats): boolean {
  return KIND_BY_EXTENSION.has(path.extname(name)) || (stats.mode & 0o111) !== 0;
}

async function probeCandidates(walk: Walk): Promise<void> {
  const buffer = Buffer.alloc(SHEBANG_BYTES);
  for (let start = 0; start < walk.candidates.length; start += PROBE_BATCH) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    for (const candidate of walk.candidates.slice(start, start + PROBE_BATCH)) {
      probeCandidate(walk, candidate, buffer);
    }
  }
}

function probeCandidate(walk: Walk, { absolute, relativePath, name, stats }: Candidate, buffer: Buffer): void {
  const byExtension = KIND_BY_EXTENSION.get(path.extname(name));
  let shebang: string | undefined;
  try {
    if (byExtension === undefined) {
      const known = stats ?? statSync(absolute);
      // Without a script extension, only an executable (any x bit) file can be a script.
      if (!known.isFile() || (known.mode & 0o111) === 0) return;
    }
    shebang = readShebangSync(absolute, buffer);
  } catch (error) {
    const code = errorCode(error);
    if (code === undefined) throw error;
    const message = code === 'ENOENT' ? 'file vanished while it was being read' : `file cannot be read (${code})`;
    warn(walk, absolute, message);
    return;
  }
  if (byExtension === undefined && shebang === undefined) return;
  const kind = byExtension ?? (shebang === undefined ? undefined : kindFromShebang(shebang)) ?? 'executable';
  const script: DiscoveredScript = {
    path: absolute,
    relativePath,
    name,
    group: path.posix.dirname(relativePath),
    kind,
  };
  if (shebang !== undefined) script.shebang = shebang;
  walk.scripts.push(script);
}

function warnFolderError(walk: Walk, folder: string, error: unknown): void {
  const code = errorCode(error);
  if (code === undefined) throw error;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    warn(walk, folder, `folder vanished while it was being searched (${code})`);
    return;
  }
  if (code === 'EACCES' || code === 'EPERM') warn(walk, folder, `folder cannot be read (${code})`);
  else warn(walk, folder, `folder cannot be searched (${code})`);
}

function warn(walk: Walk, warningPath: string, message: string): void {
  walk.warnings.push({ path: warningPath, message });
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

function stringList(option: string, value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new TypeError(
      `Expected the \`${option}\` option to be an array of strings, got \`${describe(value)}\` (${typeof value})`,
    );
  }
  return value;
}

function describe(value: unknown): string {
  try {
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    return typeof value;
  }
}

function normalizeSubdir(subdir: string): string {
  const normalized = path.posix.normalize(subdir.replaceAll('\\', '/')).replace(/\/+$/, '');
  const outside = normalized === '..' || normalized.startsWith('../') || path.posix.isAbsolute(normalized);
  if (outside || normalized === '.' || normalized === '') {
    throw new TypeError(
      `Expected the \`subdirs\` option to name folders inside the discovered folder, got \`${subdir}\` (string)`,
    );
  }
  return normalized;
}

/** Sorts by key with a plain code-unit comparison (the same on every machine and locale) and drops repeats. */
function uniqueSorted<T>(items: readonly T[], key: (item: T) => string): T[] {
  const keyed = items.map((item) => ({ item, key: key(item) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed
    .filter((entry, index) => index === 0 || keyed[index - 1]?.key !== entry.key)
    .map((entry) => entry.item);
}
