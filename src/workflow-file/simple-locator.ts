import type { FieldLocator, FieldPath, Position } from '../config/field-path.js';

/*
 * Positions of the fields of a workflow file read without the `yaml` parser: the plain-YAML reader
 * (`readSimpleYaml` with `positions`) and the JSON scanner (`readJsonPositions`) note on each
 * collection they build where its entries are, and `SimpleLocator` answers from those notes.
 */

/**
 * With positions, each mapping and sequence of the value carries, under this symbol, where its
 * entries are: `[key, keyStart, start, end, ...]` for a mapping, `[start, end, ...]` for a
 * sequence (value ranges; `end === start` for a block collection). One array per collection is
 * much lighter than a map of spans (a 100,000-step file has 200,000 collections).
 */
const SPANS = Symbol('spans');

type Spanned = object & { [SPANS]?: (string | number)[] };

/** Key offset (-1 in a sequence) and value range of one entry. */
interface Span {
  key: number;
  start: number;
  end: number;
}

function spanOf(node: unknown, segment: PropertyKey): Span | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const spans = (node as Spanned)[SPANS];
  if (spans === undefined) return undefined;
  if (Array.isArray(node)) {
    if (typeof segment !== 'number' || segment < 0 || segment >= node.length) return undefined;
    return { key: -1, start: spans[segment * 2] as number, end: spans[segment * 2 + 1] as number };
  }
  // From the end: with a repeated key (JSON.parse keeps the last), the last one is the value.
  for (let i = spans.length - 4; i >= 0; i -= 4) {
    if (spans[i] === String(segment)) return { key: spans[i + 1] as number, start: spans[i + 2] as number, end: spans[i + 3] as number };
  }
  return undefined;
}

/**
 * Positions of the fields of a file read by `readSimpleYaml` (with `positions`), so that problems
 * in big plain-YAML files get their line and column without the `yaml` parser. Built only when a
 * problem needs a position.
 */
export class SimpleLocator implements FieldLocator {
  readonly #text: string;
  readonly #value: unknown;
  readonly #start: number;
  #lineStarts: number[] | undefined;

  constructor(text: string, value: unknown, start: number) {
    this.#text = text;
    this.#value = value;
    this.#start = start;
  }

  position(offset: number): Position {
    const starts = (this.#lineStarts ??= lineStarts(this.#text));
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((starts[middle] as number) <= offset) low = middle;
      else high = middle - 1;
    }
    return { line: low + 1, column: offset - (starts[low] as number) + 1 };
  }

  locate(path: FieldPath, want: 'key' | 'value'): Position {
    let offset = this.#start;
    let node = this.#value;
    for (const segment of path) {
      const span = spanOf(node, segment);
      if (span === undefined) break;
      offset = want === 'key' && span.key >= 0 ? span.key : span.start;
      node = (node as Record<PropertyKey, unknown>)[segment];
    }
    return this.position(offset);
  }

  valueRange(path: FieldPath): [number, number] | undefined {
    let node = this.#value;
    let span: Span | undefined;
    for (const segment of path) {
      span = spanOf(node, segment);
      if (span === undefined) return undefined;
      node = (node as Record<PropertyKey, unknown>)[segment];
    }
    return span === undefined || span.end <= span.start ? undefined : [span.start, span.end];
  }
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) starts.push(at + 1);
  return starts;
}

/** Notes where the last entry of `container` is (with positions only). */
export function record(container: Spanned, ...span: (string | number)[]): void {
  const spans = container[SPANS];
  if (spans === undefined) container[SPANS] = span;
  else spans.push(...span);
}
