import { StepDescriptor } from './step-descriptor.js';
import { describeValue, expectNonEmptyString, type StepOptions } from './step-options.js';

/** Milliseconds a process step made by the DSL may run when no timeout is given (Python's 60 s). */
export const DSL_PROCESS_TIMEOUT_MS = 60_000;

/** Options of {@link script}. */
export interface ScriptOptions extends StepOptions {
  /** Arguments after the script path. @default [] */
  args?: readonly string[];
  /** Command prefix, e.g. `['python3', '-X', 'dev']`. @default from the extension or shebang */
  interpreter?: readonly string[];
}

/**
 * A script file as a step, run through its interpreter (from the extension or shebang) with its
 * folder as working directory. A missing file is not an error here: the step fails with reason
 * `script-missing` when it runs. `timeout` defaults to 60000.
 *
 * @example
 * await script('scripts/report.py', { args: ['--day', 'today'] }).run()
 */
export function script(scriptPath: string, options: ScriptOptions = {}): StepDescriptor {
  expectNonEmptyString(scriptPath, 'the script path');
  const { args = [], interpreter, ...rest } = options;
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) {
    throw new TypeError(`Expected the \`args\` option of script() to be a list of strings, got ${describeValue(args)}`);
  }
  if (interpreter !== undefined && (!Array.isArray(interpreter) || interpreter.some((a) => typeof a !== 'string'))) {
    throw new TypeError(`Expected the \`interpreter\` option of script() to be a list of strings, got ${describeValue(interpreter)}`);
  }
  return new StepDescriptor(
    { kind: 'script', path: scriptPath, args, ...(interpreter !== undefined ? { interpreter } : {}) },
    { timeout: DSL_PROCESS_TIMEOUT_MS, ...rest },
  );
}

/** Options of {@link pythonFunc}. */
export interface PythonFuncOptions extends StepOptions {
  /** Keyword arguments (JSON-compatible). @default {} */
  kwargs?: Record<string, unknown>;
  /** Folders put first on `sys.path`. @default [cwd] */
  pythonPath?: readonly string[];
}

/**
 * A Python function `package.module:function` as a step: run by the project's Python (virtualenv
 * first) in a child process that a timeout can kill, with JSON `args`/`kwargs` in and the JSON
 * return value out as the step's `value`. An exception fails the step (`function-threw`) with its
 * traceback in `stderrTail`. `timeout` defaults to 60000.
 *
 * @example
 * const result = await pythonFunc('mathops:add', [2, 3], { pythonPath: ['tools'] }).run();
 * result.value; // 5
 */
export function pythonFunc(target: string, args: readonly unknown[] = [], options: PythonFuncOptions = {}): StepDescriptor {
  expectNonEmptyString(target, 'the Python target');
  const colon = target.indexOf(':');
  if (colon <= 0 || colon === target.length - 1) {
    const dot = target.lastIndexOf('.');
    const hint = dot > 0 ? ` (did you mean "${target.slice(0, dot)}:${target.slice(dot + 1)}"?)` : '';
    throw new TypeError(`Expected the Python target to look like "package.module:function", got "${target}"${hint}`);
  }
  if (!Array.isArray(args)) throw new TypeError(`Expected the arguments of pythonFunc() to be a list, got ${describeValue(args)}`);
  const { kwargs = {}, pythonPath, ...rest } = options;
  if (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs)) {
    throw new TypeError(`Expected the \`kwargs\` option of pythonFunc() to be an object, got ${describeValue(kwargs)}`);
  }
  if (pythonPath !== undefined && (!Array.isArray(pythonPath) || pythonPath.some((p) => typeof p !== 'string'))) {
    throw new TypeError(`Expected the \`pythonPath\` option of pythonFunc() to be a list of folders, got ${describeValue(pythonPath)}`);
  }
  assertJson(args, 'the arguments of pythonFunc()');
  assertJson(kwargs, 'the `kwargs` of pythonFunc()');
  return new StepDescriptor(
    { kind: 'python', target, args, kwargs, ...(pythonPath !== undefined ? { pythonPath } : {}) },
    { timeout: DSL_PROCESS_TIMEOUT_MS, ...rest },
  );
}

/**
 * An exported function of a module file (`.js`, `.mjs`, `.ts`) as a step, run in a child Node
 * process so a timeout can kill it. `args` go in as JSON; the (awaited) return value comes out as
 * the step's `value`. `exportName` defaults to `'default'`; `timeout` to 60000. With
 * `isolation: 'inline'` it is called in this process instead (imported once, no process start),
 * with a `StepContext` after `args`; a timeout then aborts its signal but cannot kill it.
 *
 * @example
 * await moduleFunc('./tasks/resize.mjs', 'resize', ['in.png', 200]).run()
 */
export function moduleFunc(
  modulePath: string,
  exportName = 'default',
  args: readonly unknown[] = [],
  options: StepOptions & { isolation?: 'process' | 'inline' } = {},
): StepDescriptor {
  expectNonEmptyString(modulePath, 'the module path');
  expectNonEmptyString(exportName, 'the export name');
  if (!Array.isArray(args)) throw new TypeError(`Expected the arguments of moduleFunc() to be a list, got ${describeValue(args)}`);
  assertJson(args, 'the arguments of moduleFunc()');
  const { isolation, ...stepOptions } = options;
  if (isolation !== undefined && isolation !== 'process' && isolation !== 'inline') {
    throw new TypeError(`Expected isolation "process" or "inline", got ${describeValue(isolation)}`);
  }
  return new StepDescriptor(
    { kind: 'module', module: modulePath, export: exportName, args, ...(isolation === undefined ? {} : { isolation }) },
    { timeout: DSL_PROCESS_TIMEOUT_MS, ...stepOptions },
  );
}

/**
 * Arguments cross a process boundary as JSON: say so now rather than when the step runs, and
 * refuse what JSON would change without a word (`undefined` and `NaN` become `null`, a `Date` a
 * string, a `Map` `{}`), naming where the value is.
 */
function assertJson(value: unknown, what: string): void {
  const problem = jsonProblem(value, what, new Set());
  if (problem) throw new TypeError(`Expected ${what} to be JSON data (it is passed to another process): ${problem}`);
}

function jsonProblem(value: unknown, at: string, seen: Set<object>): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${at} is ${String(value)}, which JSON turns into null`;
  if (value === undefined) return `${at} is undefined, which JSON turns into null or drops`;
  if (typeof value !== 'object') return `${at} is a ${typeof value}, which JSON cannot hold`;
  if (seen.has(value)) return `${at} refers back to itself`;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const problem = jsonProblem(value[i], `${at}[${i}]`, seen);
        if (problem) return problem;
      }
      return undefined;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return `${at} is a ${name}, which JSON does not keep (pass plain objects, arrays, strings, numbers, booleans, null)`;
    }
    for (const [key, item] of Object.entries(value)) {
      const problem = jsonProblem(item, `${at}.${key}`, seen);
      if (problem) return problem;
    }
    return undefined;
  } finally {
    seen.delete(value);
  }
}
