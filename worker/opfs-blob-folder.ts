/**
 * OpfsBlobFolder: a BlobFolder in the Origin Private File System (a ShelfStorage database's
 * `blobs` folder), for FolderBlobStore.
 *
 * Writing: a temporary is written through a sync access handle in a dedicated worker (the fastest
 * writes and a real flush), or a writable stream elsewhere (its `close()` commits it). Publishing
 * moves it with `FileSystemFileHandle.move()` (Chromium 110+, Safari 16.4+, Firefox 111+); where
 * that is missing it is copied through a writable stream, whose bytes become visible only when the
 * stream closes whole (the browser writes a swap file first), then removed.
 *
 * Reading: `getFile()` and `slice().arrayBuffer()`, never a sync access handle. Sync access
 * handles are exclusive per file: a reader holding one would make a second reader, a sweep's
 * removal and another tab's read fail with NoModificationAllowedError, and caching handles would
 * keep files locked for as long as the cache lives. A File from `getFile()` takes no lock, is read
 * off the worker's thread, and reads only the slice asked for.
 */
import {
  blobPath,
  isHashName,
  isPrefixName,
  TEMPORARY_FOLDER,
  type BlobFileInfo,
  type BlobFolder,
  type BlobWriter,
} from './blob-folder.js';
import type { SyncAccessHandle } from './opfs-file.js';

/** The parts of the OPFS handles used here beyond the DOM lib's (typed by hand, see opfs-file.ts). */
interface FileHandle {
  getFile(): Promise<File>;
  /** In dedicated workers only. */
  createSyncAccessHandle?(): Promise<SyncAccessHandle>;
  createWritable(): Promise<WritableFile>;
  move?(parent: FileSystemDirectoryHandle, name: string): Promise<void>;
}

/** A FileSystemWritableFileStream, the part used. */
interface WritableFile {
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** The OPFS folder as an async iterable of entries (typed in the WebWorker lib of newer TS only). */
interface Entries {
  entries(): AsyncIterable<[string, FileSystemHandle]>;
  keys(): AsyncIterable<string>;
}

/**
 * The blob folder in OPFS directory `root` (a database directory's `blobs`).
 * @example
 * const store = new FolderBlobStore(new OpfsBlobFolder(await dir.getDirectoryHandle('blobs', { create: true })));
 */
export class OpfsBlobFolder implements BlobFolder {
  constructor(private readonly root: FileSystemDirectoryHandle) {}

  async createTemporary(name: string): Promise<BlobWriter> {
    const tmp = await this.root.getDirectoryHandle(TEMPORARY_FOLDER, { create: true });
    const file = (await tmp.getFileHandle(name, { create: true })) as unknown as FileHandle;
    if (file.createSyncAccessHandle !== undefined) {
      const handle = await file.createSyncAccessHandle();
      let at = 0;
      let open = true;
      return {
        write: async (chunk) => {
          let done = 0;
          while (done < chunk.byteLength) {
            const n = handle.write(chunk.subarray(done), { at: at + done });
            if (n <= 0) throw new Error(`OPFS write of blobs/tmp/${name} wrote nothing`);
            done += n;
          }
          at += chunk.byteLength;
        },
        flush: async () => handle.flush(),
        close: async () => {
          if (open) handle.close();
          open = false;
        },
      };
    }
    const stream = await file.createWritable();
    let state: 'open' | 'closed' | 'failed' = 'open';
    return {
      write: async (chunk) => {
        try {
          await stream.write(chunk);
        } catch (error) {
          state = 'failed'; // a failed writable stream is errored: close() would reject
          throw error;
        }
      },
      flush: async () => {
        // A writable stream's bytes are committed by close(), which the store calls next.
      },
      close: async () => {
        if (state === 'open') await stream.close();
        state = 'closed';
      },
    };
  }

  async publish(name: string, hash: string): Promise<boolean> {
    const tmp = await this.root.getDirectoryHandle(TEMPORARY_FOLDER);
    const file = (await tmp.getFileHandle(name)) as unknown as FileHandle;
    const [h0, h1] = blobPath(hash);
    const first = await this.root.getDirectoryHandle(h0, { create: true });
    const leaf = await first.getDirectoryHandle(h1, { create: true });
    const existing = await fileIn(leaf, hash);
    if (existing !== undefined) {
      // Same name, same size: the same bytes (a different size is what an interrupted copy
      // below leaves, and is replaced).
      if ((await existing.getFile()).size === (await file.getFile()).size) {
        await tmp.removeEntry(name);
        return false;
      }
      await leaf.removeEntry(hash);
    }
    if (file.move !== undefined) {
      await file.move(leaf, hash);
      return true;
    }
    await copyInto(file, leaf, hash);
    await tmp.removeEntry(name);
    return true;
  }

