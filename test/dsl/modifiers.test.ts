import { describe, expect, it } from 'vitest';
import { retry, step, timeout } from '../../src/dsl/index.js';

describe('step modifiers', () => {
  it('retry() names its own argument when it is wrong, and a bad field by its name', () => {
    expect(() => retry(() => 1, 0)).toThrow(new TypeError('Expected the number of attempts given to retry() to be a positive integer, got `0` (number)'));
    expect(() => retry(() => 1, { maxAttempts: 0 })).toThrow(
      new TypeError('Expected `maxAttempts` in the options given to retry() to be a positive integer, got `0` (number)'),
    );
    expect(() => retry(() => 1, { factor: 0.5 })).toThrow(new TypeError('Expected `factor` in the options given to retry() to be a number of at least 1, got `0.5` (number)'));
    expect(() => retry(() => 1, 'twice' as never)).toThrow(
      new TypeError('Expected the options given to retry() to be a number of attempts or a retry policy object, got `"twice"` (string)'),
    );
    expect(() => step('fetch', () => 1, { retry: { initialDelay: -1 } })).toThrow(
      new TypeError('Expected `initialDelay` in the `retry` option of step "fetch" to be a non-negative integer, got `-1` (number)'),
    );
  });

  it('timeout() shows a number JSON cannot spell as itself, not as `null`', () => {
    expect(() => timeout(() => 1, Number.NaN)).toThrow(new TypeError('Expected the timeout given to timeout() to be a non-negative integer, got `NaN` (number)'));
    expect(() => timeout(() => 1, Number.POSITIVE_INFINITY)).toThrow('got `Infinity` (number)');
    expect(() => timeout(() => 1, 1.5)).toThrow('got `1.5` (number)');
  });
});
