/** Characters of a string a diagnostic quotes: a whole file read where a value was expected stays out of the output. */
const QUOTED_CHARACTERS = 60;

/**
 * Words a value the way diagnostics quote what they found: `"soon" (string)`, `3 (number)`,
 * `a list` (`an empty list`), `a mapping`, `nothing (null)`. A long string is cut:
 * `"root:x:0:0:…" (string of 1834 characters)`.
 */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (null)';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  switch (typeof value) {
    case 'string': {
      // By code points, so a cut never splits a surrogate pair.
      const characters = Array.from(value);
      if (characters.length <= QUOTED_CHARACTERS) return `${JSON.stringify(value)} (string)`;
      return `${JSON.stringify(`${characters.slice(0, QUOTED_CHARACTERS).join('')}…`)} (string of ${characters.length} characters)`;
    }
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${String(value)} (${typeof value})`;
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}
