/**
 * Words a value the way diagnostics quote what they found: `"soon" (string)`, `3 (number)`,
 * `a list` (`an empty list`), `a mapping`, `nothing (null)`.
 */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (null)';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  switch (typeof value) {
    case 'string':
      return `${JSON.stringify(value)} (string)`;
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
