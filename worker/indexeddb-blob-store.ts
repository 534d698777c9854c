/**
 * IndexedDBBlobStore: the BlobStore of IndexedDBStorage, in two object stores of the database's
 * IndexedDB database (added by `upgradeBlobStores` in the schema's upgrade):
 *   1. `blobChunks`: key `[putId, index]` → a Blob made of exactly the bytes the put hashed
 *      (indexeddb-blob-chunks.ts; databases written before hold ArrayBuffers, read alike). A blob of
 *      up to WHOLE_HASH_MAX bytes is read whole, digested natively (blob-hash.ts), then stored in
 *      ONE transaction as ONE chunk (none for an empty blob). Larger ones, and sources with a
 *      stream of their own, are hashed as they stream, in chunks of BLOB_CHUNK (the last shorter)
 *      written a few per transaction, one transaction in flight while it reads on.
 *   2. `blobFiles`: key hash → `{ putId, size, time, chunk? }` (`chunk`: the chunks' size when not
 *      BLOB_CHUNK), written in the transaction that looks the hash up (and, for a streamed put,
 *      counts its chunks): a blob is visible only then, whole. Stored already and intact: only the
 *      entry's time moves; stored but missing chunks: the put's copy replaces it.
 * How each put writes: indexeddb-blob-write.ts. Chunks no entry names are what an interrupted
 * streamed put left: `clearTemporary` removes them. Every transaction that writes is 'strict' by
 * default: it completes once on disk. */
import { wrap, type IDBPDatabase } from 'idb';
import { CorruptStorageError } from '../src/shared/errors.js';
import type { BlobInfo } from '../src/shared/storage.js';
import { digestWhole, streamHasher } from './blob-hash.js';
import { BLOB_CHUNK, hexOf, missingBlob, type BlobProblem, type BlobStore } from './blob-store.js';
import {
  ChunkWriter,
  chunkBlob,
  chunkCount,
  chunkOf,
  chunksWhole,
  hashChunks,
  readsWhole,
  type BlobEntry,
  type ChunkValue,
} from './indexeddb-blob-chunks.js';
import {
  BLOB_CHUNKS,
  BLOB_FILES,
  NOTHING_STORED,
  chunksOf,
  deleteChunks,
  publishChunks,
  putWhole,
  writeChunks,
  type BlobDatabase,
  type BlobSchema,
  type CountChange,
} from './indexeddb-blob-write.js';
import { requireBlob, requireHash } from './folder-blob-store.js';
import { mapError } from './indexeddb-writes.js';

export { BLOB_CHUNKS, BLOB_FILES } from './indexeddb-blob-write.js';

/**
 * Chunks written per transaction by a streamed put: each 'strict' transaction costs a flush, and a
 * batch of Blob chunks holds its bytes until written. 8 and 32 per transaction measured no faster
 * than 4 in Chromium (shelfdbIdb.write, 10 and 50 MiB), so the batch stays small.
 */
const CHUNKS_PER_TRANSACTION = 4;
/** Chunks read per transaction (handles for Blob chunks; bytes for old ArrayBuffer ones). */
const CHUNKS_PER_READ = 16;
/** Entries read per transaction when walking `blobFiles`. */
const PAGE = 1000;

/**
 * Creates the blob object stores; call it from the database's `upgradeneeded` (any old version:
 * it adds only what is missing).
 * @example
 * request.onupgradeneeded = (event) => upgradeBlobStores(request.result, event.oldVersion);
 */
export function upgradeBlobStores(db: IDBDatabase, oldVersion: number): void {
  void oldVersion; // every version before blobs lacks both stores; none has them in another form
  for (const store of [BLOB_CHUNKS, BLOB_FILES]) {
    if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
  }
}

/** The error for a stored blob whose chunks are missing or cut short. */
function damagedBlob(hash: string): CorruptStorageError {
  return new CorruptStorageError(
    `Blob ${hash} is damaged: chunks of its bytes are missing or cut short in IndexedDB. Run db.verify(), and store the Blob again.`,
  );
}

