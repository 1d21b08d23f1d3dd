import { colorsFor } from './colors.js';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../config/config-error.js';
import { StoreError } from '../store/store-error.js';
import { EXIT_CODES } from '../bridges/exit-code.js';
import {
  ageOption,
  durationOption,
  failFastOption,
  listOption,
  nonNegativeInt,
  positiveInt,
  reporterOption,
  RUN_RECORD_STATUSES,
  runStatusOption,
} from './options.js';
import type { CliIo, RunFlags } from './types.js';

export type { CliIo, RunFlags } from './types.js';

function version(): string {
  const pkg = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** Picks the folder when none is given: `./scripts` if it exists, else the current folder. */
export /** The engine flags of every command that runs steps. */
function engineOptions(command: Command): Command {
  return command
    .addOption(new Option('--engine <name>', 'where steps run: local (this process) or bullmq (workers via Redis)').choices(['local', 'bullmq']))
    .option('--redis <url>', 'with --engine bullmq: redis://[user:password@]host:port[/db] or rediss:// (default: $ORCHESTRATOR_REDIS_URL)')
    .option('--queue <name>', 'with --engine bullmq: queue for steps without runs_on.queue (default: steps)')
    .option('--secret-file <file>', 'with --engine bullmq: sign jobs with the shared secret in this file (default: $ORCHESTRATOR_SECRET)');
}

function defaultFolder(cwd: string): string {
  const scripts = path.join(cwd, 'scripts');
  return existsSync(scripts) ? scripts : cwd;
}

/** Which scripts of a folder: every command that discovers scripts. */
function addDiscoveryOptions(command: Command): Command {
  return command
    .option('-s, --subdirs <names>', 'only these subfolders (comma-separated, repeatable)', listOption)
    .option('-f, --filter <glob>', 'only scripts matching (glob, or a substring without glob characters; repeatable)', listOption)
    .option('--exclude <glob>', 'leave out scripts matching (repeatable)', listOption)
    .option('--max-depth <n>', 'folder levels to search below the folder (default 2)', nonNegativeInt);
}

function addSelectionOptions(command: Command): Command {
  return addDiscoveryOptions(command)
    .option('-t, --timeout <duration>', 'per-script timeout: seconds or 90s, 2m (default 60s; config `scripts` rules beat it)', durationOption)
    .option('--kill-grace <duration>', 'time between SIGTERM and SIGKILL (default 5s)', durationOption)
    .option('-j, --concurrency <n>', 'scripts at once (default: number of CPUs)', positiveInt)
    .option('--project-root <dir>', 'where config lookup stops (default: nearest .git, package.json or pyproject.toml)');
}

/** The arguments before a `--` (after it, arguments belong to someone else). */
function optionsPart(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf('--');
  return end === -1 ? argv : argv.slice(0, end);
}

/** A stream whose `write`s are also handed to `seen` (for `--json`: what a command wrote). */
function watchWrites<S extends NodeJS.WritableStream>(stream: S, seen: (chunk: unknown) => void): S {
  return new Proxy(stream, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (key === 'write') {
        return (chunk: unknown, ...rest: unknown[]) => {
          seen(chunk);
          return (target.write as (...args: unknown[]) => boolean)(chunk, ...rest);
        };
      }
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** What the CLI prints on stdout with `--json` when a command fails before it has a result to print. */
export interface JsonErrorDocument {
  ok: false;
  error: { message: string; diagnostics: import('../config/types.js').Diagnostic[] };
}

/**
 * Runs the CLI and returns the exit code. Never calls `process.exit`, so tests can call it. With
 * `--json`, stdout always gets one JSON document: when a command fails before it
 * printed its own, a `JsonErrorDocument` with the error (and a config error's diagnostics).
 */
export async function main(argv: readonly string[], io?: Partial<CliIo>): Promise<number> {
  if (!optionsPart(argv).includes('--json')) return mainWithoutJsonErrors(argv, io);
  let printed = false;
  let errors = '';
  const stdout = watchWrites(io?.stdout ?? process.stdout, () => {
    printed = true;
  });
  const stderr = watchWrites(io?.stderr ?? process.stderr, (chunk) => {
    // Only what is needed for the message: the `error:` lines, from a bounded tail.
    if (errors.length < 65_536) errors += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
  });
  let thrown: unknown;
  let code: number;
  try {
    code = await mainWithoutJsonErrors(argv, { ...io, stdout, stderr }, (error) => {
      thrown = error;
    });
  } catch (error) {
    if (!printed) stdout.write(jsonError(error, errors));
    throw error;
  }
  if (code !== EXIT_CODES.ok && !printed) stdout.write(jsonError(thrown, errors));
  return code;
}

function jsonError(error: unknown, stderrText: string): string {
  // eslint-disable-next-line no-control-regex
  const lines = stderrText.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const errorLines = lines.filter((line) => line.startsWith('error: ')).map((line) => line.slice('error: '.length));
  const document: JsonErrorDocument = {
    ok: false,
    error:
      error instanceof ConfigError
        ? { message: 'invalid configuration', diagnostics: error.diagnostics }
        : {
            message:
              error instanceof Error && !(error instanceof CommanderError)
                ? error.message
                : errorLines.join('\n') || lines.filter((line) => line.trim() !== '').at(-1) || 'the command failed',
            diagnostics: [],
          },
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

async function mainWithoutJsonErrors(argv: readonly string[], io?: Partial<CliIo>, onError?: (error: unknown) => void): Promise<number> {
  const ctx: CliIo = {
    stdout: io?.stdout ?? process.stdout,
    stderr: io?.stderr ?? process.stderr,
    env: io?.env ?? process.env,
    cwd: io?.cwd ?? process.cwd(),
    color: io?.color ?? (optionsPart(argv).includes('--no-color') ? false : undefined),
  };
  let exitCode: number = EXIT_CODES.ok;
  const program = new Command('orchestrator')
    .description('Run folders of scripts in parallel, with timeouts, process-tree killing and reports.')
    .version(version(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)');

  addSelectionOptions(
    program
      .command('run')
      .description('run a workflow file, or every script of a folder in parallel, and write reports')
      .argument('[target]', 'workflow file (.yaml, .yml, .json) or folder of scripts (default: ./scripts if it exists, else .)'),
  )
    .option('-n, --dry-run', 'show what would run and what is skipped and why; run nothing')
    .addOption(
      new Option('--fail-fast [policy]', 'after a failure start no new scripts (no-new), or also kill running ones (kill)').argParser(
        failFastOption,
      ),
    )
    .option('--run-timeout <duration>', 'timeout for the whole run (default: none)', durationOption)
    .option('-o, --output-dir <dir>', 'reports go to <dir>/<run-id>/ (default: run.output_dir in config, else <folder>/output)')
    .option('--reporter <names>', 'console, json, markdown, junit (comma-separated, repeatable; default all)', reporterOption)
    .option('--json', 'print the summary as JSON on stdout (console output goes to stderr)')
    .option('-v, --verbose', 'stream every line of script output, prefixed with the script id')
    .option('--no-color', 'no colours (NO_COLOR is honoured too)')
    .option('--state-dir <dir>', 'run history folder (default: <project root>/.orchestrator, or $ORCHESTRATOR_STATE_DIR)')
    .option('--no-history', 'do not record this run in the run history')
    .option('--cache', 'cache every step (steps with `cache:` in a workflow file are cached anyway)')
    .option('--no-cache', 'cache nothing: run every step')
    .option('--explain', 'say why each cached step ran (what changed) or came from the cache');
  engineOptions(program.commands.find((c) => c.name() === 'run') as Command)
    .action(async (folder: string | undefined, flags: RunFlags) => {
      const { runCommand } = await import('./commands/run.js');
      exitCode = await runCommand(folder ?? defaultFolder(ctx.cwd), flags, ctx);
    });

  addSelectionOptions(
    program
      .command('list')
      .description('show what `run` would do, with config resolved (as `run --dry-run`)')
      .argument('[target]', 'folder of scripts or workflow file (default: ./scripts if it exists, else .)'),
  )
    .option('--json', 'print the plan as JSON')
    .option('--no-color', 'no colours')
    .action(async (folder: string | undefined, flags: RunFlags) => {
      const { listCommand } = await import('./commands/list.js');
      exitCode = await listCommand(folder ?? defaultFolder(ctx.cwd), flags, ctx);
    });

  program
    .command('graph')
    .description('print the dependency graph of a workflow file (order, levels, critical path)')
    .argument('<target>', 'workflow file (.yaml, .yml, .json) or folder of scripts')
    .addOption(new Option('--format <format>', 'output format').choices(['mermaid', 'dot', 'json']).default('mermaid'))
    .option('--project-root <dir>', 'paths in the workflow must stay inside it (default: nearest .git, package.json or pyproject.toml)')
    .action(async (target: string, flags: { format?: 'mermaid' | 'dot' | 'json'; projectRoot?: string }) => {
      const { graphCommand } = await import('./commands/graph.js');
      exitCode = await graphCommand(target, flags, ctx);
    });

  // The discovery options of `run`: config files in subfolders are read where the walk goes, so
  // without them validate would check other files than the run it is meant to vouch for.
  addDiscoveryOptions(
    program
      .command('validate')
      .description('check a workflow file, or the config files of a folder; exit 2 with every problem found')
      .argument('[target]', 'workflow file or folder of scripts (default: ./scripts if it exists, else .)'),
  )
    .option('--project-root <dir>', 'where config lookup stops')
    .option('--json', 'print diagnostics as JSON')
    .action(async (folder: string | undefined, flags: { projectRoot?: string; json?: boolean; maxDepth?: number; subdirs?: string[]; filter?: string[]; exclude?: string[] }) => {
      const { validateCommand } = await import('./commands/validate.js');
      exitCode = await validateCommand(folder ?? defaultFolder(ctx.cwd), flags, ctx);
    });

  // No --timeout or --kill-grace: docs runs nothing unless --run-help is given, and then each
  // `--help` gets --help-timeout. Offered, they would be accepted and do nothing.
  addDiscoveryOptions(
    program
      .command('docs')
      .description('write Markdown documentation of the scripts from their docstrings and leading comments; runs nothing unless --run-help')
      .argument('[folder]', 'folder of scripts (default: ./scripts if it exists, else .)'),
  )
    .option('-o, --output <file>', 'the Markdown file to write (default: stdout)')
    .option('--run-help', 'also run each script with --help and include its output (a script that ignores --help runs for real)')
    .option('--no-run-help', 'do not run scripts with --help (the default)')
    .option('--help-timeout <duration>', 'with --run-help: how long each `--help` may take (default 5s)', durationOption)
    .option('-j, --concurrency <n>', 'with --run-help: scripts run with --help at once (default: number of CPUs)', positiveInt)
    .option('--project-root <dir>', 'where config lookup stops (default: nearest .git, package.json or pyproject.toml)')
    .action(async (folder: string | undefined, flags: RunFlags & { output?: string; helpTimeout?: number; runHelp?: boolean }) => {
      const { docsCommand } = await import('./commands/docs.js');
      exitCode = await docsCommand(folder ?? defaultFolder(ctx.cwd), flags, ctx);
    });

  const historyOptions = (command: Command): Command =>
    command
      .option('--state-dir <dir>', 'run history folder (default: <project root>/.orchestrator, or $ORCHESTRATOR_STATE_DIR)')
      .option('--project-root <dir>', 'the project whose history to read (default: nearest .git, package.json or pyproject.toml)')
      .option('--no-color', 'no colours');

  historyOptions(
    program
      .command('runs')
      .description('recent runs (`runs show <id>`: one run with its steps, durations and reasons)')
      .argument('[show]', '`show` to show one run')
      .argument('[id]', 'run id or a unique prefix of one')
      .option('--status <list>', `only runs with these statuses (${RUN_RECORD_STATUSES.join(', ')}; comma-separated, repeatable)`, runStatusOption)
      .option('--name <name>', 'only runs with this name')
      .option('--limit <n>', 'how many runs (default 20)', positiveInt)
      .option('--json', 'print JSON'),
  ).action(async (show: string | undefined, id: string | undefined, flags: Record<string, unknown>) => {
    const history = await import('./commands/history.js');
    if (show !== undefined && show !== 'show') {
      ctx.stderr.write(`error: expected \`runs\` or \`runs show <id>\`, got \`runs ${show}\`\n`);
      exitCode = EXIT_CODES.usage;
      return;
    }
    if (show === 'show') {
      if (!id) {
        ctx.stderr.write('error: `runs show` needs a run id\n');
        exitCode = EXIT_CODES.usage;
        return;
      }
      exitCode = await history.runsShowCommand(ctx, id, flags);
    } else {
      exitCode = await history.runsCommand(ctx, flags);
    }
  });

  historyOptions(
    program
      .command('logs')
      .description("print a run's logs (one step's, or all)")
      .argument('<id>', 'run id or a unique prefix of one')
      .argument('[step]', 'step id')
      .option('--tail <n>', 'only the last N lines', positiveInt)
      .option('-f, --follow', 'with a step: print each attempt as it ends (and output past 256 KiB as it is written) until the run ends'),
  ).action(async (id: string, step: string | undefined, flags: Record<string, unknown>) => {
    const { logsCommand } = await import('./commands/history.js');
    exitCode = await logsCommand(ctx, id, step, flags);
  });

  historyOptions(
    program
      .command('resume')
      .description('finish a run that was interrupted, failed or cancelled: only what did not succeed runs, in the same run')
      .argument('<id>', 'run id or a unique prefix of one')
      .option('--json', 'print the summary as JSON on stdout')
      .option('--reporter <names>', 'console, json, markdown, junit', reporterOption)
      .option('-v, --verbose', 'stream every line of output'),
  );
  engineOptions(program.commands.find((c) => c.name() === 'resume') as Command).action(async (id: string, flags: RunFlags) => {
    const { rerunCommand } = await import('./commands/history.js');
    exitCode = await rerunCommand(ctx, id, { kind: 'resume' }, flags);
  });

  historyOptions(
    program
      .command('rerun')
      .description('run again as a new run: --failed (failed steps and their dependents) or --step X [--downstream]')
      .argument('<id>', 'run id or a unique prefix of one')
      .option('--failed', 'rerun the steps that did not succeed, and their dependents (the default)')
      .option('--step <id>', 'rerun this step (the others keep their results)')
      .option('--downstream', 'with --step: also rerun everything that depends on it')
      .option('--json', 'print the summary as JSON on stdout')
      .option('--reporter <names>', 'console, json, markdown, junit', reporterOption)
      .option('-v, --verbose', 'stream every line of output'),
  );
  engineOptions(program.commands.find((c) => c.name() === 'rerun') as Command).action(async (id: string, flags: RunFlags & { step?: string; downstream?: boolean; failed?: boolean }) => {
    // Refused, not resolved by precedence: whichever flag lost, the user would get a rerun of
    // other steps than the ones asked for.
    const conflict =
      flags.failed === true && flags.step !== undefined
        ? '`rerun` takes --failed or --step <id>, not both: --failed reruns the failed steps and their dependents, --step only the step named (with --downstream, and its dependents)'
        : flags.downstream === true && flags.step === undefined
          ? '`rerun --downstream` needs --step <id>: it adds the steps that depend on that step (--failed, the default, already reruns the dependents of failed steps)'
          : undefined;
    if (conflict !== undefined) {
      ctx.stderr.write(`${colorsFor(ctx.stderr, ctx).red('error:')} ${conflict}\n`);
      exitCode = EXIT_CODES.usage;
      return;
    }
    const { rerunCommand } = await import('./commands/history.js');
    const mode = flags.step !== undefined ? { kind: 'step' as const, step: flags.step, downstream: flags.downstream === true } : { kind: 'failed' as const };
    exitCode = await rerunCommand(ctx, id, mode, flags);
  });

  historyOptions(
    program
      .command('explain')
      .description('why a cached step ran in a run: what changed since the cache entry, or that it was a hit')
      .argument('<id>', 'run id or a unique prefix of one')
      .argument('<step>', 'step id'),
  ).action(async (id: string, step: string, flags: Record<string, unknown>) => {
    const { explainCommand } = await import('./commands/history.js');
    exitCode = await explainCommand(ctx, id, step, flags);
  });

  historyOptions(
    program
      .command('cancel')
      .description('cancel a run that an orchestrator in another terminal is running')
      .argument('<id>', 'run id or a unique prefix of one')
      .option('--no-wait', 'do not wait for the run to end'),
  ).action(async (id: string, flags: Record<string, unknown>) => {
    const { cancelCommand } = await import('./commands/history.js');
    exitCode = await cancelCommand(ctx, id, flags);
  });

  historyOptions(
    program
      .command('prune')
      .description('delete old runs from the history')
      .option('--keep <n>', 'keep the newest N runs', nonNegativeInt)
      .option('--older-than <age>', 'delete runs older than this; a unit is required (30d, 2w, 12h, 90m)', ageOption),
  ).action(async (flags: Record<string, unknown>) => {
    const { pruneCommand } = await import('./commands/history.js');
    exitCode = await pruneCommand(ctx, flags);
  });

  program
    .command('worker')
    .description('run steps for the distributed engine: take them off Redis queues and run them here')
    .option('--redis <url>', 'redis://[user:password@]host:port[/db] or rediss:// (default: $ORCHESTRATOR_REDIS_URL)')
    .option('-j, --concurrency <n>', 'steps at once (default 1)', positiveInt)
    .option('--queue <name>', 'queue to serve (default: steps)')
    .option('--tags <list>', 'tags this worker has: it also runs steps whose runs_on needs them (comma-separated)', listOption)
    .option('--root <dir>', 'workspace root: job paths are resolved against it and may not leave it (default: the current folder)')
    .option('--state-dir <dir>', 'where full step logs and scratch files go (default: <root>/.orchestrator/worker)')
    .option('--secret-file <file>', 'shared secret: refuse jobs not signed with it (default: $ORCHESTRATOR_SECRET)')
    .option('--lock-duration <duration>', 'how long a job stays locked without a heartbeat; a dead worker\'s step runs again after about this (default 30s)', durationOption)
    .action(async (flags: Record<string, unknown>) => {
      const { workerCommand } = await import('./commands/worker.js');
      exitCode = await workerCommand(ctx, flags);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    onError?.(error);
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors with 1 from commander.
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    if (error instanceof ConfigError) {
      ctx.stderr.write(`${colorsFor(ctx.stderr, ctx).red('error:')} invalid configuration\n${error.message}\n`);
      return EXIT_CODES.usage;
    }
    if (error instanceof TypeError) {
      ctx.stderr.write(`${colorsFor(ctx.stderr, ctx).red('error:')} ${error.message}\n`);
      return EXIT_CODES.usage;
    }
    if (error instanceof StoreError) {
      // A read-only, busy or missing state folder: the message names the file and what to do; a
      // stack trace would only hide it.
      ctx.stderr.write(`${colorsFor(ctx.stderr, ctx).red('error:')} ${error.message}\n`);
      return EXIT_CODES.usage;
    }
    throw error;
  }
  return exitCode;
}
