import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';

/**
 * Why a process cannot be started in `dir`, or `undefined` when it can. Spawning in a folder that
 * does not exist fails with the same ENOENT as a missing program (`spawn /bin/sh ENOENT`), which
 * blames the program: this names the folder. One wording for steps, `shell()` and `pipe()`.
 */
export async function cwdProblem(dir: string): Promise<string | undefined> {
  try {
    if (!(await stat(dir)).isDirectory()) return `working directory ${dir} is not a folder`;
    await access(dir, constants.X_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `working directory ${dir} does not exist`;
    if (code === 'EACCES' || code === 'EPERM') return `working directory ${dir} cannot be entered (permission denied)`;
    return `working directory ${dir} is not usable (${code ?? String(error)})`;
  }
}

/**
 * What a failed spawn says, naming the working directory when that is what is missing (its
 * ENOENT is the same as a missing program's); otherwise the error's own message.
 */
export async function spawnErrorDetail(error: NodeJS.ErrnoException, cwd: string): Promise<string> {
  return (error.code === 'ENOENT' ? await cwdProblem(cwd) : undefined) ?? error.message;
}
