import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Document } from 'yaml';
import { parseDuration } from '../core/duration.js';
import { expandStepMatrix } from '../core/matrix.js';
import type { MatrixSpec } from '../core/matrix.js';
import { DEFAULT_RETRY_POLICY } from '../core/retry.js';
import type { RetryPolicy } from '../core/retry.js';
import type { FailurePolicy, StepCommon, StepSpec, WorkflowSpec } from '../core/spec.js';
import { documentValue } from '../config/document-value.js';
import { formatFieldPath } from '../config/field-path.js';
import { firstDuplicateKey, stripBom, type DuplicateKey } from '../config/json-syntax.js';
import type { FieldPath } from '../config/field-path.js';
import type { FieldLocator, SourceLocator } from '../config/source-locator.js';
import type { Diagnostic } from '../config/types.js';
import { KIND_BY_EXTENSION, kindFromShebang, readShebangSync } from '../discovery/shebang.js';
import type { ScriptKind } from '../discovery/types.js';
import { conditionExpression } from '../expressions/index.js';
import { NotRegularFileError, readRegularFileSync } from '../util/regular-file.js';
import { checkWorkflow } from './check-workflow.js';
import type { Reporter } from './check-workflow.js';
import { isSimpleWorkflow } from './is-simple-workflow.js';
import { readJsonPositions } from './read-json-positions.js';
import { readSimpleYaml } from './read-simple-yaml.js';
import type { FullParsers } from './full-parsers.js';
import type { RawRetry, RawStep, RawWorkflow } from './schema.js';

/** Default time between SIGTERM and SIGKILL. */
export const DEFAULT_KILL_GRACE_MS = 5000;

/**
 * Thrown when a file needs the `yaml` document or the zod schema and the session has not loaded
 * them: the caller imports `full-parsers.js` and parses again with them.
 */
export class NeedsFullParsers extends Error {
  constructor() {
    super('Invariant: the yaml parser and the zod schema were not loaded');
    this.name = 'NeedsFullParsers';
  }
}

/** What one file's parse produced. */
interface FileResult {
  spec?: WorkflowSpec;
  diagnostics: Diagnostic[];
}

/** State shared by a file and the sub-workflows it loads. */
interface LoadSession {
  root: string;
  /** Files being loaded, outermost first: a file that appears again is a cycle. */
  stack: string[];
  /** Finished files, so a sub-workflow used twice is read (and reported) once. */
  done: Map<string, FileResult>;
  /** The name diagnostics give a file. */
  display(abs: string): string;
  /** Build the `WorkflowSpec` of a valid file; `validate` only wants the diagnostics. */
  buildSpec: boolean;
  /** Loaded on demand (see `NeedsFullParsers`). */
  parsers: FullParsers | undefined;
  /** The file the session started with. */
  topFile: string;
  /** The timeout of the top file's steps that get none from it (`stepTimeout` of the load options). */
  stepTimeout: number;
}

function toPosix(text: string): string {
  return path.sep === '/' ? text : text.split(path.sep).join('/');
}

function milliseconds(value: number | string): number {
  const ms = parseDuration(value);
  // The schema only lets through what parseDuration accepts.
  if (ms === undefined) throw new Error(`Invariant: ${JSON.stringify(value)} passed validation but is not a duration`);
  return ms;
}

function stringEnv(env: Record<string, string | number | boolean> | undefined): Record<string, string> {
  if (env === undefined) return {};
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)]));
}

/**
 * `defaults.env` under the step's own `env` (the step wins); one object, even when both are unset.
 * The engine evaluates the values in key order, so the step's own values come after every value
 * of `defaults.env` (a name in both moves down to the step's place).
 */
