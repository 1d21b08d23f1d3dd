import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** Variables that change where git looks for the repository: with any of them, ask git. */
const DISCOVERY_ENV = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_COMMON_DIR',
  'GIT_CEILING_DIRECTORIES',
  'GIT_DISCOVERY_ACROSS_FILESYSTEM',
  'GIT_OBJECT_DIRECTORY',
  'GIT_NAMESPACE',
];

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** The repository folder a `.git` entry stands for: itself, or where a `.git` file points. */
function gitDirOf(dotGit: string): string | undefined {
  if (isDirectory(dotGit)) return dotGit;
  const text = read(dotGit);
  const match = text === undefined ? null : /^gitdir: (.+)$/m.exec(text);
  return match?.[1] ? path.resolve(path.dirname(dotGit), match[1]) : undefined;
}

/** Git's own test for a repository folder: HEAD, objects and refs (the last two maybe shared). */
function isRepository(gitDir: string, commonDir: string): boolean {
  return existsSync(path.join(gitDir, 'HEAD')) && isDirectory(path.join(commonDir, 'objects')) && isDirectory(path.join(commonDir, 'refs'));
}

/** A ref's commit from a loose ref file or `packed-refs`; null when the ref does not exist. */
function resolveRef(gitDir: string, commonDir: string, ref: string, depth: number): string | null | undefined {
  if (depth > 5 || !/^refs\/[^\0\s]+$/.test(ref) || ref.includes('..')) return undefined;
  // Per-worktree refs live in the worktree's folder, the rest in the common one.
  const perWorktree = /^refs\/(?:bisect|worktree|rewritten)\//.test(ref);
  const loose = read(path.join(perWorktree ? gitDir : commonDir, ref));
  if (loose !== undefined) {
    if (SHA.test(loose)) return loose;
    const symbolic = /^ref: (.+)$/.exec(loose);
    return symbolic?.[1] ? resolveRef(gitDir, commonDir, symbolic[1], depth + 1) : undefined;
  }
  const packed = read(path.join(commonDir, 'packed-refs'));
  if (packed === undefined) return null;
  for (const line of packed.split('\n')) {
    const [sha, name] = line.split(' ');
    if (name === ref && sha !== undefined && SHA.test(sha)) return sha;
  }
  return null;
}

/**
 * What `git rev-parse HEAD` prints in `cwd`, read from the repository's files instead of spawning
 * git (a fork of the orchestrator and a git process for one line): null outside a checkout or on a
 * branch with no commit yet. Undefined when the layout is one it does not read (git environment
 * variables, reftable refs, anything unexpected): then ask git.
 */
export function readGitHead(cwd: string, env: NodeJS.ProcessEnv = process.env): string | null | undefined {
  if (DISCOVERY_ENV.some((name) => env[name] !== undefined)) return undefined;
  let device: number | undefined;
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    // Like git, do not look across a file system boundary.
    let dev: number;
    try {
      dev = statSync(dir).dev;
    } catch {
      return undefined;
    }
    if (device !== undefined && dev !== device) return null;
    device = dev;
    const gitDir = gitDirOf(path.join(dir, '.git'));
    if (gitDir !== undefined) {
      const common = read(path.join(gitDir, 'commondir'));
      const commonDir = common === undefined ? gitDir : path.resolve(gitDir, common);
      // Git skips a `.git` that is not a repository and looks further up; so does this.
      if (isRepository(gitDir, commonDir)) {
        if (existsSync(path.join(commonDir, 'reftable'))) return undefined;
        const head = read(path.join(gitDir, 'HEAD'));
        if (head === undefined) return undefined;
        if (SHA.test(head)) return head;
        const ref = /^ref: (.+)$/.exec(head)?.[1];
        return ref === undefined ? undefined : resolveRef(gitDir, commonDir, ref, 0);
      }
    }
    if (path.dirname(dir) === dir) return null;
  }
}
