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
   * throwing listener can neither fail the caller nor silence the others.
   */
  tellApart(value: T): void {
    for (const listener of this.listeners) queueMicrotask(() => listener(value));
  }

  clear(): void {
    this.listeners.clear();
  }
}
