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
 */
import type { Connection } from '../connection.js';
import type { LoadedRecord, Tid } from '../shared/storage.js';
import { liveObject, type LiveObject } from './live-objects.js';
import { snapshotReader, type SnapshotReader } from './snapshot-reader.js';
import {
  readTreeArchive,
  type ArchiveObject,
  type TreeArchive,
  type TreeSource,
} from './tree-archive.js';

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
  archive: TreeArchive;
  entries: CheckEntry[];
  /** The report entry of each object, by id. */
  byId: Map<string, CheckEntry>;
  /** Live objects by id (entries with an oid that has a live revision). */
  live: Map<string, LiveObject>;
  /** The id of each archive object's oid (and of removed ones). */
  idOf: (oid: number) => string | undefined;
  reader: SnapshotReader;
  /** The snapshot read at. */
  tid: Tid;
}

/**
 * Compares an archive with the database at `conn`'s snapshot, entry by entry (see the module
 * comment). Writes nothing.
 * @throws CorruptStorageError naming the entry for a malformed archive.
 * @example
 * const { entries } = await checkArchive(conn, file);
 * const conflicts = entries.filter((e) => e.status === 'conflict');
 */
export async function checkArchive(conn: Connection, source: TreeSource): Promise<CheckReport> {
  const { entries } = await inspectArchive(conn, await readTreeArchive(source));
  return { entries };
}

/** The snapshot `conn` reads at, established first if it has none. */
export async function snapshotOf(conn: Connection): Promise<Tid> {
  if (conn.snapshotTid === undefined) await conn.sync();
  return conn.snapshotTid as Tid;
}

/** checkArchive's work, keeping what commit needs. */
export async function inspectArchive(conn: Connection, archive: TreeArchive): Promise<Inspection> {
  const tid = await snapshotOf(conn);
  const reader = snapshotReader(conn.archiveAccess.host.storage, tid);
  const ids = new Map<number, string>();
  for (const id of archive.removed) if (/^\d+$/.test(id)) ids.set(Number(id), id);
  for (const obj of archive.objects.values()) if (obj.oid !== undefined) ids.set(obj.oid, obj.id);
  const idOf = (oid: number): string | undefined => ids.get(oid);

  const records = await loadByOid(reader, [...ids.keys()]);
  const externals = await unresolvedExternals(reader, archive);
  const entries: CheckEntry[] = [];
  const byId = new Map<string, CheckEntry>();
  const live = new Map<string, LiveObject>();
  for (const obj of archive.objects.values()) {
    const record = obj.oid === undefined ? undefined : records.get(obj.oid);
    let entry: CheckEntry;
    if (record === undefined) {
      entry = report(obj, 'added');
    } else {
      const now = await liveObject(reader, record, idOf);
      live.set(obj.id, now);
      entry = report(obj, compare(obj, now), record);
    }
    const bad = externals.get(obj.id);
    if (bad !== undefined) {
      entry.detail = `unresolved: ${bad.join('; ')}${entry.status === 'added' ? '' : ` (otherwise ${entry.status})`}`;
      entry.status = 'unresolved-external';
    }
    entries.push(entry);
    byId.set(obj.id, entry);
  }
  for (const id of archive.removed) {
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
  return { archive, entries, byId, live, idOf, reader, tid };
}

function report(obj: ArchiveObject, status: EntryStatus, record?: LoadedRecord): CheckEntry {
  const entry: CheckEntry = { path: obj.path, id: obj.id, className: obj.className, status };
  if (obj.oid !== undefined) entry.oid = obj.oid;
  if (status === 'class-changed' && record !== undefined) {
    entry.detail = `live class ${record.className}, archive class ${obj.className}`;
  }
  return entry;
}

function compare(obj: ArchiveObject, now: LiveObject): EntryStatus {
  if (obj.hash === now.hash) return 'unchanged';
  if (obj.baseHash === now.hash) {
    return obj.className === now.record.className ? 'changed-archive' : 'class-changed';
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

/**
 * Per object id, the `$ext`s that do not resolve at the snapshot (no revision there, or one of
 * another class), described.
 */
export async function unresolvedExternals(
  reader: SnapshotReader,
  archive: TreeArchive,
): Promise<Map<string, string[]>> {
  const wanted = new Set<number>();
  for (const obj of archive.objects.values()) for (const oid of obj.exts.keys()) wanted.add(oid);
  const found = await loadByOid(reader, [...wanted]);
  const out = new Map<string, string[]>();
  for (const obj of archive.objects.values()) {
    for (const [oid, { className, path }] of obj.exts) {
      const record = found.get(oid);
      if (record !== undefined && record.className === className) continue;
      const why =
        record === undefined
          ? `${className} ${oid} (in ${path}) does not exist in this database`
          : `${className} ${oid} (in ${path}) is a ${record.className} in this database`;
      const list = out.get(obj.id) ?? [];
      list.push(why);
      out.set(obj.id, list);
    }
  }
  return out;
}
