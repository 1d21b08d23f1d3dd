import * as z from 'zod';
import { didYouMean } from './did-you-mean.js';
import { configSchema } from './schema.js';
import { formatFieldPath } from './source-locator.js';
import type { FieldLocator, FieldPath } from './source-locator.js';
import type { Diagnostic } from './types.js';

function unwrap(schema: unknown): unknown {
  let current = schema;
  while (current instanceof z.ZodOptional) current = current.unwrap();
  return current;
}

/** The object schema the path leads to from `root`, through records, lists and unions. */
export function objectSchemaAt(path: FieldPath, root: unknown = configSchema): z.ZodObject | undefined {
  const objectIn = (schema: unknown): z.ZodObject | undefined => {
    const inner = unwrap(schema);
    if (inner instanceof z.ZodObject) return inner;
    if (inner instanceof z.ZodUnion) {
      for (const option of inner.options) {
        const found = objectIn(option);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  let schema: unknown = root;
  for (const segment of path) {
    const inner = unwrap(schema);
    if (inner instanceof z.ZodRecord) schema = inner.valueType;
    else if (inner instanceof z.ZodArray) schema = inner.element;
    else schema = objectIn(inner)?.shape[String(segment)];
    if (schema === undefined) return undefined;
  }
  return objectIn(schema);
}

/** "unknown key `x`, did you mean `y`?", with the keys the schema under `root` allows at `path`. */
export function unknownKeyMessage(path: FieldPath, key: string, root: unknown = configSchema): string {
  if (root === configSchema && path.length === 1 && path[0] === 'defaults' && (key === 'skip' || key === 'skip_reason')) {
    return `\`${key}\` is not allowed under \`defaults\` (it would skip every script); put it under \`scripts.<path>\` or list the scripts under the top-level \`skip\``;
  }
  const known = Object.keys(objectSchemaAt(path, root)?.shape ?? {});
  const suggestion = didYouMean(key, known);
  if (suggestion !== undefined) return `unknown key \`${key}\`, did you mean \`${suggestion}\`?`;
  return `unknown key \`${key}\`; allowed keys: ${known.map((name) => `\`${name}\``).join(', ')}`;
}

/**
 * Turns zod issues into diagnostics: one per unknown key (at the key), one per wrong value (at the
 * value). A failed union whose input matched one option's type reports that option's own issues
 * (`skip[1].reson`), not a vague "none of the options matched".
 */
export function issueDiagnostics(
  issues: readonly z.core.$ZodIssue[],
  locator: FieldLocator,
  file: string,
  base: FieldPath = [],
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const add = (path: FieldPath, want: 'key' | 'value', message: string) => {
    const { line, column } = locator.locate(path, want);
    diagnostics.push({ severity: 'error', file, line, column, field: formatFieldPath(path), message });
  };
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add([...path, key], 'key', unknownKeyMessage(path, key));
    } else if (issue.code === 'invalid_union') {
      const typeMatched = issue.errors.filter(
        (branch) => !branch.every((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
      );
      const [branch] = typeMatched;
      if (typeMatched.length === 1 && branch !== undefined) {
        diagnostics.push(...issueDiagnostics(branch, locator, file, path));
      } else {
        add(path, 'value', issue.message);
      }
    } else {
      add(path, 'value', issue.message);
    }
  }
  return diagnostics;
}
