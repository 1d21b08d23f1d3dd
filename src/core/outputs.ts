/** Limits on what a step may write to `$ORCHESTRATOR_OUTPUT`. */
export const OUTPUT_LIMITS = {
  /** Bytes of the whole output file; more is a failure (`output-limit`), never a truncation. */
  fileBytes: 1024 * 1024,
  /** Values longer than this reach dependents as a file (`..._FILE` variable), not inline. */
  inlineEnvBytes: 32 * 1024,
} as const;

export type ParsedOutputs = { ok: true; outputs: Record<string, string> } | { ok: false; message: string };

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const KEY_RULE = 'names start with a letter or `_` and hold only letters, digits, `_`, `.` and `-`';

/** No prototype: a key such as `__proto__` or `constructor` is an ordinary output, never dropped or inherited. */
function emptyOutputs(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

/**
 * Parses a step's output file: either a JSON object (values that are not strings become JSON), or
 * `key=value` lines with GitHub's heredoc form for multi-line values. Both forms take the same
 * names (a letter or `_`, then letters, digits, `_`, `.`, `-`); the result has no prototype, so
 * `__proto__` is kept as an ordinary output.
 *
 * ```
 * version=1.2.3
 * notes<<EOF
 * line one
 * line two
 * EOF
 * ```
 */
export function parseOutputs(text: string): ParsedOutputs {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, outputs: {} };
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      return { ok: false, message: `output file starts with "{" but is not valid JSON: ${(error as Error).message}` };
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return { ok: false, message: 'output file JSON must be an object of key/value pairs' };
    }
    const outputs = emptyOutputs();
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (!KEY.test(key)) return { ok: false, message: `output file JSON: invalid output name ${JSON.stringify(key)}; ${KEY_RULE}` };
      outputs[key] = typeof value === 'string' ? value : JSON.stringify(value);
    }
    return { ok: true, outputs };
  }
  const outputs = emptyOutputs();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const heredoc = /^([^=<\s]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, key, delimiter] = heredoc as unknown as [string, string, string];
      if (!KEY.test(key)) return { ok: false, message: `line ${i + 1}: invalid output name "${key}"; ${KEY_RULE}` };
      const body: string[] = [];
      let closed = false;
      for (i += 1; i < lines.length; i += 1) {
        if (lines[i] === delimiter) {
          closed = true;
          break;
        }
        body.push(lines[i] as string);
      }
      if (!closed) return { ok: false, message: `output "${key}": no closing "${delimiter}" line` };
      outputs[key] = body.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) return { ok: false, message: `line ${i + 1}: expected key=value or key<<DELIMITER, got "${line.slice(0, 60)}"` };
    const key = line.slice(0, eq).trim();
    if (!KEY.test(key)) return { ok: false, message: `line ${i + 1}: invalid output name "${key}"; ${KEY_RULE}` };
    outputs[key] = line.slice(eq + 1);
  }
  return { ok: true, outputs };
}

/** `ORCHESTRATOR_OUTPUT_<STEP>_<KEY>`: upper case, anything not alphanumeric becomes `_`. */
export function outputEnvName(stepId: string, key: string): string {
  const clean = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return `ORCHESTRATOR_OUTPUT_${clean(stepId)}_${clean(key)}`;
}

/** Outputs that would reach one step under the same variable name. */
export interface OutputEnvCollision {
  name: string;
  /** Every step and output key that maps to `name`, in the order given. */
  sources: { step: string; key: string }[];
}

/**
 * The variable names that more than one output maps to (see {@link outputEnvName}), among the
 * outputs one step receives: pass each of its `needs` with the keys that step wrote. Step `a` with
 * output `b_c` and step `a_b` with output `c` both give `ORCHESTRATOR_OUTPUT_A_B_C`; so do keys
 * `x.y` and `x-y` of one step. An empty list means every name is unambiguous.
 */
export function outputEnvCollisions(outputsByStep: Iterable<readonly [step: string, keys: Iterable<string>]>): OutputEnvCollision[] {
  const byName = new Map<string, { step: string; key: string }[]>();
  for (const [step, keys] of outputsByStep) {
    for (const key of keys) {
      const name = outputEnvName(step, key);
      const sources = byName.get(name);
      if (sources === undefined) byName.set(name, [{ step, key }]);
      else sources.push({ step, key });
    }
  }
  return [...byName].filter(([, sources]) => sources.length > 1).map(([name, sources]) => ({ name, sources }));
}
