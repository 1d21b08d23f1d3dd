import * as z from 'zod';
import { describeValue } from './describe-value.js';
import { DURATION_PATTERN } from './duration-pattern.js';

// In a module without zod, so the loader's fast path can use it without loading zod.
export { DURATION_PATTERN };

/**
 * The zod `error` option used by every check of config and workflow files, so each problem reads
 * "expected X, got Y" (execa's wording) and a missing required key says so. `unrecognized_keys`
 * keeps zod's own message: it is rewritten per key later, with a suggestion.
 */
export function expected(what: string): { error: (issue: z.core.$ZodRawIssue) => string | undefined } {
  return {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return undefined;
      if (issue.input === undefined && issue.code === 'invalid_type') return `missing, expected ${what}`;
      // A whole number past 2^53 (1e20) cannot be held exactly: name that limit, not the minimum.
      if (issue.code === 'too_big' && issue.origin === 'int') {
        return `expected ${what}, at most ${Number.MAX_SAFE_INTEGER} (the largest safe integer), got ${describeValue(issue.input)}`;
      }
      return `expected ${what}, got ${describeValue(issue.input)}`;
    },
  };
}

const DURATION_EXPECTED = 'a number of seconds or a duration such as "90s"';

/** A duration field: seconds as a number, or text such as `90s`, `2m`, `500ms`. */
export function duration(description: string) {
  return z
    .union(
      [
        z.number(expected(DURATION_EXPECTED)).nonnegative(expected(DURATION_EXPECTED)),
        z.string(expected(DURATION_EXPECTED)).regex(DURATION_PATTERN, expected(DURATION_EXPECTED)),
      ],
      expected(DURATION_EXPECTED),
    )
    .describe(description);
}
