/**
 * RangeWatch: the external store behind useRange (for React's useSyncExternalStore): the entries of
 * one range of a BTree, kept up to date as other connections and tabs, and the connection itself,
 * commit.
 *
 * A run scans the range with `tree.entries(range)` up to `limit` entries, then remembers what the
 * result depends on: the tree object (its entry count changes with every insert and delete), the
 * nodes the scan visited, and the persistent values it returned, and holds them (`conn.hold`), so
 * the cache never evicts them: 'change' never names a ghost, so an evicted one that another tab
 * changed would leave the old entries on screen. A 'change' (others' commits) or 'commit' (the
 * connection's own) that names one of them, or finds one of them ghosted without an event
 * (abort), starts a new run.
 *
 * Invariants:
 * - Every result comes from one snapshot: a run whose connection moved to another snapshot while
 *   it scanned (the scan throws, or the tid differs at the end) is thrown away and runs again.
 * - Only the newest run may publish: each run carries a generation number, and a newer run, a
 *   change of range (a new watch) or `unsubscribe` makes older runs stop at their next entry and
 *   drop their result.
 * - Nothing happens before `subscribe`; `unsubscribe` removes the 'change' and 'commit' listeners
 *   and releases the holds. Only a published result's objects are held, each until the next one.
 * - React is told only when a run finished: a re-run keeps showing the previous entries.
 */
import {
  Persistent,
  ShelfError,
  type BTree,
  type BTreeKey,
  type BTreeRange,
  type Connection,
} from '../index.js';
import { lowerBound, type BTreeNode } from '../btree-node.js';
import { reportOrphanError } from './report.js';

/** What useRange shows: the entries of the last finished run, whether one runs, its failure. */
export interface RangeState<K, V> {
  /** The entries in scan order, all from one snapshot; values that are persistent are loaded. */
  readonly entries: readonly (readonly [K, V])[];
  /** True while a run is going on (the first, or a re-run after a change). */
  readonly loading: boolean;
  /** What the last run threw (then `entries` is empty), else undefined. */
  readonly error: unknown;
}

/** How many times in a row a run may find its snapshot moved before it gives up. */
const MAX_ATTEMPTS = 20;

export class RangeWatch<K extends BTreeKey, V> {
  /** The connection the tree belongs to. */
  readonly conn: Connection;
  /** React's callbacks while subscribed. */
  private readonly listeners = new Set<() => void>();
  /** What React renders; replaced, never mutated. */
  private state: RangeState<K, V> = { entries: [], loading: true, error: undefined };
  /** The number of the newest run; older runs drop their results. */
  private generation = 0;
  /** Oids the last result depends on (tree, visited nodes, returned persistent values). */
  private watchedOids = new Set<number>();
  /** The same objects, to notice one ghosted without an event. */
  private watched: Persistent[] = [];
  /** Releases the holds on `watched`. */
  private releaseWatched: () => void = () => undefined;

  /** @throws ShelfError if the tree is not stored yet (it has no connection to read through). */
  constructor(
    readonly tree: BTree<K, V>,
    readonly range: BTreeRange<K>,
    readonly limit: number,
  ) {
    const conn = tree._p_connection as Connection | undefined;
    if (conn === undefined) {
      throw new ShelfError(
        'useRange: this BTree is not stored yet, so it has no connection to read through. Commit it (reachable from the root) first, or pass a tree loaded from the database.',
      );
    }
    this.conn = conn;
  }

  readonly subscribe = (notify: () => void): (() => void) => {
    this.listeners.add(notify);
    if (this.listeners.size === 1) {
      this.conn.addEventListener('change', this.onChange);
      this.conn.addEventListener('commit', this.onChange);
      this.run();
    }
    return () => {
      this.listeners.delete(notify);
      if (this.listeners.size > 0) return;
      this.conn.removeEventListener('change', this.onChange);
      this.conn.removeEventListener('commit', this.onChange);
      this.generation++; // the running scan stops and drops its result
      this.releaseWatched();
      this.releaseWatched = () => undefined;
    };
  };

  readonly getSnapshot = (): RangeState<K, V> => this.state;

  /**
   * 'change' or 'commit' (both carry `oids`): runs again if the event names what the result
   * depends on, or it was ghosted.
   */
  private readonly onChange = (event: Event): void => {
    const { oids } = event as Event & { oids: readonly number[] };
    const named = oids.some((oid) => this.watchedOids.has(oid));
    if (named || this.watched.some((obj) => obj._p_status === 'ghost')) this.run();
  };

