/**
 * Inserting into a BTree (btree.ts) without waiting: CLRS's insert (full nodes split on the way
 * down) as far as loaded nodes reach, and an append cursor that `update` uses for runs of keys
 * beyond the tree's maximum. Both are synchronous; the tree's async methods wrap them and load a
 * ghost only when one blocks the way.
 *
 * Cost model (issue 12): an insert of a loaded path used to pay a promise and an await per level,
 * and ~20 ns per field read through the proxies of the tree and each node on the way. Here each
 * object on the path costs one proxy read (its `Meta`, persistent.ts), then plain reads and writes
 * of its raw fields; nodes are marked changed by hand (`touch`, btree-node.ts), and only when they
 * are not already 'unsaved'.
 */
import { checkKey, compareKeys, type BTreeKey, type KeyKind } from './btree-keys.js';
import { BTreeNode, raw, rawNode, splitChild, touch } from './btree-node.js';
import type { BTree } from './btree.js';
import { metaOf, type Meta, type Persistent } from './persistent.js';

/** `insertEntry`'s answer, bit by bit: the key was new (else it replaced one)… */
export const ADDED = 1;
/** …and at least one node split on the way (the tree's right edge may have changed). */
export const SPLIT = 2;

/** The raw fields of a BTree: its stored fields and the volatile version its iterators watch. */
type TreeFields<K extends BTreeKey, V> = BTree<K, V> & { _v_version?: number };

/**
 * After an entry went in: counts it if new, takes the key's kind (only an empty tree's kind, or an
 * array kind gaining positions, changes) and bumps the version, which makes running iterators
 * throw and range watchers (src/react) look again. The tree is marked changed only when a stored
 * field changed: replacing a value changes the node, not the tree.
 */
function entered<K extends BTreeKey, V>(
  tm: Meta,
  tree: TreeFields<K, V>,
  kind: KeyKind,
  added: boolean,
): void {
  if (added) {
    tree.count += 1;
    touch(tm);
  }
  if (tree.kind === null || (Array.isArray(kind) && kind !== tree.kind)) {
    tree.kind = kind;
    touch(tm);
  }
  tree._v_version = (tree._v_version ?? 0) + 1;
}

