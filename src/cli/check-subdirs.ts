import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { didYouMean } from '../config/did-you-mean.js';
import { colorsFor } from './colors.js';
import type { CliIo } from './types.js';

/**
 * The folders `--subdirs` names that are not there, each reported on stderr with a did-you-mean
 * from the folders that are; false when there was one. The library only warns about such a subdir
 * (docs/discovery.md), so a typo (`-s tset`) would run nothing and succeed: on the command line it
 * is an error. Entries the library refuses itself (absolute, outside the folder) are left to it.
 */
export async function checkSubdirs(folder: string, subdirs: readonly string[] | undefined, io: CliIo): Promise<boolean> {
  if (subdirs === undefined || subdirs.length === 0) return true;
  let ok = true;
  for (const subdir of new Set(subdirs)) {
    const normalized = path.posix.normalize(subdir.replaceAll('\\', '/')).replace(/\/+$/, '');
    if (normalized === '' || normalized === '.' || normalized === '..' || normalized.startsWith('../') || path.posix.isAbsolute(normalized)) continue;
    const problem = await subdirProblem(folder, normalized);
    if (problem === undefined) continue;
    ok = false;
    io.stderr.write(`${colorsFor(io.stderr, io).red('error:')} --subdirs "${subdir}": ${problem}\n`);
  }
  return ok;
}

/** Why `subdir` (normalized, relative to `folder`) is not a folder to search, or undefined when it is one. */
async function subdirProblem(folder: string, subdir: string): Promise<string | undefined> {
  const absolute = path.join(folder, ...subdir.split('/'));
  try {
    // Followed, as the walk follows it: a link to a folder is a folder.
    if ((await stat(absolute)).isDirectory()) return undefined;
    return `${absolute} is not a folder`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Not readable (EACCES, a link loop): the walk says what is wrong with it, as a warning.
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined;
  }
  // The deepest folder on the way that exists, and the folders in it: the suggestion replaces the
  // first part of the path that is not there.
  const parts = subdir.split('/');
  let found = 0;
  while (found < parts.length - 1 && (await isFolder(path.join(folder, ...parts.slice(0, found + 1))))) found++;
  const parent = parts.slice(0, found);
  const missing = parts[found] as string;
  const folders = await foldersIn(path.join(folder, ...parent));
  // `didYouMean` compares snake_case keys: folder names are compared in that form too (`my-etl`).
  const keys = folders.map((name) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[-\s]+/g, '_').toLowerCase());
  const key = didYouMean(missing, keys);
  const suggestion = key === undefined ? undefined : folders[keys.indexOf(key)];
  const where = path.join(folder, ...parent);
  const hint = suggestion === undefined ? '' : ` (did you mean "${[...parent, suggestion, ...parts.slice(found + 1)].join('/')}"?)`;
  return `no folder "${missing}" in ${where}${hint}`;
}

async function isFolder(absolute: string): Promise<boolean> {
  try {
    return (await stat(absolute)).isDirectory();
  } catch {
    return false;
  }
}

/** The names of the folders (or links to folders) in `absolute`; none when it cannot be read. */
async function foldersIn(absolute: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(absolute, { withFileTypes: true });
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory() || (entry.isSymbolicLink() && (await isFolder(path.join(absolute, entry.name))))) names.push(entry.name);
  }
  return names.sort();
}
