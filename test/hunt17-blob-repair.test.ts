/**
 * Hunt 17: a damaged blob is told to be stored again ("Run db.verify(), and store the Blob
 * again."), but a put of the same bytes finds the hash stored and keeps the damaged copy: the app
 * does what the error says and the blob stays unreadable.
 */
import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { FolderBlobStore } from '../worker/folder-blob-store.js';
import {
  BLOB_CHUNKS,
  IndexedDBBlobStore,
  upgradeBlobStores,
} from '../worker/indexeddb-blob-store.js';
import { MemoryBlobFolder } from '../worker/memory-blob-folder.js';
import { chunkedBlob, patterned } from './blob-store-contract.js';

const MIB = 1 << 20;

async function database(): Promise<IDBDatabase> {
  const request = new IDBFactory().open('blobs', 1);
  request.onupgradeneeded = (event) => upgradeBlobStores(request.result, event.oldVersion);
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('open failed'));
  });
}

describe('a damaged blob stored again is whole again', () => {
  it('IndexedDB: a blob that lost a chunk, put again with the same bytes, checks and reads whole', async () => {
    const db = await database();
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    const bytes = patterned(3 * MIB + 1, 17);
    const { hash } = await blobs.put(chunkedBlob(bytes, MIB)); // streamed: 1 MiB chunks
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(BLOB_CHUNKS, 'readwrite');
      const store = tx.objectStore(BLOB_CHUNKS);
      const keys = store.getAllKeys();
      keys.onsuccess = () => store.delete(keys.result[1]!);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('damage failed'));
    });
    expect(await blobs.check(hash)).toBe('damaged');
    await blobs.put(new Blob([bytes]));
    expect(await blobs.check(hash)).toBeUndefined();
    expect(await blobs.read(hash, MIB, MIB + 4)).toEqual(bytes.slice(MIB, MIB + 4));
  });

  it('blob folder: a blob file cut short, put again with the same bytes, checks and reads whole', async () => {
    const folder = new MemoryBlobFolder();
    const blobs = new FolderBlobStore(folder);
    const bytes = patterned(2 * MIB + 5, 18);
    const { hash } = await blobs.put(new Blob([bytes]));
    const file = folder.files.get(`${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`)!;
    file.chunks.pop(); // the last write lost
    file.size = file.chunks.reduce((n, c) => n + c.byteLength, 0);
    expect(await blobs.check(hash)).toBe('damaged');
    await blobs.put(new Blob([bytes]));
    expect(await blobs.check(hash)).toBeUndefined();
    expect(await blobs.size(hash)).toBe(bytes.byteLength);
  });
});
