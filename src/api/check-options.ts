import { didYouMean } from '../config/did-you-mean.js';
import {
  describeValue,
  expectNonEmptyString,
  expectPositiveInteger,
  expectStringRecord,
} from '../dsl/step-options.js';

/**
 * Checks of the library's run functions (`runScript`, `runFolder`, `loadConfig`, ...): bad
 * arguments throw a `TypeError` naming the function, the option, what was expected and what was
 * received, the way the workflow DSL does. Options set to `undefined` count as not given.
 */

type Check = (value: unknown, what: string) => void;

/** `allowedExitCodes` → `allowed_exit_codes`: `didYouMean` compares snake_case keys. */
function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Throws unless `value` is a plain object (`undefined` is fine: no options). */
function expectOptionsObject(value: unknown, fn: string): asserts value is Record<string, unknown> | undefined {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected the options of ${fn} to be an object, got ${describeValue(value)}`);
  }
}

/**
 * Checks the options object of `fn` (`runScripts()`) against `checks`, one per known option:
 * unknown names are refused with a did-you-mean, known ones are checked when not `undefined`.
 */
export function checkOptions(options: unknown, fn: string, checks: Readonly<Record<string, Check>>): void {
  expectOptionsObject(options, fn);
  if (options === undefined) return;
  const known = Object.keys(checks);
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const check = checks[key];
    if (check === undefined) {
      const suggestion = didYouMean(key, known.map(snake));
      const hint = suggestion === undefined ? '' : `, did you mean \`${known[known.map(snake).indexOf(suggestion)]}\`?`;
      throw new TypeError(`Unknown option \`${key}\` for ${fn}${hint} (known options: ${known.join(', ')})`);
    }
    check(value, `the \`${key}\` option of ${fn}`);
  }
}

/** Throws unless the positional argument `what` (`the folder of runFolder()`) is a non-empty string. */
export function expectPathArgument(value: unknown, what: string): asserts value is string {
  expectNonEmptyString(value, what);
}

/** Milliseconds, 0 or more; fractions are fine (timers take them), NaN is not. */
function milliseconds(value: unknown, what: string): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new TypeError(`Expected ${what} to be milliseconds, 0 or more, got ${describeValue(value)}`);
  }
}
const positiveInteger: Check = expectPositiveInteger;
const nonEmptyString: Check = expectNonEmptyString;
const stringRecord: Check = expectStringRecord;

function expectFunction(value: unknown, what: string): void {
  if (typeof value !== 'function') throw new TypeError(`Expected ${what} to be a function, got ${describeValue(value)}`);
}

function expectBoolean(value: unknown, what: string): void {
  if (typeof value !== 'boolean') throw new TypeError(`Expected ${what} to be a boolean, got ${describeValue(value)}`);
}