function stepEnv(defaults: Record<string, string> | undefined, own: RawStep['env']): Record<string, string> {
  if (own === undefined) return defaults === undefined ? {} : { ...defaults };
  if (defaults === undefined) return stringEnv(own);
  // Spread and fromEntries define own properties, so a `__proto__` name stays a plain name.
  return { ...Object.fromEntries(Object.entries(defaults).filter(([key]) => !Object.hasOwn(own, key))), ...stringEnv(own) };
}

/** Whether a step's own `env` replaces a name of `defaults.env` while `${{ }}` is used in either. */
function overridesTemplatedDefaults(defaults: Record<string, string>, own: NonNullable<RawStep['env']>): boolean {
  let overrides = false;
  let templated = false;
  for (const [key, value] of Object.entries(own)) {
    if (Object.hasOwn(defaults, key)) overrides = true;
    if (typeof value === 'string' && value.includes('${{')) templated = true;
  }
  if (!overrides) return false;
  return templated || Object.values(defaults).some((value) => value.includes('${{'));
}

/** The ids of `needs` without repeats, as a new list (a Set only when there are many). */
function uniqueNeeds(needs: RawStep['needs']): string[] {
  if (needs === undefined) return [];
  if (typeof needs === 'string') return [needs];
  if (needs.length > 8) return [...new Set(needs)];
  const out: string[] = [];
  for (const need of needs) if (!out.includes(need)) out.push(need);
  return out;
}

const defaultRetries = new WeakMap<object, RetryPolicy>();

/** The retry policy of `defaults`, computed once per file rather than once per step. */
function defaultRetry(defaults: RawWorkflow['defaults']): RetryPolicy {
  if (defaults?.retry === undefined) return DEFAULT_RETRY_POLICY;
  let policy = defaultRetries.get(defaults);
  if (!policy) {
    policy = mergeRetry(DEFAULT_RETRY_POLICY, defaults.retry);
    defaultRetries.set(defaults, policy);
  }
  return policy;
}

function mergeRetry(base: RetryPolicy, raw: RawRetry | undefined): RetryPolicy {
  if (raw === undefined) return base;
  if (typeof raw === 'number') return { ...base, maxAttempts: raw };
  return {
    ...base,
    ...(raw.max_attempts === undefined ? {} : { maxAttempts: raw.max_attempts }),
    ...(raw.initial_delay === undefined ? {} : { initialDelay: milliseconds(raw.initial_delay) }),
    ...(raw.max_delay === undefined ? {} : { maxDelay: milliseconds(raw.max_delay) }),
    ...(raw.factor === undefined ? {} : { factor: raw.factor }),
    ...(raw.jitter === undefined ? {} : { jitter: raw.jitter }),
    ...(raw.on_exit_codes === undefined ? {} : { retryOnExitCodes: [...raw.on_exit_codes] }),
  };
}

/**
 * A folder relative to `dir`. One holding `${{ }}` is joined as text, not normalised: the engine
 * renders it first, and normalising could rewrite `..` inside an expression.
 */
const resolvedFolders = new Map<string, string>();

function resolveFolder(dir: string, folder: string): string {
  if (!folder.includes('${{')) {
    // Cached: every step of a big workflow usually resolves the same folder.
    const key = `${dir}\0${folder}`;
    let resolved = resolvedFolders.get(key);
    if (resolved === undefined) {
      if (resolvedFolders.size > 10_000) resolvedFolders.clear();
      resolved = path.resolve(dir, folder);
      resolvedFolders.set(key, resolved);
    }
    return resolved;
  }
  return path.isAbsolute(folder) ? folder : `${dir}${path.sep}${folder}`;
}

/** Kind and shebang of a script, as `describeScript` finds them (synchronously: parsing is sync). */
function describeScriptSync(file: string): { kind: ScriptKind; shebang?: string } {
  let shebang: string | undefined;
  try {
    shebang = readShebangSync(file);
  } catch {
    shebang = undefined;
  }
  const kind = KIND_BY_EXTENSION.get(path.extname(file)) ?? (shebang === undefined ? undefined : kindFromShebang(shebang)) ?? 'executable';
  return shebang === undefined ? { kind } : { kind, shebang };
}

