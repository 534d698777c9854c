/**
 * The live side of check and commit: the revision at the connection's snapshot of an object an
 * archive names, rendered and hashed exactly as exportTree would export it now (object-entry.ts),
 * with references named by the ARCHIVE's ids (an oid that is an archive entry → `$ref`, any other
 * → `$ext`), so its hash compares with the archive's. A BTree is hashed from its pages, read
 * through its nodes one page at a time; its node oids are kept for commit's readCurrent pins.
 */
import type { LoadedRecord } from '../shared/storage.js';
import type { Json, JsonObject } from './json-value.js';
import { renderedHash, renderObject } from './object-entry.js';
import type { SnapshotReader } from './snapshot-reader.js';

/** One live object as the archive would show it. */
export interface LiveObject {
  /** Its revision at the snapshot. */
  record: LoadedRecord;
  /** Its hash as exported now. */
  hash: string;
  /** Its state JSON (a BTree's without `root`). */
  state: JsonObject;
  /** A BTree's node oids at the snapshot; undefined for other objects. */
  nodeOids: number[] | undefined;
}

/**
 * The live object `record` rendered and hashed.
 * @throws CorruptStorageError for a damaged state or BTree.
 */
export async function liveObject(
  reader: SnapshotReader,
  record: LoadedRecord,
  idOf: (oid: number) => string | undefined,
): Promise<LiveObject> {
  const rendered = await renderObject(reader, record, idOf);
  const hash = await renderedHash(rendered);
  return {
    record,
    hash,
    state: rendered.state,
    nodeOids: rendered.isBTree ? [...rendered.nodeOids] : undefined,
  };
}

/** Every item of a live BTree as JSON, in key order (what a merge function is given). */
export async function liveItems(
  reader: SnapshotReader,
  record: LoadedRecord,
  idOf: (oid: number) => string | undefined,
): Promise<Json[]> {
  const rendered = await renderObject(reader, record, idOf);
  const out: Json[] = [];
  for await (const page of rendered.pages()) for (const item of page) out.push(item);
  return out;
}
