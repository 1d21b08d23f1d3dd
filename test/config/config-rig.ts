import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A temporary project folder for one test: real files, removed by `cleanup()`. */
export interface ConfigRig {
  /** Absolute path of the temporary folder (symlinks resolved). */
  readonly root: string;
  /** Absolute path of `relative` inside the rig. */
  path(relative: string): string;
  /** Writes `text` to `relative`, creating folders; returns the absolute path. */
  write(relative: string, text: string): Promise<string>;
  /** Creates a folder (and its parents); returns the absolute path. */
  mkdir(relative: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function createConfigRig(): Promise<ConfigRig> {
  // realpath: on some systems the temp folder is behind a symlink and paths are compared as text.
  const root = await realpath(await mkdtemp(path.join(os.tmpdir(), 'orchestrator-config-')));
  const resolve = (relative: string) => path.join(root, relative);
  return {
    root,
    path: resolve,
    async write(relative, text) {
      const file = resolve(relative);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, text);
      return file;
    },
    async mkdir(relative) {
      const dir = resolve(relative);
      await mkdir(dir, { recursive: true });
      return dir;
    },
    async cleanup() {
      await rm(root, { recursive: true, force: true });
    },
  };
}
