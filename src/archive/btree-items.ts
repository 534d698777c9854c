/**
 * The items of a stored BTree in key order, read from its node records without the app's classes
 * (export and check read a tree as records at a snapshot, not through a connection).
 *
 * A node (src/btree-node.ts, CLRS shape) has `keys`, `values` and `children` (null in a leaf;
 * keys.length + 1 references otherwise). Its items in key order are c0, (k0, v0), c1, …, cn. The
 * walk keeps what is left to yield as a stack, next on top: an item, or a node not loaded yet.
 * When the top is a node, the run of unloaded nodes under it (next in key order) is loaded in one
 * round trip and each is replaced by its expansion. Memory: one batch of decoded nodes plus the
 * path from the root, never the tree; round trips: about one per batch of nodes.
 */
import type { CborDecoder } from '../cbor-decode.js';
import { CorruptStorageError } from '../shared/errors.js';
import type { LoadedRecord } from '../shared/storage.js';
import { decodeState, StoredRef } from './json-value.js';
import type { SnapshotReader } from './snapshot-reader.js';

/** The stored class name of a BTree's nodes. */
export const BTREE_NODE_CLASS = 'shelfdb.BTreeNode';
/** The stored class name of a BTree. */
export const BTREE_CLASS = 'shelfdb.BTree';

/**
 * Items decoded per round trip, about: a batch of leaves holds up to 2t − 1 items each, so fewer
 * leaves are loaded at once in a tree of large degree (two pages' worth), up to the load batch.
 */
const ITEMS_PER_BATCH = 2_000;

/** One key and its value, decoded (references are StoredRef). */
export type BTreeItem = [key: unknown, value: unknown];

/** A BTree's stored fields, decoded. */
export interface BTreeFields {
  /** The root node. */
  root: StoredRef;
  /** Number of entries, as the tree counts them. */
  count: number;
  /** Minimum degree t. */
  degree: number;
}

/**
 * True when a record of class `className` with decoded `state` is a BTree, exported as pages:
 * a `shelfdb.BTree`, or an object of another name (a subclass registered under its own) whose
 * state is a tree's: a root node, an entry count and a minimum degree.
 */
export function isBTreeState(className: string, state: Record<string, unknown>): boolean {
  if (className === BTREE_CLASS) return true;
  const { root } = state;
  return (
    root instanceof StoredRef &&
    root.className === BTREE_NODE_CLASS &&
    typeof state.count === 'number' &&
    typeof state.degree === 'number'
  );
}

/**
 * The fields of a BTree record a walk needs, checked.
 * @throws CorruptStorageError naming the tree when its state lacks a root, count or degree.
 */
export function btreeFields(record: LoadedRecord, state: Record<string, unknown>): BTreeFields {
  const { root, count, degree } = state;
  if (
    !(root instanceof StoredRef) ||
    typeof count !== 'number' ||
    !Number.isSafeInteger(count) ||
    typeof degree !== 'number' ||
    !Number.isSafeInteger(degree) ||
    degree < 2
  ) {
    throw new CorruptStorageError(
      `BTree ${record.oid} (revision ${record.tid}) is damaged: its state lacks a root node reference, an entry count or a minimum degree. Run db.verify() and restore it from a backup.`,
    );
  }
  return { root, count, degree };
}

/** A step of the walk: an item ready to yield, or a node to load. */
type Work = { item: BTreeItem } | { node: number };

/**
 * The items of the BTree `tree` (its record, for messages) with root node `fields.root`, in key
 * order, read through `reader`. `onNode` hears of every node oid as it is loaded (check and commit
 * name the live nodes).
 * @throws CorruptStorageError naming the tree and the node when a node is missing at the reader's
 *   tid, is not a node, is reached twice, or its fields are not a node's.
 */
export async function* btreeItems(
  reader: SnapshotReader,
  tree: LoadedRecord,
  fields: BTreeFields,
  onNode?: (oid: number) => void,
): AsyncGenerator<BTreeItem> {
  const perBatch = Math.floor(ITEMS_PER_BATCH / (2 * fields.degree - 1));
  const maxNodes = Math.max(1, Math.min(reader.batchSize, perBatch));
  const seen = new Set<number>();
  const stack: Work[] = [{ node: fields.root.oid }];
  for (;;) {
    const top = stack[stack.length - 1];
    if (top === undefined) return;
    if ('item' in top) {
      stack.pop();
      yield top.item;
      continue;
    }
    const run: number[] = [];
    for (let i = stack.length - 1; i >= 0 && run.length < maxNodes; i--) {
      const work = stack[i] as Work;
      if (!('node' in work)) break;
      run.push(work.node);
    }
    stack.length -= run.length;
    for (const oid of run) {
      if (seen.has(oid)) throw damaged(tree, oid, 'is reached twice (a cycle in the tree)');
      seen.add(oid);
    }
    const records = await reader.load(run);
    const byOid = new Map(records.map((r) => [r.oid, r]));
    // run[0] is next in key order: push the last one's expansion first.
    for (let r = run.length - 1; r >= 0; r--) {
      const oid = run[r] as number;
      const record = byOid.get(oid);
      if (record === undefined) {
        throw damaged(tree, oid, `has no revision at transaction ${reader.tid}`);
      }
      onNode?.(oid);
      pushExpansion(stack, tree, record, reader.decoder);
    }
  }
}

/** Pushes the node's children and items, last in key order first. */
function pushExpansion(
  stack: Work[],
  tree: LoadedRecord,
  node: LoadedRecord,
  decoder: CborDecoder,
): void {
  if (node.className !== BTREE_NODE_CLASS) {
    throw damaged(tree, node.oid, `is a ${node.className}, not a ${BTREE_NODE_CLASS}`);
  }
  const { keys, values, children } = decodeState(node.state, decoder);
  const ok =
    Array.isArray(keys) &&
    Array.isArray(values) &&
    keys.length === values.length &&
    (children === null ||
      (Array.isArray(children) &&
        children.length === keys.length + 1 &&
        children.every((c) => c instanceof StoredRef)));
  if (!ok) throw damaged(tree, node.oid, 'does not hold keys, values and children of one node');
  const kids = children as StoredRef[] | null;
  for (let i = keys.length; i >= 0; i--) {
    const child = kids?.[i];
    if (child !== undefined) stack.push({ node: child.oid });
    if (i > 0) stack.push({ item: [keys[i - 1], values[i - 1]] });
  }
}

function damaged(tree: LoadedRecord, node: number, what: string): CorruptStorageError {
  return new CorruptStorageError(
    `BTree ${tree.oid} (revision ${tree.tid}) is damaged: its node ${node} ${what}. Run db.verify() and restore it from a backup.`,
  );
}
