/**
 * The transactions that write a blob of IndexedDBBlobStore (indexeddb-blob-store.ts), in its two
 * object stores: `blobChunks` (key `[putId, index]` → a chunk) and `blobFiles` (key hash → entry).
 *
 * A blob read whole (up to WHOLE_HASH_MAX bytes, hashed before any write) is stored by `putWhole`
 * in ONE transaction: the lookup of its hash, its bytes as one chunk, its entry. Each 'strict'
 * transaction costs a flush, and one Blob value is one file for Chromium to write: one of each is
 * what one IndexedDB put of the Blob costs (the limit the benchmark measures). A failure aborts
 * that transaction: nothing of the put is kept, no leftover to clear.
 *
 * A blob hashed as it streams is written a few chunks per transaction (`writeChunks`), then made
 * visible by `publishChunks`, which counts them in its transaction: another opener clearing
 * leftovers meanwhile may have removed some.
 *
 * Both make the blob visible only whole, in the transaction that looks its hash up: stored already
 * with every chunk → only its time moves; stored but missing chunks, of another size, or (up to
 * WHOLE_HASH_MAX bytes) with a chunk cut short → the put's bytes replace it (storing the bytes
 * again is what a damaged blob's error tells the app).
 */
import type { DBSchema, IDBPDatabase, IDBPTransaction } from 'idb';
import { StorageError } from '../src/shared/errors.js';
import { WHOLE_HASH_MAX } from './blob-hash.js';
import {
  chunkCount,
  chunksWhole,
  type BlobEntry,
  type ChunkValue,
} from './indexeddb-blob-chunks.js';
import { runWrite } from './indexeddb-writes.js';

/** The object store of blob chunks. */
export const BLOB_CHUNKS = 'blobChunks';
/** The object store of stored blobs (hash → entry). */
export const BLOB_FILES = 'blobFiles';

/** The two object stores, typed for idb. */
export interface BlobSchema extends DBSchema {
  /** Key `[putId, index]` → a chunk. */
  blobChunks: { key: [string, number]; value: ChunkValue };
  /** Key hash → entry. */
  blobFiles: { key: string; value: BlobEntry };
}

/** The blob database as IndexedDBBlobStore writes it. */
export interface BlobDatabase {
  /** The database, wrapped by idb. */
  db: IDBPDatabase<BlobSchema>;
  /** The platform's IDBKeyRange. */
  keys: typeof IDBKeyRange;
  /** IndexedDB's durability hint for the transactions that write. */
  durability: 'strict' | 'relaxed';
}

/** What a put changed in the counts: blobs added (0 or 1), bytes added (negative: fewer). */
export interface CountChange {
  /** Blobs added: 1 for a hash not stored before, else 0. */
  blobs: number;
  /** Bytes added (a replaced copy of another size counts its difference). */
  bytes: number;
}

/** What the failure of a put leaves. */
export const NOTHING_STORED = 'Nothing of the blob was stored; the stored data is intact.';

/** Every chunk key of put `putId`. */
export function chunksOf(keys: typeof IDBKeyRange, putId: string): IDBKeyRange {
  return keys.bound([putId, 0], [putId, Infinity]);
}

type WriteTx = IDBPTransaction<BlobSchema, ('blobFiles' | 'blobChunks')[], 'readwrite'>;

/**
 * Entry `hash` in `tx` (`stored`), and whether it is whole (`intact`): of `size` bytes, with every
 * chunk its entry names, each of its size for a blob of up to WHOLE_HASH_MAX bytes (a handful of
 * chunks, Blob values given as handles: no byte read; a one-chunk blob's chunk cut short would
 * otherwise count as whole), only counted for larger ones (thousands of chunks).
 */
async function lookUp(
  { keys }: BlobDatabase,
  tx: WriteTx,
  hash: string,
  size: number,
): Promise<{ stored: BlobEntry | undefined; intact: boolean }> {
  const stored = await tx.objectStore(BLOB_FILES).get(hash);
  if (stored === undefined || stored.size !== size) return { stored, intact: false };
  const chunks = tx.objectStore(BLOB_CHUNKS);
  const count = chunkCount(stored);
  const intact =
    size <= WHOLE_HASH_MAX
      ? chunksWhole(await chunks.getAll(chunksOf(keys, stored.putId)), 0, count - 1, stored)
      : (await chunks.count(chunksOf(keys, stored.putId))) === count;
  return { stored, intact };
}

/**
 * Ends a put in `tx`: moves the time of `stored` if `intact`, else writes `entry` under `hash`,
 * deleting the chunks of a damaged `stored` copy. Issues its writes without awaiting them
 * (`writes`, as `runWrite` wants) and answers the change in the counts.
 */
