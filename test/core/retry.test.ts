import { describe, it, expect } from 'vitest';
import { DEFAULT_RETRY_POLICY, retryDelay, type RetryPolicy } from '../../src/core/retry.js';

const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  ...DEFAULT_RETRY_POLICY,
  maxAttempts: 10,
  initialDelay: 1000,
  factor: 2,
  maxDelay: 10_000,
  ...overrides,
});

/** A random source that returns `values` in turn. */
const sequence = (...values: number[]): (() => number) => {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
};

describe('retryDelay', () => {
  it('doubles from the initial delay and stops at maxDelay when there is no jitter', () => {
    const delays = [2, 3, 4, 5, 6].map((attempt) => retryDelay(policy(), attempt));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 10_000]);
  });

  it('keeps returning maxDelay for late attempts', () => {
    expect(retryDelay(policy(), 50)).toBe(10_000);
  });

  it('uses the initial delay for the first retry even when asked about attempt 1', () => {
    expect(retryDelay(policy(), 1)).toBe(1000);
  });

  it('does not call random when there is no jitter', () => {
    let calls = 0;
    retryDelay(policy(), 3, () => {
      calls += 1;
      return 0.5;
    });
    expect(calls).toBe(0);
  });

  it('full jitter scales the delay by the random value, staying within [0, delay]', () => {
    const full = policy({ jitter: 'full' });
    expect(retryDelay(full, 3, () => 0)).toBe(0);
    expect(retryDelay(full, 3, () => 0.5)).toBe(1000);
    expect(retryDelay(full, 3, () => 0.25)).toBe(500);
    const random = sequence(0, 0.1, 0.37, 0.5, 0.99, 0.999999);
    for (let attempt = 2; attempt <= 8; attempt += 1) {
      const cap = Math.min(1000 * 2 ** (attempt - 2), 10_000);
      for (let i = 0; i < 6; i += 1) {
        const delay = retryDelay(full, attempt, random);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(cap);
      }
    }
  });

  it('equal jitter keeps half the delay and adds a random half, staying within [delay/2, delay]', () => {
    const equal = policy({ jitter: 'equal' });
    expect(retryDelay(equal, 4, () => 0)).toBe(2000);
    expect(retryDelay(equal, 4, () => 0.5)).toBe(3000);
    expect(retryDelay(equal, 4, () => 1)).toBe(4000);
    const random = sequence(0, 0.2, 0.5, 0.75, 0.999999);
    for (let attempt = 2; attempt <= 8; attempt += 1) {
      const cap = Math.min(1000 * 2 ** (attempt - 2), 10_000);
      for (let i = 0; i < 5; i += 1) {
        const delay = retryDelay(equal, attempt, random);
        expect(delay).toBeGreaterThanOrEqual(cap / 2);
        expect(delay).toBeLessThanOrEqual(cap);
      }
    }
  });

  it('applies jitter to the capped delay, not to the uncapped one', () => {
    expect(retryDelay(policy({ jitter: 'full' }), 20, () => 0.5)).toBe(5000);
    expect(retryDelay(policy({ jitter: 'equal' }), 20, () => 0)).toBe(5000);
  });

  it('a factor of 1 gives a fixed delay', () => {
    const fixed = policy({ factor: 1, initialDelay: 250 });
    expect([2, 3, 7].map((attempt) => retryDelay(fixed, attempt))).toEqual([250, 250, 250]);
  });
});
