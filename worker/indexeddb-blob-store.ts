/**
 * IndexedDBBlobStore: the BlobStore of IndexedDBStorage, in two object stores of the database's
 * IndexedDB database (added by `upgradeBlobStores` in the schema's upgrade):
 *   1. `blobChunks`: key `[putId, index]` → an ArrayBuffer of BLOB_CHUNK bytes (the last one
 *      shorter; none for an empty blob). A put writes them a few per transaction, so neither
 *      the blob nor a transaction ever holds more than CHUNKS_PER_TRANSACTION chunks.
 *   2. `blobFiles`: key hash → `{ putId, size, time }`, written last, in the transaction that
 *      checks whether the hash is stored already: a blob is visible only then, whole. Stored
 *      already: that transaction deletes the put's chunks and moves the entry's time instead.
 * Chunks no entry names are what an interrupted put left: `clearTemporary` removes them.
 * Every transaction that writes is 'strict' by default: it completes once on disk.
 */
import { sha256 } from '@noble/hashes/sha2';
import { wrap, type DBSchema, type IDBPDatabase } from 'idb';
import { CorruptStorageError, StorageError } from '../src/shared/errors.js';
import type { BlobInfo } from '../src/shared/storage.js';
import { BLOB_CHUNK, hexOf, missingBlob, type BlobProblem, type BlobStore } from './blob-store.js';
import { requireBlob, requireHash } from './folder-blob-store.js';
import { mapError } from './indexeddb-writes.js';

/** The object store of blob chunks. */
export const BLOB_CHUNKS = 'blobChunks';
/** The object store of stored blobs (hash → entry). */
export const BLOB_FILES = 'blobFiles';

/** Chunks written per transaction: memory and transaction size bounded, few commits. */
const CHUNKS_PER_TRANSACTION = 4;
/** Entries read per transaction when walking `blobFiles`. */
const PAGE = 1000;

/** A stored blob: whose chunks, how many bytes, when last stored (ms since the epoch). */
interface BlobEntry {
  putId: string;
  size: number;
  time: number;
}

interface BlobSchema extends DBSchema {
  blobChunks: { key: [string, number]; value: ArrayBuffer };
  blobFiles: { key: string; value: BlobEntry };
}

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

const NOTHING_STORED = 'Nothing of the blob was stored; the stored data is intact.';

/**
 * A BlobStore in an IndexedDB database upgraded by `upgradeBlobStores`.
 * @example
 * const blobs = new IndexedDBBlobStore(unwrap(db), platform.IDBKeyRange);
 */
