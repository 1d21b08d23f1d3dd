import { record, SimpleLocator } from './simple-locator.js';

/**
 * Reads JSON text that `JSON.parse` already accepted, noting where every field is, so that the
 * problems of a big JSON workflow file get their line and column without the `yaml` parser (which
 * takes ~10 s on a 100,000-step file). Returns undefined on anything unexpected; the caller then
 * uses `yaml`.
 */
export function readJsonPositions(text: string): { value: unknown; locator: SimpleLocator } | undefined {
  const scanner = new JsonScanner(text);
  try {
    const start = scanner.skipSpace();
    const value = scanner.value();
    if (scanner.skipSpace() !== text.length) return undefined;
    return { value, locator: new SimpleLocator(text, value, start) };
  } catch {
    // Not the JSON that JSON.parse accepted (or nested past the stack): leave it to `yaml`.
    return undefined;
  }
}

const LITERAL = /true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;

class JsonScanner {
  readonly #text: string;
  at = 0;

  constructor(text: string) {
    this.#text = text;
  }

  skipSpace(): number {
    const text = this.#text;
    let at = this.at;
    for (;;) {
      const c = text.charCodeAt(at);
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
      at++;
    }
    this.at = at;
    return at;
  }

  /** The value at `at` (after any space); `at` ends after it. */
  value(): unknown {
    const text = this.#text;
    const c = text.charCodeAt(this.at);
    if (c === 123) return this.#object();
    if (c === 91) return this.#array();
    if (c === 34) return this.#string();
    LITERAL.lastIndex = this.at;
    const match = LITERAL.exec(text);
    if (match === null) throw new SyntaxError(`unexpected character at ${this.at}`);
    this.at += match[0].length;
    return JSON.parse(match[0]) as unknown;
  }

  #object(): Record<string, unknown> {
    const text = this.#text;
    const object: Record<string, unknown> = {};
    this.at++;
    if (text.charCodeAt(this.skipSpace()) === 125) {
      this.at++;
      return object;
    }
    for (;;) {
      const keyStart = this.skipSpace();
      if (text.charCodeAt(keyStart) !== 34) throw new SyntaxError(`expected a key at ${keyStart}`);
      const key = this.#string();
      if (text.charCodeAt(this.skipSpace()) !== 58) throw new SyntaxError(`expected : at ${this.at}`);
      this.at++;
      const start = this.skipSpace();
      const value = this.value();
      // JSON.parse makes __proto__ an own key; so does defineProperty (assignment would not).
      Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
      record(object, key, keyStart, start, this.at);
      const next = text.charCodeAt(this.skipSpace());
      this.at++;
      if (next === 125) return object;
      if (next !== 44) throw new SyntaxError(`expected , or } at ${this.at - 1}`);
    }
  }

  #array(): unknown[] {
    const text = this.#text;
    const array: unknown[] = [];
    this.at++;
    if (text.charCodeAt(this.skipSpace()) === 93) {
      this.at++;
      return array;
    }
    for (;;) {
      const start = this.skipSpace();
      array.push(this.value());
      record(array, start, this.at);
      const next = text.charCodeAt(this.skipSpace());
      this.at++;
      if (next === 93) return array;
      if (next !== 44) throw new SyntaxError(`expected , or ] at ${this.at - 1}`);
    }
  }

  #string(): string {
    const text = this.#text;
    const start = this.at;
    let escaped = false;
    let at = start + 1;
    for (;;) {
      const c = text.charCodeAt(at);
      if (Number.isNaN(c)) throw new SyntaxError('unterminated string');
      if (c === 92) {
        escaped = true;
        at += 2;
        continue;
      }
      if (c === 34) break;
      at++;
    }
    this.at = at + 1;
    return escaped ? (JSON.parse(text.slice(start, at + 1)) as string) : text.slice(start + 1, at);
  }
}
