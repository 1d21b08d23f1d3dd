import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A temporary folder that a test fills with real files; `remove()` deletes it. */
export interface TempTree {
  root: string;
  /** Writes a file (parents created). `mode` defaults to 0o644. */
  file(relativePath: string, content?: string, mode?: number): Promise<string>;
  folder(relativePath: string): Promise<string>;
  /** Creates a symlink at `relativePath` pointing at `target` (written as given). */
  link(relativePath: string, target: string): Promise<string>;
  remove(): Promise<void>;
}

export async function createTempTree(): Promise<TempTree> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'discovery-test-'));
  const resolve = (relativePath: string) => path.join(root, ...relativePath.split('/'));
  return {
    root,
    async file(relativePath, content = '', mode = 0o644) {
      const absolute = resolve(relativePath);
      await mkdir(path.dirname(absolute), { recursive: true });
      await writeFile(absolute, content, { mode });
      return absolute;
    },
    async folder(relativePath) {
      const absolute = resolve(relativePath);
      await mkdir(absolute, { recursive: true });
      return absolute;
    },
    async link(relativePath, target) {
      const absolute = resolve(relativePath);
      await mkdir(path.dirname(absolute), { recursive: true });
      await symlink(target, absolute);
      return absolute;
    },
    async remove() {
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Writes each path as an empty file. */
export async function writeFiles(tree: TempTree, relativePaths: readonly string[]): Promise<void> {
  await Promise.all(relativePaths.map((relativePath) => tree.file(relativePath)));
}
