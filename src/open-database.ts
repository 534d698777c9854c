/**
 * openDatabase: the composition root. It picks the storage for the platform, reaches it, and
 * builds the Database over it. It is the one page module allowed to import worker/ code, with a
 * dynamic import(), so storage code is loaded only when used.
 */
import { StorageError } from './shared/errors.js';
import type { Storage } from './shared/storage.js';
import { Database, type DatabaseOptions } from './database.js';

export type StorageChoice = 'auto' | 'opfs' | 'indexeddb' | 'memory' | 'file';

export interface OpenOptions extends DatabaseOptions {
  /**
   * Where the data lives. 'auto': OPFS in a worker where the browser has sync access handles, else
   * IndexedDB; in Node, memory unless told. Default 'auto'.
   */
  storage?: StorageChoice;
  /** For storage 'file' (Node only): the directory holding the database's files. */
  path?: string;
  /** 'strict' (default): a commit is acknowledged after flush. 'relaxed': after the write. */
  durability?: 'strict' | 'relaxed';
}

const isBrowser = (): boolean =>
  typeof (globalThis as { document?: unknown }).document !== 'undefined';

/**
 * Opens (creating if needed) the database `name`.
 * @throws RangeError for invalid options; StorageError when the chosen storage is not available.
 * @example
 * const db = await openDatabase('notes', { classes: [Note] });
 * const conn = db.open();
 * const root = await conn.root();
 */
export async function openDatabase(name: string, options: OpenOptions = {}): Promise<Database> {
  if (typeof name !== 'string' || name === '' || name.length > 200) {
    throw new RangeError(
      'openDatabase: the name must be a non-empty string of at most 200 characters.',
    );
  }
  const { storage: choice = 'auto', path, durability = 'strict', ...dbOptions } = options;
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
  const storage = await makeStorage(choice);
  return new Database(storage, dbOptions);
}

async function makeStorage(choice: StorageChoice): Promise<Storage> {
  switch (choice) {
    case 'memory': {
      const { MemoryStorage } = await import('../worker/memory-storage.js');
      return new MemoryStorage();
    }
    case 'auto':
      if (!isBrowser()) return makeStorage('memory');
      throw new StorageError(
        "openDatabase: durable browser storage (OPFS, IndexedDB) is not in this version of shelfdb yet. Pass { storage: 'memory' } for a database that lives as long as the page.",
      );
    case 'opfs':
    case 'indexeddb':
    case 'file':
      throw new StorageError(
        `openDatabase: storage '${choice}' is not in this version of shelfdb yet. Available: 'memory'.`,
      );
    default:
      throw new RangeError(
        `openDatabase: unknown storage '${String(choice)}'. Use 'auto', 'opfs', 'indexeddb', 'memory' or 'file'.`,
      );
  }
}
