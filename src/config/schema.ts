import * as z from 'zod';
import { duration, expected } from './schema-helpers.js';

/**
 * The JSON Schema `$id`. The npm package ships `schema/`, so this address serves the file once the
 * package is published.
 */
export const CONFIG_SCHEMA_ID = 'https://unpkg.com/codomyrmex-orchestrator/schema/orchestrator.schema.json';

export { DURATION_PATTERN } from './schema-helpers.js';



function stringList(what: string, description: string) {
  return z.array(z.string(expected('a string')), expected(`a list of ${what}s`)).describe(description);
}

function wholeNumber(min: number, description: string) {
  const what = min === 0 ? 'a whole number of 0 or more' : `a whole number of ${min} or more`;
  return z.number(expected(what)).int(expected(what)).min(min, expected(what)).describe(description);
}

const exitCode = z
  .number(expected('an exit code from 0 to 255'))
  .int(expected('an exit code from 0 to 255'))
  .min(0, expected('an exit code from 0 to 255'))
  .max(255, expected('an exit code from 0 to 255'));

const pattern = (description: string) =>
  z.string(expected('a path or glob')).min(1, expected('a non-empty path or glob')).describe(description);

/** Keys allowed under `defaults` and under each `scripts` entry. */
const settingsShape = {
  timeout: duration(
    'Time before the script\'s process tree is killed: seconds (a number) or a duration such as "90s", "2m", "500ms". 0 disables the timeout.',
  ).optional(),
  args: z
    .array(z.union([z.string(), z.number()], expected('a string')), expected('a list of strings'))
    .describe('Arguments passed to the script. Numbers are turned into strings.')
    .optional(),
  env: z
    .record(
      z.string(),
      z.union([z.string(), z.number(), z.boolean()], expected('a string, number or boolean')),
      expected('a mapping of variable names to values'),
    )
    .describe('Environment variables set for the script, over the orchestrator\'s own. Values are turned into strings.')
    .optional(),
  cwd: z
    .string(expected('a folder path'))
    .min(1, expected('a folder path'))
    .describe('Working folder, relative to this config file\'s folder. It must stay inside the project root.')
    .optional(),
  interpreter: z
    .union(
      [
        z.string(expected('a command')).regex(/\S/, expected('a command')),
        z.array(z.string(expected('a string')), expected('a list of strings')).min(1, expected('a non-empty list')),
      ],
      expected('a command as a string or a list of strings'),
    )
    .describe('Command prefix that runs the script, e.g. "python3 -X dev" (split on whitespace) or ["python3", "-X", "dev"].')
    .optional(),
  allowed_exit_codes: z
    .array(exitCode, expected('a list of exit codes'))
    .describe('Exit codes that count as success. Default: [0].')
    .optional(),
  retries: wholeNumber(0, 'Extra attempts after a failed first one. Default: 0.').optional(),
  retry_on_exit_codes: z
    .array(exitCode, expected('a list of exit codes'))
    .describe('Exit codes worth a retry. Unset or empty: any failure that is not a cancel.')
    .optional(),
  retry_delay: duration('Delay before the first retry; it doubles for each further retry. Default: 1s.').optional(),
  memory_limit_mb: wholeNumber(1, 'Limit on the resident memory of the script\'s whole process tree, in MiB.').optional(),
  kill_grace: duration('Time between SIGTERM and SIGKILL when a script is stopped. Default: 5s.').optional(),
  tags: stringList('tag', 'Labels for filtering and reports.').optional(),
};

const settingsSchema = z
  .strictObject(settingsShape, expected('a mapping of settings'))
  .describe('Settings for every script under this file\'s folder. `scripts` rules override them.');

const scriptSchema = z
  .strictObject(
    {
      ...settingsShape,
      skip: z.boolean(expected('true or false')).describe('Do not run the matching scripts.').optional(),
      skip_reason: z.string(expected('a string')).describe('Why the scripts are skipped, shown in reports.').optional(),
    },
    expected('a mapping of settings'),
  )
  .describe('Settings for the scripts that match the key.');

