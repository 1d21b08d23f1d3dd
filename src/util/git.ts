import { execFile } from 'node:child_process';

/** `git rev-parse HEAD` in `cwd`, or null outside a checkout. */
export function gitCommit(cwd: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', 'HEAD'], { cwd, timeout: 2000 }, (error, stdout) => {
      resolve(error ? null : stdout.trim() || null);
    });
  });
}
