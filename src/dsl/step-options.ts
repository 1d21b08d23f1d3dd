import { describeValue } from '../util/describe-argument.js';
import type { MatrixSpec } from '../core/matrix.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../core/retry.js';
import type { ConditionContext } from '../core/spec.js';

/**
 * A step id for `needs`. In a workflow made with {@link workflow}, only ids declared earlier are
 * accepted (a typo is a compile error); with `new Workflow()` any string is (checked by `toSpec()`).
 */
export type StepRef<Ids extends string = string> = Ids;

/**
 * How a step runs, for every kind of action. Each option is optional; the defaults below apply when
 * neither the action (e.g. `shell(cmd, { timeout })`) nor the step sets it.
 *
 * @see docs/dsl.md
 */
export interface StepOptions<Ids extends string = string> {
  /** Display name. @default the step id */
  name?: string;
  /** Steps that must finish first. Matrix steps are named by their base id. @default [] */
  needs?: StepRef<Ids> | readonly StepRef<Ids>[];
  /**
   * When the step runs, in GitHub Actions expression syntax: `always()`, `failure()`,
   * `needs.build.outputs.version == '2'`. Without a status function it also needs every dependency
   * to succeed. @default 'success()'
   */
  if?: string;
  /** Sugar for `if: 'always()'`: runs whatever happened to its dependencies (cleanup). @default false */
  always?: boolean;
  /** Sugar for `if: 'failure()'`: runs only when a dependency failed (notifications). @default false */
  onFailure?: boolean;
  /** In-process predicate over the dependencies' results; false skips the step (reason `condition-false`). */
  condition?: (context: ConditionContext) => boolean | Promise<boolean>;
  /**
   * A number is `maxAttempts`. An object is merged over the retry defaults, and when it has no
   * `maxAttempts` it means 3 (asking for a policy means asking for retries).
   * @default 1 attempt
   */
  retry?: number | Partial<RetryPolicy>;
  /** Milliseconds before the step is stopped (a process tree is killed, a function's signal aborts); 0 = none. @default 0 (process helpers: 60000) */
  timeout?: number;
  /** Milliseconds between SIGTERM and SIGKILL. @default 5000 */
  killGrace?: number;
  /** Environment merged over the workflow's. @default {} */
  env?: Record<string, string>;
  /** Working directory, resolved against `process.cwd()`. @default process.cwd() (scripts: their folder) */
  cwd?: string;
  /** Exit codes that count as success. @default [0] */
  allowedExitCodes?: readonly number[];
  /** Limit on the resident memory of the step's process tree, in MiB. */
  memoryLimitMb?: number;
  /** A failure neither fails the run nor skips dependents. @default false */
  continueOnError?: boolean;
  /** Steps of one group share the limit in the workflow's `groupConcurrency`. */
  concurrencyGroup?: string;
  /** One step per combination (GitHub Actions semantics); the function sees `ctx.matrix`. */
  matrix?: MatrixSpec;
  /** Applied to a successful function step's return value. Function steps only. */
  transformResult?: (value: unknown) => unknown;
  /** @default [] */
  tags?: readonly string[];
  /** Group for reports. @default '.' */
  group?: string;
  description?: string;
}

/** The option names, to catch typos (and Python spellings) with a hint. */
const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'name',
  'needs',
  'if',
  'always',
  'onFailure',
  'condition',
  'retry',
  'timeout',
  'killGrace',
  'env',
  'cwd',
  'allowedExitCodes',
  'memoryLimitMb',
  'continueOnError',
  'concurrencyGroup',
  'matrix',
  'transformResult',
  'tags',
  'group',
  'description',
]);

const RENAMED: Readonly<Record<string, string>> = {
  dependencies: 'needs',
  depends_on: 'needs',
  dependsOn: 'needs',
  after: 'needs',
  retry_policy: 'retry',
  retryPolicy: 'retry',
  transform_result: 'transformResult',
  continue_on_error: 'continueOnError',
  kill_grace: 'killGrace',
  concurrency_group: 'concurrencyGroup',
  allowed_exit_codes: 'allowedExitCodes',
  memory_limit_mb: 'memoryLimitMb',
  on_failure: 'onFailure',
};

/** Default retry policy when one is asked for without `maxAttempts` (Python `RetryPolicy()` had 3). */
export const DSL_RETRY_ATTEMPTS = 3;

/** `Array.isArray` without widening a readonly list to `any[]`. */
export function isList(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

export { describeValue } from '../util/describe-argument.js';

export function expectNonNegativeInteger(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`Expected ${what} to be a non-negative integer, got ${describeValue(value)}`);
  }
}

