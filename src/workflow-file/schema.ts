import * as z from 'zod';
import { duration, expected } from '../config/schema-helpers.js';
import { STEP_ID_PATTERN } from './step-keys.js';

/** The JSON Schema `$id`; the npm package ships `schema/`. */
export const WORKFLOW_SCHEMA_ID = 'https://unpkg.com/codomyrmex-orchestrator/schema/workflow.schema.json';

// In a module without zod: the loader's fast path uses them without loading zod.
export { STEP_ID_PATTERN, STEP_KIND_KEYS } from './step-keys.js';
export type { StepKindKey } from './step-keys.js';

function wholeNumber(min: number, description: string) {
  const what = `a whole number of ${min} or more`;
  return z.number(expected(what)).int(expected(what)).min(min, expected(what)).describe(description);
}

function nonEmptyString(what: string, description: string) {
  return z.string(expected(what)).min(1, expected(what)).describe(description);
}

function stringList(what: string, description: string) {
  return z.array(z.string(expected('a string')), expected(`a list of ${what}s`)).describe(description);
}

const exitCode = z
  .number(expected('an exit code from 0 to 255'))
  .int(expected('an exit code from 0 to 255'))
  .min(0, expected('an exit code from 0 to 255'))
  .max(255, expected('an exit code from 0 to 255'));

const envSchema = z
  .record(
    z.string(),
    z.union([z.string(), z.number(), z.boolean()], expected('a string, number or boolean')),
    expected('a mapping of variable names to values'),
  )
  .describe('Environment variables. Values are turned into strings and may hold `${{ }}` templates, rendered when the step starts.');

const retryObjectSchema = z.strictObject(
  {
    max_attempts: wholeNumber(1, 'Total attempts, the first included. Default: 1 (no retry).').optional(),
    initial_delay: duration('Delay before the second attempt. Default: 1s.').optional(),
    max_delay: duration('Upper bound of any delay. Default: 60s.').optional(),
    factor: z
      .number(expected('a number of 1 or more'))
      .min(1, expected('a number of 1 or more'))
      .describe('Growth factor between delays. Default: 2.')
      .optional(),
    jitter: z
      .enum(['none', 'full', 'equal'], expected('"none", "full" or "equal"'))
      .describe('none: exact delays; full: uniform in [0, d]; equal: d/2 plus uniform in [0, d/2]. Default: none.')
      .optional(),
    on_exit_codes: z
      .array(exitCode, expected('a list of exit codes'))
      .describe('Exit codes worth a retry. Unset or empty: every failure that is not a cancel.')
      .optional(),
  },
  expected('a mapping of retry settings'),
);

const retrySchema = z
  .union(
    [wholeNumber(1, 'Total attempts, the first included.'), retryObjectSchema],
    expected('a number of attempts or a mapping of retry settings'),
  )
  .describe('How a failed step is tried again: a number (total attempts) or a mapping.');

const matrixValue = z.union([z.string(), z.number(), z.boolean()], expected('a string, number or boolean'));
const matrixEntry = z.record(z.string(), matrixValue, expected('a mapping of keys to values'));

/** A step's `matrix`; exported so the loader runs `expandMatrix` only on a well-formed one. */
export const matrixSchema = z
  .object(
    {
      include: z
        .array(matrixEntry, expected('a list of mappings'))
        .describe('Extra keys for matching combinations, or extra combinations (GitHub Actions rules).')
        .optional(),
      exclude: z
        .array(matrixEntry, expected('a list of mappings'))
        .describe('Combinations to drop: each entry drops every combination that has all its values.')
        .optional(),
    },
    expected('a mapping of axes to lists of values'),
  )
  .catchall(
    z
      .array(matrixValue, expected('a list of values'))
      .min(1, expected('a non-empty list of values'))
      .describe('One axis: its values.'),
  )
  .describe('Runs the step once per combination of the axes; ids become `test (os=linux, py=3.11)`.');

const functionSchema = z
  .strictObject(
    {
      module: nonEmptyString('a module path', 'Module file (.js, .mjs, .ts), relative to the workflow file\'s folder.'),
      export: nonEmptyString('an export name', 'Export to call. Default: default.').optional(),
      args: z.array(z.unknown(), expected('a list')).describe('JSON-compatible arguments.').optional(),
      isolation: z
        .enum(['process', 'inline'], expected('"process" or "inline"'))
        .describe('process: a child process per call, killed on timeout (default). inline: called in the orchestrator\'s (or worker\'s) own process, with a StepContext after the arguments; fast, but a timeout cannot kill it.')
        .optional(),
    },
    expected('a mapping with `module`'),
  )
  .describe('Calls an exported function of a module file, in a child process unless `isolation: inline`.');

