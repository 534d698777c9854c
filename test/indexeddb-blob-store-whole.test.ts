/**
 * IndexedDBBlobStore: a blob of up to WHOLE_HASH_MAX bytes is read whole, hashed, then stored in
 * ONE readwrite transaction as ONE chunk and its entry (which says its chunk size); entries
 * written before, without a chunk size, are in 1 MiB chunks and read so.
 */
import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBKeyRange } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageFullError } from '../src/shared/errors.js';
import { BLOB_CHUNKS, BLOB_FILES, IndexedDBBlobStore } from '../worker/indexeddb-blob-store.js';
import { chunkedBlob, hashOf, patterned } from './blob-store-contract.js';
import { blobDatabase, done, entriesOf } from './indexeddb-blob-fixture.js';

const MIB = 1 << 20;

/** Runs `change` on the chunks store in a transaction of its own (damage done on disk). */
async function changeChunks(db: IDBDatabase, change: (chunks: IDBObjectStore) => void) {
  const tx = db.transaction(BLOB_CHUNKS, 'readwrite');
  change(tx.objectStore(BLOB_CHUNKS));
  await done(tx);
}

/** Stores `bytes` as the store wrote them before: 1 MiB Blob chunks, an entry without `chunk`. */
async function storeAsBefore(db: IDBDatabase, bytes: Uint8Array<ArrayBuffer>, putId = 'old-put') {
  const tx = db.transaction([BLOB_CHUNKS, BLOB_FILES], 'readwrite');
  for (let i = 0; i * MIB < bytes.byteLength; i++) {
    tx.objectStore(BLOB_CHUNKS).put(new Blob([bytes.subarray(i * MIB, (i + 1) * MIB)]), [putId, i]);
  }
  tx.objectStore(BLOB_FILES).put({ putId, size: bytes.byteLength, time: 1 }, hashOf(bytes));
  await done(tx);
}

/** Asserts `actual` holds exactly `expected`'s bytes (compared by hash: large arrays diff slowly). */
function sameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.byteLength).toBe(expected.byteLength);
  expect(hashOf(actual)).toBe(hashOf(expected));
}

const restore: (() => void)[] = [];
afterEach(() => {
  for (const undo of restore.splice(0)) undo();
});

/** Counts the readwrite transactions opened from now on. */
function countWriteTransactions(): { count: number } {
  const counter = { count: 0 };
  const original = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args) {
    if (args[1] === 'readwrite') counter.count++;
    return original.apply(this, args);
  } as typeof original;
  restore.push(() => (IDBDatabase.prototype.transaction = original));
  return counter;
}

/** Makes `put` on object store `name` throw QuotaExceededError, once, until restored. */
function quotaOnPut(name: string): void {
  const original = IDBObjectStore.prototype.put;
  let thrown = false;
  IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args) {
    if (this.name === name && !thrown) {
      thrown = true;
      throw new DOMException('quota (test)', 'QuotaExceededError');
    }
    return original.apply(this, args);
  } as typeof original;
  restore.push(() => (IDBObjectStore.prototype.put = original));
}

