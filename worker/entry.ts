/**
 * The storage worker: one per tab, started by openDatabase(). It opens the database's files (OPFS
 * through sync access handles, which exist only in dedicated workers, or IndexedDB) and serves the
 * page over Comlink (src/shared/link.ts), with the owner election (TabRouter) in front of the
 * storage: the page never assumes its own worker holds the files.
 */
import { StorageError } from '../src/shared/errors.js';
import type { Endpoint, OpenRequest } from '../src/shared/link.js';
import { OpfsBlockDirectory } from './opfs-file.js';
import { ShelfStorage } from './shelf-storage.js';
import { serveStorage, type Opened } from './storage-server.js';
import { TabRouter } from './tab-router.js';

/** True where this worker can use OPFS sync access handles (not in every browser or mode). */
function hasSyncAccessHandles(): boolean {
  return (
    typeof FileSystemFileHandle !== 'undefined' &&
    'createSyncAccessHandle' in FileSystemFileHandle.prototype &&
    typeof navigator.storage?.getDirectory === 'function'
  );
}

/** Runs `task` as a new task after those already queued (group commit batches them). */
function scheduler(): (task: () => void) => void {
  const channel = new MessageChannel();
  const tasks: (() => void)[] = [];
  channel.port1.onmessage = () => (tasks.shift() as () => void)();
  return (task) => {
    tasks.push(task);
    channel.port2.postMessage(null);
  };
}

/** Opens the files: what the tab that owns the database does. */
async function openLocal(request: OpenRequest): Promise<Opened> {
  const kind =
    request.storage === 'auto' ? (hasSyncAccessHandles() ? 'opfs' : 'indexeddb') : request.storage;
  if (kind === 'opfs') {
    if (!hasSyncAccessHandles()) {
      throw new StorageError(
        "This browser has no OPFS sync access handles in workers. Use { storage: 'auto' } or 'indexeddb'.",
      );
    }
    const dir = await OpfsBlockDirectory.forDatabase(request.name);
    const storage = await ShelfStorage.open(dir, {
      kind: 'opfs',
      durability: request.durability,
      recover: request.recover,
      schedule: scheduler(),
    });
    return { storage, recovery: storage.recovery };
  }
  // Loaded only where it is used: most browsers run OPFS, and this is a third of the worker.
  const { IndexedDBStorage } = await import('./indexeddb-storage.js');
  const storage = await IndexedDBStorage.open(
    request.name,
    { indexedDB, IDBKeyRange },
    request.durability,
  );
  return { storage };
}

/** Joins the other tabs of this database (one owner holds the files), where the browser can. */
async function open(request: OpenRequest): Promise<Opened> {
  if (typeof navigator.locks?.request !== 'function' || typeof BroadcastChannel === 'undefined') {
    return openLocal(request); // one tab at a time: a second one gets StorageBusyError
  }
  const router = await TabRouter.open(
    {
      locks: {
        request: (name, callback) => navigator.locks.request(name, callback),
        // A new owner waits for the pins of the tabs alive at handover before it packs.
        query: () => navigator.locks.query(),
      },
      channel: (name) => new BroadcastChannel(name),
    },
    { name: request.name, busyTimeout: request.busyTimeout },
    async () => (await openLocal(request)).storage,
  );
  return { storage: router, recovery: router.recovery };
}

serveStorage(self as unknown as Endpoint, open);
