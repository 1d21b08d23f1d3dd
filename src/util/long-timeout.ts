/**
 * The longest delay `setTimeout` takes: 2^31-1 ms (about 24.8 days). Node runs a timer with a
 * longer delay after 1 ms instead (with a TimeoutOverflowWarning).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer from `setLongTimeout`. */
export interface LongTimeout {
  /** Stops it; the callback is not called. Safe to call more than once, or after it fired. */
  clear(): void;
  /** Lets the process exit while only this timer is pending (as `Timeout.unref()`). */
  unref(): LongTimeout;
}

/**
 * `setTimeout` for any delay: one longer than `maxChunkMs` is waited out in chunks of at most
 * that, each timer re-armed for what is left. Use it wherever a user-given duration (a timeout, a
 * kill grace, a retry delay) becomes a timer. `maxChunkMs` is for tests.
 */
export function setLongTimeout(callback: () => void, ms: number, maxChunkMs: number = MAX_TIMER_MS): LongTimeout {
  const chunk = Math.max(1, Math.min(Math.floor(maxChunkMs), MAX_TIMER_MS));
  let remaining = Number.isNaN(ms) ? 0 : Math.max(0, ms);
  let timer: NodeJS.Timeout | undefined;
  let cleared = false;
  let unrefed = false;
  const arm = (): void => {
    if (cleared) return;
    // Infinity never ends: it stays at whole chunks forever.
    const wait = Math.min(remaining, chunk);
    if (remaining !== Infinity) remaining -= wait;
    timer = setTimeout(() => {
      timer = undefined;
      if (cleared) return;
      if (remaining > 0) arm();
      else {
        cleared = true;
        callback();
      }
    }, wait);
    if (unrefed) timer.unref();
  };
  arm();
  const handle: LongTimeout = {
    clear() {
      cleared = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    unref() {
      unrefed = true;
      timer?.unref();
      return handle;
    },
  };
  return handle;
}
