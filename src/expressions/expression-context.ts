import type { MatrixValue } from '../core/spec.js';

/** What `steps.<id>` and `needs.<id>` hold in an expression. */
export interface StepContextEntry {
  /** Outputs the step wrote to `$ORCHESTRATOR_OUTPUT` (or set with `setOutput`). */
  outputs: Record<string, string>;
  /** The orchestrator's own status token (`succeeded`, `failed`, `timed-out`, ...). */
  status: string;
  /** GitHub-like result: `success`, `failure`, `cancelled` or `skipped`. */
  result: string;
  /**
   * What a `function` or `python` step returned (JSON: numbers, strings, lists, mappings), when
   * it returned something.
   */
  value?: unknown;
}

/**
 * Everything an expression can read. Only the named contexts exist: there is no way from an
 * expression to the process, its environment (beyond `env`) or the file system.
 * @see docs/expressions.md
 */
export interface ExpressionContext {
  /** Every step that has finished so far, by id. */
  steps: Record<string, StepContextEntry>;
  /** The step's direct dependencies, by id. */
  needs: Record<string, StepContextEntry>;
  /** The environment the step will get (workflow `env` merged with the step's own). */
  env: Record<string, string>;
  /** The step's matrix values; empty for a step without a matrix. */
  matrix: Record<string, MatrixValue>;
  workflow: { name: string };
  run: { id: string };
  inputs?: Record<string, unknown>;
  /**
   * Drives the status functions: `success()` is `status.success` (every dependency succeeded),
   * `failure()` is `status.failure` (one failed or timed out), `cancelled()` is `status.cancelled`.
   */
  status: { success: boolean; failure: boolean; cancelled: boolean };
}

/** Names an expression may use as contexts; anything else is a parse error. */
export const EXPRESSION_CONTEXTS = ['steps', 'needs', 'env', 'matrix', 'workflow', 'run', 'inputs'] as const;
export type ExpressionContextName = (typeof EXPRESSION_CONTEXTS)[number];

/** Functions that read `ExpressionContext.status`; an `if` without one gets an implicit `success() &&`. */
export const STATUS_FUNCTIONS = ['success', 'failure', 'always', 'cancelled'] as const;

/**
 * Functions an expression may call (lower case, as the parser compares them). The library's pure
 * built-ins plus the status functions. `hashFiles` is not here: it would need the file system, and
 * the library does not implement it either.
 */
export const EXPRESSION_FUNCTIONS: readonly string[] = [
  'contains',
  'startswith',
  'endswith',
  'format',
  'join',
  'tojson',
  'fromjson',
  'case',
  ...STATUS_FUNCTIONS,
];
