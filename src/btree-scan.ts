/**
 * Range scans of a BTree (btree.ts): an in-order (or reverse) walk of the entries between two
 * bounds that loads the nodes it needs in batches, about one round trip per PREFETCH nodes, and
 * the persistent values of each node it passes in one round trip.
 */
import { lowerBound, type BTreeNode } from './btree-node.js';

/** How many nodes (or values) a scan loads per round trip. */
const PREFETCH = 32;

/**
 * The entries a BTree scan visits: keys from `min` to `max` (both included unless excluded), in
 * ascending order unless `reverse`. An empty range visits every entry.
 * @example
 * for await (const [when, note] of byDate.entries({ min: start, max: end, excludeMax: true })) …
 */
export interface BTreeRange<K> {
  /** The smallest key visited (default: from the first key). */
  min?: K;
  /** The largest key visited (default: to the last key). */
  max?: K;
  /** Leave out `min` itself. */
  excludeMin?: boolean;
  /** Leave out `max` itself. */
  excludeMax?: boolean;
  /** Visit the keys in descending order. */
  reverse?: boolean;
}

/** The fixed parts of one range scan. */
export interface Walk<K, V, T> {
  min: K | undefined;
  max: K | undefined;
  excludeMin: boolean;
  excludeMax: boolean;
  reverse: boolean;
  pick: (k: K, v: V) => T;
  /** Throws if the tree or the snapshot changed since the scan began. */
  check: () => void;
  /** Loads the ghosts among `objs` in one round trip. */
  loadAll: (objs: readonly unknown[]) => Promise<void>;
}

/** The part of a scan under `node` (loaded), in order. */
export async function* walkRange<K, V, T>(
  node: BTreeNode<K, V>,
  walk: Walk<K, V, T>,
): AsyncGenerator<T> {
  const { min, max, excludeMin, excludeMax, reverse, pick, check } = walk;
  const start = min === undefined ? 0 : lowerBound(node.keys, min, excludeMin);
  const end = max === undefined ? node.keys.length : lowerBound(node.keys, max, !excludeMax);
  const children = node.children;
  await walk.loadAll(node.values.slice(start, end)); // persistent values, in one round trip
  const span = Math.max(0, end - start + 1);
  const order = Array.from({ length: span }, (_, j) => (reverse ? end - j : start + j));
  for (let at = 0; at < order.length; at++) {
    const i = order[at] as number;
    if (!reverse && children !== null) yield* visit(children, order, at, walk);
    if (i < end) {
      check();
      yield pick(node.keys[i] as K, node.values[i] as V);
    }
    if (reverse && children !== null) yield* visit(children, order, at, walk);
  }
}

/**
 * Walks the child at `order[at]`, first loading it and the next few the walk will need in one
 * round trip.
 */
async function* visit<K, V, T>(
  children: BTreeNode<K, V>[],
  order: number[],
  at: number,
  walk: Walk<K, V, T>,
): AsyncGenerator<T> {
  const child = children[order[at] as number] as BTreeNode<K, V>;
  if (child._p_status === 'ghost') {
    await walk.loadAll(order.slice(at, at + PREFETCH).map((j) => children[j]));
  }
  walk.check();
  yield* walkRange(child, walk);
}
