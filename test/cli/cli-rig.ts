import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../dist/bin/orchestrator.cjs', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A temporary project folder with its own `.git` marker, so config lookup stops there. */
export class CliRig {
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  static async create(): Promise<CliRig> {
    const root = await mkdtemp(path.join(tmpdir(), 'orch-cli-'));
    await mkdir(path.join(root, '.git'));
    return new CliRig(root);
  }

  path(...parts: string[]): string {
    return path.join(this.root, ...parts);
  }

  async write(relative: string, content: string, executable = false): Promise<string> {
    const file = this.path(relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
    if (executable) await chmod(file, 0o755);
    return file;
  }

  start(args: string[], env: Record<string, string | undefined> = {}): { child: ChildProcess; done: Promise<CliResult> } {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: this.root,
      env: { ...process.env, NO_COLOR: '1', CI: '', GITHUB_ACTIONS: '', GITHUB_STEP_SUMMARY: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<CliResult>((resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
    return { child, done };
  }

  run(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
    return this.start(args, env).done;
  }

  /** The only run folder under `output` (the default output dir of folder `scripts`). */
  async runDirs(outputDir = this.path('scripts', 'output')): Promise<string[]> {
    const names = await readdir(outputDir).catch(() => [] as string[]);
    return names.sort().map((n) => path.join(outputDir, n));
  }

  async summary(runDir: string): Promise<SummaryJson> {
    return JSON.parse(await readFile(path.join(runDir, 'summary.json'), 'utf8')) as SummaryJson;
  }

  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

export interface SummaryJson {
  schemaVersion: number;
  status: string;
  counts: Record<string, number>;
  steps: {
    id: string;
    status: string;
    reason?: string;
    message?: string;
    exitCode: number | null;
    attempts: number;
    logPath: string | null;
    stderrTail: string;
    stdoutTail: string;
  }[];
}

/** Polls for a file to appear (the fixture writes it when it is ready), up to `ms`. */
/**
 * The crash-and-resume workflow of issue #5: 16 quick steps (each appends to `quick.count`), then
 * 4 long ones that write their pid to `<pids>/longN` and wait until the file `gate` exists.
 * Written as `wf.yaml`; returns the paths of the gate and the pid folder.
 */
export async function writeTwentyStepWorkflow(rig: CliRig): Promise<{ gate: string; pidDir: string }> {
  const gate = rig.path('gate');
  const pidDir = rig.path('pids');
  const lines = ['name: twenty', 'concurrency: 4', 'steps:'];
  for (let i = 1; i <= 16; i += 1) lines.push(`  - id: quick${i}`, `    run: echo ${i} >> "${rig.path('quick.count')}"`);
  for (let i = 1; i <= 4; i += 1) {
    lines.push(
      `  - id: long${i}`,
      `    needs: [${Array.from({ length: 16 }, (_, j) => `quick${j + 1}`).join(', ')}]`,
      `    run: mkdir -p "${pidDir}"; echo $$ > "${pidDir}/long${i}"; while [ ! -f "${gate}" ]; do sleep 0.05; done`,
    );
  }
  await rig.write('wf.yaml', lines.join('\n') + '\n');
  return { gate, pidDir };
}

/**
 * A two-step workflow for stopping twice: `s1` runs until killed, then the cleanup step (`if:
 * always()`) does too. Each writes the pid of its `sleep` to a file. Written as `wf.yaml`; returns
 * the two pid files.
 */
export async function writeSlowCleanupWorkflow(rig: CliRig): Promise<{ stepPid: string; cleanupPid: string }> {
  const stepPid = rig.path('s1.pid');
  const cleanupPid = rig.path('cleanup.pid');
  await rig.write(
    'wf.yaml',
    [
      'name: canc',
      'steps:',
      '  - id: s1',
      `    run: sleep 1000 & echo $! > "${stepPid}"; wait`,
      '  - id: cleanup',
      '    needs: s1',
      '    if: always()',
      `    run: sleep 1000 & echo $! > "${cleanupPid}"; wait`,
      '',
    ].join('\n'),
  );
  return { stepPid, cleanupPid };
}

/** SIGKILL to a process a test started, if it is still there (cleanup after a test that failed). */
export function killIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone, as it should be.
  }
}

export async function waitForFile(file: string, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const text = (await readFile(file, 'utf8')).trim();
      if (text) return text;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`Expected ${file} to appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Alive and not a zombie. */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}

/** Resolves once `text` has appeared on the stream (the process says it got that far), up to `ms`. */
export function waitForOutput(stream: NodeJS.ReadableStream | null, text: string, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!stream) {
      reject(new Error('Expected a piped stream'));
      return;
    }
    let seen = '';
    const onData = (chunk: Buffer | string): void => {
      seen += chunk.toString();
      if (!seen.includes(text)) return;
      stop();
      resolve(seen);
    };
    const onEnd = (): void => {
      stop();
      reject(new Error(`Expected "${text}" before the stream ended; got:\n${seen.slice(-2000)}`));
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`Expected "${text}" within ${ms} ms; got:\n${seen.slice(-2000)}`));
    }, ms);
    const stop = (): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
  });
}

/** Polls until the process is gone (or a zombie); false if it is still alive after `ms`. */
export async function waitGone(pid: number, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (await isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** The promise's value, or a rejection saying `what` did not happen within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Expected ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
