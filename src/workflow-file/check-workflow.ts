import { statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { dagDiagnostics, findDependencyProblems } from '../core/dag.js';
import type { DependencyProblems } from '../core/dag.js';
import { expandMatrix, matrixStepId } from '../core/matrix.js';
import type { MatrixSpec } from '../core/matrix.js';
import { describeValue } from '../config/describe-value.js';
import { didYouMean } from '../config/did-you-mean.js';
import { envNameProblem, envValueProblem } from '../config/env-entry.js';
import { checkInside } from '../config/is-inside.js';
import type { FieldPath } from '../config/field-path.js';
import type { Diagnostic } from '../config/types.js';
import { conditionExpression, parseExpression, scanTemplates } from '../expressions/index.js';
import { ExpressionError } from '../expressions/index.js';
import { describeFileType } from '../util/regular-file.js';
import { STEP_KIND_KEYS } from './step-keys.js';
import type { StepKindKey } from './step-keys.js';

/** Adds a diagnostic at a field (its key or value), or at an exact offset inside a value. */
export interface Reporter {
  at(severity: Diagnostic['severity'], fieldPath: FieldPath, want: 'key' | 'value', message: string): void;
  /** `needle` is looked up in the value's source text; `extra` characters after it. */
  inside(severity: Diagnostic['severity'], fieldPath: FieldPath, needle: string, extra: number, message: string): void;
}

/** What the semantic checks need to know about the file. */
export interface CheckContext {
  dir: string;
  root: string;
  report: Reporter;
  /** Loads a sub-workflow (relative `workflow:` value already resolved). */
  loadSubWorkflow(abs: string, fieldPath: FieldPath): void;
  /** Whether the schema accepts this `matrix` (then expansion checks the rest). */
  matrixWellFormed(matrix: unknown): boolean;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const NO_NEEDS: readonly string[] = [];

/**
 * `needs` as written: a string or a list; anything else counts as none (the schema reports it).
 * A list of strings is returned as is, not copied (100,000-step files): do not change it.
 */
export function needsList(value: unknown): readonly string[] {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return NO_NEEDS;
  for (const item of value as unknown[]) {
    if (typeof item !== 'string') return value.filter((need): need is string => typeof need === 'string');
  }
  return value as string[];
}

/** The steps that have an id, as parallel lists (no object per step): `index` is the step's place in the file. */
interface StepInfo {
  index: number[];
  id: string[];
  needs: (readonly string[])[];
}

/** Which step an expression belongs to, to check its `steps.X` and `needs.X` reads. */
/** The ids of the file's steps; `list` copies them, only for a did-you-mean. */
interface KnownIds {
  has(id: string): boolean;
  list(): string[];
}

/**
 * The id `written` stands for: itself, or else the id it spells in another case. Expressions read
 * `steps.<id>` and `needs.<id>` case-insensitively, as in GitHub Actions (`steps.Build` is step
 * `build`); the folded index is built only when a reference is not written exactly.
 */
function idResolver(knownIds: KnownIds): (written: string) => string | undefined {
  let folded: Map<string, string> | undefined;
  return (written) => {
    if (knownIds.has(written)) return written;
    if (folded === undefined) {
      folded = new Map();
      for (const id of knownIds.list()) if (!folded.has(id.toLowerCase())) folded.set(id.toLowerCase(), id);
    }
    return folded.get(written.toLowerCase());
  };
}

interface ExpressionScope {
  knownIds: KnownIds;
  /** `idResolver(knownIds)`, shared by the file's expressions. */
  resolveId: (written: string) => string | undefined;
  /** Unset at the workflow level, where no step is current. */
  /** `ancestors()` is computed on first use: only steps whose expressions name `steps.X` need it. */
  step?: { id: string; needs: ReadonlySet<string>; ancestors: () => ReadonlySet<string> };
}

function stepKinds(step: Record<string, unknown>): StepKindKey[] {
  return STEP_KIND_KEYS.filter((key) => step[key] !== undefined);
}

/** How many kind keys a step has, without allocating (the common answer is 1). */
function kindCount(step: Record<string, unknown>): number {
  let count = 0;
  for (const key of STEP_KIND_KEYS) if (step[key] !== undefined) count++;
  return count;
}

/** Keys that only make sense for one kind of step. */
const KIND_ONLY_KEYS: Record<string, { kind: StepKindKey; hint: string }> = {
  args: { kind: 'script', hint: 'for `run`, put arguments in the command line; for `function` and `python`, use their own `args`' },
  interpreter: { kind: 'script', hint: 'for `run`, use `shell`' },
  shell: { kind: 'run', hint: 'for `script`, use `interpreter`' },
};

const KIND_ONLY_ENTRIES = Object.entries(KIND_ONLY_KEYS);

/**
 * The checks the schema cannot express, run on the raw value even when the schema failed so one
 * pass reports everything: one kind per step, kind-specific keys, ids and `needs` (duplicates,
 * unknown steps, cycles), expressions and the steps they read, paths, matrices and groups.
 */
export function checkWorkflow(value: unknown, context: CheckContext): void {
  if (!isRecord(value)) return;
  const { report } = context;
  const rawSteps = Array.isArray(value.steps) ? (value.steps as unknown[]) : [];
  const steps: StepInfo = { index: [], id: [], needs: [] };
  for (let index = 0; index < rawSteps.length; index++) {
    const step = rawSteps[index];
    if (isRecord(step) && typeof step.id === 'string') {
      steps.index.push(index);
      steps.id.push(step.id);
      steps.needs.push(needsList(step.needs));
    }
  }

  const problems = findDependencyProblems(steps.id, steps.needs);
  reportDag(problems, steps, rawSteps, report);
  // Ids and the first definition of each, shared by every expression check (no copies per step).
  const first = problems.firstDefinition;
  forEachCaseClash(first.keys(), (id, earlier) => {
    const position = first.get(id);
    if (position !== undefined) report.at('error', ['steps', steps.index[position] as number, 'id'], 'value', `step id "${id}" ${caseClashMessage(earlier)}`);
  });
  const knownIds: KnownIds = { has: (id) => first.has(id), list: () => [...first.keys()] };
  const ancestorsOf = ancestorIndex(steps, first);

  const resolveId = idResolver(knownIds);
  const workflowScope: ExpressionScope = { knownIds, resolveId };
  checkEnv(value.env, ['env'], workflowScope, report);
  if (isRecord(value.defaults)) {
    checkEnv(value.defaults.env, ['defaults', 'env'], workflowScope, report);
    checkFolder(value.defaults.cwd, ['defaults', 'cwd'], workflowScope, context);
  }

  const groups = isRecord(value.concurrency_groups) ? Object.keys(value.concurrency_groups) : [];
  // The ids each matrix step expands to, checked against every other id once all steps are seen.
  const expandedIds: { index: number; ids: string[] }[] = [];

  for (let index = 0; index < rawSteps.length; index++) {
    const step = rawSteps[index];
    if (!isRecord(step)) continue;
    const base: FieldPath = ['steps', index];
    const id = typeof step.id === 'string' ? step.id : undefined;
    // Built on first use: most steps of a big workflow have no expression that needs a scope.
    let scope: ExpressionScope | undefined;
    const scopeOf = (): ExpressionScope => {
      if (scope !== undefined) return scope;
      const position = id === undefined ? undefined : first.get(id);
      if (id === undefined || position === undefined || steps.index[position] !== index) return (scope = { knownIds, resolveId });
      let needsSet: Set<string> | undefined;
      return (scope = {
        knownIds,
        resolveId,
        step: {
          id,
          get needs() {
            return (needsSet ??= new Set(needsList(step.needs)));
          },
          ancestors: () => ancestorsOf(id),
        },
      });
    };
    const count = kindCount(step);
    if (count === 0) {
      report.at('error', base, 'value', `a step needs one of ${STEP_KIND_KEYS.map((key) => `\`${key}\``).join(', ')}${id === undefined ? '' : ` (step "${id}" has none)`}`);
    } else if (count > 1) {
      const kinds = stepKinds(step);
      report.at('error', [...base, kinds[1] ?? ''], 'key', `a step has exactly one of ${STEP_KIND_KEYS.map((key) => `\`${key}\``).join(', ')}; this one has ${kinds.map((key) => `\`${key}\``).join(' and ')}`);
    } else if (step.args !== undefined || step.interpreter !== undefined || step.shell !== undefined) {
      const [kind] = stepKinds(step);
      for (const [key, rule] of KIND_ONLY_ENTRIES) {
        if (step[key] !== undefined && kind !== rule.kind) {
          report.at('error', [...base, key], 'key', `\`${key}\` only applies to \`${rule.kind}\` steps; ${rule.hint}`);
        }
      }
    }

    if (typeof step.if === 'string') checkCondition(step.if, [...base, 'if'], scopeOf(), report);
    // Field paths are built only for values that have something to check (100,000-step files).
    if (typeof step.run === 'string' && step.run.includes('${{')) checkTemplates(step.run, [...base, 'run'], scopeOf(), report);
    if (isRecord(step.env)) checkEnv(step.env, [...base, 'env'], scopeOf(), report);
    if (Array.isArray(step.args)) {
      step.args.forEach((arg: unknown, i) => {
        if (typeof arg === 'string') checkTemplates(arg, [...base, 'args', i], scopeOf(), report);
      });
    }
    if (typeof step.cwd === 'string') checkFolder(step.cwd, [...base, 'cwd'], scopeOf(), context);
    // The arguments of `function` and `python` steps: every string inside them is a template.
    if (isRecord(step.function)) checkTemplatesInside(step.function.args, [...base, 'function', 'args'], scopeOf, report);
    if (isRecord(step.python)) {
      checkTemplatesInside(step.python.args, [...base, 'python', 'args'], scopeOf, report);
      checkTemplatesInside(step.python.kwargs, [...base, 'python', 'kwargs'], scopeOf, report);
    }

    if (typeof step.script === 'string') checkFile(step.script, [...base, 'script'], 'script', context);
    if (isRecord(step.function) && typeof step.function.module === 'string') {
      checkFile(step.function.module, [...base, 'function', 'module'], 'module', context);
    }
    if (isRecord(step.python) && Array.isArray(step.python.python_path)) {
      step.python.python_path.forEach((folder: unknown, i) => {
        // Never rendered (and so never checked against the project root): expressions are refused.
        if (typeof folder === 'string' && folder.includes('${{')) {
          report.at('error', [...base, 'python', 'python_path', i], 'value', `\`python_path\` entries are used as written, so \`\${{ }}\` is not allowed here; got ${describeValue(folder)}`);
          return;
        }
        checkFolder(folder, [...base, 'python', 'python_path', i], scopeOf(), context);
      });
    }
    if (typeof step.workflow === 'string' && step.workflow !== '') {
      const abs = checkFile(step.workflow, [...base, 'workflow'], 'workflow file', context);
      if (abs !== undefined) context.loadSubWorkflow(abs, [...base, 'workflow']);
    }

    // The schema reports a matrix of the wrong shape; expansion finds the rest (an `exclude` naming
    // no axis, nothing left, too many combinations).
    if (step.matrix !== undefined && context.matrixWellFormed(step.matrix)) {
      try {
        const combinations = expandMatrix(step.matrix as MatrixSpec);
        if (id !== undefined) expandedIds.push({ index, ids: combinations.map((combination) => matrixStepId(id, combination)) });
      } catch (error: unknown) {
        if (!(error instanceof TypeError)) throw error;
        report.at('error', [...base, 'matrix'], 'value', error.message.charAt(0).toLowerCase() + error.message.slice(1));
      }
    }

    if (typeof step.concurrency_group === 'string' && step.concurrency_group !== '' && !groups.includes(step.concurrency_group)) {
      report.at('error', [...base, 'concurrency_group'], 'value', unknownGroupMessage(step.concurrency_group, groups, 'concurrency_groups'));
    }
  }
  if (expandedIds.length > 0) reportExpandedDuplicates(expandedIds, steps, report);
}

