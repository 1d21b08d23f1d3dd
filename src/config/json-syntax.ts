/** JSON text as read from a file: a leading UTF-8 byte-order mark is not part of it. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

const SPACE = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/**
 * The offset of the first key repeated in the same object of a text that `JSON.parse` accepted (which
 * silently keeps the last one), or undefined. `"a"` and `"\u0061"` are the same key.
 *
 * One pass that allocates little (it runs on every JSON workflow file, 100,000 steps too): the keys
 * of the open objects share one stack, each object's from its start mark, compared one by one (an
 * object's keys are few; one with many gets a Set).
 */
export function firstDuplicateKey(text: string): number | undefined {
  /** Per open object or array: where its keys start on `keys` (-1 for an array). */
  const frames: number[] = [];
  const keys: string[] = [];
  /** Sets for the open objects with many keys, by frame depth. */
  const big = new Map<number, Set<string>>();
  const length = text.length;
  for (let at = 0; at < length; at++) {
    const c = text.charCodeAt(at);
    if (c === 34) {
      // A string: find its end (a quote not escaped).
      const start = at;
      let escaped = false;
      for (at++; at < length; at++) {
        const d = text.charCodeAt(at);
        if (d === 34) break;
        if (d === 92) {
          escaped = true;
          at++;
        }
      }
      const frame = frames.length > 0 ? (frames[frames.length - 1] as number) : -1;
      if (frame < 0) continue;
      let next = at + 1;
      while (next < length) {
        const d = text.charCodeAt(next);
        if (d !== 32 && d !== 9 && d !== 10 && d !== 13) break;
        next++;
      }
      if (text.charCodeAt(next) !== 58) continue;
      const key = escaped ? (JSON.parse(text.slice(start, at + 1)) as string) : text.slice(start + 1, at);
      const depth = frames.length;
      const set = big.get(depth);
      if (set !== undefined) {
        if (set.has(key)) return start;
        set.add(key);
        continue;
      }
      for (let k = frame; k < keys.length; k++) if (keys[k] === key) return start;
      keys.push(key);
      if (keys.length - frame > 16) big.set(depth, new Set(keys.slice(frame)));
    } else if (c === 123) {
      frames.push(keys.length);
    } else if (c === 91) {
      frames.push(-1);
    } else if (c === 125 || c === 93) {
      const frame = frames.pop();
      if (frame !== undefined && frame >= 0) {
        keys.length = frame;
        big.delete(frames.length + 1);
      }
    }
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
