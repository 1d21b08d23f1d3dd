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
