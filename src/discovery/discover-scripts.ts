import { statSync, type Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isInside, realPathOf } from '../config/is-inside.js';
import { compileNameMatcher, compilePatterns, type PatternMatcher } from './patterns.js';
import { KIND_BY_EXTENSION, kindFromShebang, readShebangSync, SHEBANG_BYTES } from './shebang.js';
import { DEFAULT_SKIP_DIRS, DEFAULT_SKIP_FILES } from './skip-lists.js';
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

/** Points in the walk where a test can change the tree. */
export interface DiscoveryHooks {
  /** Called with the absolute path of each folder just before it is read. */
  beforeReadDir?: (folder: string) => void | Promise<void>;
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
  readonly maxDepth: number;
  readonly skipDirs: ReadonlySet<string>;
  readonly skipFile: (name: string) => boolean;
  readonly keep: (relativePath: string, name: string) => boolean;
  readonly hooks: DiscoveryHooks;
  /** Files that passed the name checks, probed once the walk is over. */
  readonly candidates: Candidate[];
  readonly scripts: DiscoveredScript[];
  readonly warnings: DiscoveryWarning[];
}

/** Real paths of the folders from the root down to the current one, mapped to their relative paths. */
type Ancestors = ReadonlyMap<string, string>;

// Exported for testing: the hooks let a test remove a folder at an exact point of the walk, without
// sleeps or mocks.
export async function discoverWithHooks(
  folder: string,
  options: DiscoverOptions,
  hooks: DiscoveryHooks,
): Promise<DiscoveryResult> {
  if (typeof folder !== 'string' || folder === '') {
    throw new TypeError(`Expected a folder of scripts, got \`${describe(folder)}\` (${typeof folder})`);
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

  const isIncluded: PatternMatcher | undefined = include && compilePatterns(include);
  const isExcluded = compilePatterns(exclude);
  const walk: Walk = {
    root,
    boundary: projectRoot,
    // The folder being run may itself be a link out of the project: its own tree is what was asked for.
    allows: (real) => isInside(rootReal, real) || isInside(projectReal, real),
    maxDepth,
    skipDirs: new Set(skipDirs),
    skipFile: compileNameMatcher(skipFiles),
    // Exclude wins over include.
    keep: (relativePath, name) =>
      !isExcluded(relativePath, name) && (isIncluded === undefined || isIncluded(relativePath, name)),
    hooks,
    candidates: [],
    scripts: [],
    warnings: [],
  };

  if (subdirs === undefined) {
    await walkFolder(walk, root, '', 0, rootReal, new Map([[rootReal, '.']]));
  } else {
    await Promise.all([...new Set(subdirs)].map((subdir) => walkSubdir(walk, subdir, rootReal)));
  }
  await probeCandidates(walk);
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
  const depth = subdir.split('/').length;
  if (depth > walk.maxDepth) {
    warn(
      walk,
      absolute,
      `subdir "${subdir}" is ${depth} levels deep, deeper than maxDepth ${walk.maxDepth}; it was not searched`,
    );
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
  const parts = subdir.split('/');
  let real = rootReal;
  try {
    for (let length = 1; length <= parts.length; length++) {
      real = await realpath(path.join(walk.root, ...parts.slice(0, length)));
      ancestors.set(real, parts.slice(0, length).join('/'));
    }
  } catch (error) {
    warnFolderError(walk, absolute, error);
    return;
  }
  if (!walk.allows(real)) {
    warn(walk, absolute, `subdir "${subdir}" ${outsideMessage(walk, real)}`);
    return;
  }
  await walkFolder(walk, absolute, subdir, depth, real, ancestors);
}

async function walkFolder(
  walk: Walk,
  folder: string,
  relativeFolder: string,
  depth: number,
  folderReal: string,
  ancestors: Ancestors,
): Promise<void> {
  let entries;
  try {
    await walk.hooks.beforeReadDir?.(folder);
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    warnFolderError(walk, folder, error);
    return;
  }
  const pending: Promise<void>[] = [];
  for (const entry of entries) {
    // Hidden files and folders are never scripts, whatever the skip lists say.
    if (entry.name.startsWith('.')) continue;
    const absolute = path.join(folder, entry.name);
    const relativePath = relativeFolder === '' ? entry.name : `${relativeFolder}/${entry.name}`;
    if (entry.isSymbolicLink()) {
      pending.push(visitSymlink(walk, absolute, relativePath, entry.name, depth, ancestors));
    } else if (entry.isDirectory()) {
      if (entersFolder(walk, entry.name, depth + 1)) {
        const real = path.join(folderReal, entry.name);
        const below = new Map([...ancestors, [real, relativePath]]);
        pending.push(walkFolder(walk, absolute, relativePath, depth + 1, real, below));
      }
    } else if (entry.isFile()) {
      visitFile(walk, absolute, relativePath, entry.name);
    }
    // Sockets, FIFOs and devices are not scripts; opening a FIFO would block.
  }
  await Promise.all(pending);
}

async function visitSymlink(
  walk: Walk,
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
    if (!entersFolder(walk, name, depth + 1)) return;
    let real: string;
    try {
      real = await realpath(absolute);
    } catch (error) {
      warnFolderError(walk, absolute, error);
      return;
    }
    if (!walk.allows(real)) {
      warn(walk, absolute, `symlink ${outsideMessage(walk, real)}`);
      return;
    }
    const loopsTo = ancestors.get(real);
    if (loopsTo !== undefined) {
      warn(walk, absolute, `symlink loop: points back to "${loopsTo}", not followed`);
      return;
    }
    await walkFolder(walk, absolute, relativePath, depth + 1, real, new Map([...ancestors, [real, relativePath]]));
  } else if (stats.isFile()) {
    // Only a link that could be a script is resolved and judged, so a link to a data file outside
    // (no script extension, not executable) is left out quietly, as it always was.
    if (!wantsFile(walk, relativePath, name) || !mayBeScript(name, stats)) return;
    let real: string;
    try {
      real = await realpath(absolute);
    } catch (error) {
      warnLinkError(walk, absolute, error);
      return;
    }
    if (!walk.allows(real)) {
      warn(walk, absolute, `symlink ${outsideMessage(walk, real)}`);
      return;
    }
    walk.candidates.push({ absolute, relativePath, name, stats });
  }
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

function entersFolder(walk: Walk, name: string, depth: number): boolean {
  return depth <= walk.maxDepth && !walk.skipDirs.has(name) && !name.endsWith('.egg-info');
}

interface Candidate {
  absolute: string;
  relativePath: string;
  name: string;
  /** From a followed symlink; plain files are stat'ed only when the extension does not decide. */
  stats: Stats | undefined;
}

function visitFile(walk: Walk, absolute: string, relativePath: string, name: string): void {
  if (wantsFile(walk, relativePath, name)) walk.candidates.push({ absolute, relativePath, name, stats: undefined });
}

function wantsFile(walk: Walk, relativePath: string, name: string): boolean {
  // Declaration files are never scripts, even when the skip list no longer names `*.d.ts`.
  return !name.endsWith('.d.ts') && !walk.skipFile(name) && walk.keep(relativePath, name);
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
