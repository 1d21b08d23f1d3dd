import { describe, it, expect } from 'vitest';
import { formatDuration, parseDuration } from '../../src/core/duration.js';

describe('parseDuration', () => {
  it.each([
    ['90', 90_000],
    ['0.5', 500],
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s', 3_723_000],
    ['1.5s', 1500],
    ['  45s  ', 45_000],
    ['0', 0],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['0.0001', 1],
    ['0.4ms', 1],
    ['0.0004s', 1],
    ['0.0ms', 0],
    ['0ms', 0],
    ['0.6ms', 1],
    ['1.5ms', 2],
  ])('rounds %j to %d ms, and a positive duration never to 0 (0 means none)', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('rounds a positive number of seconds under 1 ms up to 1 ms', () => {
    expect(parseDuration(0.0001)).toBe(1);
    expect(parseDuration(1e-9)).toBe(1);
  });

  it('reads a number as seconds', () => {
    expect(parseDuration(90)).toBe(90_000);
    expect(parseDuration(0.25)).toBe(250);
    expect(parseDuration(0)).toBe(0);
  });

  it.each(['', '   ', 'abc', '5x', '1m30', 'ms', '-5', '-5s', '.5', '1 m', '2mins', '10s garbage', '1e3'])(
    'returns undefined for the bad input %j',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  it('returns undefined for negative and non-finite numbers', () => {
    expect(parseDuration(-1)).toBeUndefined();
    expect(parseDuration(Number.NaN)).toBeUndefined();
    expect(parseDuration(Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [999, '999ms'],
    [1000, '1.00s'],
    [1234, '1.23s'],
    [12_300, '12.3s'],
    [59_000, '59.0s'],
    [60_000, '1m00s'],
    [245_000, '4m05s'],
    [3_725_000, '62m05s'],
  ])('formats %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