function failurePolicy(value: RawWorkflow['fail_fast']): FailurePolicy {
  if (value === undefined || value === true) return 'no-new';
  if (value === false) return 'continue';
  return value;
}

/** What every step of a file shares, computed once per file rather than once per step. */
interface FileDefaults {
  dir: string;
  defaults: RawWorkflow['defaults'];
  /** The resolved `defaults.cwd` (or the file's folder). */
  cwd: string;
  env: Record<string, string> | undefined;
  retry: RetryPolicy;
  subWorkflows: Map<string, WorkflowSpec>;
  workflowCache: boolean;
  /** The timeout of a step when neither it nor `defaults` sets one. */
  stepTimeout: number;
}

function toStep(raw: RawStep, file: FileDefaults, stepIndex: number): StepSpec & { matrixSpec?: MatrixSpec } {
  const { dir, defaults, subWorkflows, workflowCache } = file;
  const cwd = raw.cwd === undefined ? file.cwd : resolveFolder(dir, raw.cwd);
  const killGrace = raw.kill_grace ?? defaults?.kill_grace;
  const fileTimeout = raw.timeout ?? defaults?.timeout;
  // Properties are added to this one object in the order the spread-based version gave them.
  const common: StepCommon = {
    id: raw.id,
    name: raw.name ?? raw.id,
    needs: uniqueNeeds(raw.needs),
    timeout: fileTimeout === undefined ? file.stepTimeout : milliseconds(fileTimeout),
    killGrace: killGrace === undefined ? DEFAULT_KILL_GRACE_MS : milliseconds(killGrace),
    retry: mergeRetry(file.retry, raw.retry),
    env: stepEnv(file.env, raw.env),
    cwd,
    allowedExitCodes: raw.allowed_exit_codes ? [...raw.allowed_exit_codes] : [0],
    tags: raw.tags === undefined ? [] : [...raw.tags],
    group: '.',
  };
  if (file.env !== undefined && raw.env !== undefined && overridesTemplatedDefaults(file.env, raw.env)) common.defaultsEnv = file.env;
  if (raw.memory_limit_mb !== undefined) common.memoryLimitMb = raw.memory_limit_mb;
  if (raw.description !== undefined) common.description = raw.description;
  if (raw.if !== undefined) common.if = typeof raw.if === 'boolean' ? String(raw.if) : conditionExpression(raw.if).expression;
  if (raw.continue_on_error !== undefined) common.continueOnError = raw.continue_on_error;
  const cache = raw.cache ?? (workflowCache ? true : undefined);
  if (cache !== undefined && cache !== false) {
    common.cache = cache === true ? { inputs: [], env: [] } : { inputs: [...(cache.inputs ?? [])], env: [...(cache.env ?? [])] };
  }
  if (raw.concurrency_group !== undefined) common.concurrencyGroup = raw.concurrency_group;
  const runsOn = raw.runs_on ?? defaults?.runs_on;
  if (runsOn !== undefined) {
    common.runsOn =
      typeof runsOn === 'string'
        ? { tags: [runsOn] }
        : Array.isArray(runsOn)
          ? { tags: [...runsOn] }
          : { ...(runsOn.queue === undefined ? {} : { queue: runsOn.queue }), ...(runsOn.tags === undefined ? {} : { tags: [...runsOn.tags] }) };
  }
  const matrix = raw.matrix === undefined ? {} : { matrixSpec: raw.matrix as MatrixSpec };

  if (raw.run !== undefined) {
    // The common case, built without copying `common` (100,000-step files).
    const step = common as StepCommon & { matrixSpec?: MatrixSpec; kind: 'command'; command: string; shell?: string };
    if (raw.matrix !== undefined) step.matrixSpec = raw.matrix;
    step.kind = 'command';
    step.command = raw.run;
    if (raw.shell !== undefined) step.shell = raw.shell;
    return step;
  }
  if (raw.script !== undefined) {
    const file = path.resolve(dir, raw.script);
    const { kind, shebang } = describeScriptSync(file);
    return {
      ...common,
      ...matrix,
      kind: 'script',
      path: file,
      relativePath: toPosix(path.relative(dir, file)),
      args: (raw.args ?? []).map(String),
      scriptKind: kind,
      ...(shebang === undefined ? {} : { shebang }),
      ...(raw.interpreter === undefined
        ? {}
        : { interpreter: typeof raw.interpreter === 'string' ? raw.interpreter.trim().split(/\s+/) : [...raw.interpreter] }),
    };
  }
  if (raw.function !== undefined) {
    return {
      ...common,
      ...matrix,
      kind: 'module',
      module: path.resolve(dir, raw.function.module),
      export: raw.function.export ?? 'default',
      args: [...(raw.function.args ?? [])],
      ...(raw.function.isolation === undefined ? {} : { isolation: raw.function.isolation }),
    };
  }
  if (raw.python !== undefined) {
    return {
      ...common,
      ...matrix,
      kind: 'python',
      target: raw.python.target,
      args: [...(raw.python.args ?? [])],
      kwargs: { ...(raw.python.kwargs ?? {}) },
      pythonPath: raw.python.python_path === undefined ? [cwd] : raw.python.python_path.map((folder) => path.resolve(dir, folder)),
    };
  }
  const workflow = subWorkflows.get(String(stepIndex));
  // checkWorkflow guarantees one kind per step and a loaded sub-workflow when there is no error.
  if (raw.workflow === undefined || workflow === undefined) throw new Error(`Invariant: step "${raw.id}" has no runnable kind`);
  return { ...common, ...matrix, kind: 'workflow', workflow };
}