const skipEntrySchema = z.union(
  [
    pattern('Path or glob of scripts to skip, relative to this file\'s folder.'),
    z.strictObject(
      {
        path: pattern('Path or glob of scripts to skip, relative to this file\'s folder.'),
        reason: z.string(expected('a string')).describe('Why, shown in reports. Default: "listed in skip".').optional(),
      },
      expected('a mapping with `path` and `reason`'),
    ),
  ],
  expected('a path or glob, or a mapping with `path` and `reason`'),
);

const discoverySchema = z
  .strictObject(
    {
      max_depth: wholeNumber(0, 'Folder levels below the run folder to search; 0 means its own files only. Default: 2.').optional(),
      include: stringList('pattern', 'Keep only scripts matching one of these patterns.').optional(),
      exclude: stringList('pattern', 'Leave out scripts matching one of these patterns.').optional(),
      skip_dirs: stringList('folder name', 'Folder names never entered, added to the built-in list; "!name" removes a built-in one.').optional(),
      skip_files: stringList('file name', 'File names or globs never run, added to the built-in list; "!name" removes a built-in one.').optional(),
    },
    expected('a mapping of discovery settings'),
  )
  .describe('How scripts are found. Nearer files win; lists are concatenated.');

const runSchema = z
  .strictObject(
    {
      concurrency: wholeNumber(1, 'Scripts running at once. Default: the number of CPUs.').optional(),
      fail_fast: z.boolean(expected('true or false')).describe('Start no new scripts after the first failure. Default: false.').optional(),
      timeout: duration('Time limit for the whole run; 0 disables it.').optional(),
      output_dir: z
        .string(expected('a folder path'))
        .min(1, expected('a folder path'))
        .describe('Folder for reports and logs, relative to this config file\'s folder.')
        .optional(),
    },
    expected('a mapping of run settings'),
  )
  .describe('Settings for the whole run. Nearer files win.');

/**
 * The config file as users write it (snake_case keys, durations as seconds or text). Validation
 * only: conversion to `ConfigFile` happens in `parseConfigText`, which also knows the file's folder.
 * @see docs/config.md
 */
export const configSchema = z
  .strictObject(
    {
      $schema: z.string(expected('a string')).describe('Address of this JSON Schema, for editors.').optional(),
      version: z.literal(1, expected('1 (the only config version so far)')).describe('Config format version. Only 1 exists.').optional(),
      defaults: settingsSchema.optional(),
      skip: z
        .array(skipEntrySchema, expected('a list of paths or globs'))
        .describe('Scripts not to run, as paths or globs relative to this file\'s folder, each optionally with a reason.')
        .optional(),
      scripts: z
        .record(z.string(), scriptSchema, expected('a mapping of paths or globs to settings'))
        .describe('Per-script settings. Keys are paths or globs relative to this file\'s folder; a plain path also matches in subfolders (`a.py` matches `x/a.py`).')
        .optional(),
      discovery: discoverySchema.optional(),
      run: runSchema.optional(),
    },
    expected('a mapping of config keys'),
  )
  .describe('Config for codomyrmex-orchestrator: orchestrator.yaml, orchestrator.yml or orchestrator.json.');

/** A config file's content after validation, still as written (snake_case). */
export type RawConfig = z.output<typeof configSchema>;

/** The JSON Schema (draft-07) for config files, written to `schema/orchestrator.schema.json`. */
export function configJsonSchema(): Record<string, unknown> {
  // `io: 'input'` describes what users write (durations as number or string) rather than output.
  const { $schema, ...rest } = z.toJSONSchema(configSchema, { target: 'draft-07', io: 'input' });
  return { $schema, $id: CONFIG_SCHEMA_ID, title: 'codomyrmex-orchestrator config', ...rest };
}
