/** Limits on what a step may write to `$ORCHESTRATOR_OUTPUT`. */
export const OUTPUT_LIMITS = {
  /** Bytes of the whole output file; more is a failure (`output-limit`), never a truncation. */
  fileBytes: 1024 * 1024,
  /** Values longer than this reach dependents as a file (`..._FILE` variable), not inline. */
  inlineEnvBytes: 32 * 1024,
} as const;

export type ParsedOutputs = { ok: true; outputs: Record<string, string> } | { ok: false; message: string };

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Parses a step's output file: either a JSON object (values that are not strings become JSON), or
 * `key=value` lines with GitHub's heredoc form for multi-line values:
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
    const outputs: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      outputs[key] = typeof value === 'string' ? value : JSON.stringify(value);
    }
    return { ok: true, outputs };
  }
  const outputs: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const heredoc = /^([^=<\s]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, key, delimiter] = heredoc as unknown as [string, string, string];
      if (!KEY.test(key)) return { ok: false, message: `line ${i + 1}: invalid output name "${key}"` };
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
    if (!KEY.test(key)) return { ok: false, message: `line ${i + 1}: invalid output name "${key}"` };
    outputs[key] = line.slice(eq + 1);
  }
  return { ok: true, outputs };
}

/** `ORCHESTRATOR_OUTPUT_<STEP>_<KEY>`: upper case, anything not alphanumeric becomes `_`. */
export function outputEnvName(stepId: string, key: string): string {
  const clean = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return `ORCHESTRATOR_OUTPUT_${clean(stepId)}_${clean(key)}`;
}
