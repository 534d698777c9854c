/**
 * `shelfdb/storage`: the storage side, for apps that build their own storage worker, a server, or
 * tests. Most apps never import it: `openDatabase()` starts shelfdb's worker itself.
 *
 * The storages implement `Storage` (from `shelfdb`): give one to `new Database(storage)`, or serve it
 * to pages over a MessagePort-like endpoint with `serveStorage`. Node's file directory is exported
 * by the package under Node only (`worker/node.ts`).
 * @module shelfdb/storage
 */
export { ShelfStorage, type ShelfOptions } from './shelf-storage.js';
export {
  IndexedDBStorage,
  type IndexedDBPlatform,
  type IndexedDBOptions,
} from './indexeddb-storage.js';
export { MemoryStorage, type MemoryStorageOptions } from './memory-storage.js';
export type { BlobStore, BlobProblem, BlobStats, BlobSweep } from './blob-store.js';
export {
  MemoryBlockDirectory,
  MemoryBlockFile,
  type BlockDirectory,
  type BlockFile,
} from './block-file.js';
export { OpfsBlockDirectory, OpfsBlockFile, type SyncAccessHandle } from './opfs-file.js';
export { serveStorage, type Opened, type Endpoint } from './storage-server.js';
export type { OpenRequest } from '../src/shared/link.js';
