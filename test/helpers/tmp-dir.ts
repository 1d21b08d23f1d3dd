import { mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Makes a fresh temporary folder for one test. The path is resolved through symlinks so it can be
 * compared with paths that child processes report (`pwd`, `/proc/<pid>/cwd`).
 */
export async function makeTmpDir(prefix = 'orch-test-'): Promise<string> {
  return realpath(await mkdtemp(path.join(os.tmpdir(), prefix)));
}

/** Removes a folder made by `makeTmpDir`, whatever is left in it. */
export async function removeTmpDir(dir: string | undefined): Promise<void> {
  if (dir === undefined) return;
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}