const pythonSchema = z
  .strictObject(
    {
      target: z
        .string(expected('a target such as "pkg.module:function"'))
        .regex(/^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$/, expected('a target such as "pkg.module:function"'))
        .describe('`package.module:function`.'),
      args: z.array(z.unknown(), expected('a list')).describe('JSON-compatible positional arguments.').optional(),
      kwargs: z
        .record(z.string(), z.unknown(), expected('a mapping'))
        .describe('JSON-compatible keyword arguments.')
        .optional(),
      python_path: stringList('folder', 'Folders added to sys.path, relative to the workflow file\'s folder. Default: the step\'s cwd.').optional(),
    },
    expected('a mapping with `target`'),
  )
  .describe('Calls a Python function through the resolved interpreter, JSON in and out.');

const cacheSchema = z
  .union(
    [
      z.boolean(expected('true, false or a mapping with `inputs` and `env`')),
      z.strictObject(
        {
          inputs: stringList('glob', 'Input files (globs, relative to the step\'s cwd) that are part of the key.').optional(),
          env: stringList('variable name', 'Environment variables whose values are part of the key.').optional(),
        },
        expected('a mapping with `inputs` and `env`'),
      ),
    ],
    expected('true, false or a mapping with `inputs` and `env`'),
  )
  .describe('Skip the step when its key (command or script content, args, declared env and input files, dependencies\' outputs) matches an earlier successful run; its outputs are restored.');

const routingName = z
  .string(expected('a name of letters, digits, _ or -'))
  .regex(/^[A-Za-z0-9_-]+$/, expected('a name of letters, digits, _ or -'));
const runsOnSchema = z
  .union(
    [
      routingName,
      z.array(routingName, expected('a list of worker tags')).min(1, expected('a non-empty list of worker tags')),
      z.strictObject(
        {
          queue: routingName.describe('Queue the step is put on. Default: the engine\'s queue (--queue).').optional(),
          tags: z.array(routingName, expected('a list of worker tags')).describe('Tags a worker must all have.').optional(),
        },
        expected('a mapping with queue and tags'),
      ),
    ],
    expected('a worker tag, a list of tags, or a mapping with queue and tags'),
  )
  .describe('Distributed engine only: the worker tags the step needs (all of them), or `{ queue, tags }`. The local engine ignores it.');

const stepSchema = z
  .strictObject(
    {
      id: z
        .string(expected('a step id'))
        .regex(STEP_ID_PATTERN, expected('a step id of letters, digits, `_`, `.` and `-`'))
        .describe('Unique id: letters, digits, `_`, `.` and `-`.'),
      name: nonEmptyString('a name', 'Display name. Default: the id.').optional(),
      description: z.string(expected('a string')).describe('Free-form description for docs and reports.').optional(),
      run: nonEmptyString('a command line', 'Shell command line, run by `shell -c`. May hold `${{ }}` templates.').optional(),
      script: nonEmptyString('a script path', 'Script file, relative to the workflow file\'s folder.').optional(),
      function: functionSchema.optional(),
      python: pythonSchema.optional(),
      workflow: nonEmptyString('a workflow file path', 'Another workflow file, relative to this one\'s folder, run as one step.').optional(),
      args: z
        .array(z.union([z.string(), z.number()], expected('a string')), expected('a list of strings'))
        .describe('Arguments for a `script` step. Numbers become strings; `${{ }}` templates are rendered.')
        .optional(),
      interpreter: z
        .union(
          [
            z.string(expected('a command')).regex(/\S/, expected('a command')),
            z.array(z.string(expected('a string')), expected('a list of strings')).min(1, expected('a non-empty list')),
          ],
          expected('a command as a string or a list of strings'),
        )
        .describe('Command prefix for a `script` step, e.g. "python3 -X dev". Default: from the extension or shebang.')
        .optional(),
      shell: nonEmptyString('a shell path', 'Shell for a `run` step. Default: /bin/sh.').optional(),
      needs: z
        .union(
          [z.string(expected('a step id')), z.array(z.string(expected('a step id')), expected('a list of step ids'))],
          expected('a step id or a list of step ids'),
        )
        .describe('Steps that must finish first.')
        .optional(),
      if: z
        .union([z.string(expected('an expression')), z.boolean()], expected('an expression'))
        .describe('Condition, with or without `${{ }}`. Default: success().')
        .optional(),
      retry: retrySchema.optional(),
      timeout: duration('Time before the step\'s process tree is killed. 0 disables. Default: defaults.timeout, else none.').optional(),
      kill_grace: duration('Time between SIGTERM and SIGKILL. Default: 5s.').optional(),
      env: envSchema.optional(),
      cwd: nonEmptyString('a folder path', 'Working folder, relative to the workflow file\'s folder; inside the project root.').optional(),
      allowed_exit_codes: z
        .array(exitCode, expected('a list of exit codes'))
        .describe('Exit codes that count as success. Default: [0].')
        .optional(),
      memory_limit_mb: wholeNumber(1, 'Limit on the resident memory of the step\'s process tree, in MiB.').optional(),
      matrix: matrixSchema.optional(),
      continue_on_error: z
        .boolean(expected('true or false'))
        .describe('A failure neither fails the run nor skips dependents. Default: false.')
        .optional(),
      concurrency_group: nonEmptyString('a group name', 'Group whose limit is set in `concurrency_groups`.').optional(),
      tags: stringList('tag', 'Labels for filtering and reports.').optional(),
      cache: cacheSchema.optional(),
      runs_on: runsOnSchema.optional(),
    },
    expected('a mapping of step settings'),
  )
  .describe('One step: exactly one of run, script, function, python or workflow.');

