/**
 * What the IndexedDB blob store's tests share: a fresh fake-IndexedDB database with the blob
 * stores, and reads of its object stores as they are (keys and values), to look at chunks.
 */
import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory } from 'fake-indexeddb';
import { upgradeBlobStores } from '../worker/indexeddb-blob-store.js';

const MIB = 1 << 20;

/** A fresh IndexedDB database at `version` whose upgrade adds the blob stores. */
export async function blobDatabase(factory = new IDBFactory(), version = 1): Promise<IDBDatabase> {
  const request = factory.open('blobs', version);
  request.onupgradeneeded = (event) => upgradeBlobStores(request.result, event.oldVersion);
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('open failed'));
  });
}

/** Settles when a request succeeds or a transaction completes; rejects with its error. */
export function done(request: IDBRequest | IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    if (request instanceof IDBTransaction) request.oncomplete = () => resolve();
    else request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error ?? new Error('request failed'));
  });
}

/** Every key and value of object store `name`, in key order. */
export async function entriesOf(db: IDBDatabase, name: string): Promise<[IDBValidKey, unknown][]> {
  const store = db.transaction(name).objectStore(name);
  const keys = store.getAllKeys();
  const values = store.getAll();
  await Promise.all([done(keys), done(values)]);
  return keys.result.map((key, i) => [key, values.result[i]]);
}

/** Every key of object store `name`, in key order. */
export async function keysOf(db: IDBDatabase, name: string): Promise<IDBValidKey[]> {
  return (await entriesOf(db, name)).map(([key]) => key);
}

/**
 * A Blob whose stream gives `bytes` in 1 MiB pieces; at piece `at` it says so (`reached`) and then
 * fails with `failure` or, if none, waits until released. A Blob subclass with its own stream: the
 * stores stream it (never read whole), so a put can be caught part way.
 */
export function gatedBlob(
  bytes: Uint8Array<ArrayBuffer>,
  at: number,
  failure?: Error,
): { blob: Blob; reached: Promise<void>; release: () => void } {
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const reachedP = new Promise<void>((r) => (reached = r));
  class Gated extends Blob {
    override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
      let i = 0;
      return new ReadableStream({
        async pull(controller) {
          if (i === at) {
            reached();
            if (failure !== undefined) throw failure;
            await gate;
          }
          const piece = bytes.slice(i * MIB, (i + 1) * MIB);
          if (piece.byteLength === 0) controller.close();
          else controller.enqueue(piece);
          i++;
        },
      });
    }
  }
  return { blob: new Gated([bytes]), reached: reachedP, release };
}
