/**
 * BlockFile: the narrow file interface the log is written over, and BlockDirectory, a folder of
 * them. Synchronous like OPFS's FileSystemSyncAccessHandle, the fastest file access a browser has;
 * a Node file descriptor (node-file.ts) and memory (here) implement the same, so the whole format,
 * recovery and pack run as Node tests.
 */
import type { BlobStore } from './blob-store.js';
import { FolderBlobStore } from './folder-blob-store.js';
import { MemoryBlobFolder } from './memory-blob-folder.js';

/** One file the log is written over: synchronous reads and writes at byte offsets. */
export interface BlockFile {
  /** Reads `length` bytes at `offset`; fewer if the file ends first. */
  read(offset: number, length: number): Uint8Array;
  /** Writes all of `data` at `offset`, growing the file if needed. */
  write(offset: number, data: Uint8Array): void;
  /** The file's length in bytes. */
  size(): number;
  /** Cuts (or extends with zeros) the file to `size` bytes. */
  truncate(size: number): void;
  /** Makes every write so far durable. */
  flush(): void;
  /** Releases the file; no call may follow. */
  close(): void;
}

/**
 * The directory a ShelfStorage database lives in: named BlockFiles, created on open. An OPFS
 * directory (OpfsBlockDirectory), a Node directory, or memory (MemoryBlockDirectory).
 */
export interface BlockDirectory {
  /** Opens `name`, creating an empty file if there is none. */
  open(name: string): Promise<BlockFile>;
  /** The names of the files in the directory. */
  list(): Promise<string[]>;
  /** Deletes `name` (closed first by the caller); no error if it is not there. */
  remove(name: string): Promise<void>;
  /**
   * The database's blob files (blob-folder.ts: the directory's `blobs` folder, which `list` does
   * not show). Each call gives a new store over the same files: call it once per open storage.
   */
  blobStore(): Promise<BlobStore>;
  /**
   * Optional: releases what the directory holds for its user (the Node directory's lock file).
   * ShelfStorage calls it last when it closes, after every file handle is closed.
   */
  close?(): Promise<void>;
}

/** A BlockFile in memory. `failWrites` lets tests make writes fail (a full disk, a crash). */
export class MemoryBlockFile implements BlockFile {
  /** The bytes; `length` of the file is `used`. */
  private bytes = new Uint8Array(1024);
  private used = 0;
  /** Bytes up to here survived the last flush (what a crash keeps, for crash tests). */
  durableSize = 0;
  /** Called before each write; throw from it to simulate a failure. */
  beforeWrite: ((offset: number, data: Uint8Array) => void) | undefined;

  read(offset: number, length: number): Uint8Array {
    const end = Math.min(this.used, offset + length);
    return this.bytes.slice(Math.min(offset, end), end);
  }

  write(offset: number, data: Uint8Array): void {
    this.beforeWrite?.(offset, data);
    const end = offset + data.byteLength;
    if (end > this.bytes.byteLength) {
      const grown = new Uint8Array(Math.max(end, this.bytes.byteLength * 2));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    this.bytes.set(data, offset);
    this.used = Math.max(this.used, end);
  }

  size(): number {
    return this.used;
  }

  truncate(size: number): void {
    if (size < this.used) this.bytes.fill(0, size, this.used);
    else if (size > this.used) this.write(this.used, new Uint8Array(size - this.used));
    this.used = size;
  }

  flush(): void {
    this.durableSize = this.used;
  }

  close(): void {}

  /** A copy of the whole file (for crash and corruption tests). */
  snapshot(): Uint8Array {
    return this.bytes.slice(0, this.used);
  }

  /** Replaces the content (for crash and corruption tests). */
  restore(content: Uint8Array): void {
    this.bytes = new Uint8Array(Math.max(1024, content.byteLength));
    this.bytes.set(content);
    this.used = content.byteLength;
    this.durableSize = this.used;
  }
}

/** A BlockDirectory in memory; files outlive their handles, like files on disk. */
export class MemoryBlockDirectory implements BlockDirectory {
  /** The files by name (tests read and damage them here). */
  readonly files = new Map<string, MemoryBlockFile>();
  /** @internal The blob files (tests read, damage and fail them here). */
  readonly blobs = new MemoryBlobFolder();

  async open(name: string): Promise<BlockFile> {
    let file = this.files.get(name);
    if (file === undefined) {
      file = new MemoryBlockFile();
      this.files.set(name, file);
    }
    return file;
  }

  async list(): Promise<string[]> {
    return [...this.files.keys()];
  }

  async remove(name: string): Promise<void> {
    this.files.delete(name);
  }

  async blobStore(): Promise<BlobStore> {
    return new FolderBlobStore(this.blobs);
  }
}
