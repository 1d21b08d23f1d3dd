import { describe, it, expect } from 'vitest';
import { MAX_TIMER_MS, setLongTimeout } from '../../src/util/long-timeout.js';

describe('setLongTimeout', () => {
  it('waits out a delay longer than one chunk, re-arming for what is left', async () => {
    const started = Date.now();
    await new Promise<void>((resolve) => setLongTimeout(resolve, 90, 20));
    // Timers may fire a millisecond early by the wall clock; five chunks of 20 ms and one of 10.
    expect(Date.now() - started).toBeGreaterThanOrEqual(88);
  });

  it('is stopped by clear() between chunks', async () => {
    let fired = false;
    const timer = setLongTimeout(() => (fired = true), 60, 10);
    await new Promise<void>((resolve) => setLongTimeout(resolve, 25, 10));
    timer.clear();
    await new Promise<void>((resolve) => setLongTimeout(resolve, 150));
    expect(fired).toBe(false);
  });

  it('takes a delay past 2^31-1 ms without Node cutting it to 1 ms', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    let fired = false;
    const timer = setLongTimeout(() => (fired = true), MAX_TIMER_MS + 1_000_000).unref();
    try {
      // A TimeoutOverflowWarning is emitted on the next tick; the timer would fire after 1 ms.
      await new Promise<void>((resolve) => setLongTimeout(resolve, 50));
      expect(fired).toBe(false);
      expect(warnings.map((w) => w.name)).not.toContain('TimeoutOverflowWarning');
    } finally {
      timer.clear();
      process.off('warning', onWarning);
    }
  });
});
