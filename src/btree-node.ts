/**
 * The nodes of a BTree (btree.ts) and the node-level steps of its algorithms (CLRS, minimum degree
 * t): finding a key's place in a node, splitting a full child and merging two children. Each step
 * keeps every node between t−1 and 2t−1 keys, and marks the nodes it changes so they are written.
 */
import { Persistent } from './persistent.js';
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
 * Splits full child `y` (= x.children[i], 2t−1 keys) of a tree of minimum degree `t` around its
 * median, which moves up into `x`.
 */
export function splitChild<K, V>(
  x: BTreeNode<K, V>,
  i: number,
  y: BTreeNode<K, V>,
  t: number,
): void {
  const z = new BTreeNode<K, V>();
  z.keys = y.keys.slice(t);
  z.values = y.values.slice(t);
  if (y.children !== null) {
    z.children = y.children.slice(t);
    y.children = y.children.slice(0, t);
  }
  x.keys.splice(i, 0, y.keys[t - 1] as K);
  x.values.splice(i, 0, y.values[t - 1] as V);
  (x.children as BTreeNode<K, V>[]).splice(i + 1, 0, z);
  x._p_noteChange();
  y.keys = y.keys.slice(0, t - 1);
  y.values = y.values.slice(0, t - 1);
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
