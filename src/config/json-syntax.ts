/** JSON text as read from a file: a leading UTF-8 byte-order mark is not part of it. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

const SPACE = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/** Where a key is repeated: its offset, and the field path to it (the key last). */
export interface DuplicateKey {
  offset: number;
  path: (string | number)[];
}

/**
 * The first key repeated in the same object of a text that `JSON.parse` accepted (which silently
 * keeps the last one), or undefined. `"a"` and `"\u0061"` are the same key.
 *
 * One pass that allocates little (it runs on every JSON workflow file, 100,000 steps too): string
 * contents are skipped with `indexOf`; the keys of the open objects share one stack, each object's
 * from its start mark, compared one by one (an object's keys are few; one with many gets a Set).
 */
export function firstDuplicateKey(text: string): DuplicateKey | undefined {
  /** Per open object or array: where its keys start on `keys` (-1 for an array). */
  const frames: number[] = [];
  /** Per open frame: the index of the current item (arrays) or the last key read (objects). */
  const at_: (string | number)[] = [];
  /** The keys of the open objects; the first `keyCount` entries are live. */
  const keys: string[] = [];
  let keyCount = 0;
  /** Sets for the open objects with many keys, by frame depth. */
  const big = new Map<number, Set<string>>();
  const length = text.length;
  let nextBackslash = -2;
  let at = 0;
  while (at < length) {
    const c = text.charCodeAt(at);
    if (c === 34) {
      const start = at;
      if (nextBackslash !== -1 && nextBackslash < start) nextBackslash = text.indexOf('\\', start);
      // The closing quote: the next one not escaped (preceded by an even run of backslashes).
      let end = text.indexOf('"', start + 1);
      while (end > 0 && nextBackslash !== -1 && nextBackslash < end) {
        let run = 0;
        while (text.charCodeAt(end - 1 - run) === 92) run++;
        if (run % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      if (end < 0) return undefined; // not JSON
      at = end + 1;
      const depth = frames.length;
      const frame = depth > 0 ? (frames[depth - 1] as number) : -1;
      if (frame < 0) continue;
      let next = at;
      for (let d = text.charCodeAt(next); d === 32 || d === 9 || d === 10 || d === 13; d = text.charCodeAt(++next));
      if (text.charCodeAt(next) !== 58) continue;
      const key = nextBackslash !== -1 && nextBackslash < end ? (JSON.parse(text.slice(start, end + 1)) as string) : text.slice(start + 1, end);
      const set = big.get(depth);
      let repeated = false;
      if (set !== undefined) {
        repeated = set.has(key);
        set.add(key);
      } else {
        for (let k = frame; k < keyCount; k++) if (keys[k] === key) repeated = true;
        keys[keyCount++] = key;
        if (keyCount - frame > 16) big.set(depth, new Set(keys.slice(frame, keyCount)));
      }
      if (repeated) return { offset: start, path: [...at_.slice(0, depth - 1), key] };
      at_[depth - 1] = key;
      continue;
    }
    if (c === 123) {
      frames.push(keyCount);
      at_.push('');
    } else if (c === 91) {
      frames.push(-1);
      at_.push(0);
    } else if (c === 125 || c === 93) {
      const frame = frames.pop();
      at_.pop();
      if (frame !== undefined && frame >= 0) {
        keyCount = frame;
        if (big.size > 0) big.delete(frames.length + 1);
      }
    } else if (c === 44 && frames.length > 0 && frames[frames.length - 1] === -1) {
      at_[frames.length - 1] = (at_[frames.length - 1] as number) + 1;
    }
    at++;
  }
  return undefined;
}

/**
 * Where the first JSON syntax error of `text` is (for the `JSON.parse` messages that give no
 * position, such as ``Unexpected token ']'``), or undefined when none is found.
 */
export function jsonSyntaxErrorOffset(text: string): number | undefined {
  let at = 0;
  const space = (): void => {
    SPACE.lastIndex = at;
    SPACE.exec(text);
    at = SPACE.lastIndex;
  };
  const fail = (): never => {
    throw new SyntaxError(String(at));
  };
  const string = (): void => {
    if (text.charCodeAt(at) !== 34) fail();
    at++;
    for (;;) {
      const c = text.charCodeAt(at);
      if (Number.isNaN(c) || c < 0x20) fail();
      if (c === 34) break;
      if (c === 92) {
        ESCAPE.lastIndex = at;
        if (!ESCAPE.test(text)) fail();
        at = ESCAPE.lastIndex;
      } else at++;
    }
    at++;
  };
  const list = (close: number, item: () => void): void => {
    at++;
    space();
    if (text.charCodeAt(at) === close) {
      at++;
      return;
    }
    for (;;) {
      space();
      item();
      space();
      const c = text.charCodeAt(at);
      if (c === close) {
        at++;
        return;
      }
      if (c !== 44) fail();
      at++;
    }
  };
  const value = (): void => {
    const c = text.charCodeAt(at);
    if (c === 123) {
      list(125, () => {
        string();
        space();
        if (text.charCodeAt(at) !== 58) fail();
        at++;
        space();
        value();
      });
    } else if (c === 91) list(93, value);
    else if (c === 34) string();
    else {
      const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, at));
      if (literal !== undefined) {
        at += literal.length;
        return;
      }
      NUMBER.lastIndex = at;
      if (!NUMBER.test(text)) fail();
      at = NUMBER.lastIndex;
    }
  };
  try {
    space();
    value();
    space();
    if (at < text.length) fail();
    return undefined;
  } catch (error: unknown) {
    // Nested past the stack: no position, rather than a wrong one.
    return error instanceof SyntaxError ? at : undefined;
  }
}