export function expectPositiveInteger(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`Expected ${what} to be a positive integer, got ${describeValue(value)}`);
  }
}

export function expectNonEmptyString(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`Expected ${what} to be a non-empty string, got ${describeValue(value)}`);
  }
}

export function expectStringRecord(value: unknown, what: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected ${what} to be an object of strings, got ${describeValue(value)}`);
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw new TypeError(`Expected ${what}.${key} to be a string, got ${describeValue(item)}`);
    }
  }
}

function expectFunction(value: unknown, what: string): void {
  if (typeof value !== 'function') throw new TypeError(`Expected ${what} to be a function, got ${describeValue(value)}`);
}

function expectBoolean(value: unknown, what: string): void {
  if (typeof value !== 'boolean') throw new TypeError(`Expected ${what} to be a boolean, got ${describeValue(value)}`);
}

function expectStringList(value: unknown, what: string): void {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) {
    throw new TypeError(`Expected ${what} to be a list of non-empty strings, got ${describeValue(value)}`);
  }
}

/**
 * Turns the `retry` option into a full policy (validated). `where` names the option as a whole
 * (`the \`retry\` option of step "x"`); a bad field is named inside it (`\`maxAttempts\` in ...`).
 */
export function toRetryPolicy(retry: number | Partial<RetryPolicy> | undefined, where = 'the `retry` option'): RetryPolicy {
  if (retry === undefined) return { ...DEFAULT_RETRY_POLICY, retryOnExitCodes: [] };
  if (typeof retry === 'number') {
    expectPositiveInteger(retry, where);
    return { ...DEFAULT_RETRY_POLICY, retryOnExitCodes: [], maxAttempts: retry };
  }
  if (typeof retry !== 'object' || retry === null || Array.isArray(retry)) {
    throw new TypeError(`Expected ${where} to be a number of attempts or a retry policy object, got ${describeValue(retry)}`);
  }
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    maxAttempts: DSL_RETRY_ATTEMPTS,
    ...retry,
    retryOnExitCodes: [...(retry.retryOnExitCodes ?? [])],
  };
  const field = (name: string): string => `\`${name}\` in ${where}`;
  expectPositiveInteger(policy.maxAttempts, field('maxAttempts'));
  expectNonNegativeInteger(policy.initialDelay, field('initialDelay'));
  expectNonNegativeInteger(policy.maxDelay, field('maxDelay'));
  if (typeof policy.factor !== 'number' || !Number.isFinite(policy.factor) || policy.factor < 1) {
    throw new TypeError(`Expected ${field('factor')} to be a number of at least 1, got ${describeValue(policy.factor)}`);
  }
  if (policy.jitter !== 'none' && policy.jitter !== 'full' && policy.jitter !== 'equal') {
    throw new TypeError(`Expected ${field('jitter')} to be 'none', 'full' or 'equal', got ${describeValue(policy.jitter)}`);
  }
  if (!policy.retryOnExitCodes.every((code) => Number.isInteger(code))) {
    throw new TypeError(`Expected ${field('retryOnExitCodes')} to be a list of integers, got ${describeValue(policy.retryOnExitCodes)}`);
  }
  if (policy.retryOn !== undefined) expectFunction(policy.retryOn, field('retryOn'));
  return policy;
}

/** The `needs` option as a list. */
export function needsList(needs: string | readonly string[] | undefined): string[] {
  if (needs === undefined) return [];
  return typeof needs === 'string' ? [needs] : [...needs];
}

/**
 * Checks options for programmer mistakes and throws `TypeError` with the option's name, what was
 * expected and what was received. `where` names the step (`step "build"`).
 */
