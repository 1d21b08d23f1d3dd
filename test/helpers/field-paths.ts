import type { FieldPath } from '../../src/config/field-path.js';

/**
 * Every path of a parsed value, plus one missing key and one index past the end under each
 * collection (a locator answers those with the deepest part that exists).
 */
export function allFieldPaths(value: unknown, base: FieldPath = [], out: FieldPath[] = []): FieldPath[] {
  out.push(base);
  if (Array.isArray(value)) {
    value.forEach((item, index) => allFieldPaths(item, [...base, index], out));
    out.push([...base, value.length]);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) allFieldPaths(item, [...base, key], out);
    out.push([...base, 'no-such-key', 'deeper']);
  }
  return out;
}
