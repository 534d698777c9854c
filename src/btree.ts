/**
 * BTree: an ordered map of any size whose nodes are persistent objects, loaded on demand, so a
 * page touches only the few nodes on its way. Its methods are async: they load what they need
 * through the tree's connection (a range scan prefetches the next nodes in batches, about one round
 * trip per batch). The entry count lives in the tree object, so `size` is synchronous, and two
 * connections inserting into one tree conflict (`transact` retries such work).
 *
 * Algorithms are CLRS's B-tree with minimum degree t: every node but the root holds between t−1
 * and 2t−1 keys, all leaves are at one depth. Insertion splits full nodes on the way down;
 * deletion merges or borrows on the way down, so it never has to walk back up.
 * The node-level steps are in btree-node.ts, insertion in btree-insert.ts, range scans in
 * btree-scan.ts; `checkBTree`
 * (btree-check.ts) verifies every invariant.
 */
import { ShelfError } from './shared/errors.js';
import { metaOf, Persistent } from './persistent.js';
import type { Connection } from './connection.js';
import { checkKey, compareKeys, showKey, type BTreeKey, type KeyKind } from './btree-keys.js';
import { BTreeNode, isGhost, lowerBound, mergeChildren } from './btree-node.js';
import { Appender, insertEntry } from './btree-insert.js';
import { walkRange, type BTreeRange } from './btree-scan.js';

export { BTreeNode } from './btree-node.js';
export type { BTreeRange } from './btree-scan.js';

/** The default minimum degree t, chosen by bench/btree-degree (see BENCHMARKS.md). */
export const DEFAULT_MINIMUM_DEGREE = 32;

/**
 * @example
 * const byDate = new BTree<Date, Note>();
 * root.set('byDate', byDate);
 * await byDate.set(note.created, note);
 * for await (const [when, n] of byDate.entries({ min: new Date('2026-01-01'), reverse: true })) { … }
 */
export class BTree<K extends BTreeKey = BTreeKey, V = unknown> extends Persistent {
  /** The root node. */
  root: BTreeNode<K, V>;
  /** Number of entries. */
  count = 0;
  /** Minimum degree t. */
  degree: number;
  /** @internal The kind of key this tree holds, fixed by its first key. */
  kind: KeyKind | null = null;

  /** @throws RangeError if `minimumDegree` is not an integer ≥ 2. */
  constructor(options: { minimumDegree?: number } = {}) {
    super();
    const t = options.minimumDegree ?? DEFAULT_MINIMUM_DEGREE;
    if (!Number.isInteger(t) || t < 2 || t > 4096) {
      throw new RangeError(
        `BTree: minimumDegree must be an integer from 2 to 4096, got ${String(t)}.`,
      );
    }
    this.degree = t;
    this.root = new BTreeNode<K, V>();
  }

  /** Number of entries (kept in the tree object: no load needed once the tree is loaded). */
  get size(): number {
    return this.count;
  }

  /**
   * The value under `key` (loaded, if persistent), or undefined. Loads the nodes on the way.
   * @throws TypeError when `key` is not a key of this tree's kind.
   */
  async get(key: K): Promise<V | undefined> {
    const hit = await this.find(key);
    return hit === undefined ? undefined : this.loadedValue(hit.node.values[hit.index] as V);
  }

  /**
   * The values under many keys (undefined where absent), in the order asked. Walks the tree a level
   * at a time, loading each level's nodes and then the persistent values in one round trip each:
   * about depth + 1 round trips for the whole batch, where `get` in a loop pays one per node.
   */
  async getMany(keys: readonly K[]): Promise<(V | undefined)[]> {
    if (this._p_status === 'ghost') await this.ready();
    for (const key of keys) checkKey(key, this.kind ?? undefined);
    const out = new Array<V | undefined>(keys.length).fill(undefined);
    let level: { node: BTreeNode<K, V>; asks: number[] }[] = [
      { node: this.root, asks: keys.map((_, i) => i) },
    ];
    while (level.length > 0) {
      await this.loadAll(level.map((l) => l.node));
      const next = new Map<BTreeNode<K, V>, number[]>();
      for (const { node, asks } of level) {
        for (const a of asks) {
          const key = keys[a] as K;
          const i = lowerBound(node.keys, key);
          if (i < node.keys.length && compareKeys(node.keys[i] as BTreeKey, key) === 0)
            out[a] = node.values[i];
          else if (node.children !== null) {
            const child = node.children[i] as BTreeNode<K, V>;
            const list = next.get(child);
            if (list === undefined) next.set(child, [a]);
            else list.push(a);
          }
        }
      }
      level = [...next].map(([node, asks]) => ({ node, asks }));
    }
    await this.loadAll(out);
    return out;
  }

