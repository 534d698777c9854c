/**
 * `db.backup()`: the whole database as a SNARF archive (snarf.ts), every transaction the storage
 * still lists, oldest first, with every revision of it still stored, byte for byte.
 *
 * Entries: `shelfdb-backup.json` (the header: format, version, snapshot, created, source storage,
 * counts), then per transaction `transactions/<tid>.json` (tid, time, note, user, meta, undoes,
 * and its records' oid, class, refs and state size) and `transactions/<tid>.bin` (the states,
 * concatenated: the exact stored CBOR, never re-encoded), then the end entry snarf.ts adds. Before
 * the first transaction whose blob records name a blob file, that file's bytes as `blobs/<hash>`
 * (backup-blobs.ts; version 2: a version 1 backup has none and restores the same).
 *
 * Consistency while commits go on: the backup reads as of one snapshot, held by a read-only
 * connection (`db.open({ at })`) for the whole read. Its pin keeps pack from removing any revision
 * that snapshot reads, so the current objects are whole; only tids up to the snapshot are listed.
 *
 * What pack keeps: pack removes revisions no snapshot reads any more and objects nothing reaches.
 * A transaction's oids are loaded at its tid; a revision pack removed answers ReadConflictError
 * (or nothing, for a removed object) and is left out: the backup holds exactly the revisions a read
 * can reach (history, time travel, the current state). A storage that lists the oids of removed
 * revisions (MemoryStorage, IndexedDBStorage) has them listed in `oids` (and `bytes`), so the
 * restored `transactions()` lists them the same.
 *
 * Pull-based: the archive asks for the next entry only when its reader reads, and one transaction
 * (its records, in batches of loads) is held at a time, plus the list of tids (a number each).
 */
import { ReadConflictError } from '../shared/errors.js';
import type { LoadedRecord, Storage, Tid, TransactionInfo } from '../shared/storage.js';
import type { Connection } from '../connection.js';
import type { Database } from '../database.js';
import { blobEntries } from './backup-blobs.js';
import { writeArchive, type ArchiveEntry, type StreamedEntry } from './snarf.js';

/** Options of `db.backup(options)`. */
export interface BackupOptions {
  /** Compress the whole archive with gzip (restore detects it). */
  gzip?: boolean;
}

/** The header entry's path. */
export const BACKUP_HEADER = 'shelfdb-backup.json';
/** The header's `format`. */
export const BACKUP_FORMAT = 'shelfdb-backup';
/**
 * The version of the backup layout this module writes. 2 added the `blobs/<hash>` entries; restore
 * reads 1 too (BACKUP_VERSIONS), while a shelfdb that knows only 1 refuses a 2 by its version
 * instead of stumbling on an entry it does not know.
 */
export const BACKUP_VERSION = 2;
/** The versions restore.ts reads. */
export const BACKUP_VERSIONS: readonly number[] = [1, 2];

/** What `shelfdb-backup.json` holds. */
export interface BackupHeader {
  /** Always 'shelfdb-backup'. */
  format: typeof BACKUP_FORMAT;
  /** The layout's version (BACKUP_VERSIONS). */
  version: number;
  /** When the backup began, in milliseconds since the epoch. */
  created: number;
  /** The snapshot it was read at: the newest tid it holds, at most. */
  snapshot: Tid;
  /** Where it came from (`stats().storage`). */
  source: { storage: string };
  /** How many transactions follow. */
  counts: { transactions: number };
}

/** One record of a transaction, as `transactions/<tid>.json` lists it. */
export interface BackupRecord {
  /** The object's id. */
  oid: number;
  /** Its stored class name. */
  class: string;
  /** The oids its state references. */
  refs: number[];
  /** Bytes of its state in the `.bin` entry, which holds the states in this order. */
  size: number;
}

/** What `transactions/<tid>.json` holds. */
export interface BackupTransaction {
  /** The transaction's id. */
  tid: Tid;
  /** When it committed, in milliseconds since the epoch. */
  time: number;
  /** Its note ('' for none). */
  note: string;
  /** Its user ('' for none). */
  user: string;
  /** Its metadata. */
  meta: Record<string, unknown>;
  /** The tid it undid, on a transaction `db.undo` made. */
  undoes?: Tid;
  /** The oids the source listed, only when they are more than the records' (see the module). */
  oids?: number[];
  /** The bytes the source listed, with `oids`. */
  bytes?: number;
  /** Its revisions still stored, in the order of the `.bin` entry. */
  records: BackupRecord[];
}

/** Transactions asked for in one `transactions()` call. */
const TRANSACTION_PAGE = 256;
/** Oids asked for in one `load`. */
const LOAD_BATCH = 8192;

const encoder = new TextEncoder();

/**
 * The backup of `db` as an archive stream (see the module comment). `conn` is a connection of
 * `db` opened for it when `db.backup()` was called: the snapshot is the newest as of then, it is
 * closed when the backup ends or is cancelled.
 */
export function backupStream(
  db: Database,
  conn: Connection,
  options: BackupOptions = {},
): ReadableStream<Uint8Array> {
  // Started now, not at the first read: the snapshot is that of the call.
  const pinned = pinSnapshot(db, conn);
  // Awaited by the first read; until then a failure must not surface as an unhandled rejection.
  pinned.catch(() => undefined); // reported by the entries' generator, which awaits it
  return writeArchive(backupEntries(db.storage, pinned), {
    ...(options.gzip === undefined ? {} : { gzip: options.gzip }),
  });
}

