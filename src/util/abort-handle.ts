/**
 * A cancel switch that costs nothing until someone needs a real `AbortSignal`: `AbortController`
 * construction is expensive (~1 µs) and most in-process steps never look at their signal.
 * `onAbort` listeners are plain callbacks; `signal` is created on first access, already aborted
 * when the switch was thrown before.
 */
export class AbortHandle {
  #controller: AbortController | undefined;
  #listeners: ((reason: unknown) => void)[] | undefined;
  #aborted = false;
  #reason: unknown;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Calls `listener` once on abort (at once if already aborted); returns the unsubscribe function. */
  onAbort(listener: (reason: unknown) => void): () => void {
    if (this.#aborted) {
      listener(this.#reason);
      return () => undefined;
    }
    (this.#listeners ??= []).push(listener);
    return () => {
      const list = this.#listeners;
      if (!list) return;
      const index = list.indexOf(listener);
      if (index >= 0) list.splice(index, 1);
    };
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener(reason);
  }
}
