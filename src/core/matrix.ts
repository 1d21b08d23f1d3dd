/**
 * Matrix expansion with GitHub Actions semantics: one step becomes one step per combination of its
 * axes' values, with `exclude` and `include` applied as GitHub does.
 *
 * @see docs/graph.md
 */
import type { MatrixValue } from './spec.js';

export type { MatrixValue };

/** One combination: axis (or included key) → value. */
export type MatrixCombination = Record<string, MatrixValue>;

/**
 * A matrix as written in a workflow: every key other than `include` and `exclude` is an axis with
 * its list of values.
 *
 * @example { os: ['linux', 'macos'], node: [20, 22], exclude: [{ os: 'macos', node: 20 }] }
 */
export interface MatrixSpec {
  [axis: string]: readonly MatrixValue[] | readonly MatrixCombination[] | undefined;
  /** Extra keys for matching combinations, or extra combinations. Applied after `exclude`. */
  include?: readonly MatrixCombination[];
  /** Combinations to drop: each entry drops every combination that has all its key/value pairs. */
  exclude?: readonly MatrixCombination[];
}

/** Most combinations one matrix may expand to (GitHub Actions' limit for one job). */
export const MATRIX_MAX_COMBINATIONS = 256;

/**
 * Most combinations the cartesian product may have before `exclude` is applied; it stops a matrix
 * that `exclude` would thin out from taking forever to build.
 */
export const MATRIX_MAX_PRODUCT = MATRIX_MAX_COMBINATIONS * MATRIX_MAX_COMBINATIONS;

/**
 * Every combination of `matrix`, GitHub Actions style:
 * 1. the cartesian product of the axes in the order they are written (the first axis varies slowest);
 * 2. `exclude` drops each combination that matches all keys of an entry (a partial match is enough);
 * 3. each `include` entry whose keys that are axes all equal a combination's values adds its other
 *    keys to every such combination (it never changes an axis value, but it may overwrite a key an
 *    earlier include added); an entry that matches no combination of the product is added as a
 *    combination of its own. An entry with no axis keys matches every combination.
 *
 * Values compare by their text (`1` and `'1'` are the same value, as in step ids). Throws `TypeError` when an axis has no values, repeats a value, or
 * holds something other than a string, number or boolean; when `exclude` names a key that is not
 * an axis; when nothing is left; or when there are more than {@link MATRIX_MAX_COMBINATIONS}
 * combinations.
 */
export function expandMatrix(matrix: MatrixSpec): MatrixCombination[] {
  if (typeof matrix !== 'object' || matrix === null || Array.isArray(matrix)) {
    throw new TypeError(`Expected the matrix to be an object of axes, got \`${display(matrix)}\` (${describeType(matrix)})`);
  }
  const axes: [string, readonly MatrixValue[]][] = [];
  for (const [axis, values] of Object.entries(matrix)) {
    if (axis === 'include' || axis === 'exclude' || values === undefined) continue;
    if (!Array.isArray(values)) {
      throw new TypeError(`Expected matrix axis "${axis}" to be a list of values, got \`${display(values)}\` (${describeType(values)})`);
    }
    if (values.length === 0) throw new TypeError(`Matrix axis "${axis}" has no values: give it at least one or remove it`);
    const seen = new Set<string>();
    values.forEach((value: unknown, i) => {
      if (!isScalar(value)) {
        throw new TypeError(
          `Expected matrix axis "${axis}" to hold strings, numbers or booleans, got \`${display(value)}\` (${describeType(value)}) at index ${i}`,
        );
      }
      // Step ids show values as text, so `1` and `'1'` would give two steps the same id.
      const key = String(value);
      if (seen.has(key)) {
        throw new TypeError(`Matrix axis "${axis}" lists \`${key}\` more than once`);
      }
      seen.add(key);
    });
    axes.push([axis, values as readonly MatrixValue[]]);
  }
  const include = entries(matrix.include, 'include');
  const exclude = entries(matrix.exclude, 'exclude');
  if (axes.length === 0 && include.length === 0) {
    throw new TypeError('The matrix has no axes and no `include` entries: give it at least one');
  }
  const axisNames = new Set(axes.map(([axis]) => axis));
  exclude.forEach((entry, i) => {
    for (const key of Object.keys(entry)) {
      if (!axisNames.has(key)) {
        throw new TypeError(`Matrix \`exclude[${i}]\` names "${key}", which is not an axis (axes: ${[...axisNames].map((a) => `"${a}"`).join(', ') || 'none'})`);
      }
    }
  });

  let product = 1;
  for (const [, values] of axes) product *= values.length;
  if (axes.length > 0 && product > MATRIX_MAX_PRODUCT) {
    throw new TypeError(
      `The matrix has ${product} combinations before \`exclude\` (axes ${axes.map(([a, v]) => `"${a}" × ${v.length}`).join(', ')}); at most ${MATRIX_MAX_PRODUCT} are allowed`,
    );
  }

  const base: MatrixCombination[] = [];
  if (axes.length > 0) {
    const counters = new Array<number>(axes.length).fill(0);
    for (let k = 0; k < product; k++) {
      const combination: MatrixCombination = {};
      axes.forEach(([axis, values], i) => {
        combination[axis] = values[counters[i] ?? 0] as MatrixValue;
      });
      if (!exclude.some((entry) => matches(combination, entry))) base.push(combination);
      // Odometer: the last axis varies fastest.
      for (let i = axes.length - 1; i >= 0; i--) {
        counters[i] = (counters[i] ?? 0) + 1;
        if ((counters[i] ?? 0) < (axes[i]?.[1].length ?? 0)) break;
        counters[i] = 0;
      }
    }
  }

  const added: MatrixCombination[] = [];
  for (const entry of include) {
    const axisPart: MatrixCombination = {};
    const extra: MatrixCombination = {};
    for (const [key, value] of Object.entries(entry)) {
      if (axisNames.has(key)) axisPart[key] = value;
      else extra[key] = value;
    }
    const targets = base.filter((combination) => matches(combination, axisPart));
    if (targets.length > 0) {
      for (const combination of targets) Object.assign(combination, extra);
    } else if (!added.some((combination) => sameCombination(combination, entry))) {
      added.push({ ...entry });
    }
  }

  const all = [...base, ...added];
  if (all.length === 0) throw new TypeError('The matrix `exclude` removes every combination, so nothing would run');
  if (all.length > MATRIX_MAX_COMBINATIONS) {
    throw new TypeError(`The matrix has ${all.length} combinations; at most ${MATRIX_MAX_COMBINATIONS} are allowed`);
  }
  return all;
}

