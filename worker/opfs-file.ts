/**
 * BlockFile and BlockDirectory over the Origin Private File System, through
 * FileSystemSyncAccessHandle: synchronous, and available only in dedicated workers.
 *
 * A sync access handle is exclusive: while one worker holds it, createSyncAccessHandle() in
 * another (another tab) fails with NoModificationAllowedError, which becomes StorageBusyError.
 * (Chromium's `mode: 'readwrite-unsafe'` would allow sharing; shelfdb keeps one owner instead.)
 */
import { StorageBusyError } from '../src/shared/errors.js';
import { OPFS_FOLDER, opfsFolderName } from '../src/shared/storage-names.js';
import { BLOB_FOLDER } from './blob-folder.js';
import type { BlobStore } from './blob-store.js';
import type { BlockDirectory, BlockFile } from './block-file.js';
import { FolderBlobStore } from './folder-blob-store.js';
import { OpfsBlobFolder } from './opfs-blob-folder.js';

/**
 * The part of the browser's FileSystemSyncAccessHandle this file uses. Declared here rather than
 * taken from the WebWorker lib so the published types compile in an app whose TypeScript has the
 * DOM lib only (where the handle's type does not exist).
 */
export interface SyncAccessHandle {
  /** Reads into `buffer` from byte `at`; returns how many bytes were read. */
  read(buffer: Uint8Array, options: { at: number }): number;
  /** Writes `buffer` at byte `at`; returns how many bytes were written. */
  write(buffer: Uint8Array, options: { at: number }): number;
  /** The file's length in bytes. */
  getSize(): number;
  /** Cuts or extends the file to `size` bytes. */
  truncate(size: number): void;
  /** Makes every write so far durable. */
  flush(): void;
  /** Releases the handle (and the file's lock). */
  close(): void;
}

/** A BlockFile over one OPFS sync access handle (a file the worker holds exclusively). */
export class OpfsBlockFile implements BlockFile {
  constructor(
    private readonly handle: SyncAccessHandle,
    /** The file's name, for messages. */
    readonly name: string,
  ) {}

  read(offset: number, length: number): Uint8Array {
    // No getSize() first: read() stops at the end of the file and says how much it read.
    const buffer = new Uint8Array(Math.max(0, length));
    const n = buffer.byteLength === 0 ? 0 : this.handle.read(buffer, { at: offset });
    return n === buffer.byteLength ? buffer : buffer.subarray(0, n);
  }

  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.byteLength) {
      const n = this.handle.write(data.subarray(done), { at: offset + done });
      if (n <= 0) throw new Error(`OPFS write of ${this.name} at ${offset + done} wrote nothing`);
      done += n;
    }
  }

  size(): number {
    return this.handle.getSize();
  }

  truncate(size: number): void {
    this.handle.truncate(size);
  }

  flush(): void {
    this.handle.flush();
  }

  close(): void {
    this.handle.close();
  }
}

/**
 * A ShelfStorage database's directory in the origin's OPFS, whose files are opened with sync access
 * handles (in a dedicated worker only).
 * @throws StorageBusyError from `open` when another worker (another tab) holds a file.
 * @example
 * const storage = await ShelfStorage.open(await OpfsBlockDirectory.forDatabase('notes'));
 */
export class OpfsBlockDirectory implements BlockDirectory {
  constructor(
    private readonly dir: FileSystemDirectoryHandle,
    /** The database name, for messages. */
    private readonly database: string,
  ) {}

  /** The directory of database `name` under shelfdb's folder of the origin's OPFS root. */
  static async forDatabase(name: string): Promise<OpfsBlockDirectory> {
    const root = await navigator.storage.getDirectory();
    const shelf = await root.getDirectoryHandle(OPFS_FOLDER, { create: true });
    return new OpfsBlockDirectory(
      await shelf.getDirectoryHandle(opfsFolderName(name), { create: true }),
      name,
    );
  }

  async open(name: string): Promise<BlockFile> {
    const file = await this.dir.getFileHandle(name, { create: true });
    try {
      // createSyncAccessHandle exists in dedicated workers only (typed in the WebWorker lib).
      const opener = file as unknown as { createSyncAccessHandle(): Promise<SyncAccessHandle> };
      return new OpfsBlockFile(await opener.createSyncAccessHandle(), name);
    } catch (error) {
      if ((error as { name?: string }).name === 'NoModificationAllowedError') {
        throw new StorageBusyError(
          `Database "${this.database}" is open in another tab (its file ${name} is locked). Close the other tab, or wait for shelfdb's multi-tab support, which shares one database between tabs.`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  async list(): Promise<string[]> {
    const names: string[] = [];
    for await (const name of (this.dir as unknown as { keys(): AsyncIterable<string> }).keys())
      if (name !== BLOB_FOLDER) names.push(name); // the blob folder is blobStore()'s, not a file
    return names;
  }

  /** The blob files, in the directory's `blobs` folder. */
  async blobStore(): Promise<BlobStore> {
    return new FolderBlobStore(
      new OpfsBlobFolder(await this.dir.getDirectoryHandle(BLOB_FOLDER, { create: true })),
    );
  }

  async remove(name: string): Promise<void> {
    try {
      await this.dir.removeEntry(name);
    } catch (error) {
      if ((error as { name?: string }).name !== 'NotFoundError') throw error;
    }
  }
}
