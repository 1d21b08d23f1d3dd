import { record, SimpleLocator } from './simple-locator.js';

export type { SimpleLocator };

/**
 * A fast reader for the plain subset of YAML that big generated workflow files use: block mappings
 * and sequences, single-line plain and quoted scalars, single-line flow sequences of scalars, and
 * comments. It returns what `parseDocument(text).toJS()` returns (core schema), or `undefined` as
 * soon as the text uses anything else (anchors, tags, block scalars, flow mappings, multi-line
 * scalars, empty values, duplicate keys, tabs, `---`, ...), and the caller then uses the `yaml`
 * parser, which also words every error. `yaml` takes seconds on a 100,000-step file (its parser
 * grows faster than the text); this takes a few tens of milliseconds.
 */
export function readSimpleYaml(text: string): { value: unknown } | undefined;
export function readSimpleYaml(text: string, options: { positions: true }): { value: unknown; locator: SimpleLocator } | undefined;
export function readSimpleYaml(text: string, options?: { positions: true }): { value: unknown; locator?: SimpleLocator } | undefined {
  // Tabs, carriage returns, a BOM and control characters are all left to the real parser.
  if (UNSUPPORTED_CHARACTERS.test(text)) return undefined;
  const reader = new LineReader(text, options?.positions === true);
  if (reader.eof) return undefined;
  try {
    const start = reader.lineStart + reader.indent;
    const value = collection(reader, start);
    if (!reader.eof) return undefined;
    return reader.positions ? { value, locator: new SimpleLocator(text, value, start) } : { value };
  } catch (error: unknown) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

// eslint-disable-next-line no-control-regex
const UNSUPPORTED_CHARACTERS = /[\u0000-\u0009\u000b-\u001f\u007f\u0085\u2028\u2029\ufeff]/;

/** Thrown (and caught above) when the text leaves the subset. */
class Unsupported extends Error {}

function unsupported(): never {
  throw new Unsupported('outside the simple YAML subset');
}

const SPACE = 32;
const HASH = 35;
const DASH = 45;
const COLON = 58;
const DOUBLE_QUOTE = 34;
const SINGLE_QUOTE = 39;
const BACKSLASH = 92;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;

/** The current content line: blank lines and comment lines are skipped. */
class LineReader {
  readonly text: string;
  lineStart = 0;
  lineEnd = 0;
  /** Spaces before the content. */
  indent = 0;
  eof = false;
  /** Results of the last `readKey`, `readQuoted` or `flowSequence`, kept here to save an object each. */
  key = '';
  end = 0;
  /**
   * Plain keys seen so far. A big file repeats a few keys (`id`, `run`, `needs`) many times; reusing
   * one string for each saves making and internalising a new one per use.
   */
  readonly keys: string[] = [];
  /** Record where each entry of each mapping and sequence is (see `SPANS`). */
  readonly positions: boolean;

  constructor(text: string, positions: boolean) {
    this.text = text;
    this.positions = positions;
    this.#seek(0);
  }

  next(): void {
    this.#seek(this.lineEnd + 1);
  }

  #seek(from: number): void {
    const text = this.text;
    let start = from;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      let i = start;
      while (i < end && text.charCodeAt(i) === SPACE) i++;
      if (i < end && text.charCodeAt(i) !== HASH) {
        this.lineStart = start;
        this.lineEnd = end;
        this.indent = i - start;
        return;
      }
      start = end + 1;
    }
    this.eof = true;
  }
}

/** `at` ends the line or is followed by a space: `-` and `:` are indicators there. */
function blankAfter(reader: LineReader, at: number): boolean {
  return at >= reader.lineEnd || reader.text.charCodeAt(at) === SPACE;
}

/** A block mapping or sequence starting at `at` on the current line. */
function collection(reader: LineReader, at: number): unknown {
  if (reader.text.charCodeAt(at) === DASH && blankAfter(reader, at + 1)) return sequence(reader, at - reader.lineStart);
  if (readKey(reader, at)) return mapping(reader, at - reader.lineStart);
  return unsupported();
}

function sequence(reader: LineReader, column: number): unknown[] {
  const text = reader.text;
  const items: unknown[] = [];
  for (;;) {
    let at = reader.lineStart + column + 1;
    while (at < reader.lineEnd && text.charCodeAt(at) === SPACE) at++;
    // `-` alone (the item on the next lines) or followed by a comment: left to the real parser.
    if (at >= reader.lineEnd || text.charCodeAt(at) === HASH) unsupported();
    let end = at;
    if (text.charCodeAt(at) === DASH && blankAfter(reader, at + 1)) {
      items.push(sequence(reader, at - reader.lineStart));
    } else if (readKey(reader, at)) {
      items.push(mapping(reader, at - reader.lineStart));
    } else {
      items.push(inlineValue(reader, at));
      end = reader.end;
      reader.next();
    }
    if (reader.positions) record(items, at, end);
    if (reader.eof || reader.indent < column) return items;
    if (reader.indent > column) unsupported();
    const dash = reader.lineStart + column;
    // A key at the same indent ends a sequence that is a mapping's value (`steps:\n- ...\nname: x`).
    if (text.charCodeAt(dash) !== DASH || !blankAfter(reader, dash + 1)) return items;
  }
}

