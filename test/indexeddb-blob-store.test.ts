import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../src/shared/errors.js';
import { WHOLE_HASH_MAX } from '../worker/blob-hash.js';
import { BLOB_CHUNKS, BLOB_FILES, IndexedDBBlobStore } from '../worker/indexeddb-blob-store.js';
import { chunkedBlob, hashOf, patterned } from './blob-store-contract.js';
import { blobDatabase, done, entriesOf, gatedBlob } from './indexeddb-blob-fixture.js';

const MIB = 1 << 20;
/** For the tests of blobs of tens of MiB (hashed by @noble/hashes to be compared). */
const LARGE = 60_000;

/** Stores `bytes` and reads them back every way the store gives them, checked. */
async function roundTrip(bytes: Uint8Array<ArrayBuffer>): Promise<void> {
  const blobs = new IndexedDBBlobStore(await blobDatabase(), IDBKeyRange);
  const hash = hashOf(bytes);
  expect(await blobs.put(new Blob([bytes]))).toEqual({ hash, size: bytes.byteLength });
  expect(await blobs.check(hash)).toBeUndefined();
  const file = await blobs.file(hash);
  expect(hashOf(new Uint8Array(await file.arrayBuffer()))).toBe(hash);
  const from = 3 * MIB - 10; // across a chunk boundary
  expect([...(await blobs.read(hash, from, from + 20))]).toEqual([
    ...bytes.subarray(from, from + 20),
  ]);
  const tail = await blobs.read(hash, bytes.byteLength - 5, bytes.byteLength + 100);
  expect([...tail]).toEqual([...bytes.subarray(bytes.byteLength - 5)]);
}

describe('IndexedDBBlobStore: chunks as Blobs', () => {
  it('stores each chunk as a Blob of its bytes, so a stored blob is read without copying it into the worker', async () => {
    const db = await blobDatabase();
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    const bytes = patterned(2 * MIB + 9);
    await blobs.put(chunkedBlob(bytes, MIB)); // streamed: 1 MiB chunks (read whole: one chunk)
    const chunks = await entriesOf(db, BLOB_CHUNKS);
    expect(chunks.map(([, value]) => value instanceof Blob)).toEqual([true, true, true]);
    const sizes = chunks.map(([, value]) => (value as Blob).size);
    expect(sizes).toEqual([MIB, MIB, 9]);
  });

  it(
    'a blob of exactly WHOLE_HASH_MAX bytes (read whole and digested at once) round-trips and checks',
    async () => {
      await roundTrip(patterned(WHOLE_HASH_MAX, 3));
    },
    LARGE,
  );

  it(
    'a blob one byte over WHOLE_HASH_MAX (hashed as it streams) round-trips and checks',
    async () => {
      await roundTrip(patterned(WHOLE_HASH_MAX + 1, 4));
    },
    LARGE,
  );

  it(
    'finds a damaged chunk of a blob over WHOLE_HASH_MAX',
    async () => {
      const db = await blobDatabase();
      const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
      const bytes = patterned(WHOLE_HASH_MAX + MIB, 5);
      const { hash } = await blobs.put(new Blob([bytes]));
      const [[key]] = await entriesOf(db, BLOB_CHUNKS);
      const tx = db.transaction(BLOB_CHUNKS, 'readwrite');
      tx.objectStore(BLOB_CHUNKS).put(new Blob([new Uint8Array(MIB)]), key);
      await done(tx);
      expect(await blobs.check(hash)).toBe('damaged');
    },
    LARGE,
  );

  it('a file of a blob missing a chunk fails instead of answering fewer bytes', async () => {
    const db = await blobDatabase();
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    const bytes = patterned(3 * MIB + 1);
    const { hash } = await blobs.put(chunkedBlob(bytes, MIB)); // streamed: 1 MiB chunks
    const keys = await entriesOf(db, BLOB_CHUNKS);
    const tx = db.transaction(BLOB_CHUNKS, 'readwrite');
    tx.objectStore(BLOB_CHUNKS).delete(keys[2]![0]);
    await done(tx);
    await expect(blobs.file(hash)).rejects.toThrow(/damaged/);
  });
});

