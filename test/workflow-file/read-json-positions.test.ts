import { LineCounter, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SourceLocator } from '../../src/config/source-locator.js';
import { readJsonPositions } from '../../src/workflow-file/read-json-positions.js';
import { allFieldPaths } from '../helpers/field-paths.js';

/** A small deterministic PRNG, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const SCALARS: unknown[] = ['x', 'echo ${{ steps.a.outputs.v }}', 'quote " and \\ back', 'é ü \u2028', '', 0, -1.5, 2e21, true, false, null];
const KEYS = ['id', 'run', 'needs', 'a b', 'é', '"q"', '1', '__proto__', 'steps'];

function valueOf(next: () => number, depth: number): unknown {
  const roll = next();
  if (depth < 4 && roll < 0.25) {
    const object: Record<string, unknown> = {};
    const count = Math.floor(next() * 4);
    for (let i = 0; i < count; i++) {
      Object.defineProperty(object, KEYS[Math.floor(next() * KEYS.length)] as string, { value: valueOf(next, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return object;
  }
  if (depth < 4 && roll < 0.45) return Array.from({ length: Math.floor(next() * 4) }, () => valueOf(next, depth + 1));
  return SCALARS[Math.floor(next() * SCALARS.length)];
}

describe('readJsonPositions', () => {
  it('reads what JSON.parse reads and places every field where the yaml document does', () => {
    const next = random(424_242);
    let compared = 0;
    for (let i = 0; i < 3000; i++) {
      const value = valueOf(next, 0);
      const text = JSON.stringify(value, null, [0, 2, 4][Math.floor(next() * 3)]);
      const read = readJsonPositions(text);
      expect(read, text).toBeDefined();
      if (read === undefined) continue;
      // (The value carries its positions under a symbol, which JSON.stringify leaves out.)
      expect(JSON.stringify(read.value)).toBe(JSON.stringify(JSON.parse(text)));
      const lineCounter = new LineCounter();
      const yaml = new SourceLocator(parseDocument(text, { lineCounter, prettyErrors: false }), lineCounter);
      for (const path of allFieldPaths(read.value)) {
        for (const want of ['key', 'value'] as const) {
          expect(read.locator.locate(path, want), `${want} of ${JSON.stringify(path)} in\n${text}`).toEqual(yaml.locate(path, want));
        }
        const leaf = path.reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key], read.value);
        if (path.length > 0 && (typeof leaf !== 'object' || leaf === null)) {
          expect(read.locator.valueRange(path), `range of ${JSON.stringify(path)} in\n${text}`).toEqual(yaml.valueRange(path));
        }
        compared += 1;
      }
    }
    expect(compared).toBeGreaterThan(10_000);
  });

  it('places a repeated key at its last occurrence, the one JSON.parse keeps', () => {
    const text = '{\n  "a": 1,\n  "a": 2\n}';
    const read = readJsonPositions(text);
    expect(JSON.stringify(read?.value)).toBe('{"a":2}');
    expect(read?.locator.locate(['a'], 'key')).toEqual({ line: 3, column: 3 });
    expect(read?.locator.locate(['a'], 'value')).toEqual({ line: 3, column: 8 });
  });

  it('gives up (undefined) on text that is not one JSON value', () => {
    for (const text of ['', '{"a": 1} x', '{"a" 1}', '[1 2]', "{'a': 1}", '{"a": tru}', '"open']) {
      expect(readJsonPositions(text), text).toBeUndefined();
    }
  });
});
