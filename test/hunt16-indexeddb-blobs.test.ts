import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { IndexedDBBlobStore, upgradeBlobStores } from '../worker/indexeddb-blob-store.js';
import { chunkedBlob, hashOf, patterned } from './blob-store-contract.js';
import { gatedBlob } from './indexeddb-blob-fixture.js';

const MIB = 1 << 20;

async function database(factory: IDBFactory): Promise<IDBDatabase> {
  const request = factory.open('blobs', 1);
  request.onupgradeneeded = (event) => upgradeBlobStores(request.result, event.oldVersion);
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('open failed'));
  });
}

describe('IndexedDB blob store with two openers', () => {
  it('a put cut into by another opener clearing leftovers never publishes a blob whose bytes differ', async () => {
    const factory = new IDBFactory();
    const first = new IndexedDBBlobStore(await database(factory), IDBKeyRange);
    const second = new IndexedDBBlobStore(await database(factory), IDBKeyRange);
    const bytes = patterned(9 * MIB + 3);
    const { blob, reached, release } = gatedBlob(bytes, 6); // 4 chunks are written by then
    const put = first.put(blob);
    await reached;
    await second.clearTemporary(); // another opener (a new owner) removes "leftovers"
    release();
    const outcome = await put.then(
      (info) => info,
      (error: unknown) => error,
    );
    if (outcome instanceof Error) {
      // Refusing the put is right: nothing is published under the hash.
      expect(await first.size(hashOf(bytes))).toBeUndefined();
      return;
    }
    // Published: its bytes must be the Blob's, whole.
    expect(await first.check(hashOf(bytes))).toBeUndefined();
    const read = await first.read(hashOf(bytes), 0, bytes.byteLength);
    expect(hashOf(read)).toBe(hashOf(bytes));
  });
});

describe('IndexedDB blob store: leftovers cleared while a put publishes', () => {
  it('clearing leftovers never removes the chunks of a blob a put published meanwhile', async () => {
    const factory = new IDBFactory();
    const first = new IndexedDBBlobStore(await database(factory), IDBKeyRange);
    const second = new IndexedDBBlobStore(await database(factory), IDBKeyRange);
    const bytes = patterned(2 * MIB + 7);
    const { blob, reached, release } = gatedBlob(bytes, 2);
    const put = first.put(blob);
    await reached;
    // The other opener lists the stored blobs, then (before it deletes what no entry names) the
    // put publishes its entry.
    const listing = second as unknown as { entries: () => AsyncIterable<unknown> };
    const entries = listing.entries.bind(second);
    listing.entries = async function* () {
      yield* entries();
      release();
      await put.catch(() => undefined); // its outcome is asserted below, after the clearing
    };
    await second.clearTemporary();
    release(); // where the listing and the deletion are one step, the put goes on after both
    const { hash } = await put;
    expect(hash).toBe(hashOf(bytes));
    expect(await first.check(hash)).toBeUndefined();
    expect(hashOf(await first.read(hash, 0, bytes.byteLength))).toBe(hashOf(bytes));
  });
});

describe('IndexedDB blob store: a chunk gone', () => {
  it('a read of a blob missing a chunk fails instead of answering zeros for it', async () => {
    const factory = new IDBFactory();
    const db = await database(factory);
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    const bytes = patterned(3 * MIB + 1);
    const { hash } = await blobs.put(chunkedBlob(bytes, MIB)); // streamed: 1 MiB chunks
    const tx = db.transaction('blobChunks', 'readwrite');
    const store = tx.objectStore('blobChunks');
    const keys = await new Promise<IDBValidKey[]>((resolve) => {
      const request = store.getAllKeys();
      request.onsuccess = () => resolve(request.result);
    });
    store.delete(keys[1] as IDBValidKey); // the second chunk lost (a damaged database)
    await new Promise<void>((resolve) => (tx.oncomplete = () => resolve()));
    const outcome = await blobs.read(hash, 0, bytes.byteLength).then(
      () => 'answered bytes',
      (error: unknown) => String(error),
    );
    expect(outcome).toMatch(/damaged/);
  });
});
