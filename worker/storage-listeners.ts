/**
 * Who hears what a storage did: the invalidation listeners (every commit, announced after it
 * landed) and the error listeners (failures of work nobody awaits, such as an automatic checkpoint
 * or a relaxed flush). Every storage keeps its listeners here, so all announce the same way.
 */
import { Listeners } from '../src/shared/listeners.js';
import type { Invalidation, Tid } from '../src/shared/storage.js';

export class StorageListeners {
  private readonly invalidation = new Listeners<Invalidation>();
  private readonly errors = new Listeners<unknown>();

  /** Adds an invalidation listener; returns its remover. */
  subscribe(listener: (invalidation: Invalidation) => void): () => void {
    return this.invalidation.add(listener);
  }

  /** Adds an error listener; returns its remover. */
  subscribeErrors(listener: (error: unknown) => void): () => void {
    return this.errors.add(listener);
  }

  /**
   * Announces a commit that landed. Each listener hears it in its own microtask, apart from the
   * commit, as from a worker: a throwing listener can neither undo the commit nor silence the others.
   */
  announce(tid: Tid, prevTid: Tid, oids: number[], txnId: string | undefined): void {
    const invalidation: Invalidation =
      txnId === undefined ? { tid, prevTid, oids } : { tid, prevTid, oids, txnId };
    this.invalidation.tellApart(invalidation, this.errors);
  }

  /** Announces objects pack removed (see Invalidation.removed), as of the newest tid `tid`. */
  announceRemoved(tid: Tid, oids: number[]): void {
    if (oids.length > 0)
      this.invalidation.tellApart({ tid, prevTid: tid, oids, removed: true }, this.errors);
  }

  /** Tells the error listeners about a failure of work nobody awaits. */
  report(error: unknown): void {
    this.errors.tell(error);
  }

  /** Forgets every listener (the storage closed). */
  clear(): void {
    this.invalidation.clear();
    this.errors.clear();
  }
}
