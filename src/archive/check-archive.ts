/**
 * checkArchive (fssync's Check): what committing an archive would meet, for every entry, before
 * anything is written. Reads at the connection's snapshot and writes nothing.
 *
 * For an entry with an oid that has a live revision: base = the hash written at export, archive =
 * the entry's hash now, live = the live revision's hash as exported now (live-objects.ts). Then:
 * unchanged (archive = live), changed-archive (live = base; 'class-changed' when the entry's class
 * is not the live one's), changed-live (archive = base), conflict (all three differ). 'added': no
 * oid, or no live revision. 'removed': an id the header lists with no entry. 'unresolved-external'
 * (in place of the others): an `$ext` whose oid has no live revision, or one of another class.
 *
 * Streamed: the archive is compared with the database a batch of entries at a time as it is read
 * (one batched load per batch), and each entry's JSON is dropped once compared; what stays is the
 * report (one line per entry) and what the caller asks to keep.
 */
import type { Connection } from '../connection.js';
import type { LoadedRecord, Tid } from '../shared/storage.js';
import { checkRecordKept, type BlobAgreement } from './blob-agreement.js';
import { BTREE_CLASS } from './btree-items.js';
import { unresolvedIn } from './externals.js';
import { liveObject, type LiveObject } from './live-objects.js';
import { LOAD_BATCH, snapshotReader, type SnapshotReader } from './snapshot-reader.js';
import { readTreeObjects, type ArchiveObject, type TreeSource } from './tree-archive.js';

/** What check says of one entry. */
export type EntryStatus =
  | 'unchanged'
  | 'changed-archive'
  | 'changed-live'
  | 'conflict'
  | 'added'
  | 'removed'
  | 'class-changed'
  | 'unresolved-external';

/** One entry of a check report. */
export interface CheckEntry {
  /** The entry's path in the archive (`objects/<id>.json`). */
  path: string;
  /** Its archive id. */
  id: string;
  /** The oid it was exported from (undefined for an added entry). */
  oid?: number;
  /** Its class as the archive says (the live one's for 'removed'). */
  className: string;
  /** How it compares with the database. */
  status: EntryStatus;
  /** Why, where it helps: the unresolved oids, the live class. */
  detail?: string;
}

/** What `checkArchive` resolves to. */
export interface CheckReport {
  /** Every entry, in archive order, then the removed ones. */
  entries: CheckEntry[];
}

/** A check with what commit needs besides the report. */
export interface Inspection {
  /** The start's archive id. */
  startId: string;
  /** The start's report entry. */
  start: CheckEntry;
  /** True when the start object has a live revision (commit needs it to be this database's). */
  startIsLive: boolean;
  entries: CheckEntry[];
  /** The report entry of each object, by id. */
  byId: Map<string, CheckEntry>;
  /**
   * The objects `keep` chose, in archive order, with their live revision when there is one, and
   * that revision rendered when it had to be (always for a BTree and for a conflict).
   */
  kept: {
    obj: ArchiveObject;
    record: LoadedRecord | undefined;
    live: LiveObject | undefined;
  }[];
  /** The id of each archive object's oid (and of removed ones). */
  idOf: (oid: number) => string | undefined;
  reader: SnapshotReader;
  /** The blob records the archive holds, to check a merge function's `$blob` markers against. */
  agreement: BlobAgreement;
  /** The snapshot read at. */
  tid: Tid;
}

/** How many entries are compared with the database at a time (one batched load each). */
const BATCH = LOAD_BATCH;

/**
 * Compares an archive with the database at `conn`'s snapshot, entry by entry (see the module
 * comment). Writes nothing.
 * @throws CorruptStorageError naming the entry for a malformed archive.
 * @example
 * const { entries } = await checkArchive(conn, file);
 * const conflicts = entries.filter((e) => e.status === 'conflict');
 */
export async function checkArchive(conn: Connection, source: TreeSource): Promise<CheckReport> {
  const { entries } = await inspectArchive(conn, source, () => false);
  return { entries };
}

/** The snapshot `conn` reads at, established first if it has none. */
export async function snapshotOf(conn: Connection): Promise<Tid> {
  if (conn.snapshotTid === undefined) await conn.sync();
  return conn.snapshotTid as Tid;
}

/**
 * checkArchive's work, streamed: the archive's objects are compared with their live revisions a
 * batch at a time as they are read, and dropped unless `keep` wants them for the status found
 * (commit keeps those it writes). Live revisions are named by the header's ids: exportTree names
 * an exported object `String(oid)`, and the header lists them all before any object comes.
 */
