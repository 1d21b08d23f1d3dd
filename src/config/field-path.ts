/** A field as zod reports it: keys and list indices from the top of the file. */
export type FieldPath = readonly PropertyKey[];

/** `scripts.etl/load.py.timeout`, `skip[2].path`. */
export function formatFieldPath(path: FieldPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

/** A 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

/**
 * Where fields are in a file: the `yaml` document's `SourceLocator`, or the plain-YAML reader's
 * positions (`SimpleLocator`) that big files get without the `yaml` parser.
 */
export interface FieldLocator {
  /** 1-based line and column of a character offset. */
  position(offset: number): Position;
  /** The field's value (`'value'`) or key (`'key'`); when the path does not exist in full, the deepest part that does. */
  locate(path: FieldPath, want: 'key' | 'value'): Position;
  /** The source range `[start, end)` of a scalar value, when the field is one. */
  valueRange(path: FieldPath): [number, number] | undefined;
}
