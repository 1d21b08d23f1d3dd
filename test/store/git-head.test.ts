import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readGitHead } from '../../src/store/git-head.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

/** The test's environment without GIT_* variables (which send readGitHead to git). */
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GIT_')));

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' },
  }).trim();
}

/** What `git rev-parse HEAD` says in `cwd`, null when it fails. */
function revParse(cwd: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

describe('readGitHead', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTmpDir('orch-git-head-');
  });
  afterEach(async () => {
    await removeTmpDir(dir);
  });

  function repo(name = 'repo'): string {
    const root = path.join(dir, name);
    mkdirSync(root);
    git(root, 'init', '-q', '-b', 'main');
    git(root, 'commit', '-q', '--allow-empty', '-m', 'first');
    return root;
  }

  it('reads the commit of a branch, from the root and from a subfolder, as git does', () => {
    const root = repo();
    const sub = path.join(root, 'a', 'b');
    mkdirSync(sub, { recursive: true });
    expect(readGitHead(root, env)).toBe(revParse(root));
    expect(readGitHead(sub, env)).toBe(revParse(root));
    expect(readGitHead(root, env)).toMatch(/^[0-9a-f]{40}$/);
  });

  it('reads packed refs, a detached HEAD and a linked worktree', () => {
    const root = repo();
    git(root, 'commit', '-q', '--allow-empty', '-m', 'second');
    git(root, 'pack-refs', '--all');
    expect(readGitHead(root, env)).toBe(revParse(root));
    git(root, 'checkout', '-q', '--detach', 'HEAD~1');
    expect(readGitHead(root, env)).toBe(revParse(root));
    const worktree = path.join(dir, 'worktree');
    git(root, 'worktree', 'add', '-q', worktree, 'main');
    expect(readGitHead(worktree, env)).toBe(revParse(worktree));
    expect(readGitHead(worktree, env)).not.toBe(readGitHead(root, env));
  });

  it('is null outside a checkout, on a branch with no commit, and past a .git that is no repository', () => {
    expect(readGitHead(dir, env)).toBe(revParse(dir));
    expect(readGitHead(dir, env)).toBeNull();
    const unborn = path.join(dir, 'unborn');
    mkdirSync(unborn);
    git(unborn, 'init', '-q');
    expect(readGitHead(unborn, env)).toBeNull();
    // A bare `.git` folder (a project-root marker) is not a repository: git looks further up.
    const marked = path.join(repo(), 'project');
    mkdirSync(path.join(marked, '.git'), { recursive: true });
    expect(readGitHead(marked, env)).toBe(revParse(marked));
    expect(readGitHead(marked, env)).not.toBeNull();
  });

  it('leaves it to git when git environment variables move the repository', () => {
    const root = repo();
    expect(readGitHead(root, { ...env, GIT_DIR: path.join(root, '.git') })).toBeUndefined();
    expect(readGitHead(path.join(dir, 'missing'), env)).toBeUndefined();
  });
});