export function validateStepOptions(options: unknown, where: string): asserts options is StepOptions {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`Expected the options of ${where} to be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (KNOWN_OPTIONS.has(key) || o[key] === undefined) continue;
    const renamed = RENAMED[key];
    throw new TypeError(
      `Unknown option \`${key}\` for ${where}${renamed ? `: use \`${renamed}\`` : ''} (known options: ${[...KNOWN_OPTIONS].join(', ')})`,
    );
  }
  const opt = (key: string): string => `the \`${key}\` option of ${where}`;
  if (o.name !== undefined) expectNonEmptyString(o.name, opt('name'));
  if (o.needs !== undefined) {
    if (typeof o.needs === 'string') expectNonEmptyString(o.needs, opt('needs'));
    else expectStringList(o.needs, opt('needs'));
  }
  if (o.if !== undefined) expectNonEmptyString(o.if, opt('if'));
  if (o.always !== undefined) expectBoolean(o.always, opt('always'));
  if (o.onFailure !== undefined) expectBoolean(o.onFailure, opt('onFailure'));
  const sugar = [o.if !== undefined ? '`if`' : '', o.always === true ? '`always`' : '', o.onFailure === true ? '`onFailure`' : ''].filter(Boolean);
  if (sugar.length > 1) {
    throw new TypeError(`Expected at most one of \`if\`, \`always\` and \`onFailure\` for ${where}, got ${sugar.join(' and ')}`);
  }
  if (o.condition !== undefined) expectFunction(o.condition, opt('condition'));
  if (o.retry !== undefined) toRetryPolicy(o.retry as number | Partial<RetryPolicy>, opt('retry'));
  if (o.timeout !== undefined) expectNonNegativeInteger(o.timeout, opt('timeout'));
  if (o.killGrace !== undefined) expectNonNegativeInteger(o.killGrace, opt('killGrace'));
  if (o.env !== undefined) expectStringRecord(o.env, opt('env'));
  if (o.cwd !== undefined) expectNonEmptyString(o.cwd, opt('cwd'));
  if (o.allowedExitCodes !== undefined) {
    if (!Array.isArray(o.allowedExitCodes) || !o.allowedExitCodes.every((c) => Number.isInteger(c))) {
      throw new TypeError(`Expected ${opt('allowedExitCodes')} to be a list of integers, got ${describeValue(o.allowedExitCodes)}`);
    }
  }
  if (o.memoryLimitMb !== undefined) expectPositiveInteger(o.memoryLimitMb, opt('memoryLimitMb'));
  if (o.continueOnError !== undefined) expectBoolean(o.continueOnError, opt('continueOnError'));
  if (o.concurrencyGroup !== undefined) expectNonEmptyString(o.concurrencyGroup, opt('concurrencyGroup'));
  if (o.matrix !== undefined && (typeof o.matrix !== 'object' || o.matrix === null || Array.isArray(o.matrix))) {
    throw new TypeError(`Expected ${opt('matrix')} to be an object of axes, got ${describeValue(o.matrix)}`);
  }
  if (o.transformResult !== undefined) expectFunction(o.transformResult, opt('transformResult'));
  if (o.tags !== undefined) expectStringList(o.tags, opt('tags'));
  if (o.group !== undefined) expectNonEmptyString(o.group, opt('group'));
  if (o.description !== undefined && typeof o.description !== 'string') {
    throw new TypeError(`Expected ${opt('description')} to be a string, got ${describeValue(o.description)}`);
  }
}

/**
 * `later` over `earlier`: lists (`needs`, `tags`) are joined without repeats, `env` and object
 * `retry` policies are merged, two `condition` predicates must both hold (`condition(a,
 * condition(b, step))` runs the step only when a and b are true), everything else is replaced.
 */
export function mergeStepOptions(earlier: StepOptions, later: StepOptions): StepOptions {
  const merged: StepOptions = { ...earlier };
  for (const [key, value] of Object.entries(later) as [keyof StepOptions, unknown][]) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  if (earlier.needs !== undefined || later.needs !== undefined) {
    merged.needs = [...new Set([...needsList(earlier.needs), ...needsList(later.needs)])];
  }
  if (earlier.tags !== undefined && later.tags !== undefined) merged.tags = [...new Set([...earlier.tags, ...later.tags])];
  if (earlier.env !== undefined && later.env !== undefined) merged.env = { ...earlier.env, ...later.env };
  if (typeof earlier.retry === 'object' && typeof later.retry === 'object') merged.retry = { ...earlier.retry, ...later.retry };
  else if (typeof earlier.retry === 'object' && typeof later.retry === 'number') merged.retry = { ...earlier.retry, maxAttempts: later.retry };
  else if (typeof earlier.retry === 'number' && typeof later.retry === 'object') merged.retry = { maxAttempts: earlier.retry, ...later.retry };
  if (earlier.condition !== undefined && later.condition !== undefined) {
    const first = earlier.condition;
    const second = later.condition;
    // The inner (earlier) predicate first; the outer one is asked only when it holds.
    merged.condition = async (context) => (await first(context)) && (await second(context));
  }
  // `if`, `always` and `onFailure` say the same thing: the latest one wins.
  if (later.if !== undefined || later.always !== undefined || later.onFailure !== undefined) {
    delete merged.if;
    delete merged.always;
    delete merged.onFailure;
    if (later.if !== undefined) merged.if = later.if;
    if (later.always !== undefined) merged.always = later.always;
    if (later.onFailure !== undefined) merged.onFailure = later.onFailure;
  }
  return merged;
}

/** The `if` expression the options ask for, if any. */
export function ifExpression(options: StepOptions): string | undefined {
  if (options.always === true) return 'always()';
  if (options.onFailure === true) return 'failure()';
  return options.if;
}
