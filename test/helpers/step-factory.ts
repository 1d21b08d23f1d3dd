import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../src/core/retry.js';
import type { CommandStep, FunctionStep, ModuleStep, ScriptKind, ScriptStep, StepSpec, WorkflowSpec } from '../../src/core/spec.js';

/** Absolute path of `test/fixtures/scripts/`. */
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/scripts/', import.meta.url));

/** Absolute path of one fixture script. */
export function fixture(name: string): string {
  return path.join(FIXTURES_DIR, name);
}

/** The default retry policy (one attempt) with some fields replaced. */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, retryOnExitCodes: [], ...overrides };
}

const KINDS: Record<string, ScriptKind> = {
  '.py': 'python',
  '.js': 'node',
  '.mjs': 'node',
  '.ts': 'typescript',
  '.sh': 'shell',
  '.bash': 'shell',
};

/** The `#!` line of a file without `#!`, or undefined (also when the file does not exist). */
function readShebang(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(256);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, read).toString('utf8');
    return text.startsWith('#!') ? (text.slice(2).split('\n')[0] ?? '').trim() : undefined;
  } finally {
    closeSync(fd);
  }
}

function common(id: string): Omit<ScriptStep, 'kind' | 'path' | 'relativePath' | 'args' | 'scriptKind'> {
  return {
    id,
    name: id,
    needs: [],
    timeout: 10_000,
    killGrace: 1_000,
    retry: retryPolicy(),
    env: {},
    cwd: FIXTURES_DIR,
    allowedExitCodes: [0],
    tags: [],
    group: '.',
  };
}

/**
 * A script step for `file` (a fixture name, or an absolute path), with sane defaults: timeout
 * 10 s, kill grace 1 s, one attempt, exit code 0 allowed. The kind comes from the extension and
 * the shebang from the file, as discovery would set them.
 */
export function scriptStep(file: string, overrides: Partial<ScriptStep> = {}): ScriptStep {
  const absolute = path.isAbsolute(file) ? file : fixture(file);
  const id = overrides.id ?? path.basename(absolute);
  const shebang = readShebang(absolute);
  return {
    ...common(id),
    kind: 'script',
    path: absolute,
    relativePath: path.basename(absolute),
    args: [],
    scriptKind: KINDS[path.extname(absolute)] ?? 'executable',
    ...(shebang !== undefined ? { shebang } : {}),
    ...overrides,
  };
}

/** A `/bin/sh -c` command step with the same defaults as `scriptStep`. */
export function commandStep(command: string, overrides: Partial<CommandStep> & { id: string }): CommandStep {
  return { ...common(overrides.id), kind: 'command', command, ...overrides };
}

/** An in-process function step with the same defaults as `scriptStep`, but no step timeout. */
export function functionStep(id: string, fn: FunctionStep['fn'], overrides: Partial<FunctionStep> = {}): FunctionStep {
  return { ...common(id), timeout: 0, cwd: process.cwd(), kind: 'function', fn, ...overrides };
}

/** A module function step (`export` of `module`, called with `args`) with the same defaults as `scriptStep`. */
export function moduleStep(id: string, module: string, exportName: string, args: unknown[], overrides: Partial<ModuleStep> = {}): ModuleStep {
  return { ...common(id), cwd: process.cwd(), kind: 'module', module, export: exportName, args, ...overrides };
}

/** A workflow of `steps`: concurrency 2, failure policy `continue`, no run timeout. */
export function workflowSpec(steps: StepSpec[], overrides: Partial<WorkflowSpec> = {}): WorkflowSpec {
  return {
    name: 'test-run',
    steps,
    concurrency: 2,
    failurePolicy: 'continue',
    timeout: 0,
    ...overrides,
  };
}
