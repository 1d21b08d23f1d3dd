import { access } from 'node:fs/promises';
import path from 'node:path';

/** Files or folders that mark a project root. */
export const PROJECT_ROOT_MARKERS = ['.git', 'package.json', 'pyproject.toml'] as const;

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * The nearest folder, `folder` itself included, that holds `.git`, `package.json` or
 * `pyproject.toml`; `folder` itself when no parent does. Config lookup stops there.
 */
export async function findProjectRoot(folder: string): Promise<string> {
  const start = path.resolve(folder);
  for (let dir = start; ; dir = path.dirname(dir)) {
    for (const marker of PROJECT_ROOT_MARKERS) {
      if (await exists(path.join(dir, marker))) return dir;
    }
    if (path.dirname(dir) === dir) return start;
  }
}
