/** Fans events out to listeners and async iterators; an iterator buffers what it has not consumed. */
export class EventChannel<T> {
  readonly #listeners = new Set<(event: T) => void>();
  #closed = false;

  /** True when someone listens: lets emitters skip building events nobody reads. */
  get active(): boolean {
    return this.#listeners.size > 0;
  }

  emit(event: T): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        // A broken listener must not break the run; report it the way Node reports such things.
        process.emitWarning(`Event listener threw: ${String(error)}`);
      }
    }
  }

  on(listener: (event: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    for (const listener of [...this.#listeners]) {
      (listener as { end?: () => void }).end?.();
    }
  }

  iterate(): AsyncIterable<T> {
    const buffer: T[] = [];
    let wake: (() => void) | undefined;
    let ended = this.#closed;
    const listener = Object.assign((event: T) => {
      buffer.push(event);
      wake?.();
    }, {
      end: () => {
        ended = true;
        wake?.();
      },
    });
    this.#listeners.add(listener);
    const remove = (): void => {
      this.#listeners.delete(listener);
    };
    return {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<T>> => {
          while (buffer.length === 0 && !ended) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
          if (buffer.length > 0) return { value: buffer.shift() as T, done: false };
          remove();
          return { value: undefined, done: true };
        },
        return: (): Promise<IteratorResult<T>> => {
          remove();
          return Promise.resolve({ value: undefined, done: true });
        },
      }),
    };
  }
}
