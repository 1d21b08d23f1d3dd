import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { parseDuration } from '../core/duration.js';
import { describeValue } from './describe-value.js';
import { documentValue, type PushAtOffset } from './document-value.js';
import { stripBom } from './json-syntax.js';
import { envNameProblem, envValueProblem } from './env-entry.js';
import { issueDiagnostics } from './issue-diagnostics.js';
import { configSchema } from './schema.js';
import type { RawConfig } from './schema.js';
import { formatFieldPath, SourceLocator } from './source-locator.js';
import type { FieldPath } from './source-locator.js';
import { checkInside, isInside } from './is-inside.js';
import type { ConfigFile, Diagnostic, DiscoveryConfig, RunConfig, ScriptConfig } from './types.js';

type RawScript = NonNullable<RawConfig['scripts']>[string];

/** Reason given to `skip` entries that have none. */
export const DEFAULT_SKIP_REASON = 'listed in skip';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}


function toPosix(text: string): string {
  return path.sep === '/' ? text : text.split(path.sep).join('/');
}

/** A pattern relative to `dir` with POSIX separators and no `./`; absolute ones are made relative. */
function normalizePattern(pattern: string, dir: string): string {
  if (path.isAbsolute(pattern)) return toPosix(path.relative(dir, pattern));
  return path.posix.normalize(pattern).replace(/^\.\/+/, '');
}

function milliseconds(value: number | string): number {
  const ms = parseDuration(value);
  // The schema only lets through what parseDuration accepts.
  if (ms === undefined) throw new Error(`Invariant: ${JSON.stringify(value)} passed validation but is not a duration`);
  return ms;
}

function toScriptConfig(raw: RawScript, dir: string): ScriptConfig {
  const config: ScriptConfig = {};
  if (raw.timeout !== undefined) config.timeout = milliseconds(raw.timeout);
  if (raw.args !== undefined) config.args = raw.args.map(String);
  if (raw.env !== undefined) {
    config.env = Object.fromEntries(Object.entries(raw.env).map(([key, value]) => [key, String(value)]));
  }
  if (raw.cwd !== undefined) config.cwd = path.resolve(dir, raw.cwd);
  if (raw.interpreter !== undefined) {
    config.interpreter = typeof raw.interpreter === 'string' ? raw.interpreter.trim().split(/\s+/) : [...raw.interpreter];
  }
  if (raw.allowed_exit_codes !== undefined) config.allowedExitCodes = [...raw.allowed_exit_codes];
  if (raw.retries !== undefined) config.retries = raw.retries;
  if (raw.retry_on_exit_codes !== undefined) config.retryOnExitCodes = [...raw.retry_on_exit_codes];
  if (raw.retry_delay !== undefined) config.retryDelay = milliseconds(raw.retry_delay);
  if (raw.memory_limit_mb !== undefined) config.memoryLimitMb = raw.memory_limit_mb;
  if (raw.kill_grace !== undefined) config.killGrace = milliseconds(raw.kill_grace);
  if (raw.tags !== undefined) config.tags = [...raw.tags];
  if (raw.skip !== undefined) config.skip = raw.skip;
  if (raw.skip_reason !== undefined) config.skipReason = raw.skip_reason;
  return config;
}

function toConfigFile(raw: RawConfig, filePath: string): ConfigFile {
  const dir = path.dirname(filePath);
  const discovery: DiscoveryConfig = {};
  const rawDiscovery = raw.discovery ?? {};
  if (rawDiscovery.max_depth !== undefined) discovery.maxDepth = rawDiscovery.max_depth;
  if (rawDiscovery.include !== undefined) discovery.include = [...rawDiscovery.include];
  if (rawDiscovery.exclude !== undefined) discovery.exclude = [...rawDiscovery.exclude];
  if (rawDiscovery.skip_dirs !== undefined) discovery.skipDirs = [...rawDiscovery.skip_dirs];
  if (rawDiscovery.skip_files !== undefined) discovery.skipFiles = [...rawDiscovery.skip_files];
  const run: RunConfig = {};
  const rawRun = raw.run ?? {};
  if (rawRun.concurrency !== undefined) run.concurrency = rawRun.concurrency;
  if (rawRun.fail_fast !== undefined) run.failFast = rawRun.fail_fast;
  if (rawRun.timeout !== undefined) run.timeout = milliseconds(rawRun.timeout);
  if (rawRun.output_dir !== undefined) run.outputDir = path.resolve(dir, rawRun.output_dir);
  return {
    path: filePath,
    dir,
    defaults: toScriptConfig(raw.defaults ?? {}, dir),
    skip: (raw.skip ?? []).map((entry) =>
      typeof entry === 'string'
        ? { pattern: normalizePattern(entry, dir), reason: DEFAULT_SKIP_REASON }
        : { pattern: normalizePattern(entry.path, dir), reason: entry.reason ?? DEFAULT_SKIP_REASON },
    ),
    scripts: Object.entries(raw.scripts ?? {}).map(([pattern, config]) => ({
      pattern: normalizePattern(pattern, dir),
      config: toScriptConfig(config, dir),
    })),
    discovery,
    run,
  };
}