  /** True when the tree has an entry under `key`. */
  async has(key: K): Promise<boolean> {
    return (await this.find(key)) !== undefined;
  }

  /**
   * Stores `value` under `key`, replacing any value there. Loads the nodes on the way; when they
   * are loaded it finishes without waiting on anything (the promise is already settled).
   * @throws TypeError when `key` is not a key of this tree's kind.
   */
  async set(key: K, value: V): Promise<void> {
    const tm = metaOf(this);
    for (;;) {
      const blocked = insertEntry(tm, key, value);
      if (typeof blocked === 'number') return;
      await this.loaded(blocked);
    }
  }

  /** The value under `key`; if there is none, stores `value` there and returns it. */
  async setDefault(key: K, value: V): Promise<V> {
    const hit = await this.find(key);
    if (hit !== undefined) return this.loadedValue(hit.node.values[hit.index] as V);
    await this.set(key, value);
    return value;
  }

  /**
   * Sets every entry, in order: the same tree as `set` in a loop, built faster. Runs of keys above
   * the tree's maximum (an import in key order) go straight onto the rightmost leaf, and an array
   * or other synchronous iterable is taken without an await per entry while nodes are loaded.
   * @throws TypeError at the first key that is not a key of this tree's kind (the entries before
   *   it are set).
   */
  async update(entries: Iterable<readonly [K, V]> | AsyncIterable<readonly [K, V]>): Promise<void> {
    const appender = new Appender<K, V>(metaOf(this));
    /** Loads what blocks the entry, and what blocks it next, until it is in. */
    const finish = async (blocked: Persistent, k: K, v: V): Promise<void> => {
      for (let b: Persistent | undefined = blocked; b !== undefined; b = appender.put(k, v)) {
        await this.loaded(b);
        appender.resync();
      }
    };
    if (Symbol.asyncIterator in entries) {
      for await (const [k, v] of entries) {
        appender.resync();
        const blocked = appender.put(k, v);
        if (blocked !== undefined) await finish(blocked, k, v);
      }
      return;
    }
    for (const [k, v] of entries) {
      const blocked = appender.put(k, v);
      if (blocked !== undefined) await finish(blocked, k, v);
    }
  }

  /** Removes `key`. Resolves to true if it was there. */
  async delete(key: K): Promise<boolean> {
    if (this._p_status === 'ghost') await this.ready();
    checkKey(key, this.kind ?? undefined);
    const root = await this.loaded(this.root);
    const removed = await this.deleteFrom(root, key);
    if (root.keys.length === 0 && root.children !== null)
      this.root = root.children[0] as BTreeNode<K, V>;
    if (removed) {
      this.count -= 1;
      this.bump();
    }
    return removed;
  }

  /** The first entry, or undefined on an empty tree. */
  async min(): Promise<[K, V] | undefined> {
    return this.edge(false);
  }

  /** The last entry, or undefined on an empty tree. */
  async max(): Promise<[K, V] | undefined> {
    return this.edge(true);
  }

  /** Entries in key order (or reverse), within the range. */
  entries(range: BTreeRange<K> = {}): AsyncGenerator<[K, V]> {
    return this.scan(range, (k, v) => [k, v] as [K, V]);
  }

  /** Keys in key order (or reverse), within the range. */
  keys(range: BTreeRange<K> = {}): AsyncGenerator<K> {
    return this.scan(range, (k) => k);
  }

  /** Values (loaded, if persistent) in key order (or reverse), within the range. */
  values(range: BTreeRange<K> = {}): AsyncGenerator<V> {
    return this.scan(range, (_, v) => v);
  }

  /** Every entry in key order: `for await (const [key, value] of tree)`. */
  [Symbol.asyncIterator](): AsyncGenerator<[K, V]> {
    return this.entries();
  }