  /** Starts a run; it publishes its result unless a newer run started or React unsubscribed. */
  private run(): void {
    const generation = ++this.generation;
    if (!this.state.loading) this.state = { ...this.state, loading: true }; // no re-render for it
    this.scan(generation).then(
      (entries) => {
        if (entries === undefined || generation !== this.generation) return;
        this.watch(entries);
        this.publish({ entries, loading: false, error: undefined });
      },
      (error: unknown) => {
        if (generation !== this.generation) {
          reportOrphanError(this.conn, error);
          return;
        }
        this.publish({ entries: [], loading: false, error });
      },
    );
  }

  /**
   * Scans the range at one snapshot: again while the connection moves to another snapshot during
   * the scan. Resolves to undefined if the run was superseded.
   */
  private async scan(generation: number): Promise<[K, V][] | undefined> {
    for (let attempt = 1; ; attempt++) {
      const tid = this.conn.snapshotTid;
      const entries: [K, V][] = [];
      try {
        for await (const entry of this.tree.entries(this.range)) {
          if (generation !== this.generation) return undefined;
          entries.push(entry);
          if (entries.length >= this.limit) break;
        }
      } catch (error) {
        // The scan throws when the snapshot moves under it; anything else is the run's failure.
        if (this.conn.snapshotTid === tid) throw error;
      }
      if (generation !== this.generation) return undefined;
      if (this.conn.snapshotTid === tid) return entries;
      if (attempt === MAX_ATTEMPTS) {
        throw new ShelfError(
          `useRange: the connection moved to a newer snapshot during each of ${MAX_ATTEMPTS} scans of the range in a row (others commit faster than the range loads). Pass a smaller limit or range.`,
        );
      }
    }
  }

  /** Remembers what `entries` depends on: the tree, the nodes the scan visited, the values. */
  private watch(entries: [K, V][]): void {
    const { min, max, excludeMin = false, excludeMax = false, reverse = false } = this.range;
    const objects: Persistent[] = [this.tree];
    const last = entries[entries.length - 1];
    const cut = entries.length >= this.limit && last !== undefined;
    // With a limit the scan stopped at the last entry it returned: it visited nothing beyond.
    const bounds = {
      min: cut && reverse ? last[0] : min,
      max: cut && !reverse ? last[0] : max,
      excludeMin: cut && reverse ? false : excludeMin,
      excludeMax: cut && !reverse ? false : excludeMax,
    };
    if (this.tree._p_status !== 'ghost') visitNodes(this.tree.root, bounds, objects);
    for (const [, value] of entries) if (value instanceof Persistent) objects.push(value);
    const releases = objects.map((obj) => this.conn.hold(obj));
    this.releaseWatched();
    this.releaseWatched = () => releases.forEach((release) => release());
    this.watched = objects;
    this.watchedOids = new Set(
      objects.map((obj) => obj._p_oid).filter((oid): oid is number => oid !== undefined),
    );
  }

  private publish(state: RangeState<K, V>): void {
    this.state = state;
    for (const listener of [...this.listeners]) listener();
  }
}

/** The bounds of a scan, as btree-scan.ts's walkRange applies them. */
interface Bounds<K> {
  min: K | undefined;
  max: K | undefined;
  excludeMin: boolean;
  excludeMax: boolean;
}

/**
 * Collects the loaded nodes under `node` that a scan within `bounds` passes through: the same
 * children walkRange (btree-scan.ts) descends into. A ghost was not visited (or has been ghosted
 * since, and then its change starts a new run anyway).
 */
function visitNodes<K, V>(node: BTreeNode<K, V>, bounds: Bounds<K>, out: Persistent[]): void {
  if (node._p_status === 'ghost') return;
  out.push(node);
  const { min, max, excludeMin, excludeMax } = bounds;
  const children = node.children;
  if (children === null) return;
  const start = min === undefined ? 0 : lowerBound(node.keys, min, excludeMin);
  const end = max === undefined ? node.keys.length : lowerBound(node.keys, max, !excludeMax);
  for (let i = start; i <= end; i++) {
    const child = children[i];
    if (child !== undefined) visitNodes(child, bounds, out);
  }
}