function mapping(reader: LineReader, column: number): Record<string, unknown> {
  const text = reader.text;
  const map: Record<string, unknown> = {};
  for (;;) {
    if (!readKey(reader, reader.lineStart + column)) return unsupported();
    const key = reader.key;
    if (key === '__proto__' || Object.hasOwn(map, key)) unsupported();
    let at = reader.end;
    while (at < reader.lineEnd && text.charCodeAt(at) === SPACE) at++;
    const keyStart = reader.lineStart + column;
    let value: unknown;
    let start: number;
    let end: number;
    if (at >= reader.lineEnd || text.charCodeAt(at) === HASH) {
      // The value is a block on the next lines; an empty value (null) is left to the real parser.
      reader.next();
      if (reader.eof) unsupported();
      start = end = reader.lineStart + reader.indent;
      if (reader.indent > column) {
        value = collection(reader, start);
      } else if (reader.indent === column && text.charCodeAt(reader.lineStart + column) === DASH && blankAfter(reader, reader.lineStart + column + 1)) {
        value = sequence(reader, column);
      } else {
        unsupported();
      }
    } else {
      if (text.charCodeAt(at) === DASH && blankAfter(reader, at + 1)) unsupported();
      value = inlineValue(reader, at);
      start = at;
      end = reader.end;
      reader.next();
    }
    map[key] = value;
    if (reader.positions) record(map, key, keyStart, start, end);
    if (reader.eof || reader.indent < column) return map;
    if (reader.indent > column) unsupported();
  }
}

/** Letters, digits, `_`, `.`, `$`, `/` and `-`. */
function isKeyCharacter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 45 && c <= 57) || c === 95 || c === 36;
}
const RESERVED_KEY = /^(?:[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE)$/;

/**
 * Whether a `key: value` entry starts at `at`; if so, `reader.key` is the key and `reader.end` the
 * offset after the `:`. Plain keys are limited to names (`run_on`, `$schema`, `A.B-c`); anything
 * fancier is left to the real parser.
 */
function readKey(reader: LineReader, at: number): boolean {
  const text = reader.text;
  const first = text.charCodeAt(at);
  let name: string;
  let end: number;
  if (first === DOUBLE_QUOTE || first === SINGLE_QUOTE) {
    name = readQuoted(reader, at);
    end = reader.end;
  } else {
    end = at;
    while (end < reader.lineEnd && isKeyCharacter(text.charCodeAt(end))) end++;
    if (end === at || text.charCodeAt(end) !== COLON || !blankAfter(reader, end + 1)) return false;
    name = plainKey(reader, at, end);
  }
  if (text.charCodeAt(end) !== COLON || !blankAfter(reader, end + 1)) return false;
  // yaml limits implicit keys to 1024 characters.
  if (end - at > 1000) unsupported();
  reader.key = name;
  reader.end = end + 1;
  return true;
}

function plainKey(reader: LineReader, at: number, end: number): string {
  const length = end - at;
  for (const known of reader.keys) if (known.length === length && reader.text.startsWith(known, at)) return known;
  const name = reader.text.slice(at, end);
  const first = name.charCodeAt(0);
  // Digits, signs and dots first could be numbers; null and booleans are not string keys.
  if (!isKeyStart(first) || (mayBeReserved(first) && RESERVED_KEY.test(name))) unsupported();
  if (reader.keys.length < 64) reader.keys.push(name);
  return name;
}

/** `n`, `N`, `t`, `T`, `f` or `F`: the first letters of null and the booleans. */
function mayBeReserved(c: number): boolean {
  return c === 110 || c === 78 || c === 116 || c === 84 || c === 102 || c === 70;
}

function isKeyStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36;
}

/** A scalar or flow sequence that must end the line (a comment may follow); `reader.end`: after it. */
function inlineValue(reader: LineReader, at: number): unknown {
  const text = reader.text;
  const first = text.charCodeAt(at);
  let value: unknown;
  if (first === DOUBLE_QUOTE || first === SINGLE_QUOTE) value = readQuoted(reader, at);
  else if (first === OPEN_BRACKET) value = flowSequence(reader, at);
  else return plainScalar(reader, at);
  const end = reader.end;
  let rest = end;
  while (rest < reader.lineEnd && text.charCodeAt(rest) === SPACE) rest++;
  if (rest < reader.lineEnd && (rest === end || text.charCodeAt(rest) !== HASH)) unsupported();
  return value;
}

