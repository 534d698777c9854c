/**
 * listDatabases: the shelfdb databases this origin holds, found where the storages keep them
 * (OPFS: `shelfdb/<encoded name>/`; IndexedDB: a database named `shelfdb:<name>`), without opening
 * any. The explorer lists them; an app may offer to open or delete them.
 */
import type { StorageKind } from './shared/storage.js';

/** One database of this origin, as `listDatabases` finds it. */
export interface OriginDatabase {
  /** The name `openDatabase` takes. */
  name: string;
  /** Where its data lives: open it with `openDatabase(name, { storage })` to read that one. */
  storage: Extract<StorageKind, 'opfs' | 'indexeddb'>;
  /**
   * The bytes of its files (OPFS), or undefined where the platform does not tell without opening
   * it (IndexedDB) or a file is locked by a storage worker.
   */
  bytes: number | undefined;
}

/**
 * The shelfdb databases of this origin, OPFS first, each sorted by name. Empty outside a browser
 * (Node 'file' databases are directories the app names itself).
 * @example
 * for (const { name, storage, bytes } of await listDatabases()) console.log(name, storage, bytes);
 */
export async function listDatabases(): Promise<OriginDatabase[]> {
  const { scanDatabases } = await import('./origin-databases-scan.js');
  return scanDatabases();
}