/**
 * Calls `clash(id, earlier)` for each id that spells an earlier one in another case (`Build` after
 * `build`): expressions read `steps.<id>` and `needs.<id>` ignoring case, so `steps.build` could
 * be either. `ids` are distinct, in the order the steps are written.
 */
export function forEachCaseClash(ids: Iterable<string>, clash: (id: string, earlier: string) => void): void {
  const folded = new Map<string, string>();
  for (const id of ids) {
    const key = id.toLowerCase();
    const earlier = folded.get(key);
    if (earlier === undefined) folded.set(key, id);
    else clash(id, earlier);
  }
}

/** What an id that differs from an earlier one only by case is reported as, here and by the DSL's `validate()`. */
export function caseClashMessage(earlier: string): string {
  return `differs from step "${earlier}" only by case: step ids must differ other than by case, because expressions read them ignoring case (\`steps.${earlier.toLowerCase()}\` would name both)`;
}

/**
 * What a step's concurrency group that has no limit is reported as, here and by the DSL's
 * `validate()`: such a step would run with no limit at all. `listKey` is where limits are given.
 */
export function unknownGroupMessage(group: string, groups: readonly string[], listKey: string): string {
  const suggestion = didYouMean(group, groups);
  return `unknown concurrency group "${group}"${suggestion === undefined ? `; list its limit under \`${listKey}\`` : ` (did you mean "${suggestion}"?)`}`;
}

const NO_ANCESTORS: ReadonlySet<string> = new Set();

/**
 * The errors this loader reports for a step's `if` (not one expression, an expression that does
 * not parse, an unknown context or function, a step it reads that does not exist or that the step
 * does not need), without positions: for the DSL's `validate()`, which has no file to point into.
 * Warnings are left out, as they never stop a run (so the step's ancestors, which only decide
 * one, are not needed). `ids` are the ids steps are written with (before matrix expansion).
 */
export function conditionErrors(text: string, step: { id: string; needs: readonly string[] }, ids: ReadonlySet<string>): string[] {
  const errors: string[] = [];
  const report: Reporter = {
    at: (severity, _fieldPath, _want, message) => {
      if (severity === 'error') errors.push(message);
    },
    inside: (severity, _fieldPath, _needle, _extra, message) => {
      if (severity === 'error') errors.push(message);
    },
  };
  const knownIds: KnownIds = { has: (id) => ids.has(id), list: () => [...ids] };
  const scope: ExpressionScope = {
    knownIds,
    resolveId: idResolver(knownIds),
    step: { id: step.id, needs: new Set(step.needs), ancestors: () => NO_ANCESTORS },
  };
  checkCondition(text, ['if'], scope, report);
  return errors;
}

/**
 * Expanded matrix ids that another step already has (a step written with that id, or an earlier
 * matrix step's combination), reported at the later step's `matrix`: the run would refuse them.
 */
function reportExpandedDuplicates(expanded: readonly { index: number; ids: string[] }[], steps: StepInfo, report: Reporter): void {
  const owner = new Map<string, number>();
  const matrixSteps = new Set(expanded.map((entry) => entry.index));
  steps.id.forEach((id, position) => {
    const index = steps.index[position] as number;
    if (!matrixSteps.has(index) && !owner.has(id)) owner.set(id, index);
  });
  for (const { index, ids } of expanded) {
    for (const id of ids) {
      const other = owner.get(id);
      if (other === undefined) {
        owner.set(id, index);
      } else {
        const by = other === index ? 'another combination of this matrix' : `steps[${other}]`;
        report.at('error', ['steps', index, 'matrix'], 'key', `the matrix expands to step id "${id}", which ${by} already has: each step needs its own id`);
      }
    }
  }
}

/** Duplicate ids at the repeated `id`, unknown needs at the entry, cycles at the first step's need. */
function reportDag(problems: DependencyProblems, steps: StepInfo, rawSteps: readonly unknown[], report: Reporter): void {
  const needsPath = (index: number, need: string): FieldPath => {
    const raw = rawSteps[index];
    const base: FieldPath = ['steps', index, 'needs'];
    if (isRecord(raw) && Array.isArray(raw.needs)) {
      const i = raw.needs.indexOf(need);
      if (i >= 0) return [...base, i];
    }
    return base;
  };
  // Each id's repeated definitions, found in one pass (not one scan per duplicate).
  const repeats = new Map<string, number[]>(problems.duplicates.map((id) => [id, []]));
  if (repeats.size > 0) {
    steps.id.forEach((id, position) => repeats.get(id)?.push(steps.index[position] as number));
  }
  const diagnostics = dagDiagnostics(problems);
  let unknownIndex = 0;
  let cycleIndex = 0;
  for (const diagnostic of diagnostics) {
    if (diagnostic.code === 'duplicate-id') {
      // One diagnostic per repeated definition, at its `id`.
      for (const index of (repeats.get(diagnostic.step) ?? []).slice(1)) {
        report.at('error', ['steps', index, 'id'], 'value', `${diagnostic.message}: each step needs its own id`);
      }
    } else if (diagnostic.code === 'unknown-dependency') {
      const entry = problems.unknown[unknownIndex];
      const index = steps.index[problems.unknownAt[unknownIndex] ?? -1];
      unknownIndex++;
      if (entry === undefined || index === undefined) continue;
      report.at('error', needsPath(index, entry.needs), 'value', diagnostic.message);
    } else {
      const cycle = problems.cycles[cycleIndex] ?? [];
      cycleIndex++;
      const index = steps.index[problems.firstDefinition.get(cycle[0] ?? '') ?? -1];
      if (index === undefined) continue;
      report.at('error', needsPath(index, cycle[1] ?? ''), 'value', diagnostic.message);
    }
  }
}

/**
 * A step's transitive dependencies (first definition of each id), computed per step on demand and
 * cached: computing them for every step would be quadratic in time and memory on big workflows.
 */
function ancestorIndex(steps: StepInfo, first: ReadonlyMap<string, number>): (id: string) => ReadonlySet<string> {
  const needsOf = (id: string): readonly string[] => steps.needs[first.get(id) ?? -1] ?? NO_NEEDS;
  const cache = new Map<string, Set<string>>();
  return (id) => {
    let seen = cache.get(id);
    if (seen) return seen;
    seen = new Set<string>();
    const stack = [...needsOf(id)];
    while (stack.length > 0) {
      const next = stack.pop() as string;
      if (seen.has(next)) continue;
      seen.add(next);
      for (const need of needsOf(next)) stack.push(need);
    }
    cache.set(id, seen);
    return seen;
  };
}

function checkEnv(env: unknown, base: FieldPath, scope: ExpressionScope, report: Reporter): void {
  if (!isRecord(env)) return;
  for (const [key, value] of Object.entries(env)) {
    // `A=B` would set `A`; a null byte fails the step when it starts.
    const nameProblem = envNameProblem(key);
    if (nameProblem !== undefined) report.at('error', [...base, key], 'key', nameProblem);
    const valueProblem = envValueProblem(value);
    if (valueProblem !== undefined) report.at('error', [...base, key], 'value', valueProblem);
    if (typeof value === 'string') checkTemplates(value, [...base, key], scope, report);
  }
}

function checkCondition(text: string, fieldPath: FieldPath, scope: ExpressionScope, report: Reporter): void {
  let expression: string;
  try {
    ({ expression } = conditionExpression(text));
  } catch (error: unknown) {
    if (!(error instanceof ExpressionError)) throw error;
    report.at('error', fieldPath, 'value', error.message);
    return;
  }
  checkOne(expression, fieldPath, expression, 0, scope, report);
}

function checkTemplates(text: string, fieldPath: FieldPath, scope: ExpressionScope, report: Reporter): void {
  const { templates, unterminated } = scanTemplates(text);
  for (const template of templates) {
    checkOne(template.expr, fieldPath, text.slice(template.start, template.end), template.exprStart - template.start, scope, report);
  }
  if (unterminated !== undefined) {
    report.inside('error', fieldPath, text.slice(unterminated), 0, '`${{` has no closing `}}`');
  }
}

/** `checkTemplates` for every string inside a JSON-like value (arrays and mappings, at any depth). */
function checkTemplatesInside(value: unknown, fieldPath: FieldPath, scope: () => ExpressionScope, report: Reporter): void {
  if (typeof value === 'string') {
    if (value.includes('${{')) checkTemplates(value, fieldPath, scope(), report);
  } else if (Array.isArray(value)) {
    value.forEach((item: unknown, i) => checkTemplatesInside(item, [...fieldPath, i], scope, report));
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) checkTemplatesInside(item, [...fieldPath, key], scope, report);
  }
}

/**
 * Parses one expression and checks the steps it reads. `needle` is the source text the expression
 * sits in (a whole `${{ }}` or the bare `if`), `lead` the characters before the expression in it.
 */
function checkOne(expression: string, fieldPath: FieldPath, needle: string, lead: number, scope: ExpressionScope, report: Reporter): void {
  const parsed = parseExpression(expression);
  if (!parsed.ok) {
    report.inside('error', fieldPath, needle, lead + (parsed.column ?? 1) - 1, `invalid expression \`${expression}\`: ${parsed.message}`);
    return;
  }
  for (const reference of parsed.expr.references) {
    const at = lead + reference.column - 1;
    const written = `${reference.context}.${reference.id}`;
    const id = scope.resolveId(reference.id);
    if (id === undefined) {
      const suggestion = didYouMean(reference.id, scope.knownIds.list());
      report.inside('error', fieldPath, needle, at, `\`${written}\` names no step${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}`);
      continue;
    }
    const step = scope.step;
    if (step === undefined) {
      if (reference.context === 'needs') {
        report.inside('error', fieldPath, needle, at, `\`${written}\`: \`needs\` is only known inside a step; use \`steps.${id}\``);
      }
      continue;
    }
    if (id === step.id) {
      // (Adding it to `needs`, the advice below, would make a cycle.)
      report.inside(
        reference.context === 'needs' ? 'error' : 'warning',
        fieldPath,
        needle,
        at,
        `\`${written}\`: step "${step.id}" reads its own ${reference.context === 'needs' ? 'result, which is' : 'results, which are'} not known before it has run`,
      );
    } else if (reference.context === 'needs' && !step.needs.has(id)) {
      report.inside('error', fieldPath, needle, at, `\`${written}\`: step "${step.id}" does not need "${id}"; add it to \`needs\``);
    } else if (reference.context === 'steps' && !step.ancestors().has(id)) {
      report.inside(
        'warning',
        fieldPath,
        needle,
        at,
        `\`${written}\`: "${id}" is not a dependency of step "${step.id}", so it may not have run when this is evaluated; add it to \`needs\``,
      );
    }
  }
}