  async removeTemporary(name: string): Promise<void> {
    const tmp = await folderIn(this.root, TEMPORARY_FOLDER);
    await tmp?.removeEntry(name).catch(ignoreNotFound);
  }

  async temporaries(): Promise<string[]> {
    const tmp = await folderIn(this.root, TEMPORARY_FOLDER);
    const names: string[] = [];
    if (tmp !== undefined)
      for await (const name of (tmp as unknown as Entries).keys()) names.push(name);
    return names;
  }

  async stat(hash: string): Promise<BlobFileInfo | undefined> {
    const file = await this.file(hash);
    return file === undefined ? undefined : { size: file.size, time: (file as File).lastModified };
  }

  async read(hash: string, start: number, end: number): Promise<Uint8Array | undefined> {
    const file = await this.file(hash);
    return file === undefined
      ? undefined
      : new Uint8Array(await file.slice(start, end).arrayBuffer());
  }

  async file(hash: string): Promise<Blob | undefined> {
    const [h0, h1] = blobPath(hash);
    const first = await folderIn(this.root, h0);
    const leaf = first === undefined ? undefined : await folderIn(first, h1);
    const handle = leaf === undefined ? undefined : await fileIn(leaf, hash);
    return handle?.getFile();
  }

  async remove(hash: string): Promise<void> {
    const [h0, h1] = blobPath(hash);
    const first = await folderIn(this.root, h0);
    const leaf = first === undefined ? undefined : await folderIn(first, h1);
    await leaf?.removeEntry(hash).catch(ignoreNotFound);
  }

  async *list(): AsyncIterable<BlobFileInfo & { hash: string }> {
    for await (const [h0, first] of (this.root as unknown as Entries).entries()) {
      if (!isPrefixName(h0) || first.kind !== 'directory') continue;
      for await (const [h1, leaf] of (first as unknown as Entries).entries()) {
        if (!isPrefixName(h1) || leaf.kind !== 'directory') continue;
        for await (const [hash, handle] of (leaf as unknown as Entries).entries()) {
          if (!isHashName(hash) || !hash.startsWith(h0 + h1) || handle.kind !== 'file') continue;
          const file = await (handle as FileSystemFileHandle).getFile().catch(ignoreNotFound);
          if (file !== undefined) yield { hash, size: file.size, time: file.lastModified };
        }
      }
    }
  }
}

/**
 * Copies `file` to `name` in `leaf`, for browsers without `move()`. The name appears at once,
 * empty (an empty file cannot be a blob's: `publish` replaces a file of the wrong size); the bytes
 * appear whole when the stream closes.
 */
async function copyInto(
  file: FileHandle,
  leaf: FileSystemDirectoryHandle,
  name: string,
): Promise<void> {
  const target = (await leaf.getFileHandle(name, { create: true })) as unknown as FileHandle;
  const stream = await target.createWritable();
  try {
    const source = (await file.getFile()).stream().getReader();
    for (;;) {
      const { done, value } = await source.read();
      if (done) break;
      await stream.write(value as Uint8Array);
    }
    await stream.close();
  } catch (error) {
    await stream.abort().catch(() => undefined); // the copy's failure is what to report
    await leaf.removeEntry(name).catch(() => undefined); // the empty name; publish replaces it too
    throw error;
  }
}

/** The subfolder `name` of `parent`, undefined when there is none. */
async function folderIn(
  parent: FileSystemDirectoryHandle,
  name: string,
): Promise<FileSystemDirectoryHandle | undefined> {
  return parent.getDirectoryHandle(name).catch(ignoreNotFound);
}

/** The file `name` in `parent`, undefined when there is none. */
async function fileIn(
  parent: FileSystemDirectoryHandle,
  name: string,
): Promise<FileSystemFileHandle | undefined> {
  return parent.getFileHandle(name).catch(ignoreNotFound);
}

/** Undefined for NotFoundError (the entry is gone: removed meanwhile, or never made); rethrows others. */
function ignoreNotFound(error: unknown): undefined {
  if ((error as { name?: string } | null)?.name === 'NotFoundError') return undefined;
  throw error;
}
