/**
 * Which objects an export holds (pass 1 of exportTree): the start object, and every object a
 * reference inside the boundary leads to. The default boundary, 'owned', follows what an object
 * owns: from a container (PersistentDict, PersistentList, PersistentSet, a BTree's values) every
 * reference is followed, and a reference to a container from anything is followed; every other
 * reference stays external (`$ext`), so a Todo's back-pointer to its project does not drag in the
 * project, nor through it the database. 'reachable' follows every reference; a function decides
 * for each reference itself. A Blob's record goes with its owner whatever the boundary.
 *
 * The walk reads records only (no app classes, no connection cache): breadth first, a batch of up
 * to `reader.batchSize` oids per round trip, class names of references taken from the decoded
 * states (each reference carries its class), so deciding costs no extra load. BTree nodes are
 * walked through to reach a tree's values and are never entries themselves. Memory: the oids found,
 * plus one batch of records, never the states of the whole tree.
 */
import { BlobReference } from '../blob-tag.js';
import { BLOB_CLASS } from '../shared/blob-record.js';
import { ShelfError } from '../shared/errors.js';
import type { LoadedRecord } from '../shared/storage.js';
import { decodeState, StoredRef } from './json-value.js';
import {
  BTREE_CLASS,
  BTREE_NODE_CLASS,
  btreeFields,
  btreeItems,
  isBTreeState,
} from './btree-items.js';
import type { SnapshotReader } from './snapshot-reader.js';

/** An object as a boundary function sees it: its oid and stored class name. */
export interface ObjectRef {
  /** The object's oid. */
  oid: number;
  /** Its stored class name (as the referring state names it). */
  className: string;
}

/**
 * Which references an export follows: 'owned' (default: containers and what containers hold),
 * 'reachable' (every reference), or a function that answers for one reference `ref` met in the
 * state of `from` (an object inside), true to take `ref` inside.
 */
export type Boundary = 'owned' | 'reachable' | ((ref: ObjectRef, from: ObjectRef) => boolean);

/** What the walk found. */
export interface BoundaryResult {
  /** The oids inside, start first, in the order found (breadth first; a BTree's values in key order). */
  oids: number[];
  /** The items of every BTree inside, summed. */
  btreeItems: number;
  /** How many blob records are inside (their blob files go into the archive). */
  blobRecords: number;
}

/** Classes whose every reference is followed by 'owned'. */
const OWNING = new Set([
  'shelfdb.PersistentDict',
  'shelfdb.PersistentList',
  'shelfdb.PersistentSet',
]);
/** Classes 'owned' takes inside whoever references them. */
const OWNED = new Set([...OWNING, BTREE_CLASS]);

/**
 * The objects inside `boundary` from `start`, read through `reader` (see the module comment). A
 * reference to an oid with no revision at the reader's tid stays outside (check reports it as an
 * external reference that does not resolve).
 * @throws ShelfError when `start` has no revision at the reader's tid, or is a BTree node; the
 *   boundary function's own errors; CorruptStorageError for a damaged state or BTree.
 */
