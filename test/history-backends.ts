/**
 * The storages the undo and time-travel tests run on: each makes a fresh, empty one. IndexedDB
 * runs on fake-indexeddb with its own factory per storage, ShelfStorage over memory files.
 */
import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { Database } from '../src/index.js';
import { TabRouter } from '../worker/tab-router.js';
import type { FakeHub } from './fake-tabs.js';
import type { Storage } from '../src/shared/storage.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { CLASSES } from './fixtures.js';

/** A storage to run on: its name in test titles and how to make a fresh one. */
export interface Backend {
  name: string;
  make(): Promise<Storage>;
}

/** MemoryStorage, ShelfStorage over memory files, IndexedDBStorage on fake-indexeddb. */
export function historyBackends(): Backend[] {
  let n = 0;
  return [
    { name: 'MemoryStorage', make: async () => new MemoryStorage() },
    {
      name: 'ShelfStorage over memory files',
      make: () => ShelfStorage.open(new MemoryBlockDirectory()),
    },
    {
      name: 'IndexedDBStorage on fake-indexeddb',
      make: () =>
        IndexedDBStorage.open(`history-${n++}`, { indexedDB: new IDBFactory(), IDBKeyRange }),
    },
  ];
}

/** A Database of the test classes over a fresh storage of `backend`. */
export async function openOn(backend: Backend): Promise<{ db: Database; storage: Storage }> {
  const storage = await backend.make();
  return { db: new Database(storage, { classes: CLASSES }), storage };
}

/** A Database of the test classes in a new tab of `hub`, on `storage` (owned by the first tab). */
export async function joinTab(hub: FakeHub, storage: Storage): Promise<Database> {
  const router = await TabRouter.open(
    hub.tab(),
    { name: 'db', busyTimeout: 2000 },
    async (): Promise<Storage> => storage,
  );
  return new Database(router, { classes: CLASSES });
}
