/**
 * A connection's object cache.
 *
 * Two maps with different strengths:
 * - `known`: oid → every object this connection has handed out (loaded or ghost). It keeps
 *   identity: while the app (or another loaded object) holds an object, asking for its oid again
 *   returns that same object. A ghost's entry is a WeakRef, removed by a FinalizationRegistry once
 *   the ghost is collected. An object that is not a ghost is held strongly anyway (by `loaded`, or
 *   as a change by the connection), so its entry is its Meta, made weak only when the object turns
 *   into a ghost (`noteGhost`, `shrink`): a WeakRef costs ~0.5–1 µs to make in V8, the largest
 *   cost of `add`, and objects that stay loaded (all of a commit smaller than the cache, every
 *   small commit) never need one.
 * - `loaded`: oid → Meta of every loaded object, holding it strongly. Its insertion order is the
 *   recency order for eviction.
 *
 * `shrink` (called by the connection at transaction boundaries only, so objects never turn into
 * ghosts under running code) ghosts clean objects until at most `maxCount` are loaded and their
 * stored sizes sum to at most `maxBytes`. Eviction is CLOCK (second chance): an object read since
 * the last pass (`meta.accessed`, set by the proxy on every read) is moved to the young end once
 * instead of being ghosted. Changed objects are never ghosted: the connection holds them. Nor are
 * held objects (`hold`: what the app shows, e.g. through shelfdb/react): a ghost is never named by
 * a later 'change' (the snapshot skips ghosts when others change them), so an object evicted while
 * it is on screen would stay on screen with its old value.
 */
import { ghostify, metaOf, type Meta, type Persistent } from './persistent.js';

/** What `conn.cacheInfo()` tells of a connection's cache. */
export interface CacheInfo {
  /** Loaded objects in the cache. */
  loaded: number;
  /** The stored bytes of the loaded objects. */
  bytes: number;
  /** Objects the cache knows, ghosts included. */
  known: number;
  /** Objects changed and not yet committed. */
  changed: number;
  /** Objects kept from eviction by `hold`. */
  held: number;
}

export class Cache {
  /** Every object handed out: identity. Ghosts weakly, others by their Meta (see the header). */
  private readonly known = new Map<number, WeakRef<Persistent> | Meta>();
  /** Removes `known` entries of collected objects. */
  private readonly finalizer = new FinalizationRegistry<number>((oid) => {
    const entry = this.known.get(oid);
    if (entry instanceof WeakRef && entry.deref() === undefined) this.known.delete(oid);
  });
  /** Loaded objects, strongly, oldest first. */
  private readonly loaded = new Map<number, Meta>();
  /** Sum of the stored sizes of the loaded objects. */
  private loadedBytes = 0;
  /** Objects `shrink` must not ghost, with how many holds each has (see `hold`). */
  private readonly held = new Map<Persistent, number>();

  constructor(
    /** Target count of loaded objects. */
    readonly maxCount: number,
    /** Target sum of their stored sizes. */
    readonly maxBytes: number,
  ) {}

  /** The object for `oid`, loaded or ghost, if this connection still has it. */
  get(oid: number): Persistent | undefined {
    const entry = this.known.get(oid);
    return entry instanceof WeakRef ? entry.deref() : entry?.self;
  }

  /**
   * Remembers an object that has just got its oid in this connection: a ghost weakly, any other
   * object strongly until `noteGhost` (which must come before it turns into a ghost).
   */
  add(obj: Persistent): void {
    const m = metaOf(obj);
    if (m.status === 'ghost') this.weaken(m, undefined);
    else this.known.set(m.oid as number, m);
  }

  /** Makes the `known` entry of `m`, an object turning into a ghost, a WeakRef (once). */
  private weaken(m: Meta, entry: WeakRef<Persistent> | Meta | undefined): void {
    if (entry instanceof WeakRef) return;
    const oid = m.oid as number;
    this.known.set(oid, new WeakRef(m.self));
    this.finalizer.register(m.self, oid);
  }

