import { DURATION_PATTERN } from '../config/duration-pattern.js';
import type { RawWorkflow } from './schema.js';
import { STEP_ID_PATTERN } from './step-keys.js';

/**
 * `true` only when `workflowFileSchema` certainly accepts `value` and would return an equal value.
 * It checks the common shapes by hand, in one pass without allocating, so a 100,000-step file does
 * not pay for zod (about 3 µs a step). Anything less common (retry mappings, matrices, `function`,
 * `python`, `runs_on`, ...) or anything wrong gives `false`, and the loader runs the zod schema,
 * which words the diagnostics. A test compares the two on generated files.
 */
export function isSimpleWorkflow(value: unknown): value is RawWorkflow {
  if (!isRecord(value)) return false;
  let hasName = false;
  let hasSteps = false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    const field = value[key];
    switch (key) {
      case 'name':
        if (!isNonEmptyString(field)) return false;
        hasName = true;
        break;
      case '$schema':
      case 'description':
        if (typeof field !== 'string') return false;
        break;
      case 'concurrency':
        if (!isWholeNumber(field, 1)) return false;
        break;
      case 'timeout':
        if (!isDuration(field)) return false;
        break;
      case 'fail_fast':
        if (typeof field !== 'boolean' && field !== 'no-new' && field !== 'kill' && field !== 'continue') return false;
        break;
      case 'env':
        if (!isEnv(field)) return false;
        break;
      case 'cache':
        if (typeof field !== 'boolean') return false;
        break;
      case 'defaults':
        if (!isSimpleDefaults(field)) return false;
        break;
      case 'concurrency_groups':
        if (!isRecord(field)) return false;
        for (const group in field) if (!Object.hasOwn(field, group) || !isWholeNumber(field[group], 1)) return false;
        break;
      case 'steps':
        if (!Array.isArray(field) || field.length === 0) return false;
        for (const step of field as unknown[]) if (!isSimpleStep(step)) return false;
        hasSteps = true;
        break;
      default:
        return false;
    }
  }
  return hasName && hasSteps;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

function isWholeNumber(value: unknown, min: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= min;
}

function isDuration(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0;
  return typeof value === 'string' && DURATION_PATTERN.test(value);
}

function isEnv(value: unknown): boolean {
  if (!isRecord(value)) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    const item = value[key];
    if (typeof item !== 'string' && typeof item !== 'boolean' && !(typeof item === 'number' && Number.isFinite(item))) return false;
  }
  return true;
}

function isStringList(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (const item of value as unknown[]) if (typeof item !== 'string') return false;
  return true;
}

function isSimpleDefaults(value: unknown): boolean {
  if (!isRecord(value)) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    const field = value[key];
    switch (key) {
      case 'timeout':
      case 'kill_grace':
        if (!isDuration(field)) return false;
        break;
      case 'cwd':
        if (!isNonEmptyString(field)) return false;
        break;
      case 'retry':
        if (!isWholeNumber(field, 1)) return false;
        break;
      case 'env':
        if (!isEnv(field)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function isSimpleStep(value: unknown): boolean {
  if (!isRecord(value)) return false;
  let hasId = false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    const field = value[key];
    switch (key) {
      case 'id':
        if (typeof field !== 'string' || !STEP_ID_PATTERN.test(field)) return false;
        hasId = true;
        break;
      case 'name':
      case 'run':
      case 'script':
      case 'workflow':
      case 'shell':
      case 'cwd':
      case 'concurrency_group':
        if (!isNonEmptyString(field)) return false;
        break;
      case 'description':
        if (typeof field !== 'string') return false;
        break;
      case 'needs':
        if (typeof field !== 'string' && !isStringList(field)) return false;
        break;
      case 'if':
        if (typeof field !== 'string' && typeof field !== 'boolean') return false;
        break;
      case 'timeout':
      case 'kill_grace':
        if (!isDuration(field)) return false;
        break;
      case 'retry':
        if (!isWholeNumber(field, 1)) return false;
        break;
      case 'memory_limit_mb':
        if (!isWholeNumber(field, 1)) return false;
        break;
      case 'env':
        if (!isEnv(field)) return false;
        break;
      case 'tags':
        if (!isStringList(field)) return false;
        break;
      case 'args':
        if (!Array.isArray(field)) return false;
        for (const arg of field as unknown[]) {
          if (typeof arg !== 'string' && !(typeof arg === 'number' && Number.isFinite(arg))) return false;
        }
        break;
      case 'allowed_exit_codes':
        if (!Array.isArray(field)) return false;
        for (const code of field as unknown[]) if (!Number.isSafeInteger(code) || (code as number) < 0 || (code as number) > 255) return false;
        break;
      case 'continue_on_error':
      case 'cache':
        if (typeof field !== 'boolean') return false;
        break;
      default:
        // interpreter, function, python, matrix, runs_on, cache mappings and unknown keys: zod decides.
        return false;
    }
  }
  return hasId;
}
