/**
 * `restoreDatabase(name, source, options)`: a database made from a backup (backup.ts), with every
 * transaction's tid, time, note, user, meta and undo link, and every revision's oid, class, refs
 * and state bytes as the source had them, and every blob file they reference: each is stored
 * (`putBlob`, its bytes checked against its hash first) before the transaction after it commits.
 *
 * Each transaction is one commit in the storage's restore mode (`CommitRequest.restore`, see
 * src/shared/storage.ts): it keeps its tid (tids may have gaps: pack drops transactions left
 * without revisions) and raises the storage's next oid above its oids, so later commits get larger
 * tids and `newOids` never hands out a restored oid.
 *
 * Nothing of a failed restore stays: the archive's checksums are known only at its end
 * (snarf.ts), so a source that can be read twice (a Blob, a Uint8Array, an ArrayBuffer) is read
 * and checked whole before the database is even opened; a stream, read once, is restored as it
 * comes and on any error the new database is closed and removed (database-removal.ts) — unless
 * another tab opened the name meanwhile and committed to it: then it stays, with what that tab
 * committed, and the error says so. A database
 * that already holds transactions is refused before anything is written to it.
 */
import { ShelfError, StorageError, afterCleanup } from '../shared/errors.js';
import type { Storage, StoredRecord, Tid } from '../shared/storage.js';
import type { Database } from '../database.js';
import { openDatabase, openDatabaseForRestore, type OpenOptions } from '../open-database.js';
import { failAfterDraining, readBackup } from './backup-reader.js';
import { putBlobEntry } from './blob-entry-reader.js';
import type { BackupTransaction } from './backup.js';
import { notePlace, removeDatabase, type DatabasePlace } from './database-removal.js';
import { markPlaces, markedPlaces, removeMark, writeMark, type MarkPlace } from './restore-mark.js';
import type { ArchiveSource } from './snarf.js';

/** What a restore replayed. */
export interface RestoreResult {
  /** Transactions committed. */
  transactions: number;
  /** Revisions stored. */
  records: number;
  /** Blob files stored (one per blob entry). */
  blobs: number;
  /** The newest tid restored (0 for an empty backup). */
  tid: Tid;
}

/**
 * Restores the backup in `source` as the database `name` (opened with `options`, as
 * `openDatabase` takes them, creating it) and resolves to it, open.
 * @throws ShelfError when the database `name` already holds transactions (nothing is touched).
 * @throws CorruptStorageError naming the entry for a truncated, damaged or foreign archive, or an
 *   unknown version: no database is left behind.
 * @throws TypeError when `source` is not a ReadableStream, Blob, Uint8Array or ArrayBuffer.
 * @example
 * const backup = await new Response(db.backup()).blob();
 * const copy = await restoreDatabase('notes-copy', backup, { storage: 'indexeddb' });
 */
export async function restoreDatabase(
  name: string,
  source: ArchiveSource,
  options: OpenOptions = {},
): Promise<Database> {
  checkSource(source);
  const once = source instanceof ReadableStream;
  // Read twice when it can be: every entry and checksum is checked before anything is made.
  if (!once) for await (const _ of readBackup(source)) void _;
  const place = await notePlace(name, options);
  await removeLeftovers(name, options, place);
  // Restored with strict durability: every commit is flushed before its tid is acknowledged, so
  // the mark goes only once the last one is on disk (a 'relaxed' database is reopened after).
  const relaxed = options.durability === 'relaxed';
  let db = await openDatabaseForRestore(name, { ...options, durability: 'strict' });
  const { storage: kind } = await db.stats();
  const mark: MarkPlace = { name, kind, ...(place.file ? { path: place.file.path } : {}) };
  try {
    // A database that held transactions is never marked: a later restore would take the mark for
    // its own leftover and remove the database.
    await refuseNonEmpty(db.storage, name);
    await writeMark(mark);
  } catch (error) {
    throw await afterCleanup(error, () => db.close(), 'closing the database');
  }
  const restored = new Set<Tid>();
  try {
    await restoreInto(db.storage, source, restored);
  } catch (error) {
    // Another tab may have opened the name meanwhile and committed: what it committed stays.
    const others = await othersCommits(db.storage, restored).catch(() => []);
    throw await afterCleanup(
      error,
      async () => {
        try {
          await db.close();
        } finally {
          if (others.length === 0) await removeDatabase(place, kind);
        }
        // The mark goes last, and only with the database: what stays is an unfinished restore.
        if (others.length > 0) throw othersError(name, others);
        await removeMark(mark);
      },
      `removing the half-restored database '${name}'`,
    );
  }
  try {
    if (relaxed) await db.close();
    await removeMark(mark);
  } catch (error) {
    throw await afterCleanup(error, () => db.close(), 'closing the database');
  }
  if (relaxed) db = await openDatabase(name, options);
  return db;
}

