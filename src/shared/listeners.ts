/**
 * Listeners of one kind of news (invalidations, background errors, busy calls): added with a
 * remover, told in the order they were added, forgotten at close. Every storage and link keeps
 * its listeners in these, so all tell them the same way.
 */
export class Listeners<T> {
  private readonly listeners = new Set<(value: T) => void>();

  /** Adds `listener`; returns the function that removes it. */
  add(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Tells every listener, now. */
  tell(value: T): void {
    for (const listener of this.listeners) listener(value);
  }

  /**
   * Tells each listener in a microtask of its own, apart from the caller, as from a worker: a
   * throwing listener can neither fail the caller nor silence the others. What one throws goes to
   * `failed` (a storage's error listeners), or, with none there, is thrown uncaught in its own
   * microtask for the platform to report: never swallowed.
   */
  tellApart(value: T, failed: Listeners<unknown>): void {
    for (const listener of this.listeners) {
      queueMicrotask(() => {
        try {
          listener(value);
        } catch (error) {
          if (failed.size === 0) throw error;
          failed.tell(error);
        }
      });
    }
  }

  get size(): number {
    return this.listeners.size;
  }

  clear(): void {
    this.listeners.clear();
  }
}
