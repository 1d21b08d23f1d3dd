import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MAX_TIMER_MS, setLongTimeout } from '../../src/util/long-timeout.js';

// The build's copy, for a process of its own (`npm test` builds first).
const BUILT = fileURLToPath(new URL('../../dist/util/long-timeout.js', import.meta.url));

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

  it('takes NaN as no wait, and never fires for Infinity (waiting whole chunks)', async () => {
    await new Promise<void>((resolve) => setLongTimeout(resolve, Number.NaN));
    let fired = false;
    const timer = setLongTimeout(() => (fired = true), Infinity, 10);
    try {
      await new Promise<void>((resolve) => setLongTimeout(resolve, 60));
      expect(fired).toBe(false);
    } finally {
      timer.clear();
    }
  });

  it('unref() holds across chunks: a process with only such a timer exits', async () => {
    // Chunks of 20 ms over 30 s: each re-armed timer must be unref'd too, or the process would
    // wait the 30 s and print "fired".
    const program = `import('${BUILT}').then(({ setLongTimeout }) => { setLongTimeout(() => console.log('fired'), 30_000, 20).unref(); setTimeout(() => {}, 70); });`;
    const started = Date.now();
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['-e', program], { timeout: 20_000 }, (error, out) => (error ? reject(new Error(`the process did not exit by itself: ${error.message}`)) : resolve(out)));
    });
    expect(stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
