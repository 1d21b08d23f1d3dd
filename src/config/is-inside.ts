import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** Whether `target` is `root` or lies below it (both absolute). Compares the text only: see `checkInside`. */
export function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

/** How many links a path may go through before it is taken as is (the system's own limit is about 40). */
const MAX_LINKS = 40;

/**
 * `target` (absolute) with every symlink resolved. A path that does not exist yet resolves through
 * its nearest existing parent, and a dangling link through the path it points to, so a folder
 * created later behind a link is judged by where it will really be.
 */
export function realPathOf(target: string): string {
  let current = path.resolve(target);
  let rest: string[] = [];
  for (let links = 0; ; ) {
    try {
      return path.join(realpathSync.native(current), ...rest);
    } catch {
      // Missing, a dangling link or unreadable: look at the entry itself, then at its parent.
    }
    let link: string | undefined;
    try {
      if (lstatSync(current).isSymbolicLink()) link = readlinkSync(current);
    } catch {
      link = undefined;
    }
    if (link !== undefined && links < MAX_LINKS) {
      links++;
      current = path.resolve(path.dirname(current), link);
      continue;
    }
    const parent = path.dirname(current);
    if (parent === current) return path.join(current, ...rest);
    rest = [path.basename(current), ...rest];
    current = parent;
  }
}

/** Where a path lies against the project root: `outside` as written, or `link` when only a symlink takes it out. */
export type Containment = { inside: true } | { inside: false; through: 'text' | 'link'; real: string };

/**
 * Whether `target` stays inside `root` once symlinks are resolved (both absolute). Links that stay
 * inside the project are fine; one that leads outside, at any level of the path, is not.
 */
export function checkInside(root: string, target: string): Containment {
  if (!isInside(root, target)) return { inside: false, through: 'text', real: target };
  const real = realPathOf(target);
  if (isInside(realPathOf(root), real)) return { inside: true };
  return { inside: false, through: 'link', real };
}