/**
 * A BlobStore in an IndexedDB database upgraded by `upgradeBlobStores`.
 * @example
 * const blobs = new IndexedDBBlobStore(unwrap(db), platform.IDBKeyRange);
 */
export class IndexedDBBlobStore implements BlobStore {
  private readonly db: IDBPDatabase<BlobSchema>;
  /** What the writing transactions need (indexeddb-blob-write.ts). */
  private readonly target: BlobDatabase;
  /** The counts, once a walk made them; undefined before. */
  private counts: { blobs: number; blobBytes: number } | undefined;
  /** Bumped by every change of the counts: a walk overlapping one does not cache its counts. */
  private changes = 0;

  constructor(
    db: IDBDatabase,
    private readonly keys: typeof IDBKeyRange,
    /** IndexedDB's durability hint for the transactions that write. */
    private readonly durability: 'strict' | 'relaxed' = 'strict',
  ) {
    this.db = wrap(db) as unknown as IDBPDatabase<BlobSchema>;
    this.target = { db: this.db, keys, durability };
  }

  async put(blob: Blob): Promise<BlobInfo> {
    requireBlob(blob);
    const putId = `${Date.now().toString(36)}-${crypto.randomUUID()}`;
    /** The source's own failure (a File deleted meanwhile): reported as it is. */
    let sourceError: unknown;
    const source = <T>(reading: Promise<T>): Promise<T> =>
      reading.catch((error: unknown) => {
        sourceError = error;
        throw error;
      });
    if (readsWhole(blob)) {
      // One read of the whole Blob, digested natively, then one transaction: nothing is written
      // before the hash is known, so a failure anywhere leaves nothing to delete.
      const bytes = new Uint8Array(await source(blob.arrayBuffer()));
      // The chunk is made of these very bytes (`new Blob` copies them as called) before the digest
      // runs: Chromium moves them out of the worker while WebCrypto hashes them off-thread
      // (measured at 10 MiB: the transaction ~200 → ~100 ms).
      const chunk = new Blob([bytes]);
      try {
        const hash = hexOf(await digestWhole(bytes));
        return this.stored(hash, chunk.size, await putWhole(this.target, hash, putId, chunk));
      } catch (error) {
        throw mapError(error, 'storing a blob', NOTHING_STORED); // the digest's failure too
      }
    }
    const writer = new ChunkWriter(
      (chunks, first) => writeChunks(this.target, putId, chunks, first),
      CHUNKS_PER_TRANSACTION,
    );
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      reader = (blob.stream() as ReadableStream<Uint8Array>).getReader();
      const hasher = streamHasher();
      const current = new Uint8Array(BLOB_CHUNK);
      let filled = 0;
      const chunkDone = async (): Promise<void> => {
        const bytes = current.subarray(0, filled);
        hasher.update(bytes);
        await writer.add(new Blob([bytes])); // copied as called: `current` is reused
        filled = 0;
      };
      for (;;) {
        const { done, value } = await source(reader.read());
        if (done) break;
        for (let at = 0; at < value.byteLength;) {
          const n = Math.min(BLOB_CHUNK - filled, value.byteLength - at);
          current.set(value.subarray(at, at + n), filled);
          filled += n;
          at += n;
          if (filled === BLOB_CHUNK) await chunkDone();
        }
      }
      if (filled > 0) await chunkDone();
      await writer.finish();
      const hash = hexOf(hasher.digest());
      const change = await publishChunks(this.target, hash, putId, writer.chunks, writer.size);
      return this.stored(hash, writer.size, change);
    } catch (error) {
      reader?.cancel().catch(() => undefined); // cancelling an errored or finished stream rejects
      await writer.settled(); // a batch still being written would land after the deletion
      await deleteChunks(this.target, putId).catch(() => undefined); // clearTemporary removes them on open
      throw error === sourceError ? error : mapError(error, 'storing a blob', NOTHING_STORED);
    }
  }

  /** Counts what a put changed and answers its BlobInfo. */
  private stored(hash: string, size: number, change: CountChange): BlobInfo {
    if (change.blobs !== 0 || change.bytes !== 0) this.counted(change.blobs, change.bytes);
    return { hash, size };
  }

  async read(hash: string, start: number, end: number): Promise<Uint8Array> {
    requireHash(hash);
    const tx = this.db.transaction([BLOB_FILES, BLOB_CHUNKS], 'readonly');
    const entry = await tx.objectStore(BLOB_FILES).get(hash);
    if (entry === undefined) throw missingBlob(hash);
    const from = Math.min(Math.max(0, start), entry.size);
    const to = Math.max(from, Math.min(end, entry.size));
    if (to === from) return new Uint8Array(0);
    const chunk = chunkOf(entry);
    const first = Math.floor(from / chunk);
    const last = Math.floor((to - 1) / chunk);
    const chunks = await tx
      .objectStore(BLOB_CHUNKS)
      .getAll(this.keys.bound([entry.putId, first], [entry.putId, last]));
    if (!chunksWhole(chunks, first, last, entry)) throw damagedBlob(hash);
    // Blob chunks come as handles: only the bytes asked for are read.
    const base = first * chunk;
    const joined = new Blob(chunks.map(chunkBlob));
    return new Uint8Array(await joined.slice(from - base, to - base).arrayBuffer());
  }

  async file(hash: string): Promise<Blob> {
    requireHash(hash);
    const entry = await this.db.get(BLOB_FILES, hash);
    if (entry === undefined) throw missingBlob(hash);
    // A Blob of the chunks' Blobs: handles to their files, no byte read here (an old ArrayBuffer
    // chunk is copied into a Blob, a page of them at a time).
    const parts: Blob[] = [];
    for await (const { first, last, chunks } of this.chunkPages(entry)) {
      if (!chunksWhole(chunks, first, last, entry)) throw damagedBlob(hash);
      parts.push(...chunks.map(chunkBlob));
    }
    return new Blob(parts);
  }

  async size(hash: string): Promise<number | undefined> {
    requireHash(hash);
    return (await this.db.get(BLOB_FILES, hash))?.size;
  }

  async check(hash: string): Promise<BlobProblem | undefined> {
    requireHash(hash);
    const entry = await this.db.get(BLOB_FILES, hash);
    if (entry === undefined) return 'missing';
    let whole = true;
    const pages = this.chunkPages(entry);
    // The chunks' sizes are checked before their bytes are read: memory stays bounded by the
    // entry's size even for a damaged chunk.
    async function* checked(): AsyncIterable<ChunkValue[]> {
      for await (const { first, last, chunks } of pages) {
        whole = chunksWhole(chunks, first, last, entry!);
        if (!whole) return;
        yield chunks;
      }
    }
    const stored = await hashChunks(checked(), entry.size);
    return whole && stored.size === entry.size && stored.hash === hash ? undefined : 'damaged';
  }

  async sweep(
    keep: ReadonlySet<string>,
    before: number,
  ): Promise<{ removed: number; bytes: number }> {
    let removed = 0;
    let bytes = 0;
    for await (const [hash, listed] of this.entries()) {
      if (keep.has(hash) || listed.time >= before) continue;
      // Checked again in the transaction that deletes: a put finding it stored since moved its time.
      const tx = this.db.transaction([BLOB_FILES, BLOB_CHUNKS], 'readwrite', {
        durability: this.durability,
      });
      const entry = await tx.objectStore(BLOB_FILES).get(hash);
      if (entry !== undefined && entry.time < before) {
        void tx
          .objectStore(BLOB_FILES)
          .delete(hash)
          .catch(() => undefined); // tx.done reports it
        void tx
          .objectStore(BLOB_CHUNKS)
          .delete(chunksOf(this.keys, entry.putId))
          .catch(() => undefined); // idem
      }
      try {
        await tx.done;
      } catch (error) {
        throw mapError(error, 'removing unreferenced blobs', 'The blobs not removed yet are kept.');
      }
      if (entry === undefined || entry.time >= before) continue;
      this.counted(-1, -entry.size);
      removed++;
      bytes += entry.size;
    }
    return { removed, bytes };
  }

  async stats(): Promise<{ blobs: number; blobBytes: number }> {
    if (this.counts !== undefined) return { ...this.counts };
    const changes = this.changes;
    let blobs = 0;
    let blobBytes = 0;
    for await (const [, entry] of this.entries()) {
      blobs++;
      blobBytes += entry.size;
    }
    if (changes === this.changes) this.counts = { blobs, blobBytes };
    return { blobs, blobBytes };
  }

  async *list(): AsyncIterable<BlobInfo> {
    for await (const [hash, { size }] of this.entries()) yield { hash, size };
  }

  async clearTemporary(): Promise<number> {
    // One transaction reads the entries and deletes the chunks none names: a put publishing its
    // entry meanwhile (another opener's) is either seen here or publishes after, counting its
    // chunks then (put refuses to publish a blob whose chunks went).
    const tx = this.db.transaction([BLOB_FILES, BLOB_CHUNKS], 'readwrite', {
      durability: this.durability,
    });
    const named = new Set<string>();
    for (const entry of await tx.objectStore(BLOB_FILES).getAll()) named.add(entry.putId);
    const chunks = tx.objectStore(BLOB_CHUNKS);
    let removed = 0;
    let cursor = await chunks.openKeyCursor();
    while (cursor !== null) {
      const [putId] = cursor.key;
      if (!named.has(putId)) {
        void chunks.delete(chunksOf(this.keys, putId)).catch(() => undefined); // tx.done reports it
        removed++;
      }
      cursor = await cursor.continue([putId, Infinity]); // the next put's first chunk
    }
    await tx.done;
    return removed;
  }

  /**
   * The chunks of `entry`, CHUNKS_PER_READ per read transaction, with their indexes (Blob chunks
   * are handles: a page of chunks of a blob put whole is at most WHOLE_HASH_MAX bytes, unread).
   */
  private async *chunkPages(
    entry: BlobEntry,
  ): AsyncIterable<{ first: number; last: number; chunks: ChunkValue[] }> {
    const count = chunkCount(entry);
    for (let first = 0; first < count; first += CHUNKS_PER_READ) {
      const last = Math.min(count, first + CHUNKS_PER_READ) - 1;
      const range = this.keys.bound([entry.putId, first], [entry.putId, last]);
      yield { first, last, chunks: await this.db.getAll(BLOB_CHUNKS, range) };
    }
  }

  /** Every `blobFiles` entry, PAGE per read transaction (none held open across a yield). */
  private async *entries(): AsyncIterable<[string, BlobEntry]> {
    let after: string | undefined;
    for (;;) {
      const range = after === undefined ? undefined : this.keys.lowerBound(after, true);
      const tx = this.db.transaction(BLOB_FILES, 'readonly');
      const [keys, values] = await Promise.all([
        tx.store.getAllKeys(range, PAGE),
        tx.store.getAll(range, PAGE),
      ]);
      for (let i = 0; i < keys.length; i++) yield [keys[i]!, values[i]!];
      if (keys.length < PAGE) return;
      after = keys[keys.length - 1];
    }
  }

  /** Notes a blob stored (+1) or removed (−1) in the counts, if there are counts. */
  private counted(blobs: number, bytes: number): void {
    this.changes++;
    if (this.counts === undefined) return;
    this.counts.blobs += blobs;
    this.counts.blobBytes += bytes;
  }
}
