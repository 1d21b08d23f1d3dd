const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Whole milliseconds, rounded; a positive duration under half a millisecond becomes 1 ms, not 0,
 * which means "none" to a timeout.
 */
function wholeMilliseconds(ms: number): number {
  const rounded = Math.round(ms);
  return rounded === 0 && ms > 0 ? 1 : rounded;
}

/**
 * Parses a duration: a number of seconds (`90`, `0.5`) or a string with a unit (`500ms`, `30s`,
 * `2m`, `1h`, `1m30s`). Returns whole milliseconds (at least 1 for any duration above 0), or
 * `undefined` when the text is not a duration.
 */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? wholeMilliseconds(value * 1000) : undefined;
  }
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return wholeMilliseconds(Number(text) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = re.exec(text)) !== null) {
    total += Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1000);
    consumed = re.lastIndex;
  }
  return consumed === text.length ? wholeMilliseconds(total) : undefined;
}

/** Formats milliseconds for people: `850ms`, `12.3s`, `4m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}