function toSpec(raw: RawWorkflow, file: string, subWorkflows: Map<string, WorkflowSpec>, stepTimeout: number): WorkflowSpec {
  const dir = path.dirname(file);
  const shared: FileDefaults = {
    dir,
    defaults: raw.defaults,
    cwd: resolveFolder(dir, raw.defaults?.cwd ?? '.'),
    env: raw.defaults?.env === undefined ? undefined : stringEnv(raw.defaults.env),
    retry: defaultRetry(raw.defaults),
    subWorkflows,
    workflowCache: raw.cache === true,
    stepTimeout,
  };
  const steps = expandStepMatrix(raw.steps.map((step, index) => toStep(step, shared, index)));
  const spec: WorkflowSpec = {
    name: raw.name,
    steps,
    concurrency: raw.concurrency ?? availableParallelism(),
    failurePolicy: failurePolicy(raw.fail_fast),
    timeout: raw.timeout === undefined ? 0 : milliseconds(raw.timeout),
    source: file,
  };
  if (raw.env !== undefined) spec.env = stringEnv(raw.env);
  if (raw.concurrency_groups !== undefined) spec.groupConcurrency = { ...raw.concurrency_groups };
  return spec;
}

/** Parses one file (text already read) within a session; sub-workflows are read from disk. */
function parseInSession(fileText: string, file: string, session: LoadSession): FileResult {
  const dir = path.dirname(file);
  const shown = session.display(file);
  const isJson = file.endsWith('.json');
  // A byte-order mark is not part of JSON (YAML skips it itself); columns count from after it, as editors do.
  const text = isJson ? stripBom(fileText) : fileText;
  // A JSON file that parses is read with JSON.parse, and the position-keeping YAML document is
  // built only if a diagnostic needs a position: 100,000-step files validate in well under a
  // second that way (the YAML composer takes ~0.1 ms a step). JSON.parse silently keeps the last of
  // a repeated key: `firstDuplicateKey` finds it, and it is an error at the key, as in YAML files.
  let fast: unknown;
  let duplicate: DuplicateKey | undefined;
  if (isJson) {
    try {
      fast = JSON.parse(text);
    } catch {
      fast = undefined;
    }
    // Reported at the key below, as the `yaml` parser would (it takes ~20 s on a big file).
    if (fast !== undefined) duplicate = firstDuplicateKey(text);
  } else {
    // The same for the plain YAML that big files are written in (the `yaml` parser takes ~20 s on
    // a 100,000-step file). Anything else, and every position, still comes from the `yaml` parser.
    fast = readSimpleYaml(text)?.value;
  }
  const full = (): FullParsers => {
    if (session.parsers === undefined) throw new NeedsFullParsers();
    return session.parsers;
  };
  let parsed: { doc: Document.Parsed; locator: SourceLocator } | undefined;
  const document = (): { doc: Document.Parsed; locator: SourceLocator } => {
    if (!parsed) {
      const { LineCounter, parseDocument, SourceLocator } = full();
      const lineCounter = new LineCounter();
      const doc = parseDocument(text, { lineCounter, prettyErrors: false });
      parsed = { doc, locator: new SourceLocator(doc, lineCounter) };
    }
    return parsed;
  };
  // Positions of a plain YAML file come from a second pass of the plain reader (~2x its first
  // pass), those of a JSON file from a scanner, not from the `yaml` parser: a big file with a
  // problem is reported in a second or two too.
  let positions: FieldLocator | undefined;
  const locator = (): FieldLocator => {
    positions ??= (fast === undefined ? undefined : isJson ? readJsonPositions(text)?.locator : readSimpleYaml(text, { positions: true })?.locator) ?? document().locator;
    return positions;
  };
  const lazyLocator: FieldLocator = {
    position: (offset) => locator().position(offset),
    locate: (fieldPath, want) => locator().locate(fieldPath, want),
    valueRange: (fieldPath) => locator().valueRange(fieldPath),
  };
  const own: Diagnostic[] = [];
  const nested: Diagnostic[] = [];
  const push = (severity: Diagnostic['severity'], fieldPath: FieldPath, offset: number, message: string) => {
    const { line, column } = locator().position(offset);
    own.push({ severity, file: shown, line, column, field: formatFieldPath(fieldPath), message });
  };
  const report: Reporter = {
    at(severity, fieldPath, want, message) {
      const { line, column } = locator().locate(fieldPath, want);
      own.push({ severity, file: shown, line, column, field: formatFieldPath(fieldPath), message });
    },
    inside(severity, fieldPath, needle, extra, message) {
      // Expression problems point inside the value: find the expression in the value's source
      // text (exact for plain, single-quoted and block scalars; else the value's start).
      // A block or multi-line scalar spreads the expression over lines (folding and indentation
      // change its whitespace), so failing an exact match, match whitespace runs loosely.
      const range = locator().valueRange(fieldPath);
      const source = range === undefined ? '' : text.slice(range[0], range[1]);
      const found = range === undefined ? -1 : source.indexOf(needle);
      const at = found >= 0 ? found + extra : range === undefined ? -1 : findLoosely(source, needle, extra);
      if (range === undefined || at < 0) report.at(severity, fieldPath, 'value', message);
      else push(severity, fieldPath, range[0] + at, message);
    },
  };

  if (duplicate !== undefined) {
    push('error', duplicate.path, duplicate.offset, `duplicate key \`${String(duplicate.path.at(-1))}\`: each key may appear only once`);
  }
  let value: unknown;
  if (fast !== undefined) {
    value = fast ?? {};
  } else {
    const { doc, locator } = document();
    value = documentValue(doc, locator, text, isJson, push, (message) => report.at('error', [], 'value', message));
  }

  let raw: RawWorkflow | undefined;
  const subWorkflows = new Map<string, WorkflowSpec>();
  if (value !== undefined) {
    // The common shapes are checked by hand; zod runs (and words the problems) for the rest.
    if (isSimpleWorkflow(value)) {
      raw = value;
    } else {
      const { workflowFileSchema, workflowIssueDiagnostics } = full();
      const result = workflowFileSchema.safeParse(value);
      if (result.success) raw = result.data;
      else own.push(...workflowIssueDiagnostics(result.error.issues, lazyLocator, shown));
    }
    checkWorkflow(value, {
      dir,
      root: session.root,
      report,
      matrixWellFormed: (matrix) => full().matrixSchema.safeParse(matrix).success,
      loadSubWorkflow(abs, fieldPath) {
        const stepIndex = String(fieldPath[1]);
        if (session.stack.includes(abs)) {
          const chain = [...session.stack.slice(session.stack.indexOf(abs)), abs].map((item) => toPosix(path.relative(session.root, item)));
          report.at('error', fieldPath, 'value', `sub-workflow cycle: ${chain.join(' -> ')}`);
          return;
        }
        let sub = session.done.get(abs);
        if (sub === undefined) {
          let subText: string;
          try {
            subText = readRegularFileSync(abs);
          } catch (error: unknown) {
            report.at(
              'error',
              fieldPath,
              'value',
              error instanceof NotRegularFileError
                ? `expected a workflow file (a regular file), got ${abs}, which is ${error.type}`
                : `cannot read the workflow file ${abs}: ${error instanceof Error ? error.message : String(error)}`,
            );
            return;
          }
          session.stack.push(abs);
          sub = parseInSession(subText, abs, session);
          session.stack.pop();
          session.done.set(abs, sub);
          nested.push(...sub.diagnostics);
        }
        if (sub.spec !== undefined) subWorkflows.set(stepIndex, sub.spec);
      },
    });
  }

  own.sort((a, b) => a.line - b.line || a.column - b.column);
  const diagnostics = [...own, ...nested];
  const hasErrors = diagnostics.some((diagnostic) => diagnostic.severity === 'error');
  if (hasErrors || raw === undefined || !session.buildSpec) return { diagnostics };
  return { spec: toSpec(raw, file, subWorkflows, file === session.topFile ? session.stepTimeout : 0), diagnostics };
}

