/**
 * ObjectWatch: the external store behind useObject (for React's useSyncExternalStore).
 *
 * Persistent objects change in place: when another connection or tab commits an object this
 * connection holds, the connection's snapshot moves, the object turns into a ghost and 'change'
 * names it. The watch then loads it again and tells React, whose snapshot is a version token made
 * of the object's status and `_p_serial` (the tid of the revision loaded), so a reload that brought
 * a new revision re-renders. A commit through the connection itself leaves the object loaded with
 * its new `_p_serial` and 'commit' names it: the watch tells React at once.
 *
 * Invariants:
 * - While subscribed, the watch holds the object (`conn.hold`), so the cache never evicts it: an
 *   evicted object is a ghost, and 'change' never names a ghost, so the screen would keep showing
 *   its old value after another tab changed it.
 * - Nothing happens before `subscribe` (React may create a watch in a render it throws away), and
 *   `unsubscribe` removes the 'change' and 'commit' listeners, releases the hold and makes every
 *   later result of a load a no-op.
 * - React is not told when the object turns into a ghost, only when it is loaded again, so the UI
 *   does not flash "loading" on every remote change; the hook returns undefined for a ghost, so a
 *   render in between never reads a ghost's fields (GhostError).
 * - One load at a time per watch.
 */
import type { CommitEvent, Connection, Persistent } from '../index.js';
import { reportOrphanError } from './report.js';

export class ObjectWatch<T extends Persistent> {
  /** React's callbacks while subscribed (one per mounted component using this watch). */
  private readonly listeners = new Set<() => void>();
  /** The load running, if any. */
  private loading: Promise<void> | undefined;
  /** The failure of the last load, shown to the component (thrown in its render). */
  private failure: { error: unknown } | undefined;
  /** Releases the hold on the object, while subscribed. */
  private release: (() => void) | undefined;

  constructor(
    readonly conn: Connection,
    readonly obj: T,
  ) {}

  /** React subscribes: hold the object, listen for 'change' and 'commit', load it if a ghost. */
  readonly subscribe = (notify: () => void): (() => void) => {
    this.listeners.add(notify);
    if (this.listeners.size === 1) this.start();
    this.ensureLoaded();
    return () => {
      this.listeners.delete(notify);
      if (this.listeners.size > 0) return;
      this.conn.removeEventListener('change', this.onChange);
      this.conn.removeEventListener('commit', this.onCommit);
      this.release?.();
      this.release = undefined;
    };
  };

  /** The version React compares: changes when the object is loaded again or a load failed. */
  readonly getSnapshot = (): string => {
    if (this.failure !== undefined) return 'failed';
    return `${this.obj._p_status}:${String(this.obj._p_serial)}`;
  };

  /** The object if it can be rendered (not a ghost); throws the failure of its last load. */
  current(): T | undefined {
    if (this.failure !== undefined) throw this.failure.error;
    return this.obj._p_status === 'ghost' ? undefined : this.obj;
  }

  /**
   * Loads the object if it is a ghost and no load runs: after 'change', on subscribe, and after each
   * render (abort() turns changed objects into ghosts without an event).
   */
  ensureLoaded(): void {
    if (this.listeners.size === 0 || this.loading !== undefined || this.failure !== undefined) {
      return;
    }
    if (this.obj._p_status !== 'ghost') return;
    const loading = this.conn.load(this.obj).then(
      () => {
        this.loading = undefined;
        this.notify();
      },
      (error: unknown) => {
        this.loading = undefined;
        if (this.listeners.size === 0) {
          reportOrphanError(this.conn, error);
          return;
        }
        this.failure = { error };
        this.notify();
      },
    );
    this.loading = loading;
  }

  /** The first subscriber: listen, and hold the object (or show why it cannot be held). */
  private start(): void {
    this.conn.addEventListener('change', this.onChange);
    this.conn.addEventListener('commit', this.onCommit);
    try {
      this.release = this.conn.hold(this.obj);
    } catch (error) {
      // An object of another connection: shown to the component as its failure.
      this.failure = { error };
      this.notify();
    }
  }

  /**
   * 'change': the snapshot moved. The object is a ghost if others changed it (named in the event),
   * or if it was ghosted meanwhile without an event (abort); either way it loads again.
   */
  private readonly onChange = (): void => {
    this.ensureLoaded();
  };

  /** 'commit': the connection's own commit; if it wrote the object, React renders its new state. */
  private readonly onCommit = (event: Event): void => {
    const oid = this.obj._p_oid;
    if (oid !== undefined && (event as CommitEvent).oids.includes(oid)) this.notify();
  };

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
