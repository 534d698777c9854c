/**
 * The durable "restoring" mark: while restoreDatabase (restore.ts) fills a database, a mark says
 * so, and openDatabase refuses a marked name. A restore cut off by a crash or a closed tab leaves
 * the first transactions of its backup; without the mark that part would open as a whole database.
 *
 * Where the mark lives (storage formats untouched; each place is one cheap lookup):
 * - 'file': the file `restoring` in the database's directory, fsynced with its directory before
 *   the first restored commit. ShelfStorage refuses a directory holding files it does not know, so
 *   the mark also stops a ShelfStorage opened without openDatabase; restore writes it only after
 *   its storage is open, and database-removal.ts removes it last.
 * - 'opfs': the file `restoring#<folder>` beside the database's folder in the origin's `shelfdb`
 *   OPFS folder (a file inside the database's folder would be refused the same way, and the storage
 *   worker owns that folder). `#` never occurs in a folder name (opfsFolderName encodes it), and
 *   listDatabases lists folders only.
 * - 'indexeddb': a record keyed by the name in the object store `marks` of the IndexedDB database
 *   `shelfdb-restoring` (not `shelfdb:`-prefixed: listDatabases does not list it), written with
 *   strict durability. A lookup opens it without creating it: an origin that never restored has
 *   none.
 * - 'memory': none (no crash survives a memory database).
 */
import { StorageError } from '../shared/errors.js';
import type { StorageKind } from '../shared/storage.js';
import { OPFS_FOLDER, opfsFolderName } from '../shared/storage-names.js';
import { nodeFs, syncDirectory, type NodeFs } from './node-fs.js';

/** The mark's file name in a 'file' database's directory. */
export const FILE_MARK = 'restoring';

/** The IndexedDB database holding the marks of IndexedDB databases, and its store. */
export const INDEXEDDB_MARKS = 'shelfdb-restoring';
const STORE = 'marks';

/** Where a database is, for its mark: its name and storage kind, and for 'file' its directory. */
export interface MarkPlace {
  /** The database's name (openDatabase's). */
  name: string;
  /** Its storage kind. */
  kind: StorageKind;
  /** For 'file': the database's directory. */
  path?: string;
}

const isBrowser = (): boolean =>
  typeof (globalThis as { document?: unknown }).document !== 'undefined';

/**
 * The places a database opened with `storage` (openDatabase's choice) may live in: 'auto' in a
 * browser is OPFS or IndexedDB (the storage worker picks), elsewhere memory.
 */
export function markPlaces(name: string, storage: string, path: string | undefined): MarkPlace[] {
  switch (storage) {
    case 'file':
      return path === undefined ? [] : [{ name, kind: 'file', path }];
    case 'opfs':
    case 'indexeddb':
      return [{ name, kind: storage }];
    case 'auto':
      return isBrowser()
        ? [
            { name, kind: 'opfs' },
            { name, kind: 'indexeddb' },
          ]
        : [];
    default:
      return [];
  }
}

/** The places among `places` that carry a mark (all looked up at once). */
export async function markedPlaces(places: MarkPlace[]): Promise<MarkPlace[]> {
  const marked = await Promise.all(places.map(hasMark));
  return places.filter((_, i) => marked[i]);
}

/**
 * Refuses to open a database whose restore is running or was cut off.
 * @throws StorageError saying so and what to do.
 */
export async function refuseUnfinishedRestore(
  name: string,
  storage: string,
  path: string | undefined,
): Promise<void> {
  const [marked] = await markedPlaces(markPlaces(name, storage, path));
  if (marked !== undefined) throw unfinishedRestoreError(marked);
}

/** The error openDatabase throws for a marked database. */
export function unfinishedRestoreError(place: MarkPlace): StorageError {
  const where = place.kind === 'file' ? `in ${place.path}` : `in ${place.kind}`;
  const cli =
    place.kind === 'file'
      ? ` (on the command line: shelfdb restore <backup> ${place.path}, which accepts it)`
      : '';
  return new StorageError(
    `openDatabase: the restore of the database '${place.name}' (${where}) was interrupted, or is still running: it holds only part of its backup, so it is not opened. Run restoreDatabase again${cli} (it replaces the unfinished one) or delete it; if a restore is running in another tab or process, wait for it to finish.`,
  );
}

/** Durably records that the database at `place` is being restored. */
export async function writeMark(place: MarkPlace): Promise<void> {
  switch (place.kind) {
    case 'file':
      return writeFileMark(await nodeFs(), place.path as string, place.name);
    case 'opfs': {
      const folder = await shelfFolder(true);
      await folder?.getFileHandle(opfsMarkName(place.name), { create: true });
      return;
    }
    case 'indexeddb':
      return writeIndexedDBMark(place.name, true);
    case 'memory':
      return;
  }
}