describe('IndexedDBBlobStore: a blob read whole is one chunk, written in one transaction', () => {
  it('stores a blob read whole as one chunk of its bytes and one entry, in one readwrite transaction', async () => {
    const db = await blobDatabase();
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    const bytes = patterned(3 * MIB + 5, 21);
    const writes = countWriteTransactions();
    const { hash } = await blobs.put(new Blob([bytes]));
    expect(writes.count).toBe(1);
    const chunks = await entriesOf(db, BLOB_CHUNKS);
    expect(chunks.length).toBe(1);
    const [[key, value]] = chunks as [[[string, number], Blob]];
    expect(key[1]).toBe(0);
    expect(value).toBeInstanceOf(Blob);
    expect(hashOf(new Uint8Array(await value.arrayBuffer()))).toBe(hash);
    const files = await entriesOf(db, BLOB_FILES);
    expect(files).toEqual([
      [
        hash,
        { putId: key[0], size: bytes.byteLength, time: expect.any(Number), chunk: 3 * MIB + 5 },
      ],
    ]);
  });

  it('reads ranges of a blob stored as one chunk at its start, middle and end, and nothing for an empty range or one past the end', async () => {
    const blobs = new IndexedDBBlobStore(await blobDatabase(), IDBKeyRange);
    const size = 5 * MIB + 3;
    const bytes = patterned(size, 22);
    const { hash } = await blobs.put(new Blob([bytes]));
    const ranges: [number, number][] = [
      [0, 10],
      [-5, 3], // clamped to the start
      [2 * MIB - 7, 2 * MIB + 9], // across where a 1 MiB chunk would end
      [size - 6, size],
      [size - 2, size + 100], // clamped to the end
      [0, size],
    ];
    for (const [start, end] of ranges) {
      const from = Math.max(0, start);
      sameBytes(await blobs.read(hash, start, end), bytes.subarray(from, Math.min(end, size)));
    }
    for (const [start, end] of [
      [7, 7],
      [9, 3],
      [size, size + 10],
      [size + 5, size + 100],
    ] as const) {
      expect((await blobs.read(hash, start, end)).byteLength).toBe(0);
    }
    const file = await blobs.file(hash);
    expect(file.size).toBe(size);
    expect(hashOf(new Uint8Array(await file.arrayBuffer()))).toBe(hash);
    expect(await blobs.check(hash)).toBeUndefined();
  });

  it('finds a blob stored as one chunk damaged when its chunk is cut short, replaced by other bytes, or gone', async () => {
    const db = await blobDatabase();
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    const bytes = patterned(2 * MIB + 1, 23);
    const { hash } = await blobs.put(new Blob([bytes]));
    const [[key]] = await entriesOf(db, BLOB_CHUNKS);
    const cut = new Blob([bytes.subarray(0, bytes.byteLength - 1)]);
    await changeChunks(db, (chunks) => chunks.put(cut, key));
    expect(await blobs.check(hash)).toBe('damaged');
    await expect(blobs.read(hash, 0, 4)).rejects.toThrow(/damaged/);
    await expect(blobs.file(hash)).rejects.toThrow(/damaged/);
    const other = bytes.slice();
    other[MIB + 17]! ^= 1; // one bit flipped: the size is right, the bytes are not
    await changeChunks(db, (chunks) => chunks.put(new Blob([other]), key));
    expect(await blobs.check(hash)).toBe('damaged');
    await changeChunks(db, (chunks) => chunks.delete(key));
    expect(await blobs.check(hash)).toBe('damaged');
    await expect(blobs.read(hash, MIB, MIB + 1)).rejects.toThrow(/damaged/);
  });

  it('a blob stored as one chunk that lost it, put again with the same bytes, checks and reads whole, counted once', async () => {
    const db = await blobDatabase();
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    const bytes = patterned(MIB + 9, 24);
    const { hash } = await blobs.put(new Blob([bytes]));
    const [[key]] = await entriesOf(db, BLOB_CHUNKS);
    await changeChunks(db, (chunks) => chunks.delete(key));
    expect(await blobs.check(hash)).toBe('damaged');
    expect(await blobs.put(new Blob([bytes]))).toEqual({ hash, size: bytes.byteLength });
    expect(await blobs.check(hash)).toBeUndefined();
    sameBytes(await blobs.read(hash, MIB, MIB + 9), bytes.subarray(MIB, MIB + 9));
    expect((await entriesOf(db, BLOB_CHUNKS)).length).toBe(1);
    expect(await blobs.stats()).toEqual({ blobs: 1, blobBytes: bytes.byteLength });
  });

  it('a blob stored as one chunk whose chunk was cut short, put again with the same bytes, checks and reads whole', async () => {
    const db = await blobDatabase();
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    const bytes = patterned(2 * MIB + 9, 32);
    const { hash } = await blobs.put(new Blob([bytes]));
    const [[key]] = await entriesOf(db, BLOB_CHUNKS);
    const cut = new Blob([bytes.subarray(0, MIB)]);
    await changeChunks(db, (chunks) => chunks.put(cut, key));
    expect(await blobs.check(hash)).toBe('damaged');
    await blobs.put(new Blob([bytes]));
    expect(await blobs.check(hash)).toBeUndefined();
    sameBytes(await blobs.read(hash, 0, bytes.byteLength), bytes);
    expect((await entriesOf(db, BLOB_CHUNKS)).length).toBe(1);
  });

  it('the same bytes put twice at once are stored once: one entry, one chunk, counted once', async () => {
    const db = await blobDatabase();
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    expect(await blobs.stats()).toEqual({ blobs: 0, blobBytes: 0 }); // counts kept from here
    const bytes = patterned(3 * MIB, 25);
    const [a, b] = await Promise.all([
      blobs.put(new Blob([bytes])),
      blobs.put(new Blob([bytes.slice()])),
    ]);
    expect(a).toEqual(b);
    expect((await entriesOf(db, BLOB_FILES)).map(([key]) => key)).toEqual([a.hash]);
    expect((await entriesOf(db, BLOB_CHUNKS)).length).toBe(1);
    expect(await blobs.stats()).toEqual({ blobs: 1, blobBytes: bytes.byteLength });
    expect(await blobs.clearTemporary()).toBe(0);
  });

  it('sweeps a blob stored as one chunk with its chunk', async () => {
    const db = await blobDatabase();
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    const bytes = patterned(2 * MIB + 3, 26);
    await blobs.put(new Blob([bytes]));
    expect(await blobs.sweep(new Set(), Date.now() + 1)).toEqual({
      removed: 1,
      bytes: bytes.byteLength,
    });
    expect(await entriesOf(db, BLOB_CHUNKS)).toEqual([]);
    expect(await entriesOf(db, BLOB_FILES)).toEqual([]);
  });

  for (const store of [BLOB_CHUNKS, BLOB_FILES]) {
    it(`a quota error in the put's transaction (at its ${store} write) is StorageFullError, nothing is stored, and the next put works`, async () => {
      const db = await blobDatabase();
      const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
      expect(await blobs.stats()).toEqual({ blobs: 0, blobBytes: 0 });
      const bytes = patterned(4 * MIB + 1, 27);
      quotaOnPut(store);
      const error = await blobs.put(new Blob([bytes])).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageFullError);
      expect(await entriesOf(db, BLOB_CHUNKS)).toEqual([]);
      expect(await entriesOf(db, BLOB_FILES)).toEqual([]);
      expect(await blobs.stats()).toEqual({ blobs: 0, blobBytes: 0 });
      const { hash } = await blobs.put(new Blob([bytes]));
      expect(hash).toBe(hashOf(bytes));
      expect(await blobs.check(hash)).toBeUndefined();
      expect(await blobs.stats()).toEqual({ blobs: 1, blobBytes: bytes.byteLength });
    });
  }

  it('an entry with a chunk size that is no positive whole number reads and checks as damaged', async () => {
    const db = await blobDatabase();
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    const bytes = patterned(2 * MIB, 28);
    const { hash } = await blobs.put(new Blob([bytes]));
    const [[, entry]] = (await entriesOf(db, BLOB_FILES)) as [[string, object]];
    for (const chunk of [0, -1, 0.5, Number.NaN]) {
      const tx = db.transaction(BLOB_FILES, 'readwrite');
      tx.objectStore(BLOB_FILES).put({ ...entry, chunk }, hash);
      await done(tx);
      expect(await blobs.check(hash)).toBe('damaged');
      await expect(blobs.read(hash, 0, 10)).rejects.toThrow(/damaged/);
    }
  });
});