describe('IndexedDBBlobStore: chunks written as ArrayBuffers before', () => {
  it('reads, checks, lists and sweeps a blob whose chunks are ArrayBuffers, as the store wrote them before', async () => {
    const db = await blobDatabase();
    const bytes = patterned(2 * MIB + 5, 6);
    const hash = hashOf(bytes);
    const tx = db.transaction([BLOB_CHUNKS, BLOB_FILES], 'readwrite');
    for (let i = 0; i * MIB < bytes.byteLength; i++) {
      const chunk = bytes.buffer.slice(i * MIB, Math.min((i + 1) * MIB, bytes.byteLength));
      tx.objectStore(BLOB_CHUNKS).put(chunk, ['old-put', i]);
    }
    tx.objectStore(BLOB_FILES).put({ putId: 'old-put', size: bytes.byteLength, time: 1 }, hash);
    await done(tx);
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    expect(await blobs.check(hash)).toBeUndefined();
    expect([...(await blobs.read(hash, MIB - 2, MIB + 3))]).toEqual([
      ...bytes.subarray(MIB - 2, MIB + 3),
    ]);
    const file = await blobs.file(hash);
    expect(hashOf(new Uint8Array(await file.arrayBuffer()))).toBe(hash);
    expect(await blobs.stats()).toEqual({ blobs: 1, blobBytes: bytes.byteLength });
    // Stored again by the new code: kept once, under the old chunks.
    expect(await blobs.put(new Blob([bytes]))).toEqual({ hash, size: bytes.byteLength });
    expect((await entriesOf(db, BLOB_CHUNKS)).length).toBe(3);
    expect(await blobs.sweep(new Set(), Date.now() + 1)).toEqual({
      removed: 1,
      bytes: bytes.byteLength,
    });
    expect(await entriesOf(db, BLOB_CHUNKS)).toEqual([]);
  });

  it('finds an ArrayBuffer chunk written before damaged', async () => {
    const db = await blobDatabase();
    const bytes = patterned(MIB + 5, 7);
    const hash = hashOf(bytes);
    const tx = db.transaction([BLOB_CHUNKS, BLOB_FILES], 'readwrite');
    const first = bytes.buffer.slice(0, MIB);
    new Uint8Array(first)[100]! ^= 1; // one bit flipped on disk
    tx.objectStore(BLOB_CHUNKS).put(first, ['old-put', 0]);
    tx.objectStore(BLOB_CHUNKS).put(bytes.buffer.slice(MIB), ['old-put', 1]);
    tx.objectStore(BLOB_FILES).put({ putId: 'old-put', size: bytes.byteLength, time: 1 }, hash);
    await done(tx);
    expect(await new IndexedDBBlobStore(db, IDBKeyRange).check(hash)).toBe('damaged');
  });
});

describe('IndexedDBBlobStore: puts cut short', () => {
  it(
    'a put whose source fails mid-way reports its failure and leaves no chunk and no entry',
    async () => {
      const db = await blobDatabase();
      const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
      const failure = new Error('the file was deleted (test)');
      const bytes = patterned(40 * MIB, 8);
      const { blob } = gatedBlob(bytes, 30, failure); // several batches written by then
      await expect(blobs.put(blob)).rejects.toBe(failure);
      expect(await entriesOf(db, BLOB_CHUNKS)).toEqual([]);
      expect(await entriesOf(db, BLOB_FILES)).toEqual([]);
      expect(await blobs.stats()).toEqual({ blobs: 0, blobBytes: 0 });
    },
    LARGE,
  );

  it(
    'a put whose written chunks another opener clears as leftovers is refused, never published short',
    async () => {
      const factory = new IDBFactory();
      const first = new IndexedDBBlobStore(await blobDatabase(factory), IDBKeyRange);
      const second = new IndexedDBBlobStore(await blobDatabase(factory), IDBKeyRange);
      const bytes = patterned(30 * MIB + 3, 9);
      const { blob, reached, release } = gatedBlob(bytes, 26); // batches of chunks written by then
      const put = first.put(blob);
      await reached;
      expect(await second.clearTemporary()).toBe(1);
      release();
      await expect(put).rejects.toThrow(StorageError);
      await expect(put).rejects.toThrow(/lost \d+ of its 31 chunks/);
      expect(await first.size(hashOf(bytes))).toBeUndefined();
    },
    LARGE,
  );
});