/** Removes the mark of `place` (none there: nothing to do). */
export async function removeMark(place: MarkPlace): Promise<void> {
  switch (place.kind) {
    case 'file': {
      const fs = await nodeFs();
      const file = `${place.path as string}/${FILE_MARK}`;
      if (!fs.existsSync(file)) return;
      fs.rmSync(file, { force: true });
      syncDirectory(fs, place.path as string); // the removal survives a crash
      return;
    }
    case 'opfs': {
      const folder = await shelfFolder(false);
      try {
        await folder?.removeEntry(opfsMarkName(place.name));
      } catch (error) {
        if ((error as { name?: string }).name !== 'NotFoundError') throw error;
      }
      return;
    }
    case 'indexeddb':
      return writeIndexedDBMark(place.name, false);
    case 'memory':
      return;
  }
}

/** True when `place` carries a mark: one lookup. */
async function hasMark(place: MarkPlace): Promise<boolean> {
  switch (place.kind) {
    case 'file':
      return (await nodeFs()).existsSync(`${place.path as string}/${FILE_MARK}`);
    case 'opfs': {
      const folder = await shelfFolder(false);
      if (folder === undefined) return false;
      try {
        await folder.getFileHandle(opfsMarkName(place.name));
        return true;
      } catch (error) {
        if ((error as { name?: string }).name === 'NotFoundError') return false;
        throw error;
      }
    }
    case 'indexeddb':
      return hasIndexedDBMark(place.name);
    case 'memory':
      return false;
  }
}

/** The mark's file name beside the database's OPFS folder. */
function opfsMarkName(name: string): string {
  return `restoring#${opfsFolderName(name)}`;
}

/** The origin's `shelfdb` OPFS folder (made when `create`), or undefined where there is none. */
async function shelfFolder(create: boolean): Promise<FileSystemDirectoryHandle | undefined> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  if (typeof storage?.getDirectory !== 'function') return undefined;
  try {
    return await (await storage.getDirectory()).getDirectoryHandle(OPFS_FOLDER, { create });
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFoundError') return undefined; // no database
    throw error;
  }
}

function indexedDB(): IDBFactory | undefined {
  return (globalThis as { indexedDB?: IDBFactory }).indexedDB;
}

/** Opens the marks database; `create` false resolves to undefined when it does not exist. */
function openMarks(create: boolean): Promise<IDBDatabase | undefined> {
  const factory = indexedDB();
  if (factory === undefined) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const request = create ? factory.open(INDEXEDDB_MARKS, 1) : factory.open(INDEXEDDB_MARKS);
    let missing = false;
    request.onupgradeneeded = () => {
      if (create) {
        request.result.createObjectStore(STORE);
        return;
      }
      // Not there: aborting the upgrade leaves no database behind (a lookup creates nothing).
      missing = true;
      request.transaction?.abort();
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => {
      if (missing) resolve(undefined);
      else reject(request.error ?? new Error(`opening IndexedDB ${INDEXEDDB_MARKS} failed`));
    };
  });
}

async function hasIndexedDBMark(name: string): Promise<boolean> {
  const db = await openMarks(false);
  if (db === undefined) return false;
  try {
    if (!db.objectStoreNames.contains(STORE)) return false;
    const request = db.transaction(STORE, 'readonly').objectStore(STORE).count(name);
    return await new Promise<boolean>((resolve, reject) => {
      request.onsuccess = () => resolve(request.result > 0);
      request.onerror = () => reject(request.error ?? new Error('reading a restore mark failed'));
    });
  } finally {
    db.close();
  }
}

/** Puts (`on`) or deletes the mark of `name`, durably (the transaction's strict durability). */
async function writeIndexedDBMark(name: string, on: boolean): Promise<void> {
  const db = await openMarks(on);
  if (db === undefined) {
    if (on) throw new StorageError('IndexedDB is not available: no restore mark can be written.');
    return;
  }
  try {
    if (!db.objectStoreNames.contains(STORE)) return;
    const txn = db.transaction(STORE, 'readwrite', { durability: 'strict' });
    const store = txn.objectStore(STORE);
    if (on) store.put({ name, started: Date.now() }, name);
    else store.delete(name);
    await new Promise<void>((resolve, reject) => {
      txn.oncomplete = () => resolve();
      txn.onerror = () => reject(txn.error ?? new Error('writing a restore mark failed'));
      txn.onabort = () => reject(txn.error ?? new Error('writing a restore mark was aborted'));
    });
  } finally {
    db.close();
  }
}

/** Writes `<dir>/restoring` and makes it and its name durable (file, then directory fsync). */
function writeFileMark(fs: NodeFs, dir: string, name: string): void {
  const fd = fs.openSync(`${dir}/${FILE_MARK}`, 'w');
  try {
    fs.writeSync(
      fd,
      `${JSON.stringify({ restoring: name, started: new Date().toISOString(), note: 'shelfdb: a restore into this directory has not finished; openDatabase refuses it until restoreDatabase runs again or the directory is deleted.' })}\n`,
    );
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  syncDirectory(fs, dir);
}
