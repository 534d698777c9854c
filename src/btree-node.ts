/**
 * The nodes of a BTree (btree.ts) and the node-level steps of its algorithms (CLRS, minimum degree
 * t): finding a key's place in a node, splitting a full child and merging two children. Each step
 * keeps every node between t−1 and 2t−1 keys, and marks the nodes it changes so they are written.
 *
 * The insert path (btree-insert.ts) works on nodes' raw targets (`Meta.target`, persistent.ts)
 * rather than through their proxies: a proxy trap costs ~20 ns per field read, and an insert reads
 * a few fields per level. It then does by hand what the proxy would: `touch` marks a node changed
 * and `rawNode` marks it accessed for the cache.
 */
import { metaOf, Persistent, type Meta } from './persistent.js';
import { compareKeys, type BTreeKey } from './btree-keys.js';

/** One node: sorted keys, their values, and (internal nodes) keys.length + 1 children. */
export class BTreeNode<K = BTreeKey, V = unknown> extends Persistent {
  /** The node's keys, ascending. */
  keys: K[] = [];
  /** The value of each key, at the same index. */
  values: V[] = [];
  /** Null in a leaf. */
  children: BTreeNode<K, V>[] | null = null;
}

export const isGhost = (obj: Persistent): boolean => obj._p_status === 'ghost';

/** First index whose key is ≥ `key` (> with `after`), by binary search. */
export function lowerBound<K>(keys: K[], key: K, after = false): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const c = compareKeys(keys[mid] as BTreeKey, key as BTreeKey);
    if (c < 0 || (after && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The raw fields of the loaded object behind `m` (a node, or the tree): read and written without
 * the proxy. Marks it accessed, as a read through the proxy would (the cache's second chance).
 */
export function raw<T>(m: Meta): T {
  m.accessed = true;
  return m.target as unknown as T;
}

/** The meta and raw fields of loaded node `node`, or undefined while it is a ghost. */
export function rawNode<K, V>(node: BTreeNode<K, V>): Meta | undefined {
  const m = metaOf(node);
  return m.status === 'ghost' ? undefined : m;
}

/**
 * Marks the object behind `m` changed after a write to its raw fields. Only a 'saved' object needs
 * it (an 'unsaved' one is new, or already listed for the next commit): the same as the proxy's
 * write trap, without its work on every write.
 */
export function touch(m: Meta): void {
  if (m.status !== 'unsaved' || m.readonly) m.self._p_noteChange();
}

/**
 * Splits full child `y` (= x.children[i], 2t−1 keys) of a tree of minimum degree `t` around its
 * median, which moves up into `x`. Both are raw (see `raw`); `x` and `y` are marked changed, the
 * new right half is new.
 */
export function splitChild<K, V>(xm: Meta, i: number, ym: Meta, t: number): void {
  const x = raw<BTreeNode<K, V>>(xm);
  const y = raw<BTreeNode<K, V>>(ym);
  const z = new BTreeNode<K, V>();
  const zr = raw<BTreeNode<K, V>>(metaOf(z));
  zr.keys = y.keys.splice(t);
  zr.values = y.values.splice(t);
  if (y.children !== null) zr.children = y.children.splice(t);
  x.keys.splice(i, 0, y.keys.pop() as K);
  x.values.splice(i, 0, y.values.pop() as V);
  (x.children as BTreeNode<K, V>[]).splice(i + 1, 0, z);
  touch(xm);
  touch(ym);
}

/** Merges x.keys[i] and `z` (= children[i + 1]) into `y` (= children[i]). */
export function mergeChildren<K, V>(
  x: BTreeNode<K, V>,
  i: number,
  y: BTreeNode<K, V>,
  z: BTreeNode<K, V>,
): void {
  y.keys.push(x.keys[i] as K, ...z.keys);
  y.values.push(x.values[i] as V, ...z.values);
  if (y.children !== null) y.children.push(...(z.children as BTreeNode<K, V>[]));
  y._p_noteChange();
  x.keys.splice(i, 1);
  x.values.splice(i, 1);
  (x.children as BTreeNode<K, V>[]).splice(i + 1, 1);
  x._p_noteChange();
}
