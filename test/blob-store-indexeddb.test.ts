import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { StorageFullError } from '../src/shared/errors.js';
import { BLOB_CHUNKS, BLOB_FILES, IndexedDBBlobStore } from '../worker/indexeddb-blob-store.js';
import { blobStoreChecks, chunkedBlob, hashOf, patterned } from './blob-store-contract.js';
import { blobDatabase, keysOf } from './indexeddb-blob-fixture.js';

const MIB = 1 << 20;

async function store(db?: IDBDatabase): Promise<IndexedDBBlobStore> {
  return new IndexedDBBlobStore(db ?? (await blobDatabase()), IDBKeyRange);
}

describe('IndexedDBBlobStore', () => {
  for (const [name, run] of blobStoreChecks) {
    it(name, async () => run(await store()));
  }

  it('adds its object stores to a database of an earlier version, keeping what it held', async () => {
    const factory = new IDBFactory();
    const old = factory.open('blobs', 1);
    old.onupgradeneeded = () => old.result.createObjectStore('records');
    const first = await new Promise<IDBDatabase>(
      (resolve) => (old.onsuccess = () => resolve(old.result)),
    );
    first.close();
    const db = await blobDatabase(factory, 2);
    expect([...db.objectStoreNames].sort()).toEqual([BLOB_CHUNKS, BLOB_FILES, 'records']);
    const bytes = patterned(10);
    expect((await (await store(db)).put(new Blob([bytes]))).hash).toBe(hashOf(bytes));
  });

  it('keeps a blob in 1 MiB chunks under one entry, and equal bytes once', async () => {
    const db = await blobDatabase();
    const blobs = await store(db);
    const bytes = patterned(2 * MIB + 5);
    const { hash } = await blobs.put(chunkedBlob(bytes, 300_000));
    await blobs.put(new Blob([bytes]));
    expect(await keysOf(db, BLOB_FILES)).toEqual([hash]);
    const chunks = (await keysOf(db, BLOB_CHUNKS)) as [string, number][];
    expect(chunks.map(([, i]) => i)).toEqual([0, 1, 2]);
  });

  it('removes the chunks of interrupted puts on clearTemporary, and only those', async () => {
    const db = await blobDatabase();
    const blobs = await store(db);
    const { hash } = await blobs.put(new Blob([patterned(MIB + 1)]));
    const tx = db.transaction(BLOB_CHUNKS, 'readwrite');
    tx.objectStore(BLOB_CHUNKS).put(new ArrayBuffer(8), ['crashed-put', 0]);
    tx.objectStore(BLOB_CHUNKS).put(new ArrayBuffer(8), ['crashed-put', 1]);
    tx.objectStore(BLOB_CHUNKS).put(new ArrayBuffer(8), ['other-crash', 0]);
    await new Promise((resolve) => (tx.oncomplete = resolve));
    expect(await blobs.clearTemporary()).toBe(2);
    expect((await keysOf(db, BLOB_CHUNKS)).length).toBe(1); // the blob's one chunk
    expect(await blobs.check(hash)).toBeUndefined();
  });

  it('turns a quota failure into StorageFullError and keeps no chunk of the blob', async () => {
    const db = await blobDatabase();
    const blobs = await store(db);
    const original = IDBObjectStore.prototype.put;
    let puts = 0;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args) {
      if (this.name === BLOB_CHUNKS && ++puts === 6) {
        throw new DOMException('quota (test)', 'QuotaExceededError');
      }
      return original.apply(this, args);
    } as typeof original;
    let error: unknown;
    try {
      error = await blobs.put(chunkedBlob(patterned(7 * MIB), MIB)).catch((e: unknown) => e);
    } finally {
      IDBObjectStore.prototype.put = original;
    }
    expect(error).toBeInstanceOf(StorageFullError);
    expect(await keysOf(db, BLOB_CHUNKS)).toEqual([]);
    expect(await keysOf(db, BLOB_FILES)).toEqual([]);
    const bytes = patterned(7 * MIB);
    expect((await blobs.put(new Blob([bytes]))).hash).toBe(hashOf(bytes));
  });

  it('finds a chunk damaged or missing', async () => {
    const db = await blobDatabase();
    const blobs = await store(db);
    const { hash } = await blobs.put(new Blob([patterned(2 * MIB)]));
    const [key] = (await keysOf(db, BLOB_CHUNKS)) as [string, number][];
    const tx = db.transaction(BLOB_CHUNKS, 'readwrite');
    tx.objectStore(BLOB_CHUNKS).put(new ArrayBuffer(MIB), key!);
    await new Promise((resolve) => (tx.oncomplete = resolve));
    expect(await blobs.check(hash)).toBe('damaged');
    const del = db.transaction(BLOB_CHUNKS, 'readwrite');
    del.objectStore(BLOB_CHUNKS).delete(key!);
    await new Promise((resolve) => (del.oncomplete = resolve));
    expect(await blobs.check(hash)).toBe('damaged');
  });
});