/** First index whose key is ≥ `key`; tries past the last key first, where appends land. */
function insertionPoint<K>(keys: K[], key: K): number {
  let hi = keys.length;
  if (hi === 0) return 0;
  const last = compareKeys(keys[hi - 1] as BTreeKey, key as BTreeKey);
  if (last < 0) return hi;
  if (last === 0) return hi - 1;
  let lo = 0;
  hi -= 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(keys[mid] as BTreeKey, key as BTreeKey) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Stores `value` under `key` in the tree behind `tm` (CLRS B-TREE-INSERT), or stops at the first
 * ghost on the way and returns it: load it and call again. Splits done before stopping are whole
 * steps, so the tree is a valid B-tree either way, and the call again finds no work done twice.
 * @returns ADDED and SPLIT bits, or the ghost (the tree itself, or a node) to load first.
 * @throws TypeError when `key` is not a key of this tree's kind (before any change).
 */
export function insertEntry<K extends BTreeKey, V>(
  tm: Meta,
  key: K,
  value: V,
): number | Persistent {
  if (tm.status === 'ghost') return tm.self;
  const tree = raw<TreeFields<K, V>>(tm);
  const kind = checkKey(key, tree.kind ?? undefined);
  const t = tree.degree;
  const full = 2 * t - 1;
  const rootMeta = rawNode(tree.root);
  if (rootMeta === undefined) return tree.root;
  let xm: Meta = rootMeta;
  let split = 0;
  if (raw<BTreeNode<K, V>>(xm).keys.length === full) {
    const top = new BTreeNode<K, V>();
    const topm = metaOf(top);
    raw<BTreeNode<K, V>>(topm).children = [tree.root];
    splitChild(topm, 0, xm, t);
    tree.root = top;
    touch(tm);
    xm = topm;
    split = SPLIT;
  }
  for (;;) {
    const x = raw<BTreeNode<K, V>>(xm);
    const keys = x.keys;
    const i = insertionPoint(keys, key);
    if (i < keys.length && compareKeys(keys[i] as BTreeKey, key) === 0) {
      x.values[i] = value;
      touch(xm);
      entered(tm, tree, kind, false);
      return split;
    }
    const children = x.children;
    if (children === null) {
      keys.splice(i, 0, key);
      x.values.splice(i, 0, value);
      touch(xm);
      entered(tm, tree, kind, true);
      return ADDED | split;
    }
    let cm: Meta | undefined = rawNode(children[i] as BTreeNode<K, V>);
    if (cm === undefined) return children[i] as BTreeNode<K, V>;
    if (raw<BTreeNode<K, V>>(cm).keys.length === full) {
      splitChild(xm, i, cm, t);
      split = SPLIT;
      const c = compareKeys(key, keys[i] as BTreeKey);
      if (c === 0) {
        x.values[i] = value; // x is marked changed by the split
        entered(tm, tree, kind, false);
        return split;
      }
      if (c > 0) cm = metaOf(children[i + 1] as BTreeNode<K, V>); // the new right half
    }
    xm = cm;
  }
}

/**
 * Where `Appender` appends: the tree's rightmost leaf, valid while the tree's version is the one it
 * was made at (every change through the tree's methods bumps it; a reload drops it) and the leaf
 * and tree are loaded.
 */
interface AppendCursor {
  /** The rightmost leaf's meta. */
  leaf: Meta;
  /** The tree's `_v_version` the cursor is valid at. */
  version: number;
}

/**
 * The append cursor of the tree behind `tm`, or undefined when an append would not be a plain push
 * onto the rightmost leaf: a ghost on the right edge (`insertEntry` loads it), or a full internal
 * node there (which `insertEntry` would split on the way down; a full leaf is checked per append).
 */
function appendCursor<K extends BTreeKey, V>(tm: Meta): AppendCursor | undefined {
  if (tm.status === 'ghost') return undefined;
  const tree = raw<TreeFields<K, V>>(tm);
  const full = 2 * tree.degree - 1;
  let m = rawNode(tree.root);
  for (;;) {
    if (m === undefined) return undefined;
    const node = raw<BTreeNode<K, V>>(m);
    if (node.children === null) break;
    if (node.keys.length === full) return undefined;
    m = rawNode(node.children[node.children.length - 1] as BTreeNode<K, V>);
  }
  tree._v_version ??= 0; // a number, which a reloaded tree (no version) does not match
  return { leaf: m, version: tree._v_version };
}

/**
 * Puts a sequence of entries into one tree, as `insertEntry` one by one would, but pushes each key
 * above the tree's maximum straight onto the rightmost leaf when that is exactly what the descent
 * would do: no node on the right edge is full, so it would split nothing. Leaves therefore fill to
 * the same split point as with `set` (each split leaves t−1 keys behind: the shape of a tree built
 * by appends), and the tree is node for node the one `set` in a loop builds. Chosen over filling
 * leaves full: half-full leaves take later inserts among the appended keys without splitting at
 * once, and a node's size is mostly its entries, so fuller leaves would save little storage.
 *
 * The cursor must not outlive an await (the connection may move meanwhile: invalidations, abort,
 * a commit): the caller calls `resync` after each.
 */
export class Appender<K extends BTreeKey, V> {
  /** The tree's meta. */
  private readonly tm: Meta;
  /** Where appends go, or undefined when they take `insertEntry`'s path. */
  private cursor: AppendCursor | undefined;

  constructor(tm: Meta) {
    this.tm = tm;
    this.cursor = appendCursor<K, V>(tm);
  }

  /** Looks at the tree again, after an await. */
  resync(): void {
    this.cursor = appendCursor<K, V>(this.tm);
  }

  /**
   * Stores `value` under `key`, or returns the ghost to load first (then `resync` and call again).
   * @throws TypeError when `key` is not a key of this tree's kind (before any change).
   */
  put(key: K, value: V): Persistent | undefined {
    const tm = this.tm;
    let c = this.cursor;
    if (c !== undefined) {
      const tree = tm.target as unknown as TreeFields<K, V>;
      if (tm.status === 'ghost' || c.leaf.status === 'ghost' || tree._v_version !== c.version) {
        c = this.cursor = appendCursor<K, V>(tm); // changed by someone else since the last entry
      }
      if (c !== undefined && this.append(c, key, value)) return undefined;
    }
    const r = insertEntry(tm, key, value);
    if (typeof r !== 'number') return r;
    // Without a split, no internal node changed: the right edge is the same.
    if (c === undefined || (r & SPLIT) !== 0) this.cursor = appendCursor<K, V>(tm);
    else c.version = (tm.target as unknown as TreeFields<K, V>)._v_version as number;
    return undefined;
  }

  /** Pushes the entry onto the cursor's leaf if it is an append there; false (no change) if not. */
  private append(cursor: AppendCursor, key: K, value: V): boolean {
    const tm = this.tm;
    const tree = raw<TreeFields<K, V>>(tm);
    const kind = checkKey(key, tree.kind ?? undefined);
    const leafMeta = cursor.leaf;
    const leaf = raw<BTreeNode<K, V>>(leafMeta);
    const keys = leaf.keys;
    const n = keys.length;
    if (n === 2 * tree.degree - 1) return false;
    if (n > 0 && compareKeys(keys[n - 1] as BTreeKey, key) >= 0) return false;
    keys.push(key);
    leaf.values.push(value);
    touch(leafMeta);
    entered(tm, tree, kind, true);
    cursor.version = tree._v_version as number;
    return true;
  }
}
