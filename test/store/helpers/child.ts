import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../helpers/processes.js';

const HELPER = fileURLToPath(new URL('./record-run.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A child orchestrator running `record-run.ts` (see there for its modes). */
export interface Child {
  process: ChildProcessWithoutNullStreams;
  stdout: string[];
  stderr: string;
  /** Resolves with the exit code (or the signal) when the process ends. */
  exit: Promise<number | NodeJS.Signals>;
}

export function startChild(args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', HELPER, ...args], { cwd: ROOT });
  const result: Child = {
    process: child,
    stdout: [],
    stderr: '',
    exit: new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal as NodeJS.Signals)))),
  };
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    result.stdout.push(...lines);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (result.stderr += chunk));
  return result;
}

/** Waits for a line of the child's stdout that `match` accepts, and returns it. */
export function waitForLine(child: Child, match: string | RegExp, timeoutMs = 20_000): Promise<string> {
  const accepts = (line: string): boolean => (typeof match === 'string' ? line === match : match.test(line));
  return waitFor(
    `${String(match)} from child ${child.process.pid} (stderr: ${child.stderr})`,
    () => child.stdout.find(accepts),
    timeoutMs,
  );
}

/** SIGKILLs a child that is still running. */
export function killChild(child: Child): void {
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
}