  /** Levels of nodes from the root to the leaves (1 for a tree that is one leaf). */
  async depth(): Promise<number> {
    if (this._p_status === 'ghost') await this.ready();
    let depth = 1;
    let node = await this.loaded(this.root);
    while (node.children !== null) {
      node = await this.loaded(node.children[0] as BTreeNode<K, V>);
      depth++;
    }
    return depth;
  }

  /** Number of nodes (loads every node, a level at a time). */
  async nodeCount(): Promise<number> {
    if (this._p_status === 'ghost') await this.ready();
    let level: BTreeNode<K, V>[] = [this.root];
    let count = 0;
    while (level.length > 0) {
      await this.loadAll(level);
      count += level.length;
      level = level.flatMap((n) => n.children ?? []);
    }
    return count;
  }

  /**
   * Marks the node holding `key` changed, after the app mutated the plain value stored there in
   * place (as `_p_noteChange()` does for a persistent object).
   * @throws RangeError when the tree has no such key.
   */
  async noteChange(key: K): Promise<void> {
    const hit = await this.find(key);
    if (hit === undefined)
      throw new RangeError(`BTree.noteChange: no entry with key ${showKey(key)}.`);
    hit.node._p_noteChange();
  }

  // ─── internals ────────────────────────────────────────────────────────────

  /** Counts structural changes, so an iterator notices the tree changed under it. */
  private bump(): void {
    const self = this as unknown as { _v_version?: number };
    self._v_version = (self._v_version ?? 0) + 1;
  }

  private get version(): number {
    return (this as unknown as { _v_version?: number })._v_version ?? 0;
  }

  private connection(obj: Persistent): Connection {
    const conn = (obj._p_connection ?? this._p_connection) as Connection | undefined;
    if (conn === undefined) throw new ShelfError('BTree: a ghost node without a connection');
    return conn;
  }

  /** Loads the tree object itself if it is a ghost, so its methods work on a reference as found. */
  private async ready(): Promise<void> {
    if (this._p_status === 'ghost') await this.connection(this).load(this);
  }

  private async loaded<T extends Persistent>(obj: T): Promise<T> {
    if (obj._p_status !== 'ghost') return obj;
    return this.connection(obj).load(obj);
  }

  /** Loads the ghosts among `objs` in one round trip. */
  private async loadAll(objs: readonly unknown[]): Promise<void> {
    const ghosts = objs.filter(
      (o): o is Persistent => o instanceof Persistent && o._p_status === 'ghost',
    );
    if (ghosts.length > 0) await this.connection(ghosts[0] as Persistent).prefetch(...ghosts);
  }

  private async loadedValue(value: V): Promise<V> {
    return value instanceof Persistent ? ((await this.loaded(value)) as V) : value;
  }

  private async find(key: K): Promise<{ node: BTreeNode<K, V>; index: number } | undefined> {
    if (this._p_status === 'ghost') await this.ready();
    checkKey(key, this.kind ?? undefined);
    let node = this.root;
    if (isGhost(node)) node = await this.loaded(node);
    for (;;) {
      const i = lowerBound(node.keys, key);
      if (i < node.keys.length && compareKeys(node.keys[i] as BTreeKey, key) === 0)
        return { node, index: i };
      if (node.children === null) return undefined;
      node = node.children[i] as BTreeNode<K, V>;
      if (isGhost(node)) node = await this.loaded(node);
    }
  }