/** A single-line quoted scalar (`reader.end`: after it); double-quoted ones with escapes are left to the real parser. */
function readQuoted(reader: LineReader, at: number): string {
  const text = reader.text;
  const quote = text.charCodeAt(at);
  let value = '';
  let from = at + 1;
  for (let i = at + 1; i < reader.lineEnd; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH && quote === DOUBLE_QUOTE) unsupported();
    if (c !== quote) continue;
    if (quote === SINGLE_QUOTE && text.charCodeAt(i + 1) === SINGLE_QUOTE && i + 1 < reader.lineEnd) {
      value += text.slice(from, i + 1);
      from = i + 2;
      i++;
      continue;
    }
    reader.end = i + 1;
    return value + text.slice(from, i);
  }
  return unsupported();
}

/** Whether a plain scalar may not start here (a YAML indicator; `-` only before a space or the end). */
function startsWithIndicator(source: string): boolean {
  const c = source.charCodeAt(0);
  if (c === DASH) return source.length === 1 || source.charCodeAt(1) === SPACE;
  // ? : , [ ] { } # & * ! | > ' " % @ `
  return INDICATORS.includes(source[0] ?? '');
}

const INDICATORS = '?:,[]{}#&*!|>\'"%@`';

/** A plain scalar in block context: to the end of the line or a ` #` comment. */
function plainScalar(reader: LineReader, at: number): unknown {
  const text = reader.text;
  let end = at;
  for (; end < reader.lineEnd; end++) {
    const c = text.charCodeAt(end);
    if (c === HASH && text.charCodeAt(end - 1) === SPACE) break;
    // `: ` would start a nested mapping, which is an error in a value (the real parser words it).
    if (c === COLON && blankAfter(reader, end + 1)) unsupported();
  }
  while (end > at && text.charCodeAt(end - 1) === SPACE) end--;
  const source = text.slice(at, end);
  if (startsWithIndicator(source)) unsupported();
  reader.end = end;
  return resolvePlain(source);
}

/** `[a, "b", 3]` on one line, scalars only (`reader.end`: after the `]`). */
function flowSequence(reader: LineReader, at: number): unknown[] {
  const text = reader.text;
  const lineEnd = reader.lineEnd;
  const items: unknown[] = [];
  let i = at + 1;
  while (i < lineEnd && text.charCodeAt(i) === SPACE) i++;
  if (text.charCodeAt(i) === CLOSE_BRACKET && i < lineEnd) {
    reader.end = i + 1;
    return items;
  }
  for (;;) {
    if (i >= lineEnd) unsupported();
    const first = text.charCodeAt(i);
    const start = i;
    if (first === DOUBLE_QUOTE || first === SINGLE_QUOTE) {
      items.push(readQuoted(reader, i));
      i = reader.end;
      if (reader.positions) record(items, start, i);
    } else {
      while (i < reader.lineEnd) {
        const c = text.charCodeAt(i);
        if (c === COMMA || c === CLOSE_BRACKET) break;
        if (isFlowPlainStop(c)) unsupported();
        i++;
      }
      let end = i;
      while (end > start && text.charCodeAt(end - 1) === SPACE) end--;
      const source = text.slice(start, end);
      if (source === '' || startsWithIndicator(source)) unsupported();
      items.push(resolvePlain(source));
      if (reader.positions) record(items, start, end);
    }
    while (i < lineEnd && text.charCodeAt(i) === SPACE) i++;
    if (i >= lineEnd) unsupported();
    const c = text.charCodeAt(i);
    i++;
    if (c === CLOSE_BRACKET) {
      reader.end = i;
      return items;
    }
    if (c !== COMMA) unsupported();
    while (i < lineEnd && text.charCodeAt(i) === SPACE) i++;
    // A trailing comma, or an empty entry, is left to the real parser.
    if (text.charCodeAt(i) === CLOSE_BRACKET || text.charCodeAt(i) === COMMA) unsupported();
  }
}

/** Inside a flow sequence `[`, `{`, `}`, `:`, `#` and quotes complicate a plain scalar; left to the real parser. */
function isFlowPlainStop(c: number): boolean {
  return c === OPEN_BRACKET || c === 123 || c === 125 || c === COLON || c === HASH || c === SINGLE_QUOTE || c === DOUBLE_QUOTE;
}

/** A plain scalar as the YAML 1.2 core schema resolves it (the same tests and order as `yaml`). */
export function resolvePlain(source: string): unknown {
  const first = source.charCodeAt(0);
  if (source === '' || first === 126 || mayBeReserved(first)) {
    if (/^(?:~|[Nn]ull|NULL)?$/.test(source)) return null;
    if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(source)) return source[0] === 't' || source[0] === 'T';
  }
  // Only these can start a number; most values are words and skip the number tests.
  if (!((first >= 48 && first <= 57) || first === 43 || first === 45 || first === 46)) return source;
  if (/^0o[0-7]+$/.test(source)) return parseInt(source.slice(2), 8);
  if (/^[-+]?[0-9]+$/.test(source)) return parseInt(source, 10);
  if (/^0x[0-9a-fA-F]+$/.test(source)) return parseInt(source.slice(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(source)) {
    if (source.slice(-3).toLowerCase() === 'nan') return NaN;
    return source[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(source)) return parseFloat(source);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(source)) return parseFloat(source);
  return source;
}