type AddDiagnostic = (
  severity: Diagnostic['severity'],
  fieldPath: FieldPath,
  want: 'key' | 'value',
  message: string,
) => void;

/**
 * Checks the folders and patterns that must stay inside the project root, and the names and values
 * of `env` (which the schema takes as any string). It runs on the raw value, even when the schema
 * failed elsewhere, so these problems are reported with the rest.
 */
function checkPaths(config: unknown, dir: string, root: string, add: AddDiagnostic): void {
  function checkFolder(folder: unknown, fieldPath: FieldPath): void {
    if (typeof folder !== 'string' || folder === '') return;
    const target = path.resolve(dir, folder);
    // Symlinks are resolved (the root's too): a link in the project cannot lead out of it.
    const where = checkInside(root, target);
    if (where.inside) return;
    add(
      'error',
      fieldPath,
      'value',
      where.through === 'text'
        ? `expected a folder inside the project root ${root}, got ${describeValue(folder)}, which is ${target}`
        : `expected a folder inside the project root ${root}, got ${describeValue(folder)}, which resolves through a link to ${where.real}, outside the project root`,
    );
  }

  function checkPattern(pattern: unknown, fieldPath: FieldPath, want: 'key' | 'value'): void {
    if (typeof pattern !== 'string') return;
    if (pattern === '') {
      // Skip entries get this from the schema already; `scripts` keys do not.
      if (want === 'key') add('error', fieldPath, want, 'expected a path or glob, got "" (string)');
      return;
    }
    const normalized = normalizePattern(pattern, dir);
    if (!isInside(root, path.resolve(dir, normalized))) {
      add('error', fieldPath, want, `expected a path or glob inside the project root ${root}, got ${describeValue(pattern)}`);
    } else if (normalized === '..' || normalized.startsWith('../')) {
      add('warning', fieldPath, want, `${describeValue(pattern)} is outside this file's folder, so it never matches; move it to the config file of a parent folder`);
    }
  }

  function checkEnv(env: unknown, fieldPath: FieldPath): void {
    if (!isRecord(env)) return;
    for (const [name, value] of Object.entries(env)) {
      const nameProblem = envNameProblem(name);
      if (nameProblem !== undefined) add('error', [...fieldPath, name], 'key', nameProblem);
      const valueProblem = envValueProblem(value);
      if (valueProblem !== undefined) add('error', [...fieldPath, name], 'value', valueProblem);
    }
  }

  if (!isRecord(config)) return;
  if (isRecord(config.defaults)) {
    checkFolder(config.defaults.cwd, ['defaults', 'cwd']);
    checkEnv(config.defaults.env, ['defaults', 'env']);
  }
  // Reports are written there: a config file may not send them out of the project (`--output-dir` may).
  if (isRecord(config.run)) checkFolder(config.run.output_dir, ['run', 'output_dir']);
  if (isRecord(config.scripts)) {
    for (const [key, entry] of Object.entries(config.scripts)) {
      checkPattern(key, ['scripts', key], 'key');
      if (isRecord(entry)) {
        checkFolder(entry.cwd, ['scripts', key, 'cwd']);
        checkEnv(entry.env, ['scripts', key, 'env']);
      }
    }
  }
  if (Array.isArray(config.skip)) {
    config.skip.forEach((entry: unknown, index) => {
      if (isRecord(entry)) checkPattern(entry.path, ['skip', index, 'path'], 'value');
      else checkPattern(entry, ['skip', index], 'value');
    });
  }
}

/**
 * Parses and validates the text of one config file. YAML and JSON (by the `.json` name) both go
 * through the `yaml` parser so every diagnostic has a line and column. `file` is only used for the
 * diagnostics and `ConfigFile.path`/`dir`; nothing is read from disk except to resolve the symlinks
 * of folders that must stay inside the project root (a missing folder resolves through its parent).
 *
 * Returns the parsed file only when there are no errors (warnings may come with it).
 * @see docs/config.md
 */
export function parseConfigText(
  text: string,
  file: string,
  projectRoot: string,
): { file?: ConfigFile; diagnostics: Diagnostic[] } {
  return parseConfigFile(text, file, projectRoot);
}