/**
 * The id of one expanded step: `test (os=linux, py=3.11)`, keys in the combination's order. A
 * string value that could blur the id (empty, padded, or holding `,` `=` `(` `)` `"`) is shown as a
 * JSON string: `test (name="a, b")`.
 */
export function matrixStepId(baseId: string, values: MatrixCombination): string {
  const parts = Object.entries(values).map(([key, value]) => `${key}=${formatValue(value)}`);
  return `${baseId} (${parts.join(', ')})`;
}

/**
 * Replaces each step that has a `matrixSpec` with one step per combination: its id comes from
 * {@link matrixStepId}, `matrix` holds the values, `matrixOf` the base id, and `matrixSpec` is
 * dropped (a string `name` gets the same suffix as the id). Every `needs` entry naming a base id,
 * in any step, is replaced by all of its expanded ids, so dependents wait for every combination.
 * Throws `TypeError` (naming the step) when a matrix is invalid; see {@link expandMatrix}.
 */
export function expandStepMatrix<S extends { id: string; needs: string[] }>(
  steps: readonly (S & { matrixSpec?: MatrixSpec })[],
): (S & { matrix?: MatrixCombination; matrixOf?: string })[] {
  type Out = S & { matrix?: MatrixCombination; matrixOf?: string };
  const expandedIds = new Map<string, string[]>();
  const expanded: Out[][] = [];
  // Most workflows have no matrix at all: give the steps back untouched (100,000-step files).
  if (!steps.some((step) => step.matrixSpec !== undefined)) return steps as Out[];
  for (const step of steps) {
    if (step.matrixSpec === undefined) {
      expanded.push([step]);
      continue;
    }
    const { matrixSpec, ...rest } = step;
    let combinations: MatrixCombination[];
    try {
      combinations = expandMatrix(matrixSpec);
    } catch (error) {
      if (error instanceof TypeError) throw new TypeError(`Step "${step.id}": ${error.message}`, { cause: error });
      throw error;
    }
    const copies = combinations.map((values) => {
      const copy = { ...rest, id: matrixStepId(step.id, values), matrix: values, matrixOf: step.id } as unknown as Out;
      const name: unknown = (rest as Record<string, unknown>).name;
      if (typeof name === 'string') (copy as Record<string, unknown>).name = matrixStepId(name, values);
      return copy;
    });
    expandedIds.set(step.id, copies.map((copy) => copy.id));
    expanded.push(copies);
  }
  return expanded.flat().map((step) => {
    if (!step.needs.some((need) => expandedIds.has(need))) return step;
    const needs = [...new Set(step.needs.flatMap((need) => expandedIds.get(need) ?? [need]))];
    return { ...step, needs };
  });
}

function entries(list: unknown, name: 'include' | 'exclude'): MatrixCombination[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    throw new TypeError(`Expected matrix \`${name}\` to be a list of objects, got \`${display(list)}\` (${describeType(list)})`);
  }
  return list.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new TypeError(`Expected matrix \`${name}[${i}]\` to be an object, got \`${display(entry)}\` (${describeType(entry)})`);
    }
    const pairs = Object.entries(entry);
    if (pairs.length === 0) throw new TypeError(`Matrix \`${name}[${i}]\` is empty: give it at least one key`);
    for (const [key, value] of pairs) {
      if (!isScalar(value)) {
        throw new TypeError(
          `Expected matrix \`${name}[${i}].${key}\` to be a string, number or boolean, got \`${display(value)}\` (${describeType(value)})`,
        );
      }
    }
    return entry as MatrixCombination;
  });
}

function isScalar(value: unknown): value is MatrixValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * Values compare by their text, as duplicates do: step ids show values as text, so `1` and `'1'`
 * are the same combination (an `include` of `{ os: 1 }` matches `os: ['1']`).
 */
function matches(combination: MatrixCombination, entry: MatrixCombination): boolean {
  return Object.entries(entry).every(([key, value]) => Object.hasOwn(combination, key) && String(combination[key]) === String(value));
}

function sameCombination(a: MatrixCombination, b: MatrixCombination): boolean {
  return Object.keys(a).length === Object.keys(b).length && matches(a, b);
}

function formatValue(value: MatrixValue): string {
  if (typeof value !== 'string') return String(value);
  return value === '' || value.trim() !== value || /[,=()"]/.test(value) ? JSON.stringify(value) : value;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function display(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
