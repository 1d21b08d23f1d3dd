import { isAlias, isMap, isNode, isPair, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';

import type { FieldLocator, FieldPath, Position } from './field-path.js';

// Kept in a module of its own so that code which only words diagnostics does not load `yaml`.
export { formatFieldPath } from './field-path.js';
export type { FieldPath } from './field-path.js';

export type { FieldLocator, Position } from './field-path.js';

function keyText(key: unknown): string | undefined {
  return isScalar(key) ? String(key.value) : undefined;
}

/**
 * Maps field paths (as zod reports them) and offsets (as yaml reports them) to 1-based line and
 * column, using the node ranges of the parsed document. JSON files go through the same parser, so
 * they get the same positions.
 */
export class SourceLocator implements FieldLocator {
  readonly #doc: Document;
  readonly #lines: LineCounter;

  constructor(doc: Document, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
  }

  position(offset: number): Position {
    const { line, col } = this.#lines.linePos(offset);
    return { line, column: col };
  }

  /**
   * Where the field is: its value node for `'value'` (wrong types), its key node for `'key'`
   * (unknown keys). When the path does not exist in full, the deepest node that does.
   */
  locate(path: FieldPath, want: 'key' | 'value'): Position {
    let node: unknown = this.#doc.contents;
    let key: Node | undefined;
    let found: Node | undefined = isNode(node) ? node : undefined;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(this.#doc);
      if (isMap(node)) {
        const pair = node.items.findLast((item) => keyText(item.key) === String(segment));
        if (pair === undefined) break;
        key = isNode(pair.key) ? pair.key : undefined;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        key = undefined;
      } else {
        break;
      }
      const value = isNode(node) ? node : undefined;
      found = want === 'key' ? (key ?? value ?? found) : (value ?? key ?? found);
    }
    const offset = found?.range?.[0] ?? 0;
    return this.position(offset);
  }

  valueRange(path: FieldPath): [number, number] | undefined {
    const node: unknown = this.#doc.getIn(path, true);
    const range = isNode(node) ? node.range : undefined;
    return range === undefined || range === null ? undefined : [range[0], range[1]];
  }

  /** The field path of the deepest key or value whose range holds `offset` (for yaml's own errors). */
  pathAt(offset: number): PropertyKey[] {
    const path: PropertyKey[] = [];
    const within = (node: unknown): boolean =>
      isNode(node) && node.range != null && node.range[0] <= offset && offset < node.range[2];
    let node: unknown = this.#doc.contents;
    for (;;) {
      if (isMap(node)) {
        const pair = node.items.find((item) => within(item.key) || within(item.value));
        const name = pair === undefined ? undefined : keyText(pair.key);
        if (pair === undefined || name === undefined) return path;
        path.push(name);
        if (within(pair.key)) return path;
        node = pair.value;
      } else if (isSeq(node)) {
        const index = node.items.findIndex((item) => within(isPair(item) ? item.key : item));
        if (index < 0) return path;
        path.push(index);
        node = node.items[index];
      } else {
        return path;
      }
    }
  }
}
