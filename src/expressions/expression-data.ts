import { data } from '@actions/expressions';

type Pair = { key: string; value: data.ExpressionData };

/**
 * A dictionary whose lookups cannot reach `Object.prototype`. The library's own dictionary indexes
 * keys in a plain object, so a key such as `constructor` is silently dropped when added and
 * `__proto__` resolves to the prototype before the `undefined` check. Keys stay case-insensitive,
 * as in GitHub's expressions; the first spelling of a key wins.
 */
export class SafeDictionary extends data.Dictionary {
  // Initialised lazily: the base constructor runs before field initialisers would.
  #entries: Map<string, Pair> | undefined;

  #map(): Map<string, Pair> {
    this.#entries ??= new Map();
    return this.#entries;
  }

  override add(key: string, value: data.ExpressionData): void {
    const map = this.#map();
    const folded = key.toLowerCase();
    if (!map.has(folded)) map.set(folded, { key, value });
  }

  override get(key: string): data.ExpressionData | undefined {
    return this.#map().get(key.toLowerCase())?.value;
  }

  override values(): data.ExpressionData[] {
    return [...this.#map().values()].map((pair) => pair.value);
  }

  override pairs(): Pair[] {
    return [...this.#map().values()].map((pair) => ({ ...pair }));
  }
}

/**
 * Plain JS → expression data. Only own enumerable keys of plain values are copied: functions,
 * symbols, class instances' prototypes and cycles become `null`, so nothing callable gets in.
 */
export function toExpressionData(value: unknown, seen: Set<object> = new Set()): data.ExpressionData {
  switch (typeof value) {
    case 'string':
      return new data.StringData(value);
    case 'number':
      return new data.NumberData(value);
    case 'bigint':
      return new data.NumberData(Number(value));
    case 'boolean':
      return new data.BooleanData(value);
    case 'object': {
      if (value === null || seen.has(value)) return new data.Null();
      seen.add(value);
      try {
        if (Array.isArray(value)) {
          return new data.Array(...value.map((item: unknown) => toExpressionData(item, seen)));
        }
        const dictionary = new SafeDictionary();
        for (const [key, item] of Object.entries(value)) dictionary.add(key, toExpressionData(item, seen));
        return dictionary;
      } finally {
        seen.delete(value);
      }
    }
    default:
      return new data.Null();
  }
}

/** Expression data → plain JS (string, number, boolean, null, arrays and objects). */
export function fromExpressionData(value: data.ExpressionData): unknown {
  switch (value.kind) {
    case data.Kind.Null:
      return null;
    case data.Kind.Boolean:
    case data.Kind.Number:
    case data.Kind.String:
      return value.value;
    case data.Kind.Array:
      return value.values().map(fromExpressionData);
    case data.Kind.Dictionary:
      // fromEntries defines own properties, so a `__proto__` key stays a plain key.
      return Object.fromEntries(value.pairs().map((pair) => [pair.key, fromExpressionData(pair.value)]));
  }
}

/**
 * GitHub's coercion of a value to text, as in `${{ }}` templates: `null` → '', booleans → `true` /
 * `false`, numbers without float noise, arrays and objects as JSON (pretty-printed, like `toJSON`).
 */
export function coerceToString(value: data.ExpressionData): string {
  if (value.primitive) return value.coerceString();
  return JSON.stringify(value, data.replacer, '  ');
}

/** GitHub's truthiness: `null`, `false`, `0`, `NaN` and `''` are false; everything else is true. */
export function isTruthy(value: data.ExpressionData): boolean {
  switch (value.kind) {
    case data.Kind.Null:
      return false;
    case data.Kind.Boolean:
      return value.value;
    case data.Kind.Number: {
      const number = (value).value;
      return number !== 0 && !Number.isNaN(number);
    }
    case data.Kind.String:
      return (value).value !== '';
    default:
      return true;
  }
}