function expectObject(value: unknown, what: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected ${what} to be an object, got ${describeValue(value)}`);
  }
}

function expectStringList(value: unknown, what: string): void {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new TypeError(`Expected ${what} to be a list of strings, got ${describeValue(value)}`);
  }
}

function expectSignal(value: unknown, what: string): void {
  if (!(value instanceof AbortSignal)) throw new TypeError(`Expected ${what} to be an AbortSignal, got ${describeValue(value)}`);
}

function expectFailFast(value: unknown, what: string): void {
  if (typeof value !== 'boolean' && !['no-new', 'continue', 'kill'].includes(value as string)) {
    throw new TypeError(`Expected ${what} to be a boolean or 'no-new', 'continue' or 'kill', got ${describeValue(value)}`);
  }
}

function expectFailurePolicy(value: unknown, what: string): void {
  if (!['no-new', 'continue', 'kill'].includes(value as string)) {
    throw new TypeError(`Expected ${what} to be 'no-new', 'continue' or 'kill', got ${describeValue(value)}`);
  }
}

function expectMaxDepth(value: unknown, what: string): void {
  if (typeof value !== 'number' || !(Number.isInteger(value) || value === Infinity) || value < 0) {
    throw new TypeError(`Expected ${what} to be a non-negative integer or Infinity, got ${describeValue(value)}`);
  }
}

function expectReports(value: unknown, what: string): void {
  if (!Array.isArray(value) || value.some((item) => !['json', 'markdown', 'junit'].includes(item as string))) {
    throw new TypeError(`Expected ${what} to be a list of 'json', 'markdown' and 'junit', got ${describeValue(value)}`);
  }
}

function expectConfigs(value: unknown, what: string): void {
  expectObject(value, what);
  for (const [key, config] of Object.entries(value as object)) expectObject(config, `${what}[${JSON.stringify(key)}]`);
}

/** `LoadConfigOptions`: `loadConfig` and `validateConfig`. */
export const CONFIG_OPTION_CHECKS: Readonly<Record<string, Check>> = { projectRoot: nonEmptyString };

/** `RunScriptOptions`, in the order of docs/api.md. */
export const RUN_SCRIPT_OPTION_CHECKS: Readonly<Record<string, Check>> = {
  timeout: milliseconds,
  env: stringRecord,
  cwd: nonEmptyString,
  args: expectStringList,
  config: expectObject,
  memoryLimitMb: positiveInteger,
  killGrace: milliseconds,
  signal: expectSignal,
  outputDir: nonEmptyString,
  projectRoot: nonEmptyString,
};

/** `RunScriptsOptions`. */
export const RUN_SCRIPTS_OPTION_CHECKS: Readonly<Record<string, Check>> = {
  ...Object.fromEntries(Object.entries(RUN_SCRIPT_OPTION_CHECKS).filter(([key]) => key !== 'config')),
  concurrency: positiveInteger,
  failFast: expectFailFast,
  configs: expectConfigs,
  onProgress: expectFunction,
};

/** `FolderRunSettings`: `folderToWorkflow`. */
export const FOLDER_SETTINGS_CHECKS: Readonly<Record<string, Check>> = {
  timeout: milliseconds,
  killGrace: milliseconds,
  concurrency: positiveInteger,
  failFast: expectFailFast,
  runTimeout: milliseconds,
  env: stringRecord,
  maxDepth: expectMaxDepth,
  subdirs: expectStringList,
  include: expectStringList,
  exclude: expectStringList,
  projectRoot: nonEmptyString,
};

/** What `runSpec` and `runFolder` share. */
const SPEC_RUN_CHECKS: Readonly<Record<string, Check>> = {
  outputDir: nonEmptyString,
  reports: expectReports,
  signal: expectSignal,
  onEvent: expectFunction,
  emitOutput: expectBoolean,
  engine: expectObject,
  cache: expectObject,
  cacheAll: expectBoolean,
  onStart: expectFunction,
};

/** `RunFolderOptions`. */
export const RUN_FOLDER_OPTION_CHECKS: Readonly<Record<string, Check>> = {
  ...FOLDER_SETTINGS_CHECKS,
  ...SPEC_RUN_CHECKS,
  onPlan: expectFunction,
};

/** `RunSpecOptions`. */
export const RUN_SPEC_OPTION_CHECKS: Readonly<Record<string, Check>> = {
  ...SPEC_RUN_CHECKS,
  projectRoot: nonEmptyString,
  env: expectObject,
  resume: expectObject,
  refreshCache: expectBoolean,
};

/** `RunWorkflowFileOptions`. */
export const RUN_WORKFLOW_FILE_OPTION_CHECKS: Readonly<Record<string, Check>> = {
  ...RUN_SPEC_OPTION_CHECKS,
  concurrency: positiveInteger,
  failurePolicy: expectFailurePolicy,
  timeout: milliseconds,
  onPlan: expectFunction,
};

/** The scripts of `runScripts()`: paths, or scripts as `discoverScripts` describes them. */
export function expectScriptList(value: unknown, fn: string): void {
  const isScript = (item: unknown): boolean =>
    (typeof item === 'string' && item !== '') ||
    (typeof item === 'object' && item !== null && typeof (item as { path?: unknown }).path === 'string');
  if (!Array.isArray(value) || !value.every(isScript)) {
    throw new TypeError(`Expected the scripts of ${fn} to be a list of script paths (or discovered scripts), got ${describeValue(value)}`);
  }
}
