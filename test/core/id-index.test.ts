import { describe, expect, it } from 'vitest';
import { IdIndex } from '../../src/core/id-index.js';

describe('IdIndex', () => {
  it('gives each id its position, in the order added, and -1 for an id it does not hold', () => {
    const ids = Array.from({ length: 50_000 }, (_, i) => `L${Math.floor(i / 100)}_${i % 100}`);
    const index = new IdIndex();
    ids.forEach((id, i) => expect(index.add(id)).toBe(i));
    expect(index.size).toBe(ids.length);
    for (let i = 0; i < ids.length; i += 997) expect(index.get(ids[i] as string)).toBe(i);
    // Equal text built another way is the same id.
    expect(index.get(['L3', '_7'].join(''))).toBe(307);
    expect(index.get('L3_')).toBe(-1);
    expect(index.get('')).toBe(-1);
  });

  it('refuses an id added twice and keeps the first position', () => {
    const index = new IdIndex();
    expect(index.add('a')).toBe(0);
    expect(index.add('b')).toBe(1);
    expect(index.add('a')).toBe(-1);
    expect(index.get('a')).toBe(0);
    expect(index.size).toBe(2);
  });

  it('takes any string as a plain key: object property names, unicode, empty, case-distinct', () => {
    const ids = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'é', 'e\u0301', '🎉', '', 'A', 'a', 'x'.repeat(10_000)];
    const index = new IdIndex();
    ids.forEach((id, i) => expect(index.add(id)).toBe(i));
    ids.forEach((id, i) => expect(index.get(id)).toBe(i));
    expect(index.get('__PROTO__')).toBe(-1);
  });
});
