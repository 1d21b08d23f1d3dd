import { statSync } from 'node:fs';
import path from 'node:path';
import type { MatrixSpec } from '../core/matrix.js';
import type { ScriptKind, StepCommon, StepSpec, WorkflowSpec } from '../core/spec.js';
import { KIND_BY_EXTENSION, kindFromShebang, readShebangSync } from '../discovery/shebang.js';
import type { StepBody, WorkflowSource } from './step-body.js';
import { ifExpression, needsList, toRetryPolicy, type StepOptions } from './step-options.js';

/** Milliseconds between SIGTERM and SIGKILL when a step does not say. */
export const DEFAULT_KILL_GRACE_MS = 5_000;

/** A step spec before matrix expansion. */
export type DraftStep = StepSpec & { matrixSpec?: MatrixSpec };

/**
 * The core spec of one step: its body plus its options, with every default filled in.
 * Pure apart from reading a script's first bytes (its shebang) and `process.cwd()`. Throws
 * `TypeError` for options that do not fit the kind of step.
 */
export function buildStepSpec(id: string, body: StepBody, options: Readonly<StepOptions>): DraftStep {
  const where = `step "${id}"`;
  // Steps with a value (function, module, python) can transform it; the others have none.
  if (options.transformResult !== undefined && body.kind !== 'function' && body.kind !== 'module' && body.kind !== 'python') {
    throw new TypeError(
      `Expected \`transformResult\` only on function, module or python steps, got it on ${where} of kind "${body.kind}": transform the value in a dependent function step`,
    );
  }
  const condition = options.condition;
  const ifExpr = ifExpression(options);
  const cwd = path.resolve(options.cwd ?? (body.kind === 'script' ? path.dirname(path.resolve(body.path)) : process.cwd()));
  const common: StepCommon = {
    id,
    name: options.name ?? id,
    needs: needsList(options.needs),
    timeout: options.timeout ?? 0,
    killGrace: options.killGrace ?? DEFAULT_KILL_GRACE_MS,
    retry: toRetryPolicy(options.retry, `the \`retry\` option of ${where}`),
    env: { ...options.env },
    cwd,
    allowedExitCodes: [...(options.allowedExitCodes ?? [0])],
    tags: [...(options.tags ?? [])],
    group: options.group ?? '.',
    ...(options.memoryLimitMb !== undefined ? { memoryLimitMb: options.memoryLimitMb } : {}),
    ...(options.description !== undefined ? { description: options.description } : {}),
    ...(ifExpr !== undefined ? { if: ifExpr } : {}),
    ...(condition !== undefined ? { condition } : {}),
    ...(options.continueOnError !== undefined ? { continueOnError: options.continueOnError } : {}),
    ...(options.concurrencyGroup !== undefined ? { concurrencyGroup: options.concurrencyGroup } : {}),
    ...(options.transformResult !== undefined ? { transformResult: options.transformResult } : {}),
  };
  const matrix = options.matrix !== undefined ? { matrixSpec: options.matrix } : {};
  switch (body.kind) {
    case 'function':
      return { ...common, ...matrix, kind: 'function', fn: body.fn };
    case 'command':
      return { ...common, ...matrix, kind: 'command', command: body.command, ...(body.shell !== undefined ? { shell: body.shell } : {}) };
    case 'script': {
      const absolute = path.resolve(body.path);
      const shebang = shebangOf(absolute);
      return {
        ...common,
        ...matrix,
        kind: 'script',
        path: absolute,
        relativePath: path.basename(absolute),
        args: [...body.args],
        scriptKind: scriptKindOf(absolute, shebang),
        ...(shebang !== undefined ? { shebang } : {}),
        ...(body.interpreter !== undefined ? { interpreter: [...body.interpreter] } : {}),
      };
    }
    case 'module':
      return {
        ...common,
        ...matrix,
        kind: 'module',
        module: path.resolve(body.module),
        export: body.export,
        args: [...body.args],
        ...(body.isolation === undefined ? {} : { isolation: body.isolation }),
      };
    case 'python':
      return {
        ...common,
        ...matrix,
        kind: 'python',
        target: body.target,
        args: [...body.args],
        kwargs: { ...body.kwargs },
        pythonPath: (body.pythonPath ?? [cwd]).map((p) => path.resolve(p)),
      };
    case 'workflow':
      return { ...common, ...matrix, kind: 'workflow', workflow: resolveWorkflow(body.workflow, where) };
  }
}

function resolveWorkflow(source: WorkflowSource | WorkflowSpec, where: string): WorkflowSpec {
  if (!('toSpec' in source)) return source;
  try {
    return source.toSpec();
  } catch (error) {
    if (error instanceof TypeError) throw new TypeError(`Sub-workflow of ${where}: ${error.message}`, { cause: error });
    throw error;
  }
}

function shebangOf(file: string): string | undefined {
  try {
    // Only regular files are opened: opening a FIFO would block.
    return statSync(file).isFile() ? readShebangSync(file) : undefined;
  } catch {
    // A missing file is reported when the step runs (`script-missing`), not while building.
    return undefined;
  }
}

function scriptKindOf(file: string, shebang: string | undefined): ScriptKind {
  return KIND_BY_EXTENSION.get(path.extname(file)) ?? (shebang !== undefined ? kindFromShebang(shebang) : undefined) ?? 'executable';
}
