/** `x` as the execa-style message shows it: `` `value` (type) ``. */
export function describeValue(value: unknown): string {
  let shown: string;
  try {
    // JSON has no NaN or Infinity: it would show them as `null`.
    shown =
      typeof value === 'function'
        ? `[function ${(value as { name?: string }).name || 'anonymous'}]`
        : typeof value === 'number'
          ? String(value)
          : (JSON.stringify(value) ?? String(value));
  } catch {
    shown = String(value);
  }
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${shown}\` (${type})`;
}