/** The session a top-level file starts; sub-workflow diagnostics name files the way `file` is written. */
export function newSession(file: string, projectRoot: string, buildSpec: boolean, parsers?: FullParsers, stepTimeout = 0): LoadSession {
  const relative = !path.isAbsolute(file);
  return {
    root: path.resolve(projectRoot),
    stack: [path.resolve(file)],
    done: new Map(),
    display: (abs) => (abs === path.resolve(file) ? file : relative ? path.relative(process.cwd(), abs) : abs),
    buildSpec,
    parsers,
    topFile: path.resolve(file),
    stepTimeout,
  };
}

export { parseInSession };

/**
 * Where offset `at` of `needle` lies in `source` when each whitespace run of `needle` may be
 * written there as any other whitespace run (a line break and indentation for a space in a folded
 * block scalar, more indentation in a literal one), or -1 when `needle` is not there so.
 */
function findLoosely(source: string, needle: string, at: number): number {
  const pieces = needle.split(/(\s+)/).filter((piece) => piece !== '');
  if (pieces.length === 0) return -1;
  const pattern = pieces.map((piece) => (/^\s/.test(piece) ? '(\\s+)' : `(${piece.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')})`)).join('');
  const match = new RegExp(pattern, 'd').exec(source);
  const indices = match?.indices;
  if (indices === undefined) return -1;
  let start = 0;
  for (const [i, piece] of pieces.entries()) {
    const [from, to] = indices[i + 1] ?? [-1, -1];
    if (at < start + piece.length) return /^\s/.test(piece) ? from : from + (at - start);
    start += piece.length;
    if (i === pieces.length - 1) return to;
  }
  return -1;
}