function settle(
  { keys }: BlobDatabase,
  tx: WriteTx,
  writes: Promise<unknown>[],
  hash: string,
  entry: BlobEntry,
  stored: BlobEntry | undefined,
  intact: boolean,
): CountChange {
  const files = tx.objectStore(BLOB_FILES);
  if (intact) {
    writes.push(files.put({ ...stored!, time: entry.time }, hash));
    return { blobs: 0, bytes: 0 };
  }
  writes.push(files.put(entry, hash));
  if (stored === undefined) return { blobs: 1, bytes: entry.size };
  writes.push(tx.objectStore(BLOB_CHUNKS).delete(chunksOf(keys, stored.putId)));
  return { blobs: 0, bytes: entry.size - stored.size };
}

/**
 * Stores `chunk`, a Blob made of the bytes whose SHA-256 is `hash`, as put `putId` in one
 * transaction: its lookup, the chunk `[putId, 0]` (none when empty) and the entry, unless the hash
 * is stored intact (then only its time moves and no chunk is written).
 * @throws StorageFullError (quota) or StorageError, nothing of the put stored.
 */
export async function putWhole(
  store: BlobDatabase,
  hash: string,
  putId: string,
  chunk: Blob,
): Promise<CountChange> {
  const { db, durability } = store;
  const size = chunk.size;
  const tx = db.transaction([BLOB_FILES, BLOB_CHUNKS], 'readwrite', { durability });
  return runWrite(
    tx,
    async (writes) => {
      const { stored, intact } = await lookUp(store, tx, hash, size);
      if (!intact && size > 0) writes.push(tx.objectStore(BLOB_CHUNKS).put(chunk, [putId, 0]));
      const entry = { putId, size, time: Date.now(), ...(size > 0 ? { chunk: size } : {}) };
      return settle(store, tx, writes, hash, entry, stored, intact);
    },
    'storing a blob',
    NOTHING_STORED,
  );
}

/**
 * Makes the streamed put `putId` (its `chunks` of BLOB_CHUNK written, `size` bytes) visible under
 * `hash`, in the transaction that looks `hash` up and counts the put's chunks; the put's chunks are
 * deleted when the hash is stored intact.
 * @throws StorageError when some of the put's chunks are gone (nothing published).
 */
export async function publishChunks(
  store: BlobDatabase,
  hash: string,
  putId: string,
  chunks: number,
  size: number,
): Promise<CountChange> {
  const { db, keys, durability } = store;
  const tx = db.transaction([BLOB_FILES, BLOB_CHUNKS], 'readwrite', { durability });
  return runWrite(
    tx,
    async (writes) => {
      // The put's chunks are counted in the transaction that publishes them: another opener of
      // the database (a new owner) clearing leftovers may have removed some of them meanwhile.
      const [{ stored, intact }, kept] = await Promise.all([
        lookUp(store, tx, hash, size),
        tx.objectStore(BLOB_CHUNKS).count(chunksOf(keys, putId)),
      ]);
      if (!intact && kept !== chunks) {
        throw new StorageError(
          `The blob being stored lost ${chunks - kept} of its ${chunks} chunks while it was written (another opener of the database removed them as leftovers of an interrupted put). ${NOTHING_STORED} Store it again.`,
        );
      }
      if (intact) writes.push(tx.objectStore(BLOB_CHUNKS).delete(chunksOf(keys, putId)));
      return settle(store, tx, writes, hash, { putId, size, time: Date.now() }, stored, intact);
    },
    'storing a blob',
    NOTHING_STORED,
  );
}

/** Writes `chunks` as chunks `first…` of put `putId`, in one transaction. */
export async function writeChunks(
  { db, durability }: BlobDatabase,
  putId: string,
  chunks: Blob[],
  first: number,
): Promise<void> {
  const tx = db.transaction(BLOB_CHUNKS, 'readwrite', { durability });
  await runWrite(
    tx,
    async (writes) => {
      chunks.forEach((chunk, i) => writes.push(tx.store.put(chunk, [putId, first + i])));
    },
    'storing a blob',
    NOTHING_STORED,
  );
}

/** Deletes every chunk of put `putId`, in a transaction of its own. */
export async function deleteChunks(
  { db, keys, durability }: BlobDatabase,
  putId: string,
): Promise<void> {
  const tx = db.transaction(BLOB_CHUNKS, 'readwrite', { durability });
  void tx.store.delete(chunksOf(keys, putId)).catch(() => undefined); // tx.done reports it
  await tx.done;
}