/**
 * `parseConfigText`, for a file found by a run. `runFolder` is the folder being run when the file
 * lies below it: its `run` settings are then ignored, which is said as a warning at the `run` key
 * (they apply to a whole run, so only the run folder and its parents give them).
 */
export function parseConfigFile(
  text: string,
  file: string,
  projectRoot: string,
  runFolder?: string,
): { file?: ConfigFile; diagnostics: Diagnostic[] } {
  const filePath = path.resolve(file);
  const dir = path.dirname(filePath);
  const root = path.resolve(projectRoot);
  const isJson = filePath.endsWith('.json');
  // A byte-order mark is not part of JSON (YAML skips it itself); columns count from after it, as editors do.
  if (isJson) text = stripBom(text);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const locator = new SourceLocator(doc, lineCounter);
  const diagnostics: Diagnostic[] = [];
  const add: AddDiagnostic = (severity, fieldPath, want, message) => {
    const { line, column } = locator.locate(fieldPath, want);
    diagnostics.push({ severity, file, line, column, field: formatFieldPath(fieldPath), message });
  };
  const push: PushAtOffset = (severity, fieldPath, offset, message) => {
    const { line, column } = locator.position(offset);
    diagnostics.push({ severity, file, line, column, field: formatFieldPath(fieldPath), message });
  };
  const value = documentValue(doc, locator, text, isJson, push, (message) => add('error', [], 'value', message));

  let raw: RawConfig | undefined;
  if (value !== undefined) {
    const result = configSchema.safeParse(value);
    if (result.success) raw = result.data;
    else diagnostics.push(...issueDiagnostics(result.error.issues, locator, file));
    checkPaths(value, dir, root, add);
    if (runFolder !== undefined && isRecord(value) && isRecord(value.run)) {
      const keys = Object.keys(value.run);
      if (keys.length > 0) {
        add(
          'warning',
          ['run'],
          'key',
          `ignored (${keys.join(', ')}): \`run\` settings apply to a whole run, so they come only from the folder being run (${runFolder}) and its parents; run ${dir} to use them`,
        );
      }
    }
  }

  diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
  const hasErrors = diagnostics.some((diagnostic) => diagnostic.severity === 'error');
  if (hasErrors || raw === undefined) return { diagnostics };
  const parsed = toConfigFile(raw, filePath);
  if (parsed.scripts.length > 0 || parsed.skip.length > 0) {
    sources.set(parsed, {
      text,
      keys: Object.keys(raw.scripts ?? {}),
      skips: (raw.skip ?? []).map((entry) => (typeof entry === 'string' ? { written: entry, isPath: false } : { written: entry.path, isPath: true })),
    });
  }
  return { file: parsed, diagnostics };
}

/**
 * The text of each parsed file with `scripts` rules or `skip` entries, the `scripts` keys as
 * written (in the order of `ConfigFile.scripts`) and the `skip` patterns as written (a string, or
 * the `path` of a mapping): a position is only needed for a warning, so the file is parsed again
 * then rather than every position kept for every file.
 */
const sources = new WeakMap<ConfigFile, { text: string; keys: string[]; skips: { written: string; isPath: boolean }[] }>();

/** Where a `scripts` key or `skip` entry is, as written (`./b.sh`, `b.sh ` with its space), and its field. */
export interface PatternPlace {
  written: string;
  field: FieldPath;
  line: number;
  column: number;
}

function locatorOf(text: string): SourceLocator {
  const lineCounter = new LineCounter();
  return new SourceLocator(parseDocument(text, { lineCounter, prettyErrors: false }), lineCounter);
}

/**
 * Where the key of each `scripts` rule of `file` is (by its index in `file.scripts`): undefined
 * for a file this module did not parse.
 */
export function scriptRuleLocator(file: ConfigFile): ((index: number) => PatternPlace | undefined) | undefined {
  const source = sources.get(file);
  if (source === undefined) return undefined;
  const locator = locatorOf(source.text);
  return (index) => {
    const key = source.keys[index];
    if (key === undefined) return undefined;
    const field = ['scripts', key];
    return { written: key, field, ...locator.locate(field, 'key') };
  };
}

/**
 * Where the pattern of each `skip` entry of `file` is (by its index in `file.skip`): the string,
 * or the `path` of a mapping. Undefined for a file this module did not parse.
 */
export function skipEntryLocator(file: ConfigFile): ((index: number) => PatternPlace | undefined) | undefined {
  const source = sources.get(file);
  if (source === undefined) return undefined;
  const locator = locatorOf(source.text);
  return (index) => {
    const entry = source.skips[index];
    if (entry === undefined) return undefined;
    const field = entry.isPath ? ['skip', index, 'path'] : ['skip', index];
    return { written: entry.written, field, ...locator.locate(field, 'value') };
  };
}