/** A folder that must stay inside the project root; skipped when it holds `${{ }}`. */
function checkFolder(folder: unknown, fieldPath: FieldPath, scope: ExpressionScope, context: CheckContext): void {
  if (typeof folder !== 'string' || folder === '') return;
  if (folder.includes('${{')) {
    checkTemplates(folder, fieldPath, scope, context.report);
    return;
  }
  const target = path.resolve(context.dir, folder);
  const outside = outsideMessage('folder', folder, target, context.root);
  if (outside !== undefined) context.report.at('error', fieldPath, 'value', outside);
}

/**
 * Why `target` is not inside the project root, or undefined when it is. Symlinks are resolved
 * (the root's too), so a link in the project cannot lead a step out of it.
 */
function outsideMessage(what: string, written: string, target: string, root: string, where = checkInside(root, target)): string | undefined {
  if (where.inside) return undefined;
  if (where.through === 'text') return `expected a ${what} inside the project root ${root}, got ${describeValue(written)}, which is ${target}`;
  return `expected a ${what} inside the project root ${root}, got ${describeValue(written)}, which resolves through a link to ${where.real}, outside the project root`;
}

/** What one check of a file found: where it resolves, and its stats (undefined when missing). */
interface FileFacts {
  where: ReturnType<typeof checkInside>;
  stats: Stats | undefined;
}

