/**
 * Where a database's data lives in the browser, by its name: the storages make these places
 * (worker/opfs-file.ts, worker/indexeddb-storage.ts) and `listDatabases` finds them again
 * (src/origin-databases-scan.ts) without opening any.
 */

/** The folder of the origin's OPFS root that holds one folder per database. */
export const OPFS_FOLDER = 'shelfdb';

/** A database's folder under OPFS_FOLDER: its name, encoded (any string is a valid name). */
export function opfsFolderName(name: string): string {
  return encodeURIComponent(name);
}

/**
 * The database name a folder under OPFS_FOLDER holds, or undefined for a folder shelfdb did not
 * make (its name is not an encoding).
 */
export function databaseOfOpfsFolder(folder: string): string | undefined {
  try {
    return decodeURIComponent(folder);
  } catch {
    return undefined;
  }
}

/** The prefix of every shelfdb IndexedDB database's name. */
export const INDEXEDDB_PREFIX = 'shelfdb:';

/** The IndexedDB database that holds database `name`. */
export function indexedDBName(name: string): string {
  return `${INDEXEDDB_PREFIX}${name}`;
}
