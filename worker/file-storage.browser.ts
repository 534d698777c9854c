/**
 * What the package's browser build has instead of file-storage.ts: storage 'file' is Node's, and
 * its code (node:fs, the lock file) must not reach a browser bundle. openDatabase() refuses
 * 'file' in a browser before it gets here; this answers a browser-like runtime that has no
 * `document` (a worker, Deno) the same way.
 */
import { StorageError } from '../src/shared/errors.js';
import type { Storage } from '../src/shared/storage.js';
import type { FileStorageOptions } from './file-storage.js';

export function openFileStorage(path: string, _options: FileStorageOptions): Promise<Storage> {
  return Promise.reject(
    new StorageError(
      `openDatabase: storage 'file' (path ${JSON.stringify(path)}) exists in Node only, and this is shelfdb's browser build. In a browser use 'auto'; in Node, import shelfdb under Node's "node" export condition (the default).`,
    ),
  );
}