describe('IndexedDBBlobStore: blobs in 1 MiB chunks', () => {
  it('an entry written before, without a chunk size, reads, checks and files with 1 MiB chunks', async () => {
    const db = await blobDatabase();
    const bytes = patterned(3 * MIB + 2, 29);
    const hash = hashOf(bytes);
    await storeAsBefore(db, bytes);
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    expect(await blobs.check(hash)).toBeUndefined();
    sameBytes(await blobs.read(hash, MIB - 3, 2 * MIB + 4), bytes.subarray(MIB - 3, 2 * MIB + 4));
    sameBytes(await blobs.read(hash, 3 * MIB, 4 * MIB), bytes.subarray(3 * MIB));
    const file = await blobs.file(hash);
    expect(hashOf(new Uint8Array(await file.arrayBuffer()))).toBe(hash);
    // Stored again: kept as it is (its time moved), no chunk of the new put kept.
    const writes = countWriteTransactions();
    expect(await blobs.put(new Blob([bytes]))).toEqual({ hash, size: bytes.byteLength });
    expect(writes.count).toBe(1);
    const chunks = (await entriesOf(db, BLOB_CHUNKS)).map(([key]) => key);
    expect(chunks).toEqual([0, 1, 2, 3].map((i) => ['old-put', i]));
    const [[, entry]] = (await entriesOf(db, BLOB_FILES)) as [[string, { time: number }]];
    expect(entry).toEqual({ putId: 'old-put', size: bytes.byteLength, time: expect.any(Number) });
    expect(entry.time).toBeGreaterThan(1);
  });

  it('an entry written before that lost a 1 MiB chunk is replaced by one chunk when put again', async () => {
    const db = await blobDatabase();
    const bytes = patterned(3 * MIB + 2, 30);
    const hash = hashOf(bytes);
    await storeAsBefore(db, bytes);
    await changeChunks(db, (chunks) => chunks.delete(['old-put', 2]));
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    expect(await blobs.check(hash)).toBe('damaged');
    await expect(blobs.read(hash, 2 * MIB, 2 * MIB + 1)).rejects.toThrow(/damaged/);
    await blobs.put(new Blob([bytes]));
    expect(await blobs.check(hash)).toBeUndefined();
    const chunks = (await entriesOf(db, BLOB_CHUNKS)) as [[string, number], unknown][];
    expect(chunks.length).toBe(1);
    expect(chunks[0]![0][0]).not.toBe('old-put');
  });

  it('a blob with a stream of its own is still stored in 1 MiB chunks, its entry without a chunk size', async () => {
    const db = await blobDatabase();
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    const bytes = patterned(2 * MIB + 5, 31);
    const { hash } = await blobs.put(chunkedBlob(bytes, 300_000));
    const sizes = (await entriesOf(db, BLOB_CHUNKS)).map(([, value]) => (value as Blob).size);
    expect(sizes).toEqual([MIB, MIB, 5]);
    const [[, entry]] = await entriesOf(db, BLOB_FILES);
    expect(entry).not.toHaveProperty('chunk');
    sameBytes(await blobs.read(hash, MIB - 1, MIB + 1), bytes.subarray(MIB - 1, MIB + 1));
  });
});
