/**
 * The blob files of a backup: an entry `blobs/<hash>` per blob file its transactions' blob records
 * name, once per hash, each just before the first transaction that references it.
 *
 * Why there and not all before the transactions: the backup stays one pass over the log (knowing
 * every hash first would mean reading every transaction twice), and a restore from a stream puts
 * each blob just before the commit that needs it (a commit carrying a blob record is refused when
 * its blob file is not stored), so no blob waits through the whole log.
 *
 * The bytes are streamed from `storage.readBlob` in chunks of BACKUP_BLOB_CHUNK as the archive's
 * reader reads: a blob of any size costs one chunk of memory. The hashes written so far are kept
 * (one string each) so a shared blob goes out once.
 */
import { BLOB_CLASS, decodeBlobRecord } from '../shared/blob-record.js';
import { CorruptStorageError, ReadConflictError, StorageError } from '../shared/errors.js';
import type { LoadedRecord, Storage, Tid } from '../shared/storage.js';
import type { StreamedEntry } from './streamed-entry.js';

/** The bytes read from storage at once while a blob goes into a backup. */
export const BACKUP_BLOB_CHUNK = 1 << 20;

/** The path of a blob file's entry, in backups and tree archives. */
export const blobEntryPath = (hash: string): string => `blobs/${hash}`;

/** Matches a blob file's entry path; group 1 is the hash. */
export const BLOB_ENTRY = /^blobs\/([0-9a-f]{64})$/;

/**
 * The entries of the blob files `records` (transaction `tid`'s) name that `written` does not hold
 * yet (added to it); returns the records to describe: those whose blob file is gone because pack
 * removed the record meanwhile are left out, as keptRecords leaves out removed revisions.
 * @throws CorruptStorageError naming the oid when a blob record's state is damaged; StorageError
 *   when a blob file a kept record names is not stored (run db.verify()).
 */
export async function* blobEntries(
  storage: Storage,
  records: LoadedRecord[],
  tid: Tid,
  written: Set<string>,
): AsyncGenerator<StreamedEntry, LoadedRecord[]> {
  const gone = new Set<number>();
  for (const record of records) {
    if (record.className !== BLOB_CLASS) continue;
    const { hash, size } = blobOf(record, tid);
    if (written.has(hash)) continue;
    if (!(await probe(storage, record, hash, size, tid))) {
      gone.add(record.oid);
      continue;
    }
    written.add(hash);
    const where = `blob ${hash} (object ${record.oid}, transaction ${tid})`;
    yield { path: blobEntryPath(hash), size, chunks: blobChunks(storage, hash, size, where) };
  }
  return gone.size === 0 ? records : records.filter((r) => !gone.has(r.oid));
}

/** The blob record's state, its damage named by oid. */
function blobOf(record: LoadedRecord, tid: Tid): { hash: string; size: number } {
  try {
    return decodeBlobRecord(record.state);
  } catch (error) {
    throw new CorruptStorageError(
      `db.backup: the blob record ${record.oid} (transaction ${tid}) is damaged: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * True when the blob file is there to read; false when it is not because pack removed its record
 * since it was loaded (nothing reached it any more).
 * @throws StorageError when the file is missing and its record is still stored: a damaged database.
 */
async function probe(
  storage: Storage,
  record: LoadedRecord,
  hash: string,
  size: number,
  tid: Tid,
): Promise<boolean> {
  try {
    await storage.readBlob(hash, 0, Math.min(size, 1));
    return true;
  } catch (error) {
    if (!(await recordGone(storage, record.oid, tid))) {
      throw new StorageError(
        `db.backup: blob ${hash} of the blob record ${record.oid} (transaction ${tid}) cannot be read: ${(error as Error).message}. The database is damaged there: run db.verify().`,
        { cause: error },
      );
    }
    return false;
  }
}

async function recordGone(storage: Storage, oid: number, tid: Tid): Promise<boolean> {
  try {
    const [record] = await storage.load([oid], tid);
    return record?.tid !== tid;
  } catch (error) {
    if (error instanceof ReadConflictError) return true;
    throw error;
  }
}

/**
 * The bytes of a blob file, read chunk by chunk as they are asked for (backups and exports).
 * @throws StorageError naming `where` when a read fails; CorruptStorageError when the file holds
 *   fewer bytes than `size`.
 */
export async function* blobChunks(
  storage: Storage,
  hash: string,
  size: number,
  where: string,
): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < size;) {
    const end = Math.min(size, at + BACKUP_BLOB_CHUNK);
    let bytes: Uint8Array;
    try {
      bytes = await storage.readBlob(hash, at, end);
    } catch (error) {
      // Pack may remove an unreachable blob while it is read: the backup cannot hold it whole.
      throw new StorageError(
        `Reading ${where} failed at byte ${at}: ${(error as Error).message}. If a pack ran meanwhile, try again.`,
        { cause: error },
      );
    }
    if (bytes.byteLength !== end - at) {
      throw new CorruptStorageError(
        `${where} holds fewer bytes than the ${size} its record says. The database is damaged there: run db.verify().`,
      );
    }
    at = end;
    yield bytes;
  }
}