const defaultsSchema = z
  .strictObject(
    {
      timeout: duration('Step timeout. Default: none.').optional(),
      kill_grace: duration('Time between SIGTERM and SIGKILL. Default: 5s.').optional(),
      cwd: nonEmptyString('a folder path', 'Working folder, relative to the workflow file\'s folder. Default: that folder.').optional(),
      retry: retrySchema.optional(),
      env: envSchema.optional(),
      runs_on: runsOnSchema.optional(),
    },
    expected('a mapping of step defaults'),
  )
  .describe('Settings every step gets unless it sets its own (env is merged, the step wins).');

/**
 * A workflow file as users write it (snake_case keys, durations as seconds or text). Validation
 * only: `parseWorkflowText` converts it to a `WorkflowSpec`.
 * @see docs/workflows.md
 */
export const workflowFileSchema = z
  .strictObject(
    {
      $schema: z.string(expected('a string')).describe('Address of this JSON Schema, for editors.').optional(),
      name: nonEmptyString('a workflow name', 'Name of the workflow, for reports.'),
      description: z.string(expected('a string')).describe('Free-form description.').optional(),
      concurrency: wholeNumber(1, 'Steps running at once. Default: the number of CPUs.').optional(),
      timeout: duration('Time limit for the whole run. Default: none.').optional(),
      fail_fast: z
        .union(
          [
            z.boolean(expected('true, false, "no-new", "kill" or "continue"')),
            z.enum(['no-new', 'kill', 'continue'], expected('true, false, "no-new", "kill" or "continue"')),
          ],
          expected('true, false, "no-new", "kill" or "continue"'),
        )
        .describe('After a failure: no-new (start nothing new; same as true), kill (also kill running steps), continue (same as false). Default: no-new.')
        .optional(),
      env: envSchema.optional(),
      cache: z.boolean(expected('true or false')).describe('Cache every step (each step may still set its own `cache`). Default: false.').optional(),
      defaults: defaultsSchema.optional(),
      concurrency_groups: z
        .record(z.string(), wholeNumber(1, 'Steps of the group running at once.'), expected('a mapping of group names to limits'))
        .describe('Limits per `concurrency_group`.')
        .optional(),
      steps: z
        .array(stepSchema, expected('a list of steps'))
        .min(1, expected('a non-empty list of steps'))
        .describe('The steps; order does not matter beyond `needs`.'),
    },
    expected('a mapping of workflow keys'),
  )
  .describe('A codomyrmex-orchestrator workflow file (YAML or JSON).');

export type RawWorkflow = z.output<typeof workflowFileSchema>;
export type RawStep = RawWorkflow['steps'][number];
export type RawRetry = NonNullable<RawStep['retry']>;

/** The JSON Schema (draft-07) for workflow files, written to `schema/workflow.schema.json`. */
export function workflowJsonSchema(): Record<string, unknown> {
  // `io: 'input'` describes what users write (durations as number or string).
  const { $schema, ...rest } = z.toJSONSchema(workflowFileSchema, { target: 'draft-07', io: 'input' });
  return { $schema, $id: WORKFLOW_SCHEMA_ID, title: 'codomyrmex-orchestrator workflow', ...rest };
}
