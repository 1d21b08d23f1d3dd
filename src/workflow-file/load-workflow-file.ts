import path from 'node:path';
import type { WorkflowSpec } from '../core/spec.js';
import { ConfigError } from '../config/config-error.js';
import { findProjectRoot } from '../config/find-project-root.js';
import type { Diagnostic } from '../config/types.js';
import { NotRegularFileError, readRegularFile } from '../util/regular-file.js';
import { NeedsFullParsers, newSession, parseInSession } from './workflow-session.js';

export interface LoadWorkflowFileOptions {
  /**
   * Paths in the file (scripts, modules, sub-workflows, `cwd`) must stay inside this folder.
   * @default the nearest folder with `.git`, `package.json` or `pyproject.toml` above the file
   */
  projectRoot?: string;
  /** Variables merged over the file's top-level `env` (these win), e.g. from `--env` flags. */
  env?: Record<string, string>;
  /**
   * Milliseconds for the steps of this file that set no `timeout` of their own and get none from
   * its `defaults` (e.g. from `--timeout`). A `timeout: 0` in the file still means none. Steps of
   * sub-workflow files keep their own files' settings. @default 0 (none)
   */
  stepTimeout?: number;
}

async function collect(file: string, options: LoadWorkflowFileOptions, buildSpec: boolean): Promise<{ spec?: WorkflowSpec; diagnostics: Diagnostic[] }> {
  const abs = path.resolve(file);
  const root = options.projectRoot ?? (await findProjectRoot(path.dirname(abs)));
  let text: string;
  try {
    // A FIFO, socket or device is never opened: reading one could wait forever.
    text = await readRegularFile(abs);
  } catch (error: unknown) {
    const message =
      error instanceof NotRegularFileError
        ? `expected a workflow file (a regular file), got ${error.type}; it is not read`
        : `cannot read the workflow file: ${error instanceof Error ? error.message : String(error)}`;
    return { diagnostics: [{ severity: 'error', file, line: 1, column: 1, field: '', message }] };
  }
  let result;
  try {
    result = parseInSession(text, abs, newSession(file, root, buildSpec, undefined, options.stepTimeout));
  } catch (error: unknown) {
    // Most files never get here: the yaml document and zod are loaded only for files that have a
    // problem (to place and word it) or use less common YAML or keys. Parsing again is cheap next to them.
    if (!(error instanceof NeedsFullParsers)) throw error;
    const { fullParsers } = await import('./full-parsers.js');
    result = parseInSession(text, abs, newSession(file, root, buildSpec, fullParsers, options.stepTimeout));
  }
  if (result.spec !== undefined && options.env !== undefined) {
    result.spec.env = { ...result.spec.env, ...options.env };
  }
  return result;
}

/**
 * Reads a workflow file (YAML or JSON) and its sub-workflows and returns the `WorkflowSpec`, with
 * defaults applied, durations in milliseconds, paths absolute and matrices expanded. Nothing runs.
 * Throws `ConfigError` holding every diagnostic (file:line:column) when anything is wrong: a bad
 * file never yields part of a spec. Warnings alone do not throw (`validateWorkflowFile` shows them).
 * @example
 * const spec = await loadWorkflowFile('workflows/ci.yaml');
 * @see docs/workflows.md
 */
export async function loadWorkflowFile(file: string, options: LoadWorkflowFileOptions = {}): Promise<WorkflowSpec> {
  const { spec, diagnostics } = await collect(file, options, true);
  if (spec === undefined) throw new ConfigError(diagnostics);
  return spec;
}

/**
 * `loadWorkflowFile` that also returns the loader's warnings (what `validate` shows next to the
 * errors), for the commands that load a file to run or draw it: they print them too.
 */
export async function loadWorkflowFileWithWarnings(file: string, options: LoadWorkflowFileOptions = {}): Promise<{ spec: WorkflowSpec; warnings: Diagnostic[] }> {
  const { spec, diagnostics } = await collect(file, options, true);
  if (spec === undefined) throw new ConfigError(diagnostics);
  return { spec, warnings: diagnostics.filter((diagnostic) => diagnostic.severity === 'warning') };
}

/**
 * Checks a workflow file as `loadWorkflowFile` does and returns every diagnostic (errors and
 * warnings) instead of throwing. An empty list means the file is valid. For `validate`.
 * @see docs/workflows.md
 */
export async function validateWorkflowFile(file: string, options: LoadWorkflowFileOptions = {}): Promise<Diagnostic[]> {
  // The spec is not built: only its diagnostics are wanted, and building it costs time and memory.
  const { diagnostics } = await collect(file, options, false);
  return diagnostics;
}
