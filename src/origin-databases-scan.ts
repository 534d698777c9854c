/**
 * How `listDatabases` finds the origin's databases (origin-databases.ts): loaded on its first call,
 * so a page that never lists them does not download this.
 */
import type { OriginDatabase } from './origin-databases.js';
import { INDEXEDDB_PREFIX, OPFS_FOLDER, databaseOfOpfsFolder } from './shared/storage-names.js';

/** The databases found, OPFS first, each sorted by name (see `listDatabases`). */
export async function scanDatabases(): Promise<OriginDatabase[]> {
  const [opfs, idb] = await Promise.all([opfsDatabases(), indexedDBDatabases()]);
  const byName = (a: OriginDatabase, b: OriginDatabase): number =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  return [...opfs.sort(byName), ...idb.sort(byName)];
}

async function opfsDatabases(): Promise<OriginDatabase[]> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  if (typeof storage?.getDirectory !== 'function') return [];
  let folder: FileSystemDirectoryHandle;
  try {
    folder = await (await storage.getDirectory()).getDirectoryHandle(OPFS_FOLDER);
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFoundError') return []; // no database yet
    throw error;
  }
  const found: OriginDatabase[] = [];
  for await (const handle of entriesOf(folder)) {
    if (handle.kind !== 'directory') continue;
    const name = databaseOfOpfsFolder(handle.name);
    if (name === undefined) continue; // not a folder shelfdb made
    found.push({ name, storage: 'opfs', bytes: await folderBytes(handle) });
  }
  return found;
}

/** The directory's entries (`values()`, which the DOM typings of some TypeScript versions lack). */
function entriesOf(dir: FileSystemDirectoryHandle): AsyncIterable<FileSystemHandle> {
  return (dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values();
}

/** The sum of the folder's file sizes, or undefined when one cannot be read (locked). */
async function folderBytes(dir: FileSystemHandle): Promise<number | undefined> {
  let bytes = 0;
  for await (const entry of entriesOf(dir as FileSystemDirectoryHandle)) {
    if (entry.kind !== 'file') continue;
    try {
      bytes += (await (entry as FileSystemFileHandle).getFile()).size;
    } catch {
      return undefined; // a browser that locks files a storage worker holds open
    }
  }
  return bytes;
}

async function indexedDBDatabases(): Promise<OriginDatabase[]> {
  const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (typeof factory?.databases !== 'function') return [];
  const infos = await factory.databases();
  return infos
    .filter((info) => info.name?.startsWith(INDEXEDDB_PREFIX) === true)
    .map((info) => ({
      name: (info.name as string).slice(INDEXEDDB_PREFIX.length),
      storage: 'indexeddb' as const,
      bytes: undefined,
    }));
}
