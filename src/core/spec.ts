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

export type StepSpec = ScriptStep | CommandStep;
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
}
