import type { RetryPolicy } from './retry.js';

/**
 * What a kill looks like for a step: SIGTERM to the process group, then SIGKILL after `killGrace`
 * milliseconds. Descendants that left the group are found and signalled too.
 */
export interface StepCommon {
  /** Unique within the workflow. For folder runs: the script's path relative to the folder. */
  id: string;
  /** Display name. @default id */
  name: string;
  /** Ids of steps that must finish first. Folder runs have none. */
  needs: string[];
  /** Milliseconds before the step's process tree is killed. `0` disables. */
  timeout: number;
  /** Milliseconds between SIGTERM and SIGKILL. @default 5000 */
  killGrace: number;
  retry: RetryPolicy;
  /** Environment variables merged over the orchestrator's own. */
  env: Record<string, string>;
  /**
   * Workflow files only: the file's `defaults.env`, set when the step's own `env` replaces some
   * of its names (`env` then holds the step's values). `${{ }}` in env values is evaluated in
   * layers, and this keeps the defaults' layer whole: a default that reads `env.X` sees the
   * default X, not the step's.
   */
  defaultsEnv?: Record<string, string>;
  /** Absolute working directory. */
  cwd: string;
  /** Exit codes that count as success. @default [0] */
  allowedExitCodes: number[];
  /** Limit on the resident memory of the whole process tree, in MiB. */
  memoryLimitMb?: number;
  tags: string[];
  /** Folder the step belongs to, relative, for grouping in reports (`.` for the top level). */
  group: string;
  /** Set when configuration says not to run this step. */
  skip?: { reason: string };
  /** Free-form description (a script's docstring), for docs and reports. */
  description?: string;
  /**
   * When the step runs, as an expression in GitHub Actions syntax (without `${{ }}`), e.g.
   * `steps.test.outputs.coverage > 80`, `always()`, `failure()`. Unset means `success()`: run only
   * when every dependency succeeded. False: `skipped` with reason `condition-false`.
   */
  if?: string;
  /** In-process condition (DSL only; not serialisable). Runs after `if`. */
  condition?: (context: ConditionContext) => boolean | Promise<boolean>;
  /** A failure of this step neither fails the run nor skips its dependents. @default false */
  continueOnError?: boolean;
  /** Steps with the same group share the limit in `WorkflowSpec.groupConcurrency`. */
  concurrencyGroup?: string;
  /** For a step made by matrix expansion: its values, and the id of the step it was expanded from. */
  matrix?: Record<string, MatrixValue>;
  matrixOf?: string;
  /** Applied to a successful function step's value (DSL only). */
  transformResult?: (value: unknown) => unknown;
  /**
   * Opt-in caching: when a step's key (its command or script content, arguments, the declared
   * environment variables, the declared input files and its dependencies' outputs) matches an
   * earlier successful run, the step is not run; its outputs are restored and it is `cached`.
   */
  cache?: CacheSpec;
  /**
   * Where the distributed engine runs the step: a queue, and worker tags it needs (every one of
   * them). The local engine ignores it.
   */
  runsOn?: RunsOn;
}

export interface RunsOn {
  /** @default the engine's queue */
  queue?: string;
  tags?: string[];
}

export interface CacheSpec {
  /** Globs of input files, relative to the step's cwd. */
  inputs: string[];
  /** Names of environment variables whose values are part of the key. */
  env: string[];
}

export type MatrixValue = string | number | boolean;

/** What a step's `condition` and a function step see of the steps it depends on. */
export interface ConditionContext {
  runId: string;
  stepId: string;
  /** Results of the step's dependencies, by id. */
  needs: Record<string, NeedResult>;
}

export interface NeedResult {
  status: string;
  outputs: Record<string, string>;
  /** The return value of a function step (JSON-compatible for remote engines). */
  value?: unknown;
}

/** What a function step receives: one context for every kind of action. */
export interface StepContext extends ConditionContext {
  attempt: number;
  /** Aborted on timeout, cancellation or fail-fast kill: stop promptly when it fires. */
  signal: AbortSignal;
  env: Record<string, string>;
  matrix: Record<string, MatrixValue>;
  /** Sets an output, as `key=value` in `$ORCHESTRATOR_OUTPUT` does for processes. */
  setOutput(key: string, value: string): void;
  log(message: string): void;
}

export type ScriptKind = 'python' | 'shell' | 'node' | 'typescript' | 'executable';

/** A script file run through its interpreter (or directly, when it is an executable with a shebang). */
export interface ScriptStep extends StepCommon {
  kind: 'script';
  /** Absolute path of the script. */
  path: string;
  /** The path relative to the folder that was discovered (POSIX separators). */
  relativePath: string;
  args: string[];
  scriptKind: ScriptKind;
  /** The `#!` line without `#!`, when the file has one. */
  shebang?: string;
  /**
   * Command prefix that runs the script, e.g. `['python3']`, `['node']`, `['tsx']`, `['bash']`, or
   * `[]` to exec the file itself. Unset: derived from the extension or shebang when the run starts.
   */
  interpreter?: string[];
}

/** A shell command line run by `/bin/sh -c`. */
export interface CommandStep extends StepCommon {
  kind: 'command';
  command: string;
  /** The shell. @default '/bin/sh' */
  shell?: string;
}

/** An async or sync function run in this process (DSL only; the distributed engine refuses it). */
export interface FunctionStep extends StepCommon {
  kind: 'function';
  fn: (context: StepContext) => unknown;
}

/** An exported function of a module file, run in a child process so a timeout can kill it. */
export interface ModuleStep extends StepCommon {
  kind: 'module';
  /** Absolute path of the module (.js, .mjs, .ts). */
  module: string;
  /** Export name. @default 'default' */
  export: string;
  /** JSON-compatible arguments. */
  args: unknown[];
  /**
   * `process` (default): a child process of its own, killed on timeout like any script.
   * `inline`: called in the engine's (or worker's) own process, the module imported once: no
   * process start, so it suits many small tasks; the function gets a `StepContext` after its
   * arguments, a timeout aborts its signal and ends the step, but nothing can kill it.
   */
  isolation?: 'process' | 'inline';
}

/** A Python function `pkg.module:fn` run through the resolved interpreter, JSON in and out. */
export interface PythonStep extends StepCommon {
  kind: 'python';
  /** `package.module:function`. */
  target: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  /** Folders added to `sys.path` (absolute). @default [cwd] */
  pythonPath: string[];
}

/** A whole workflow run as one step. */
export interface SubWorkflowStep extends StepCommon {
  kind: 'workflow';
  workflow: WorkflowSpec;
}

export type StepSpec = ScriptStep | CommandStep | FunctionStep | ModuleStep | PythonStep | SubWorkflowStep;
export type StepKind = StepSpec['kind'];

/** What runs when a step fails: stop starting new steps, keep going, or kill running ones too. */
export type FailurePolicy = 'no-new' | 'continue' | 'kill';

/** A workflow is plain data: a folder run is a workflow whose steps have no dependencies. */
export interface WorkflowSpec {
  name: string;
  steps: StepSpec[];
  /** Steps running at once. @default number of CPUs */
  concurrency: number;
  /** @default 'continue' for folder runs */
  failurePolicy: FailurePolicy;
  /** Milliseconds for the whole run; `0` disables. */
  timeout: number;
  /** The folder or file the workflow came from, for reports. */
  source?: string;
  /** Environment for every step (a step's own `env` wins). */
  env?: Record<string, string>;
  /** Limits per `concurrencyGroup`. */
  groupConcurrency?: Record<string, number>;
}