/**
 * The file checks of one validation, by absolute path: a generated workflow often names one module
 * or script in thousands of steps (25,000 steps calling one module spent 1.4 s in realpath and stat).
 */
const fileFacts = new WeakMap<CheckContext, Map<string, FileFacts>>();

function factsOf(target: string, context: CheckContext): FileFacts {
  let known = fileFacts.get(context);
  if (known === undefined) {
    known = new Map();
    fileFacts.set(context, known);
  }
  let facts = known.get(target);
  if (facts === undefined) {
    const where = checkInside(context.root, target);
    let stats: Stats | undefined;
    if (where.inside) {
      try {
        stats = statSync(target);
      } catch {
        stats = undefined;
      }
    }
    facts = { where, stats };
    known.set(target, facts);
  }
  return facts;
}

/** A file that must exist inside the project root; returns its absolute path when it does. */
function checkFile(file: string, fieldPath: FieldPath, what: string, context: CheckContext): string | undefined {
  const target = path.resolve(context.dir, file);
  const { where, stats } = factsOf(target, context);
  const outside = outsideMessage(what, file, target, context.root, where);
  if (outside !== undefined) {
    context.report.at('error', fieldPath, 'value', outside);
    return undefined;
  }
  if (stats === undefined) {
    context.report.at('error', fieldPath, 'value', `${what} not found: ${target}`);
    return undefined;
  }
  if (!stats.isFile()) {
    context.report.at('error', fieldPath, 'value', `expected a ${what} (a regular file), got ${target}, which is ${describeFileType(stats)}`);
    return undefined;
  }
  return target;
}