export class IndexedDBBlobStore implements BlobStore {
  private readonly db: IDBPDatabase<BlobSchema>;
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
  }

  async put(blob: Blob): Promise<BlobInfo> {
    requireBlob(blob);
    const putId = `${Date.now().toString(36)}-${crypto.randomUUID()}`;
    const reader = (blob.stream() as ReadableStream<Uint8Array>).getReader();
    const hasher = sha256.create();
    let pending: ArrayBuffer[] = [];
    let index = 0;
    let size = 0;
    const current = new Uint8Array(BLOB_CHUNK);
    let filled = 0;
    /** The source's own failure (a File deleted meanwhile): reported as it is. */
    let sourceError: unknown;
    const writePending = async (): Promise<void> => {
      const tx = this.db.transaction(BLOB_CHUNKS, 'readwrite', { durability: this.durability });
      try {
        for (const chunk of pending)
          void tx.store.put(chunk, [putId, index++]).catch(() => undefined); // tx.done reports it
      } catch (error) {
        tx.abort(); // a put refused at once: none of this batch is kept
        await tx.done.catch(() => undefined); // aborted on purpose: `error` is what happened
        throw error;
      }
      pending = [];
      await tx.done;
    };
    const chunkDone = async (): Promise<void> => {
      pending.push(current.buffer.slice(0, filled));
      hasher.update(current.subarray(0, filled));
      size += filled;
      filled = 0;
      if (pending.length === CHUNKS_PER_TRANSACTION) await writePending();
    };
    try {
      for (;;) {
        const { done, value } = await reader.read().catch((error: unknown) => {
          sourceError = error;
          throw error;
        });
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
      if (pending.length > 0) await writePending();
      const hash = hexOf(hasher.digest());
      const tx = this.db.transaction([BLOB_FILES, BLOB_CHUNKS], 'readwrite', {
        durability: this.durability,
      });
      const files = tx.objectStore(BLOB_FILES);
      // The put's chunks are counted in the transaction that publishes them: another opener of
      // the database (a new owner) clearing leftovers may have removed some of them meanwhile.
      const [found, kept] = await Promise.all([
        files.get(hash),
        tx.objectStore(BLOB_CHUNKS).count(this.chunksOf(putId)),
      ]);
      if (found === undefined && kept !== index) {
        tx.abort();
        await tx.done.catch(() => undefined); // aborted on purpose
        throw new StorageError(
          `The blob being stored lost ${index - kept} of its ${index} chunks while it was written (another opener of the database removed them as leftovers of an interrupted put). ${NOTHING_STORED} Store it again.`,
        );
      }
      const now = Date.now();
      if (found !== undefined) {
        void files.put({ ...found, time: now }, hash).catch(() => undefined); // tx.done reports it
        void tx
          .objectStore(BLOB_CHUNKS)
          .delete(this.chunksOf(putId))
          .catch(() => undefined); // idem
      } else {
        void files.put({ putId, size, time: now }, hash).catch(() => undefined); // idem
      }
      await tx.done;
      if (found === undefined) this.counted(1, size);
      return { hash, size };
    } catch (error) {
      reader.cancel().catch(() => undefined); // cancelling an errored or finished stream rejects
      await this.deleteChunks(putId).catch(() => undefined); // clearTemporary removes them on open
      throw error === sourceError ? error : mapError(error, 'storing a blob', NOTHING_STORED);
    }
  }

  async read(hash: string, start: number, end: number): Promise<Uint8Array> {
    requireHash(hash);
    const tx = this.db.transaction([BLOB_FILES, BLOB_CHUNKS], 'readonly');
    const entry = await tx.objectStore(BLOB_FILES).get(hash);
    if (entry === undefined) throw missingBlob(hash);
    const from = Math.min(Math.max(0, start), entry.size);
    const to = Math.max(from, Math.min(end, entry.size));
    const out = new Uint8Array(to - from);
    if (to === from) return out;
    const first = Math.floor(from / BLOB_CHUNK);
    const last = Math.floor((to - 1) / BLOB_CHUNK);
    const chunks = await tx
      .objectStore(BLOB_CHUNKS)
      .getAll(this.keys.bound([entry.putId, first], [entry.putId, last]));
    const expected = (i: number): number =>
      Math.min(BLOB_CHUNK, entry.size - (first + i) * BLOB_CHUNK);
    if (chunks.length !== last - first + 1 || chunks.some((c, i) => c.byteLength !== expected(i))) {
      throw new CorruptStorageError(
        `Blob ${hash} is damaged: chunks of its bytes are missing or cut short in IndexedDB. Run db.verify(), and store the Blob again.`,
      );
    }
    chunks.forEach((chunk, i) => {
      const base = (first + i) * BLOB_CHUNK;
      const bytes = new Uint8Array(chunk);
      const a = Math.max(from - base, 0);
      const b = Math.min(to - base, bytes.byteLength);
      if (a < b) out.set(bytes.subarray(a, b), base + a - from);
    });
    return out;
  }

  async file(hash: string): Promise<Blob> {
    requireHash(hash);
    const entry = await this.db.get(BLOB_FILES, hash);
    if (entry === undefined) throw missingBlob(hash);
    // Composed a few chunks at a time: a Blob of Blobs references their bytes without copying
    // them into this thread's memory (Chromium keeps large Blobs on disk).
    let blob = new Blob([]);
    for await (const chunks of this.chunkPages(entry)) blob = new Blob([blob, ...chunks]);
    return blob;
  }

  async size(hash: string): Promise<number | undefined> {
    requireHash(hash);
    return (await this.db.get(BLOB_FILES, hash))?.size;
  }

  async check(hash: string): Promise<BlobProblem | undefined> {
    requireHash(hash);
    const entry = await this.db.get(BLOB_FILES, hash);
    if (entry === undefined) return 'missing';
    const hasher = sha256.create();
    let size = 0;
    for await (const chunks of this.chunkPages(entry)) {
      for (const chunk of chunks) {
        hasher.update(new Uint8Array(chunk));
        size += chunk.byteLength;
      }
    }
    return size === entry.size && hexOf(hasher.digest()) === hash ? undefined : 'damaged';
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
          .delete(this.chunksOf(entry.putId))
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
        void chunks.delete(this.chunksOf(putId)).catch(() => undefined); // tx.done reports it
        removed++;
      }
      cursor = await cursor.continue([putId, Infinity]); // the next put's first chunk
    }
    await tx.done;
    return removed;
  }

  /** Every chunk key of put `putId`. */
  private chunksOf(putId: string): IDBKeyRange {
    return this.keys.bound([putId, 0], [putId, Infinity]);
  }

  private async deleteChunks(putId: string): Promise<void> {
    const tx = this.db.transaction(BLOB_CHUNKS, 'readwrite', { durability: this.durability });
    void tx.store.delete(this.chunksOf(putId)).catch(() => undefined); // tx.done reports it
    await tx.done;
  }

  /** The chunks of `entry`, CHUNKS_PER_TRANSACTION per read transaction. */
  private async *chunkPages(entry: BlobEntry): AsyncIterable<ArrayBuffer[]> {
    const count = Math.ceil(entry.size / BLOB_CHUNK);
    for (let i = 0; i < count; i += CHUNKS_PER_TRANSACTION) {
      const last = Math.min(count, i + CHUNKS_PER_TRANSACTION) - 1;
      yield await this.db.getAll(
        BLOB_CHUNKS,
        this.keys.bound([entry.putId, i], [entry.putId, last]),
      );
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
