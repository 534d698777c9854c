/**
 * The records of a copy of an archive's objects under new oids (importCopy), made as the archive
 * streams in: each entry is parsed, checked (tree-archive.ts), turned into its record and dropped.
 *
 * New oids: every id the header lists gets one before any object is read (one `newOids` call), so
 * a `$ref` to a later entry has its oid at once; an id the header does not list (an entry a person
 * added to a checkout) gets one from a spare block when first seen. A reference is written as
 * `[oid, class]`, and a later entry's class is only known when it comes: an object naming an id
 * not seen yet is kept (parsed, with a BTree's pages as bytes) and written after the last entry.
 * An export lists a parent before what it owns, so what waits is the containers (few), while the
 * many leaves are written at once.
 *
 * Held until the commit: the records, each id's oid and class, the oid map returned, the classes
 * met (checked against the registry afterwards) and the externals named (resolved afterwards in
 * one batched load) — never the archive's JSON as a whole.
 */
import type { Storage, StoredRecord } from '../shared/storage.js';
import type { SnapshotReader } from './snapshot-reader.js';
import { ArchiveWriter } from './archive-writer.js';
import { ExternalRefs } from './externals.js';
import { RecordRef } from './record-writer.js';
import { readTreeObjects, type ArchiveObject, type TreeSource } from './tree-archive.js';

/** Oids asked of the storage at a time for ids the header does not list. */
const SPARE_BLOCK = 256;

/** What copyRecords made. */
export interface CopiedRecords {
  /** The records to commit, new oids only. */
  records: StoredRecord[];
  /** Exported oid → new oid (entries added by hand have no exported oid). */
  copied: Map<number, number>;
  /** The start object as written. */
  start: RecordRef;
  /** The start's archive id. */
  startId: string;
  /** Each class met, with the first entry of it (for checkClasses). */
  classes: { className: string; path: string }[];
  /** The externals the objects name, to resolve before committing. */
  externals: ExternalRefs;
}

/**
 * Reads `source` to its end and makes the records of a copy of its objects with new oids (see
 * the module comment). Writes nothing (new oids are only allotted). `reader` is the database at
 * the snapshot the copy is made at: the blob records `$blob` markers reference by `$ext` are
 * checked there.
 * @throws CorruptStorageError naming the entry for a malformed archive or state, or a `$blob`
 *   marker naming another blob than its record (blob-agreement.ts).
 */
export async function copyRecords(
  storage: Storage,
  source: TreeSource,
  reader: SnapshotReader,
): Promise<CopiedRecords> {
  /**
   * Each id's new oid, allotted from the header (then from spare blocks), replaced by what it is
   * written as (its oid and class) once its entry came: one map, not two, for 100,000s of ids.
   */
  const targets = new Map<string, RecordRef | number>();
  const target = (id: string): RecordRef | undefined => {
    const known = targets.get(id);
    return known instanceof RecordRef ? known : undefined;
  };
  /** One string per class name, shared by every record of that class. */
  const classNames = new Map<string, string>();
  const classes: { className: string; path: string }[] = [];
  const externals = new ExternalRefs();
  const copied = new Map<number, number>();
  const writer = new ArchiveWriter(storage, target);
  let spare: number[] = [];
  const newOid = async (id: string): Promise<number> => {
    const known = targets.get(id);
    if (typeof known === 'number') return known;
    if (spare.length === 0) spare = await storage.newOids(SPARE_BLOCK);
    return spare.pop() as number;
  };
  /** Objects naming an id not seen yet, in archive order. */
  const waiting: ArchiveObject[] = [];
  const objects = readTreeObjects(source, {
    blobs: { storage, put: true, reader },
    onHeader: async ({ entries }) => {
      const fresh = await storage.newOids(entries.length);
      entries.forEach((id, i) => targets.set(id, fresh[i] as number));
    },
  });
  let step = await objects.next();
  for (; step.done !== true; step = await objects.next()) {
    const obj = step.value;
    let className = classNames.get(obj.className);
    if (className === undefined) {
      className = obj.className;
      classNames.set(className, className);
      classes.push({ className, path: obj.path });
    }
    obj.className = className;
    const oid = await newOid(obj.id);
    targets.set(obj.id, new RecordRef(oid, className));
    if (obj.oid !== undefined) copied.set(obj.oid, oid);
    externals.add(obj);
    if ([...obj.refs.keys()].every((id) => target(id) !== undefined)) {
      await writer.write(obj, undefined);
    } else {
      obj.refs.clear(); // readTreeObjects checks that every id named comes; nothing else reads them
      waiting.push(obj);
    }
  }
  // Every id named has come (readTreeObjects refused the archive otherwise).
  for (const obj of waiting) await writer.write(obj, undefined);
  const startId = step.value.header.start;
  return {
    records: writer.records,
    copied,
    start: target(startId) as RecordRef,
    startId,
    classes,
    externals,
  };
}
