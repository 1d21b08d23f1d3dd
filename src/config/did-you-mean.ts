/** Edit distance between two strings (insertions, deletions and substitutions cost 1). */
function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** `allowedExitCodes`, `allowed-exit-codes` and `Allowed_Exit_Codes` all become `allowed_exit_codes`. */
function toSnakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-\s]+/g, '_')
    .toLowerCase();
}

function isAffix(short: string[], long: string[]): boolean {
  if (short.length === 0 || short.length >= long.length) return false;
  const prefix = short.every((word, i) => long[i] === word);
  const suffix = short.every((word, i) => long[long.length - short.length + i] === word);
  return prefix || suffix;
}

/**
 * The known key an unknown key was probably meant to be: a case, dash or underscore variant
 * (`allowedExitCodes`), a near miss (Levenshtein distance ≤ 2: `default`), or one with a word
 * added or dropped (`timeout_seconds`, `memory_limit`). `undefined` when nothing is close.
 */
export function didYouMean(unknown: string, known: readonly string[]): string | undefined {
  const snake = toSnakeCase(unknown);
  const flat = snake.replace(/_/g, '');
  const variant = known.find((key) => key.replace(/_/g, '') === flat);
  if (variant !== undefined) return variant;

  const byDistance = (keys: readonly string[]): string | undefined => {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const key of keys) {
      const distance = levenshtein(snake, key);
      if (distance < bestDistance) {
        best = key;
        bestDistance = distance;
      }
    }
    return best;
  };

  const near = known.filter((key) => levenshtein(snake, key) <= 2);
  if (near.length > 0) return byDistance(near);

  const words = snake.split('_').filter((word) => word !== '');
  const affixes = known.filter((key) => {
    const keyWords = key.split('_');
    return isAffix(words, keyWords) || isAffix(keyWords, words);
  });
  return byDistance(affixes);
}
