/**
 * Removing a database a failed restore made, wherever it lives: nothing of a restore that failed
 * may stay behind (a half database would open as if it were whole).
 *
 * The caller closes the database first (the storage worker ends, the 'file' lock is released),
 * then removes it: OPFS, the database's folder; IndexedDB, the `shelfdb:<name>` database; 'file',
 * the database's files and its `blobs` folder (and the directory, when the restore created it);
 * memory, nothing. OPFS and IndexedDB keep blob files inside what is removed. The
 * restore mark (restore-mark.ts) is not removed here but by the caller, after the database.
 * `notePlace` is called before the database is opened, so that a directory the restore creates is
 * known to be its own.
 */
import { StorageError } from '../shared/errors.js';
import type { StorageKind } from '../shared/storage.js';
import { OPFS_FOLDER, indexedDBName, opfsFolderName } from '../shared/storage-names.js';
import { nodeFs } from './node-fs.js';

/** Where a database lives, and what was there before the restore (see `notePlace`). */
export interface DatabasePlace {
  /** The database's name. */
  name: string;
  /** For 'file': the directory, and whether it existed before the restore. */
  file?: { path: string; existed: boolean };
}

/** The names a ShelfStorage keeps in its directory (worker/shelf-log.ts, node-lock-file.ts). */
const SHELF_FILE = /^(manifest\.[01]|seg-\d{6}\.log|index-\d{6}\.idx|shelfdb\.lock(\.takeover)?)$/;
/** The folder of its blob files (BLOB_FOLDER, worker/blob-folder.ts). */
const BLOB_FOLDER = 'blobs';

/** What is at the database's place now (call before opening it). */
export async function notePlace(
  name: string,
  options: { storage?: string; path?: string },
): Promise<DatabasePlace> {
  if (options.storage !== 'file' || typeof options.path !== 'string') return { name };
  const fs = await nodeFs();
  return { name, file: { path: options.path, existed: fs.existsSync(options.path) } };
}

/**
 * Removes the (closed) database at `place`, which ran on storage `kind`.
 * @throws StorageError when it cannot be removed, saying where it is so a person can.
 */
export async function removeDatabase(place: DatabasePlace, kind: StorageKind): Promise<void> {
  try {
    switch (kind) {
      case 'memory':
        return; // gone with its storage
      case 'file':
        return await removeFiles(place);
      case 'indexeddb':
        return await removeIndexedDB(place.name);
      case 'opfs':
        return await removeOpfsFolder(place.name);
    }
  } catch (error) {
    throw new StorageError(
      `The restore failed, and removing the half-restored database '${place.name}' (${kind}${place.file === undefined ? '' : ` in ${place.file.path}`}) failed too: ${(error as Error).message}. Delete it by hand before using that name.`,
      { cause: error },
    );
  }
}

async function removeFiles(place: DatabasePlace): Promise<void> {
  const file = place.file;
  if (file === undefined) return;
  const fs = await nodeFs();
  // The database's files first, the restore mark (restore-mark.ts) with the directory last: a
  // crash in between leaves the mark, so what is left is still refused as an unfinished restore.
  // A directory that was there already held nothing but an empty database, or the leftover of a
  // cut-off restore (ShelfStorage opens no directory with other files in it, and a restore refuses
  // a database with transactions): the directory itself stays.
  for (const entry of fs.readdirSync(file.path)) {
    if (SHELF_FILE.test(entry)) fs.rmSync(`${file.path}/${entry}`, { force: true });
  }
  // Its blob files after the log: a crash in between leaves files no database names.
  fs.rmSync(`${file.path}/${BLOB_FOLDER}`, { force: true, recursive: true });
  if (!file.existed) fs.rmSync(file.path, { force: true, recursive: true });
}

function removeIndexedDB(name: string): Promise<void> {
  const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (factory === undefined) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const request = factory.deleteDatabase(indexedDBName(name));
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error ?? new Error('deleteDatabase failed'));
    // 'blocked' only waits: the closed storage worker's connection goes when the worker ends.
  });
}

/** Times the folder's removal is tried while the ended worker's file handles are released. */
const OPFS_ATTEMPTS = 20;

async function removeOpfsFolder(name: string): Promise<void> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  if (typeof storage?.getDirectory !== 'function') return;
  let folder: FileSystemDirectoryHandle;
  try {
    folder = await (await storage.getDirectory()).getDirectoryHandle(OPFS_FOLDER);
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFoundError') return; // never made
    throw error;
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await folder.removeEntry(opfsFolderName(name), { recursive: true });
      return;
    } catch (error) {
      const kind = (error as { name?: string }).name;
      if (kind === 'NotFoundError') return;
      // The worker was terminated; the browser releases its sync access handles soon after.
      const held = kind === 'NoModificationAllowedError' || kind === 'InvalidModificationError';
      if (!held || attempt >= OPFS_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25 * attempt));
    }
  }
}
