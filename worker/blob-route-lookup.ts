/**
 * Where the blob route (blob-route.ts) finds a blob file: in every shelfdb database of the origin,
 * without opening any as a storage (a service worker must not take a database's locks, and the
 * page's storage worker may hold them).
 *
 * 1. OPFS: each folder under `shelfdb/` is a database; its blob file is
 *    `blobs/<h[0..2]>/<h[2..4]>/<hash>`, read through `getFile()` (no lock taken, disk-backed).
 * 2. IndexedDB: each `shelfdb:<name>` database with a `blobFiles` store; its chunks are read 1 MiB
 *    at a time as the response is consumed, through a connection of the route's own that it
 *    closes when the body is done (or at once when another connection asks for a new version).
 */
import { BLOB_FOLDER } from './blob-folder.js';
import { BLOB_CHUNK } from './blob-store.js';
import type { BlobSource } from './blob-route.js';
import { BLOB_FILES, IndexedDBBlobStore } from './indexeddb-blob-store.js';
import { OpfsBlobFolder } from './opfs-blob-folder.js';
import { INDEXEDDB_PREFIX, OPFS_FOLDER } from '../src/shared/storage-names.js';

/** An OPFS folder as an async iterable of entries (typed in the WebWorker lib of newer TS only). */
interface Entries {
  entries(): AsyncIterable<[string, FileSystemHandle]>;
}

/**
 * Blob file `hash` from any shelfdb database of this origin (OPFS, then IndexedDB), or undefined.
 * @example
 * const route = blobRoute({ scope: registration.scope, lookup: originBlobLookup });
 */
export async function originBlobLookup(hash: string): Promise<BlobSource | undefined> {
  return (await opfsLookup(hash)) ?? (await indexedDBLookup(hash));
}

/** Blob file `hash` in an OPFS database's blob folder. */
async function opfsLookup(hash: string): Promise<BlobSource | undefined> {
  const storage = (globalThis as { navigator?: { storage?: Partial<StorageManager> } }).navigator
    ?.storage;
  if (typeof storage?.getDirectory !== 'function') return undefined;
  const databases = await (
    await storage.getDirectory()
  )
    .getDirectoryHandle(OPFS_FOLDER)
    .catch(notFound);
  if (databases === undefined) return undefined;
  for await (const [, folder] of (databases as unknown as Entries).entries()) {
    if (folder.kind !== 'directory') continue;
    const blobs = await (folder as FileSystemDirectoryHandle)
      .getDirectoryHandle(BLOB_FOLDER)
      .catch(notFound);
    if (blobs === undefined) continue;
    const file = await new OpfsBlobFolder(blobs).file(hash);
    if (file !== undefined)
      return { size: file.size, body: (start, end) => file.slice(start, end) };
  }
  return undefined;
}

/** Blob file `hash` in an IndexedDB database's blob stores. */
async function indexedDBLookup(hash: string): Promise<BlobSource | undefined> {
  const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  const keys = (globalThis as { IDBKeyRange?: typeof IDBKeyRange }).IDBKeyRange;
  if (idb === undefined || keys === undefined || typeof idb.databases !== 'function') {
    return undefined;
  }
  for (const { name } of await idb.databases()) {
    if (name === undefined || !name.startsWith(INDEXEDDB_PREFIX)) continue;
    const db = await openExisting(idb, name);
    if (db === undefined) continue;
    if (!db.objectStoreNames.contains(BLOB_FILES)) {
      db.close(); // a database from before blobs
      continue;
    }
    const store = new IndexedDBBlobStore(db, keys, 'relaxed');
    const size = await store.size(hash).catch((error: unknown) => {
      db.close();
      throw error;
    });
    if (size === undefined) {
      db.close();
      continue;
    }
    return {
      size,
      body: (start, end) => chunkStream(store, hash, start, end, db),
      close: () => db.close(),
    };
  }
  return undefined;
}

/**
 * Opens IndexedDB database `name` at its current version; undefined when it is gone (deleted
 * since it was listed: the open would have created it empty, so that is aborted).
 */
function openExisting(idb: IDBFactory, name: string): Promise<IDBDatabase | undefined> {
  return new Promise((resolve, reject) => {
    const request = idb.open(name);
    request.onupgradeneeded = () => request.transaction?.abort();
    request.onsuccess = () => {
      const db = request.result;
      // Never block the page's storage from upgrading its schema: the route gives way.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    request.onerror = (event) => {
      event.preventDefault(); // answered here, not a global error
      if (request.error?.name === 'AbortError') resolve(undefined);
      else reject(request.error ?? new Error(`opening IndexedDB database ${name} failed`));
    };
  });
}

/** Bytes `[start, end)` of blob `hash`, read one chunk per pull; `db` closed when done. */
function chunkStream(
  store: IndexedDBBlobStore,
  hash: string,
  start: number,
  end: number,
  db: IDBDatabase,
): ReadableStream<Uint8Array> {
  let at = start;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (at >= end) {
          db.close();
          controller.close();
          return;
        }
        // Up to the next chunk boundary: each pull reads one stored chunk.
        const next = Math.min(end, (Math.floor(at / BLOB_CHUNK) + 1) * BLOB_CHUNK);
        try {
          controller.enqueue(await store.read(hash, at, next));
        } catch (error) {
          db.close();
          throw error;
        }
        at = next;
      },
      cancel() {
        db.close();
      },
    },
    { highWaterMark: 1 },
  );
}

/** Undefined for NotFoundError (no such entry); rethrows others. */
function notFound(error: unknown): undefined {
  if ((error as { name?: string } | null)?.name === 'NotFoundError') return undefined;
  throw error;
}
