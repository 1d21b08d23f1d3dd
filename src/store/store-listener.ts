import type { RunListener } from '../core/events.js';
import type { RunStore } from './run-store.js';

/**
 * The store as a subscriber of a run's event stream: pass it as `onEvent` (or to `handle.on`).
 * @example
 * const run = engine.submit(spec, { onEvent: storeListener(store) });
 */
export function storeListener(store: RunStore): RunListener {
  return (event) => store.recordEvent(event);
}