/**
 * The read-only connection at `conn`'s first snapshot: `conn` pins it while it is taken (as any
 * connection's first snapshot is pinned before it is asked for), then goes.
 */
async function pinSnapshot(db: Database, conn: Connection): Promise<Connection> {
  try {
    await conn.sync();
    const snapshot = conn.snapshotTid ?? 0;
    return db.open({ at: snapshot });
  } finally {
    conn.close(); // the read-only connection holds the pin from here
  }
}

async function* backupEntries(
  storage: Storage,
  pinned: Promise<Connection>,
): AsyncGenerator<ArchiveEntry | StreamedEntry> {
  const reader = await pinned;
  const blobsWritten = new Set<string>();
  try {
    const snapshot = reader.snapshotTid ?? 0;
    const tids = await listedTids(storage, snapshot);
    const { storage: kind } = await storage.stats();
    const header: BackupHeader = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      created: Date.now(),
      snapshot,
      source: { storage: kind },
      counts: { transactions: tids.length },
    };
    yield jsonEntry(BACKUP_HEADER, header);
    for (let end = 0; end < tids.length; end += TRANSACTION_PAGE) {
      const page = tids.slice(end, end + TRANSACTION_PAGE);
      const newest = page.at(-1) as Tid;
      const infos = await storage.transactions({ before: newest + 1, limit: page.length });
      const byTid = new Map(infos.map((info) => [info.tid, info]));
      for (const tid of page) {
        // Listed a moment ago and gone now: a pack dropped it (it had no revision left).
        const info = byTid.get(tid);
        if (info === undefined) continue;
        const loaded = await keptRecords(storage, info.oids, tid);
        const records = yield* blobEntries(storage, loaded, tid, blobsWritten);
        yield jsonEntry(`transactions/${tid}.json`, describe(info, records));
        yield { path: `transactions/${tid}.bin`, bytes: concatStates(records) };
      }
    }
  } finally {
    reader.close();
  }
}

/** Every tid the storage lists up to `snapshot`, oldest first (a number each). */
async function listedTids(storage: Storage, snapshot: Tid): Promise<Tid[]> {
  const newestFirst: Tid[] = [];
  let before = snapshot + 1;
  for (;;) {
    const page = await storage.transactions({ before, limit: 4 * TRANSACTION_PAGE });
    for (const info of page) newestFirst.push(info.tid);
    if (page.length < 4 * TRANSACTION_PAGE) break;
    before = (page.at(-1) as TransactionInfo).tid;
  }
  return newestFirst.reverse();
}

/**
 * The revisions transaction `tid` wrote that the storage still holds, in the order of `oids`:
 * loaded at `tid`, in batches; those pack removed (ReadConflictError) are left out.
 */
async function keptRecords(storage: Storage, oids: number[], tid: Tid): Promise<LoadedRecord[]> {
  const out: LoadedRecord[] = [];
  for (let i = 0; i < oids.length; i += LOAD_BATCH) {
    for (const record of await loadKept(storage, oids.slice(i, i + LOAD_BATCH), tid)) {
      // The revision at `tid` is that transaction's own; an older one means its own is gone.
      if (record.tid === tid) out.push(record);
    }
  }
  return out;
}

/**
 * `load(oids, tid)` without the oids whose revision pack removed. A storage names at least one of
 * them per ReadConflictError: they are dropped and the rest is loaded again in halves, so many
 * removed revisions cost a logarithmic number of loads each, not one load per oid.
 */
async function loadKept(storage: Storage, oids: number[], tid: Tid): Promise<LoadedRecord[]> {
  if (oids.length === 0) return [];
  try {
    return await storage.load(oids, tid);
  } catch (error) {
    if (!(error instanceof ReadConflictError)) throw error;
    const gone = new Set(error.oids);
    const rest = oids.filter((oid) => !gone.has(oid));
    // A storage that named none of them would loop: refuse rather than spin.
    if (rest.length === oids.length) throw error;
    const half = rest.length >> 1;
    const [first, second] = await Promise.all([
      loadKept(storage, rest.slice(0, half), tid),
      loadKept(storage, rest.slice(half), tid),
    ]);
    // Answers come in the order asked: the halves keep it.
    return first.concat(second);
  }
}

/** The `.json` entry of a transaction, with `oids` only where the listing holds more. */
function describe(info: TransactionInfo, records: LoadedRecord[]): BackupTransaction {
  const sameOids =
    info.oids.length === records.length && records.every((r, i) => r.oid === info.oids[i]);
  return {
    tid: info.tid,
    time: info.time,
    note: info.note,
    user: info.user,
    meta: info.meta,
    ...(info.undoes === undefined ? {} : { undoes: info.undoes }),
    ...(sameOids ? {} : { oids: info.oids, bytes: info.bytes }),
    records: records.map((r) => ({
      oid: r.oid,
      class: r.className,
      refs: r.refs,
      size: r.state.byteLength,
    })),
  };
}

function concatStates(records: LoadedRecord[]): Uint8Array {
  let length = 0;
  for (const r of records) length += r.state.byteLength;
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const r of records) {
    bytes.set(r.state, at);
    at += r.state.byteLength;
  }
  return bytes;
}

function jsonEntry(path: string, value: unknown): ArchiveEntry {
  return { path, bytes: encoder.encode(JSON.stringify(value)) };
}
