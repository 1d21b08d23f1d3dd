import { describe, expect, it } from 'vitest';
import { outputEnvCollisions, outputEnvName, parseOutputs } from '../../src/core/outputs.js';

describe('parseOutputs', () => {
  it('checks JSON keys with the same name rule as key=value lines, naming the key', () => {
    for (const key of ['', 'a b', '1x', 'x=y']) {
      expect(parseOutputs(JSON.stringify({ ok: 'fine', [key]: 'v' }))).toEqual({
        ok: false,
        message: expect.stringContaining(`invalid output name ${JSON.stringify(key)}`) as string,
      });
    }
    expect(parseOutputs('a b=1\n')).toEqual({ ok: false, message: expect.stringContaining('line 1: invalid output name "a b"') as string });
  });

  it('keeps __proto__ and constructor as ordinary outputs in both forms', () => {
    const fromJson = parseOutputs('{"__proto__":"z","constructor":"c","n":1}');
    const fromLines = parseOutputs('__proto__=z\nconstructor=c\nn=1\n');
    for (const parsed of [fromJson, fromLines]) {
      if (!parsed.ok) throw new Error(parsed.message);
      expect(Object.keys(parsed.outputs)).toEqual(['__proto__', 'constructor', 'n']);
      expect(Object.getPrototypeOf(parsed.outputs)).toBeNull();
      expect(parsed.outputs.__proto__).toBe('z');
      expect(parsed.outputs.n).toBe('1');
    }
  });
});

describe('outputEnvCollisions', () => {
  it('finds outputs of different needs, or keys of one step, that map to the same variable', () => {
    expect(outputEnvName('a', 'b_c')).toBe(outputEnvName('a_b', 'c'));
    expect(
      outputEnvCollisions([
        ['a', ['b_c', 'x.y', 'x-y', 'solo']],
        ['a_b', ['c']],
        ['other', ['b_c']],
      ]),
    ).toEqual([
      { name: 'ORCHESTRATOR_OUTPUT_A_B_C', sources: [{ step: 'a', key: 'b_c' }, { step: 'a_b', key: 'c' }] },
      { name: 'ORCHESTRATOR_OUTPUT_A_X_Y', sources: [{ step: 'a', key: 'x.y' }, { step: 'a', key: 'x-y' }] },
    ]);
    expect(outputEnvCollisions(new Map([['a', ['b']], ['c', ['d']]]))).toEqual([]);
  });
});
