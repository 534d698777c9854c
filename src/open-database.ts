/**
 * openDatabase: the composition root. It picks the storage for the platform, reaches it, and
 * builds the Database over it. It is the one page module allowed to import worker/ code, with a
 * dynamic import(), so storage code is loaded only when used.
 */
import { afterCleanup, StorageError } from './shared/errors.js';
import type { Storage } from './shared/storage.js';
import { Database, checkDatabaseOptions, type DatabaseOptions } from './database.js';
import { refuseUnfinishedRestore } from './archive/restore-mark.js';

// The storage apps may build a Database over themselves (`new Database(new MemoryStorage())`): the
// composition root is the page's one bridge to worker/, so the public index takes it from here.
export { MemoryStorage, type MemoryStorageOptions } from '../worker/memory-storage.js';

/** Where `openDatabase` keeps the data: see `OpenOptions.storage`. */
export type StorageChoice = 'auto' | 'opfs' | 'indexeddb' | 'memory' | 'file';

export interface OpenOptions extends DatabaseOptions {
  /**
   * Where the data lives. 'auto' (default): in a browser, OPFS in the storage worker where it has
   * sync access handles, else IndexedDB; in Node, memory unless told.
   */
  storage?: StorageChoice;
  /** For storage 'file' (Node only): the directory holding the database's files. */
  path?: string;
  /** 'strict' (default): a commit is acknowledged after flush. 'relaxed': after the write. */
  durability?: 'strict' | 'relaxed';
  /**
   * Open a damaged log anyway, keeping every readable transaction; `db.recovery` reports what was
   * dropped. Without it, damage before the log's tail is a CorruptStorageError.
   */
  recover?: boolean;
  /**
   * Milliseconds a call waits for the tab that holds the database (it may be frozen in the
   * background) before failing with StorageBusyError and firing 'busy' on the database (10,000).
   */
  busyTimeout?: number;
}

const isBrowser = (): boolean =>
  typeof (globalThis as { document?: unknown }).document !== 'undefined';

/**
 * Opens (creating if needed) the database `name`.
 * @throws RangeError for invalid options; StorageError when the chosen storage is not available;
 *   CorruptStorageError when the stored files are damaged (see `recover`); for storage 'file',
 *   StorageBusyError when the database is open already (in another process or this one) and
 *   ShelfError when `path` exists and is not a directory; StorageError when a restore of `name`
 *   (restoreDatabase) is running or was cut off: run restoreDatabase again, or delete it.
 * @example
 * class Note extends Persistent {
 *   static _p_name = 'app.Note'; // the stored name: survives minifying
 *   text = '';
 * }
 * const db = await openDatabase('notes', { classes: [Note] });
 * const conn = db.open();
 * const root = await conn.root();
 */
export async function openDatabase(name: string, options: OpenOptions = {}): Promise<Database> {
  return openChecked(name, options, true);
}

/**
 * openDatabase without the refusal of a database being restored: restoreDatabase's own open (it
 * writes the mark, and removes its leftovers). Not for apps.
 * @internal
 */
export function openDatabaseForRestore(name: string, options: OpenOptions): Promise<Database> {
  return openChecked(name, options, false);
}

async function openChecked(
  name: string,
  options: OpenOptions,
  refuseRestoring: boolean,
): Promise<Database> {
  if (typeof name !== 'string' || name === '' || name.length > 200) {
    throw new RangeError(
      'openDatabase: the name must be a non-empty string of at most 200 characters.',
    );
  }
  const {
    storage: choice = 'auto',
    path,
    durability = 'strict',
    recover = false,
    busyTimeout = 10_000,
    ...dbOptions
  } = options;
  if (typeof busyTimeout !== 'number' || !(busyTimeout > 0)) {
    throw new RangeError(
      `openDatabase: busyTimeout must be a positive number of milliseconds, got ${String(busyTimeout)}.`,
    );
  }
  if (durability !== 'strict' && durability !== 'relaxed') {
    throw new RangeError(
      `openDatabase: durability must be 'strict' or 'relaxed', got ${String(durability)}.`,
    );
  }
  if (path !== undefined && choice !== 'file') {
    throw new RangeError(
      `openDatabase: path is for storage 'file' only (got storage '${choice}').`,
    );
  }
  checkDatabaseOptions(dbOptions); // before starting a worker or touching files
  // A cut-off restore holds part of a backup and must not open as a whole database
  // (archive/restore-mark.ts). 'file': a file's existence, looked up before the lock is taken;
  // in a browser an OPFS or IndexedDB lookup (~1-2 ms) runs beside the worker's start, which takes
  // longer: the storage it opened is closed again when the name is marked.
  if (refuseRestoring && choice === 'file') await refuseUnfinishedRestore(name, choice, path);
  const opening = makeStorage(name, choice, { path, durability, recover, busyTimeout });
  if (refuseRestoring && choice !== 'file') {
    const [marked, opened] = await Promise.allSettled([
      refuseUnfinishedRestore(name, choice, path),
      opening,
    ]);
    if (marked.status === 'rejected') {
      if (opened.status === 'rejected') throw marked.reason;
      throw await afterCleanup(marked.reason, () => opened.value.close(), 'closing the storage');
    }
  }
  const storage = await opening;
  try {
    return new Database(storage, dbOptions);
  } catch (error) {
    // The options were checked before, but the global registry may have changed while the
    // storage opened (another module registered a class): close what was opened (the worker, the
    // lock of a file database), or this page could never open it again.
    throw await afterCleanup(error, () => storage.close(), 'closing the storage');
  }
}

async function makeStorage(
  name: string,
  choice: StorageChoice,
  options: {
    path: string | undefined;
    durability: 'strict' | 'relaxed';
    recover: boolean;
    busyTimeout: number;
  },
): Promise<Storage> {
  switch (choice) {
    case 'memory': {
      const { MemoryStorage } = await import('../worker/memory-storage.js');
      return new MemoryStorage();
    }
    case 'file': {
      if (isBrowser()) {
        throw new StorageError(
          "openDatabase: storage 'file' exists in Node only. In a browser use 'auto'.",
        );
      }
      if (typeof options.path !== 'string' || options.path === '') {
        throw new RangeError(
          "openDatabase: storage 'file' needs { path }: the directory for the database's files.",
        );
      }
      const { openFileStorage } = await import('../worker/file-storage.js');
      return openFileStorage(options.path, {
        durability: options.durability,
        recover: options.recover,
      });
    }
    case 'auto':
    case 'opfs':
    case 'indexeddb': {
      if (!isBrowser()) {
        if (choice === 'auto') return makeStorage(name, 'memory', options);
        throw new StorageError(
          `openDatabase: storage '${choice}' needs a browser. In Node use 'file' (with { path }) or 'memory'.`,
        );
      }
      if (typeof Worker === 'undefined') {
        throw new StorageError(
          'openDatabase: this browser has no Web Workers, which shelfdb storage runs in.',
        );
      }
      const worker = new Worker(new URL('../worker/entry.ts', import.meta.url), {
        type: 'module',
        name: `shelfdb:${name}`,
      });
      const { StorageClient } = await import('./storage-client.js');
      return StorageClient.connect(
        worker,
        {
          name,
          storage: choice,
          durability: options.durability,
          recover: options.recover,
          busyTimeout: options.busyTimeout,
        },
        () => worker.terminate(),
      );
    }
    default:
      throw new RangeError(
        `openDatabase: unknown storage '${String(choice)}'. Use 'auto', 'opfs', 'indexeddb', 'memory' or 'file'.`,
      );
  }
}
