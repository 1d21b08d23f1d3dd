import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ScriptKind } from '../core/spec.js';
import type { FailureReason } from '../core/status.js';
import { tsxLoader } from './tsx-loader.js';


export interface ScriptTarget {
  path: string;
  kind: ScriptKind;
  shebang?: string | undefined;
  /** An explicit command prefix from config; its first word is looked up on PATH. */
  interpreter?: string[] | undefined;
}

export type Resolution =
  | { ok: true; argv: string[] }
  | { ok: false; reason: FailureReason; detail: string };


/**
 * Finds the program that runs each script, once per run: PATH look-ups and the Python
 * interpreter are cached, because a pyenv `python3` shim costs ~50 ms on every start while the
 * real executable behind it does not.
 */
export class InterpreterResolver {
  readonly #projectRoot: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #which = new Map<string, Promise<string | undefined>>();
  readonly #venv = new Map<string, Promise<string | undefined>>();
  #python: Promise<string | undefined> | undefined;

  constructor(options: { projectRoot: string; env?: NodeJS.ProcessEnv }) {
    this.#projectRoot = path.resolve(options.projectRoot);
    this.#env = options.env ?? process.env;
  }

  /** Absolute path of a command, searched on PATH unless it already contains a slash. */
  which(command: string): Promise<string | undefined> {
    let found = this.#which.get(command);
    if (!found) {
      found = whichUncached(command, this.#env.PATH ?? '');
      this.#which.set(command, found);
    }
    return found;
  }

  /** The real Python executable: a folder's `.venv/bin/python` first, else `python3` behind any shim. */
  async python(scriptDir: string): Promise<string | undefined> {
    const venv = await this.#findVenv(scriptDir);
    if (venv) return venv;
    this.#python ??= this.#resolveSystemPython();
    return this.#python;
  }

  async #resolveSystemPython(): Promise<string | undefined> {
    const found = (await this.which('python3')) ?? (await this.which('python'));
    if (!found) return undefined;
    // Ask the interpreter for its own path: this sees through pyenv and asdf shims.
    const real = await new Promise<string | undefined>((resolve) => {
      execFile(
        found,
        ['-c', 'import sys; print(sys.executable)'],
        { timeout: 10_000, env: this.#env },
        (error, stdout) => resolve(error ? undefined : stdout.trim() || undefined),
      );
    });
    return real ?? found;
  }

  #findVenv(dir: string): Promise<string | undefined> {
    let found = this.#venv.get(dir);
    if (!found) {
      found = (async () => {
        const candidate = path.join(dir, '.venv', 'bin', 'python');
        if (await isExecutable(candidate)) return candidate;
        const parent = path.dirname(dir);
        const insideRoot = dir !== this.#projectRoot && dir.startsWith(this.#projectRoot + path.sep);
        return insideRoot && parent !== dir ? this.#findVenv(parent) : undefined;
      })();
      this.#venv.set(dir, found);
    }
    return found;
  }

  /** The argv prefix that runs `target` (the script path is appended by the caller). */
  async resolve(target: ScriptTarget): Promise<Resolution> {
    if (target.interpreter && target.interpreter.length > 0) {
      const [program, ...rest] = target.interpreter as [string, ...string[]];
      const found = await this.which(program);
      if (!found) return notFound(program, 'set by `interpreter` in config');
      return { ok: true, argv: [found, ...rest] };
    }
    switch (target.kind) {
      case 'python': {
        const python = await this.python(path.dirname(target.path));
        return python ? { ok: true, argv: [python] } : notFound('python3', 'needed for .py scripts');
      }
      case 'node':
        return { ok: true, argv: [process.execPath] };
      case 'typescript':
        return { ok: true, argv: [process.execPath, '--import', tsxLoader()] };
      case 'shell': {
        if (target.shebang) return this.#fromShebang(target.shebang);
        const shell = target.path.endsWith('.bash') ? 'bash' : 'sh';
        const found = await this.which(shell);
        return found ? { ok: true, argv: [found] } : notFound(shell, 'needed for shell scripts');
      }
      case 'executable': {
        if (!(await isExecutable(target.path))) {
          return {
            ok: false,
            reason: 'not-executable',
            detail: `${target.path} has no execute permission`,
          };
        }
        return { ok: true, argv: [] };
      }
    }
  }

  async #fromShebang(shebang: string): Promise<Resolution> {
    const words = shebang.trim().split(/\s+/);
    let [program, ...rest] = words as [string, ...string[]];
    if (path.basename(program) === 'env') {
      rest = rest.filter((word) => word !== '-S');
      const [named, ...more] = rest;
      if (!named) return notFound(shebang, 'the #! line names no program');
      program = named;
      rest = more;
    }
    const found = await this.which(program);
    return found ? { ok: true, argv: [found, ...rest] } : notFound(program, `named by #!${shebang}`);
  }
}

function notFound(program: string, why: string): Resolution {
  return { ok: false, reason: 'interpreter-not-found', detail: `\`${program}\` is not on PATH (${why})` };
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    const info = await stat(file);
    if (!info.isFile()) return false;
    await access(file, constants.X_OK);
    // access() says yes to root for any file with at least one x bit only; check the bits too.
    return (info.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

async function whichUncached(command: string, pathVariable: string): Promise<string | undefined> {
  if (command.includes('/')) return (await isExecutable(command)) ? path.resolve(command) : undefined;
  for (const dir of pathVariable.split(path.delimiter)) {
    // An empty or relative entry means "the current folder": a file that happens to be there
    // (a `python3` in the project) is never taken for the interpreter.
    if (!path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, command);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}