export async function inspectArchive(
  conn: Connection,
  source: TreeSource,
  keep: (status: EntryStatus) => boolean,
  /** Store the archive's blob entries as they are read (commit); check only when false. */
  putBlobs = false,
): Promise<Inspection> {
  const tid = await snapshotOf(conn);
  const reader = snapshotReader(conn.archiveAccess.host.storage, tid);
  let listed = new Set<string>();
  const idOf = (oid: number): string | undefined => {
    const id = String(oid);
    return listed.has(id) ? id : undefined;
  };
  const entries: CheckEntry[] = [];
  const byId = new Map<string, CheckEntry>();
  const kept: Inspection['kept'] = [];
  const externals = new Map<number, string | null>();
  let startId = '';
  let startIsLive = false;
  let batch: ArchiveObject[] = [];
  const compareBatch = async (): Promise<void> => {
    const objects = batch;
    batch = [];
    const records = await loadByOid(
      reader,
      objects.flatMap((o) => (o.oid === undefined ? [] : [o.oid])),
    );
    const unresolved = await unresolvedIn(reader, objects, externals);
    for (const obj of objects) {
      const record = obj.oid === undefined ? undefined : records.get(obj.oid);
      let entry: CheckEntry;
      let live: LiveObject | undefined;
      // A blob record is never rewritten (its owners outside the archive would lose their bytes):
      // refused here, so check says so and commit refuses before writing anything.
      if (record !== undefined) checkRecordKept(obj.path, record, obj.className, obj.state);
      if (record === undefined) {
        entry = report(obj, 'added');
      } else if (isExported(obj, record) && obj.hash === obj.baseHash) {
        // The revision exported and the entry as exported: unchanged. Only an entry that was not
        // edited (nothing to write) skips rendering the live one: a serial names a revision in
        // one database's history only (a restored fork reuses tids), so an edited entry, which
        // commit may write over the live object, is always compared with the live state itself.
        entry = report(obj, 'unchanged', record);
      } else {
        live = await liveObject(reader, record, idOf);
        entry = report(obj, compare(obj, live.hash, record), record);
      }
      if (obj.id === startId) startIsLive = record !== undefined;
      const bad = unresolved.get(obj.id);
      if (bad !== undefined) {
        entry.detail = `unresolved: ${bad.join('; ')}${entry.status === 'added' ? '' : ` (otherwise ${entry.status})`}`;
        entry.status = 'unresolved-external';
      }
      entries.push(entry);
      byId.set(obj.id, entry);
      if (keep(entry.status)) kept.push({ obj, record, live });
    }
  };
  const objects = readTreeObjects(source, {
    hashes: true,
    blobs: { storage: reader.storage, put: putBlobs, reader },
    onHeader: (header) => {
      listed = new Set(header.entries);
      startId = header.start;
    },
  });
  let step = await objects.next();
  for (; step.done !== true; step = await objects.next()) {
    batch.push(step.value);
    if (batch.length >= BATCH) await compareBatch();
  }
  await compareBatch();
  const { removed, agreement } = step.value;
  const removedOids = removed.filter((id) => /^\d+$/.test(id)).map(Number);
  const records = await loadByOid(reader, removedOids);
  for (const id of removed) {
    const oid = /^\d+$/.test(id) ? Number(id) : undefined;
    const className = oid === undefined ? '' : (records.get(oid)?.className ?? '');
    entries.push({
      path: `objects/${id}.json`,
      id,
      ...(oid === undefined ? {} : { oid }),
      className,
      status: 'removed',
    });
  }
  const start = byId.get(startId) as CheckEntry;
  return { startId, start, startIsLive, entries, byId, kept, idOf, reader, agreement, tid };
}

function report(obj: ArchiveObject, status: EntryStatus, record?: LoadedRecord): CheckEntry {
  const entry: CheckEntry = { path: obj.path, id: obj.id, className: obj.className, status };
  if (obj.oid !== undefined) entry.oid = obj.oid;
  if (status === 'class-changed' && record !== undefined) {
    entry.detail = `live class ${record.className}, archive class ${obj.className}`;
  }
  return entry;
}

/**
 * True when `record` is the very revision `obj` was exported from (its `serial`), and its hash
 * now is therefore the base: rendering and hashing it again (most of a check's work) is skipped.
 * Not for a BTree: its items live in its nodes, which change without a new revision of the tree.
 * Relies on the header's `entries` being the export's (the ids references are named by). Used
 * only for an entry as exported (its hash the base): a tid is no revision's name across
 * databases (a restored fork reuses tids), and an edited entry is what commit writes.
 */
function isExported(obj: ArchiveObject, record: LoadedRecord): boolean {
  return (
    obj.serial === record.tid &&
    obj.baseHash !== undefined &&
    obj.pages === undefined &&
    record.className !== BTREE_CLASS
  );
}

function compare(obj: ArchiveObject, liveHash: string, record: LoadedRecord): EntryStatus {
  if (obj.hash === liveHash) return 'unchanged';
  if (obj.baseHash === liveHash) {
    return obj.className === record.className ? 'changed-archive' : 'class-changed';
  }
  if (obj.baseHash === obj.hash) return 'changed-live';
  return 'conflict';
}

/** The live records of `oids` at the reader's snapshot, by oid (absent: no revision). */
export async function loadByOid(
  reader: SnapshotReader,
  oids: number[],
): Promise<Map<number, LoadedRecord>> {
  const out = new Map<number, LoadedRecord>();
  for (const r of await reader.load(oids)) out.set(r.oid, r);
  return out;
}