/**
 * Removes what a restore of `name` cut off before left (its mark says so): the unfinished
 * database, then the mark.
 * @throws StorageError when it cannot be removed (a restore still running in another tab holds
 *   it), saying so.
 */
async function removeLeftovers(
  name: string,
  options: OpenOptions,
  place: DatabasePlace,
): Promise<void> {
  const marked = await markedPlaces(markPlaces(name, options.storage ?? 'auto', options.path));
  for (const leftover of marked) {
    try {
      await removeDatabase(place, leftover.kind);
    } catch (error) {
      throw new StorageError(
        `restoreDatabase: the database '${name}' (${leftover.kind}) holds an unfinished restore, and removing it failed: ${(error as Error).message}. If a restore of it is running in another tab or process, wait for it; else delete it by hand and restore again.`,
        { cause: error },
      );
    }
    await removeMark(leftover);
  }
}

/** Tids of the transactions in `storage` that the restore did not write (oldest listed last). */
async function othersCommits(storage: Storage, restored: ReadonlySet<Tid>): Promise<Tid[]> {
  const others: Tid[] = [];
  const limit = 1000;
  let before: Tid | undefined;
  for (;;) {
    const page = await storage.transactions(before === undefined ? { limit } : { limit, before });
    for (const t of page) if (!restored.has(t.tid)) others.push(t.tid);
    if (page.length < limit) return others;
    before = (page.at(-1) as { tid: Tid }).tid;
  }
}

function othersError(name: string, others: Tid[]): ShelfError {
  return new ShelfError(
    `the database '${name}' was not removed: another tab or connection committed to it during the restore (tid ${others.join(', ')}), and removing it would lose that. It holds part of the backup; delete it by hand once nothing uses it, and restore again.`,
  );
}

/**
 * Replays the backup in `source` into `storage`, which must hold no transaction (restoreDatabase's
 * core, for a storage made by hand: tests, tools). On failure what was committed stays: the caller
 * removes the storage.
 * @throws ShelfError when `storage` holds transactions; CorruptStorageError naming the entry.
 */
export async function restoreInto(
  storage: Storage,
  source: ArchiveSource,
  /** Filled with each tid committed, as it lands (restoreDatabase's clean-up reads it). */
  landed: Set<Tid> = new Set(),
): Promise<RestoreResult> {
  checkSource(source);
  await refuseNonEmpty(storage, 'the target');
  let tid: Tid = 0;
  let transactions = 0;
  let records = 0;
  let blobs = 0;
  const backup = readBackup(source);
  for (;;) {
    const next = await backup.next();
    if (next.done === true) break;
    const item = next.value;
    try {
      if (item.kind === 'blob') {
        // Stored before the transactions after it, whose commits check that it is.
        await putBlobEntry(storage, item.blob);
        blobs++;
        continue;
      }
      tid = await commitRestored(storage, tid, item.info, item.records);
      landed.add(tid);
    } catch (error) {
      // A damaged byte may make a commit fail (a bad class name) before the end tells damage.
      return await failAfterDraining(error, backup);
    }
    transactions++;
    records += item.records.length;
  }
  return { transactions, records, blobs, tid };
}

/** Commits one restored transaction after `baseTid`, in restore mode; resolves to its tid. */
async function commitRestored(
  storage: Storage,
  baseTid: Tid,
  info: BackupTransaction,
  restored: StoredRecord[],
): Promise<Tid> {
  const tid = await storage.commit({
    baseTid,
    records: restored,
    note: info.note,
    user: info.user,
    meta: info.meta,
    ...(info.undoes === undefined ? {} : { undoes: info.undoes }),
    restore: {
      tid: info.tid,
      time: info.time,
      ...(info.oids === undefined ? {} : { oids: info.oids, bytes: info.bytes ?? 0 }),
    },
  });
  if (tid !== info.tid) {
    throw new ShelfError(
      `restore: transaction ${info.tid} was stored as ${tid}: the storage has no restore mode (CommitRequest.restore). Restore into a shelfdb storage.`,
    );
  }
  return tid;
}

/** @throws ShelfError when `storage` holds any transaction. */
async function refuseNonEmpty(storage: Storage, name: string): Promise<void> {
  const [{ tid }, listed] = await Promise.all([
    storage.sync(0),
    storage.transactions({ limit: 1 }),
  ]);
  if (tid > 0 || listed.length > 0) {
    throw new ShelfError(
      `restoreDatabase: the database '${name}' already holds transactions (the newest is ${tid}); a restore makes a new database and never overwrites one. Restore under another name, or delete it first. Nothing was changed.`,
    );
  }
}

function checkSource(source: unknown): void {
  const ok =
    source instanceof ReadableStream ||
    source instanceof Uint8Array ||
    source instanceof ArrayBuffer ||
    (typeof Blob !== 'undefined' && source instanceof Blob);
  if (!ok) {
    throw new TypeError(
      'restoreDatabase: the source must be a ReadableStream, Blob, Uint8Array or ArrayBuffer of a backup (db.backup()).',
    );
  }
}
