import * as z from 'zod';
import { issueDiagnostics, unknownKeyMessage } from '../config/issue-diagnostics.js';
import { formatFieldPath } from '../config/source-locator.js';
import type { FieldLocator } from '../config/source-locator.js';
import type { Diagnostic } from '../config/types.js';
import { workflowFileSchema } from './schema.js';

/** Union issues replaced by the issues of the one option whose type matched, paths made absolute. */
function flatten(issues: readonly z.core.$ZodIssue[], base: PropertyKey[]): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union') {
      const typeMatched = issue.errors.filter(
        (branch) => !branch.every((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
      );
      const [branch] = typeMatched;
      if (typeMatched.length === 1 && branch !== undefined) {
        out.push(...flatten(branch, path));
        continue;
      }
    }
    out.push({ ...issue, path });
  }
  return out;
}

/**
 * `issueDiagnostics` from src/config, with unknown keys worded against the workflow schema (the
 * config helper looks keys up in the config schema, so its did-you-mean would offer config keys).
 */
export function workflowIssueDiagnostics(
  issues: readonly z.core.$ZodIssue[],
  locator: FieldLocator,
  file: string,
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const rest: z.core.$ZodIssue[] = [];
  for (const issue of flatten(issues, [])) {
    if (issue.code !== 'unrecognized_keys') {
      rest.push(issue);
      continue;
    }
    for (const key of issue.keys) {
      const path = [...issue.path, key];
      const { line, column } = locator.locate(path, 'key');
      diagnostics.push({ severity: 'error', file, line, column, field: formatFieldPath(path), message: unknownKeyMessage(issue.path, key, workflowFileSchema) });
    }
  }
  return [...diagnostics, ...issueDiagnostics(rest, locator, file)];
}
