/**
 * Bulk build of a BTree's nodes from its items in key order (commit and import of an archive's
 * BTree entry): the records of fresh `shelfdb.BTreeNode`s, written bottom-up as the items stream
 * in, never the whole tree in memory (one path of nodes, at most 2t items each, is open at once).
 *
 * Shape (CLRS, minimum degree t, as src/btree-node.ts): every node but the root holds t−1 to 2t−1
 * keys, an internal node one child more than keys, all leaves at one depth. With the item count n
 * known first, the shape is fixed top-down: the height is the least h whose full tree
 * ((2t)^(h+1) − 1 keys) holds n; each internal node takes the fewest children (at least 2 for the
 * root, t for others) whose subtrees can each hold their share, and the items are spread evenly
 * over them. A subtree of height g holds between t^(g+1) − 1 and (2t)^(g+1) − 1 keys, so every
 * share falls inside those bounds and every node inside its fill (checkBTree's invariants).
 * The items are then taken in order by an in-order walk of that shape: a node's record is made
 * when its last child is done (its children's oids known), the root's last.
 */
import { CorruptStorageError } from '../shared/errors.js';
import type { StoredRecord } from '../shared/storage.js';

/** The stored class name of a BTree node. */
export const NODE_CLASS = 'shelfdb.BTreeNode';

/** A reference to a node just built, as the record writer stores references. */
export interface NodeRef {
  /** The node's oid. */
  readonly oid: number;
  /** Always NODE_CLASS. */
  readonly className: string;
}

/** What the build needs from its caller. */
export interface NodeSink {
  /** A fresh oid for the next node. */
  newOid(): Promise<number>;
  /** Encodes a node's fields (`children` holds NodeRefs, or is null in a leaf) into a record. */
  encode(
    oid: number,
    fields: { keys: unknown[]; values: unknown[]; children: NodeRef[] | null },
  ): StoredRecord;
  /** Takes each node record as it is made. */
  put(record: StoredRecord): void;
}

/** Keys a full subtree of height `g` holds: (2t)^(g+1) − 1. */
const most = (t: number, g: number): number => (2 * t) ** (g + 1) - 1;
/** Keys a non-root subtree of height `g` holds at least: t^(g+1) − 1. */
const least = (t: number, g: number): number => t ** (g + 1) - 1;

/** The height of the tree for `n` items (0: the root is a leaf). */
export function treeHeight(n: number, t: number): number {
  let h = 0;
  while (most(t, h) < n) h++;
  return h;
}

/**
 * The sizes of the subtrees under an internal node of height `h` holding `m` keys in all (its own
 * and its subtrees'): the fewest children the bounds allow, the keys spread evenly.
 */
export function childShares(m: number, h: number, t: number, isRoot: boolean): number[] {
  const g = h - 1;
  const fewest = Math.max(isRoot ? 2 : t, Math.ceil((m + 1) / (most(t, g) + 1)));
  const c = Math.min(fewest, 2 * t);
  const inChildren = m - (c - 1);
  const base = Math.floor(inChildren / c);
  const extra = inChildren - base * c;
  const shares: number[] = [];
  for (let i = 0; i < c; i++) shares.push(base + (i < extra ? 1 : 0));
  if (shares.some((s) => s < least(t, g) || s > most(t, g))) {
    // Unreachable for m within a height-h subtree's bounds (see the module comment).
    throw new Error(`shelfdb: no B-tree shape for ${m} keys at height ${h} (t = ${t})`);
  }
  return shares;
}

/**
 * Builds the nodes for `count` items read from `items` (in key order, already checked), hands each
 * node record to `sink.put`, and returns the root's reference. An empty tree is one empty leaf.
 * @throws CorruptStorageError (naming `where`) when `items` holds fewer or more than `count`.
 */
export async function buildNodes(
  items: AsyncIterator<[unknown, unknown]> | Iterator<[unknown, unknown]>,
  count: number,
  t: number,
  sink: NodeSink,
  where: string,
): Promise<NodeRef> {
  const next = async (): Promise<[unknown, unknown]> => {
    const step = await items.next();
    if (step.done === true) {
      throw new CorruptStorageError(
        `${where}: the BTree says it holds ${count} items, its pages hold fewer. Export it again.`,
      );
    }
    return step.value;
  };
  const build = async (m: number, h: number, isRoot: boolean): Promise<NodeRef> => {
    const keys: unknown[] = [];
    const values: unknown[] = [];
    let children: NodeRef[] | null = null;
    if (h === 0) {
      for (let i = 0; i < m; i++) {
        const [k, v] = await next();
        keys.push(k);
        values.push(v);
      }
    } else {
      children = [];
      const shares = childShares(m, h, t, isRoot);
      for (let i = 0; i < shares.length; i++) {
        children.push(await build(shares[i] as number, h - 1, false));
        if (i < shares.length - 1) {
          const [k, v] = await next();
          keys.push(k);
          values.push(v);
        }
      }
    }
    const oid = await sink.newOid();
    sink.put(sink.encode(oid, { keys, values, children }));
    return { oid, className: NODE_CLASS };
  };
  const root = await build(count, treeHeight(count, t), true);
  if ((await items.next()).done !== true) {
    throw new CorruptStorageError(
      `${where}: the BTree says it holds ${count} items, its pages hold more. Export it again.`,
    );
  }
  return root;
}