  /** CLRS B-TREE-DELETE from the subtree at `x`, which has at least t keys unless it is the root. */
  private async deleteFrom(x: BTreeNode<K, V>, key: K): Promise<boolean> {
    const t = this.degree;
    for (;;) {
      const i = lowerBound(x.keys, key);
      const here = i < x.keys.length && compareKeys(x.keys[i] as BTreeKey, key) === 0;
      if (x.children === null) {
        if (!here) return false;
        x.keys.splice(i, 1);
        x.values.splice(i, 1);
        x._p_noteChange();
        return true;
      }
      const children = x.children;
      if (here) {
        const [y, z] = await this.loadPair(
          children[i] as BTreeNode<K, V>,
          children[i + 1] as BTreeNode<K, V>,
        );
        if (y.keys.length >= t) {
          const [pk, pv] = await this.extreme(y, true);
          x.keys[i] = pk;
          x.values[i] = pv;
          x._p_noteChange();
          x = y;
          key = pk;
        } else if (z.keys.length >= t) {
          const [sk, sv] = await this.extreme(z, false);
          x.keys[i] = sk;
          x.values[i] = sv;
          x._p_noteChange();
          x = z;
          key = sk;
        } else {
          mergeChildren(x, i, y, z);
          x = y;
        }
        continue;
      }
      // The key is below children[i]: make sure that child has at least t keys first.
      let child = await this.loaded(children[i] as BTreeNode<K, V>);
      if (child.keys.length === t - 1) {
        const left = i > 0 ? await this.loaded(children[i - 1] as BTreeNode<K, V>) : undefined;
        const right =
          i < children.length - 1
            ? await this.loaded(children[i + 1] as BTreeNode<K, V>)
            : undefined;
        if (left !== undefined && left.keys.length >= t) {
          // Borrow through x from the left sibling.
          child.keys.unshift(x.keys[i - 1] as K);
          child.values.unshift(x.values[i - 1] as V);
          x.keys[i - 1] = left.keys.pop() as K;
          x.values[i - 1] = left.values.pop() as V;
          if (left.children !== null)
            (child.children as BTreeNode<K, V>[]).unshift(left.children.pop() as BTreeNode<K, V>);
          left._p_noteChange();
          child._p_noteChange();
          x._p_noteChange();
        } else if (right !== undefined && right.keys.length >= t) {
          child.keys.push(x.keys[i] as K);
          child.values.push(x.values[i] as V);
          x.keys[i] = right.keys.shift() as K;
          x.values[i] = right.values.shift() as V;
          if (right.children !== null)
            (child.children as BTreeNode<K, V>[]).push(right.children.shift() as BTreeNode<K, V>);
          right._p_noteChange();
          child._p_noteChange();
          x._p_noteChange();
        } else if (right !== undefined) {
          mergeChildren(x, i, child, right);
        } else {
          mergeChildren(x, i - 1, left as BTreeNode<K, V>, child);
          child = left as BTreeNode<K, V>;
        }
      }
      x = child;
    }
  }

  private async loadPair(
    a: BTreeNode<K, V>,
    b: BTreeNode<K, V>,
  ): Promise<[BTreeNode<K, V>, BTreeNode<K, V>]> {
    await this.loadAll([a, b]);
    return [a, b];
  }

  /** The largest (`last`) or smallest entry of the subtree at `node`. */
  private async extreme(node: BTreeNode<K, V>, last: boolean): Promise<[K, V]> {
    let n = node;
    while (n.children !== null)
      n = await this.loaded(n.children[last ? n.children.length - 1 : 0] as BTreeNode<K, V>);
    const i = last ? n.keys.length - 1 : 0;
    return [n.keys[i] as K, n.values[i] as V];
  }

  private async edge(last: boolean): Promise<[K, V] | undefined> {
    if (this._p_status === 'ghost') await this.ready();
    if (this.count === 0) return undefined;
    const [k, v] = await this.extreme(await this.loaded(this.root), last);
    return [k, await this.loadedValue(v)];
  }

  /**
   * In-order walk of the range. Throws if the tree is changed through its methods, or the
   * connection moves to another snapshot, while the walk is between two entries: it never yields a
   * wrong sequence silently.
   */
  private async *scan<T>(range: BTreeRange<K>, pick: (k: K, v: V) => T): AsyncGenerator<T> {
    if (this._p_status === 'ghost') await this.ready();
    const { min, max, excludeMin = false, excludeMax = false, reverse = false } = range;
    if (min !== undefined) checkKey(min, this.kind ?? undefined);
    if (max !== undefined) checkKey(max, this.kind ?? undefined);
    if (this.count === 0) return;
    const version = this.version;
    const conn = this._p_connection as Connection | undefined;
    const snapshot = conn?.snapshotTid;
    const check = (): void => {
      if (this.version !== version) {
        throw new ShelfError(
          'The BTree changed while it was being iterated. Collect the keys first, then change the tree.',
        );
      }
      if (conn !== undefined && conn.snapshotTid !== snapshot) {
        throw new ShelfError(
          'The connection moved to a newer snapshot while a BTree was being iterated (autoSync). Iterate inside conn.transact(), or with conn.autoSync = false.',
        );
      }
    };
    yield* walkRange(await this.loaded(this.root), {
      min,
      max,
      excludeMin,
      excludeMax,
      reverse,
      pick,
      check,
      loadAll: (objs) => this.loadAll(objs),
    });
  }
}