export async function findBoundary(
  reader: SnapshotReader,
  start: number,
  boundary: Boundary = 'owned',
): Promise<BoundaryResult> {
  const follows = followRule(boundary);
  const oids: number[] = [];
  // Oids taken inside, loaded or queued: each is queued once.
  const queued = new Set<number>([start]);
  const queue: number[] = [start];
  let btreeItemCount = 0;
  let blobRecords = 0;
  for (let next = 0; next < queue.length;) {
    const batch = queue.slice(next, next + reader.batchSize);
    next += batch.length;
    const records = await reader.load(batch);
    if (oids.length === 0) checkStart(reader, start, records[0]);
    const take = (ref: StoredRef): void => {
      if (queued.has(ref.oid) || ref.className === BTREE_NODE_CLASS) return;
      queued.add(ref.oid);
      queue.push(ref.oid);
    };
    for (const record of records) {
      oids.push(record.oid);
      if (record.className === BLOB_CLASS) blobRecords++;
      // A state that references nothing leads nowhere: its record says so without decoding it
      // (`refs` lists every oid the state references; pack trusts it the same way). Pass 2
      // decodes every state it writes, so a damaged one is still refused.
      if (record.refs.length === 0) continue;
      const from = { oid: record.oid, className: record.className };
      const state = decodeState(record.state, reader.decoder);
      if (isBTreeState(record.className, state)) {
        const fields = btreeFields(record, state);
        for (const ref of refsIn(state)) {
          if (ref.oid !== fields.root.oid && follows(ref, from, false)) take(ref);
        }
        for await (const [key, value] of btreeItems(reader, record, fields)) {
          btreeItemCount += 1;
          // Most items are a scalar key and a reference or a scalar: no walk needed for them.
          if (value instanceof StoredRef && !isWalked(key)) {
            if (follows(value, from, true)) take(value);
          } else if (isWalked(key) || isWalked(value)) {
            for (const ref of refsIn([key, value])) if (follows(ref, from, true)) take(ref);
          }
        }
      } else {
        for (const ref of refsIn(state)) if (follows(ref, from, false)) take(ref);
      }
    }
  }
  return { oids, btreeItems: btreeItemCount, blobRecords };
}

/** Whether a reference is followed: `held` when it is one of a BTree's items. */
type FollowRule = (ref: StoredRef, from: ObjectRef, held: boolean) => boolean;

/**
 * The rule of `boundary`, which a Blob's record always passes whatever the boundary: the Blob is
 * part of its owner's state (its record is not an object of its own to the app), so it goes with
 * its owner, never as an external.
 */
function followRule(boundary: Boundary): FollowRule {
  const rule = boundaryRule(boundary);
  return (ref, from, held) => ref.className === BLOB_CLASS || rule(ref, from, held);
}

function boundaryRule(boundary: Boundary): FollowRule {
  if (boundary === 'reachable') return () => true;
  if (boundary === 'owned') {
    return (ref, from, held) => held || OWNING.has(from.className) || OWNED.has(ref.className);
  }
  if (typeof boundary === 'function') {
    return (ref, from) => boundary({ oid: ref.oid, className: ref.className }, from) === true;
  }
  throw new TypeError(
    `exportTree: boundary must be 'owned', 'reachable' or a function (ref, from) => boolean, got ${String(boundary)}.`,
  );
}

function checkStart(reader: SnapshotReader, start: number, first: LoadedRecord | undefined): void {
  if (first === undefined || first.oid !== start) {
    throw new ShelfError(
      `exportTree: object ${start} has no revision at transaction ${reader.tid} (never stored, created later, or packed away). Export an object the connection can load.`,
    );
  }
  if (first.className === BTREE_NODE_CLASS) {
    throw new ShelfError(
      `exportTree: object ${start} is a node of a BTree, which is exported only as part of its tree. Export the BTree itself.`,
    );
  }
}

/** Whether refsIn must walk `value` to find references: an object (a StoredRef is one itself). */
const isWalked = (value: unknown): boolean => typeof value === 'object' && value !== null;

/**
 * The references in a decoded value, each distinct one once, in the order met (depth first,
 * Map keys before values). Shared containers and cycles inside one state are walked once.
 */
export function refsIn(value: unknown): StoredRef[] {
  const found = new Map<number, StoredRef>();
  const walked = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item !== 'object' || item === null) continue;
    if (item instanceof StoredRef) {
      if (!found.has(item.oid)) found.set(item.oid, item);
      continue;
    }
    if (item instanceof BlobReference) {
      // A Blob references its record (the owner's record lists it in refs).
      const { oid } = item.fields;
      if (!found.has(oid)) found.set(oid, new StoredRef(oid, BLOB_CLASS));
      continue;
    }
    if (walked.has(item) || item instanceof Date || ArrayBuffer.isView(item)) continue;
    if (item instanceof ArrayBuffer) continue;
    walked.add(item);
    const children: unknown[] =
      item instanceof Map
        ? [...item].flat()
        : item instanceof Set || Array.isArray(item)
          ? [...item]
          : Object.values(item);
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return [...found.values()];
}