  /** An object became loaded (or was re-loaded / committed): it is now the youngest. */
  noteLoaded(obj: Persistent): void {
    const m = metaOf(obj);
    const oid = m.oid as number;
    const previous = this.loaded.get(oid);
    if (previous !== undefined) {
      this.loaded.delete(oid);
      this.loadedBytes -= previous.size;
    }
    this.loaded.set(oid, m);
    this.loadedBytes += m.size;
  }

  /**
   * An object is becoming a ghost (invalidated, aborted; call it before `ghostify`): it no longer
   * counts as loaded, and only a weak reference keeps its identity.
   */
  noteGhost(obj: Persistent): void {
    const m = metaOf(obj);
    const oid = m.oid as number;
    if (this.loaded.get(oid) === m) {
      this.loaded.delete(oid);
      this.loadedBytes -= m.size;
    }
    const entry = this.known.get(oid);
    if (entry === m) this.weaken(m, entry);
  }

  /**
   * Keeps `obj` from being ghosted by `shrink` (loaded now or later) until every hold on it is
   * released: holds are counted, and the release function returned works once.
   */
  hold(obj: Persistent): () => void {
    this.held.set(obj, (this.held.get(obj) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const count = this.held.get(obj) ?? 0;
      if (count <= 1) this.held.delete(obj);
      else this.held.set(obj, count - 1);
    };
  }

  /** Whether `obj` is held (see `hold`). */
  isHeld(obj: Persistent): boolean {
    return this.held.has(obj);
  }

  /** Held objects, loaded or ghosts. */
  heldObjects(): IterableIterator<Persistent> {
    return this.held.keys();
  }

  /** How many distinct objects are held (see `hold`). */
  get heldCount(): number {
    return this.held.size;
  }

  /** Loaded objects, oldest first. */
  *loadedObjects(): IterableIterator<Persistent> {
    for (const m of this.loaded.values()) yield m.self;
  }

  get loadedCount(): number {
    return this.loaded.size;
  }

  get bytes(): number {
    return this.loadedBytes;
  }

  /** Number of objects the connection still has (loaded or ghost), for stats and tests. */
  get knownCount(): number {
    return this.known.size;
  }

  /** Ghosts least recently used clean objects until the targets are met. Returns how many. */
  shrink(): number {
    let ghosted = 0;
    // Two passes at most: the first may only clear second chances.
    let budget = this.loaded.size * 2;
    const { loaded, known, held } = this;
    const anyHeld = held.size > 0;
    for (const [oid, m] of loaded) {
      if (loaded.size <= this.maxCount && this.loadedBytes <= this.maxBytes) break;
      if (budget-- <= 0) break;
      if (m.status !== 'saved' || (anyHeld && held.has(m.self))) continue; // changed and held stay
      loaded.delete(oid);
      if (m.accessed) {
        m.accessed = false;
        loaded.set(oid, m); // second chance: move to the young end
        continue;
      }
      this.loadedBytes -= m.size;
      this.weaken(m, known.get(oid));
      ghostify(m);
      ghosted++;
    }
    return ghosted;
  }

  /**
   * Ghosts the object of `oid` if it is loaded, unchanged and not held, as `shrink` would (pack
   * removed it: nothing will ask for it again but a reference the app kept). True if it did.
   */
  evict(oid: number): boolean {
    const m = this.loaded.get(oid);
    if (m === undefined || m.status !== 'saved' || this.held.has(m.self)) return false;
    this.loaded.delete(oid);
    this.loadedBytes -= m.size;
    this.weaken(m, this.known.get(oid));
    ghostify(m);
    return true;
  }

  /** Forgets everything (the connection is closing). */
  clear(): void {
    this.known.clear();
    this.loaded.clear();
    this.held.clear();
    this.loadedBytes = 0;
  }
}
