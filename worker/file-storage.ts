/**
 * The Node 'file' storage as openDatabase() opens it: a ShelfStorage over a directory of Node
 * files, holding the directory's lock file while open. The package's browser build replaces this
 * module with file-storage.browser.ts, so no browser bundle contains Node's file code.
 */
import { afterCleanup } from '../src/shared/errors.js';
import type { Storage } from '../src/shared/storage.js';
import { NodeBlockDirectory } from './node-file.js';
import { ShelfStorage } from './shelf-storage.js';

export interface FileStorageOptions {
  durability: 'strict' | 'relaxed';
  recover: boolean;
}

/**
 * Opens the database in directory `path` (created if missing).
 * @throws StorageBusyError when the directory is open already (in another process or this one);
 *   ShelfError when `path` exists and is not a directory; CorruptStorageError for damaged files.
 */
export async function openFileStorage(path: string, options: FileStorageOptions): Promise<Storage> {
  // Takes the directory's lock file: a second open of the path, in this process or another, is
  // refused with StorageBusyError here, before any database file is touched.
  const dir = await NodeBlockDirectory.create(path);
  try {
    return await ShelfStorage.open(dir, { kind: 'file', ...options });
  } catch (error) {
    // ShelfStorage.open closes the files it opened but not the directory: release the lock, or
    // this process could never open the path again (its own pid holds the lock).
    throw await afterCleanup(
      error,
      () => dir.close(),
      'releasing the lock of the database directory',
    );
  }
}
