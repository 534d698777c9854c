/**
 * BlockFile and BlockDirectory over Node's file system, for `openDatabase(name, { storage: 'file',
 * path })` in servers, tools and tests.
 *
 * A NodeBlockDirectory holds the directory's lock file (node-lock-file.ts) from `create` until
 * `close`, so one process at a time serves a database. The lock file is not one of the database's
 * files: `list` does not show it and `open`/`remove` refuse its name.
 *
 * Every change of the directory's names (a file created, a file removed) is followed by an fsync
 * of the directory: without it a crash can lose a new segment's name even though its bytes were
 * flushed, or bring back a removed file.
 */
import { ShelfError, StorageError } from '../src/shared/errors.js';
import { BLOB_FOLDER } from './blob-folder.js';
import type { BlobStore } from './blob-store.js';
import type { BlockDirectory, BlockFile } from './block-file.js';
import { FolderBlobStore } from './folder-blob-store.js';
import { NodeBlobFolder, nodeBlobPlatform } from './node-blob-folder.js';
import { LOCK_NAME, LockFile, TAKEOVER_NAME } from './node-lock-file.js';
import {
  errorCode,
  nodePlatform,
  openingError,
  syncDirectory,
  type NodeFs,
  type NodePlatform,
} from './node-platform.js';

/** Reads up to this many bytes need no fstat (see NodeBlockFile.read). */
const SMALL_READ = 1 << 20;

export class NodeBlockFile implements BlockFile {
  /** The open file descriptor; -1 once closed. */
  private fd: number;

  /** Opens `path` for reading and writing; `fd` is a descriptor already open so. */
  constructor(
    private readonly fs: NodeFs,
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  read(offset: number, length: number): Uint8Array {
    // The file's size bounds what a damaged length field may allocate. Asking for it (an fstat)
    // cost as much as the read itself for the small records a load reads one by one, so a read of
    // up to SMALL_READ bytes allocates what it asks for and keeps what the file had.
    const bound = length <= SMALL_READ ? length : this.size() - offset;
    const buffer = new Uint8Array(Math.max(0, Math.min(length, bound)));
    let done = 0;
    while (done < buffer.byteLength) {
      const n = this.fs.readSync(this.fd, buffer, done, buffer.byteLength - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return done === buffer.byteLength ? buffer : buffer.subarray(0, done);
  }

  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.byteLength) {
      done += this.fs.writeSync(this.fd, data, done, data.byteLength - done, offset + done);
    }
  }

  size(): number {
    return this.fs.fstatSync(this.fd).size;
  }

  truncate(size: number): void {
    this.fs.ftruncateSync(this.fd, size);
  }

  flush(): void {
    this.fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) this.fs.closeSync(this.fd);
    this.fd = -1;
  }
}

export class NodeBlockDirectory implements BlockDirectory {
  /** The lock this directory holds; undefined once released by close(). */
  private lock: LockFile | undefined;

  private constructor(
    private readonly fs: NodeFs,
    private readonly platform: NodePlatform,
    readonly path: string,
    lock: LockFile,
  ) {
    this.lock = lock;
  }

  /**
   * The directory at `path`, created if missing, locked for this process until close().
   * `platform` is for tests (a recording or failing file system); by default Node's own.
   * @throws ShelfError when `path` exists and is not a directory (nothing is changed);
   *   StorageBusyError when another process, or this one, has the database open.
   */
  static async create(path: string, platform?: NodePlatform): Promise<NodeBlockDirectory> {
    const node = platform ?? (await nodePlatform());
    const { fs } = node;
    if (!isDirectory(fs, path)) {
      let first: string | undefined;
      try {
        first = fs.mkdirSync(path, { recursive: true });
      } catch (error) {
        const code = errorCode(error);
        if (code === 'EEXIST' || code === 'ENOTDIR') throw notADirectory(path, error);
        throw openingError(error, `the directory ${path}`);
      }
      // Each directory made is a new name in its parent: make those names durable, from the
      // deepest up to the parent of the first one made.
      if (first !== undefined) {
        for (let made = path; ; made = node.dirname(made)) {
          syncDirectory(fs, node.dirname(made));
          if (made === first || node.dirname(made) === made) break;
        }
      }
    }
    return new NodeBlockDirectory(fs, node, path, LockFile.acquire(node, path));
  }

  async open(name: string): Promise<BlockFile> {
    this.check(name);
    const path = this.platform.join(this.path, name);
    let fd: number;
    try {
      fd = this.fs.openSync(path, 'r+');
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      try {
        fd = this.fs.openSync(path, 'wx+');
      } catch (raced) {
        if (errorCode(raced) !== 'EEXIST') throw raced;
        fd = this.fs.openSync(path, 'r+'); // made meanwhile: by us (no other owner), so ours
      }
      try {
        syncDirectory(this.fs, this.path); // the new name survives a crash
      } catch (syncError) {
        this.fs.closeSync(fd);
        throw syncError;
      }
    }
    return new NodeBlockFile(this.fs, path, fd);
  }

  async list(): Promise<string[]> {
    return this.fs
      .readdirSync(this.path)
      .filter((n) => n !== LOCK_NAME && n !== TAKEOVER_NAME && n !== BLOB_FOLDER);
  }

  async remove(name: string): Promise<void> {
    this.check(name);
    this.fs.rmSync(this.platform.join(this.path, name), { force: true });
    syncDirectory(this.fs, this.path); // the removal survives a crash
  }

  /** The blob files, in the directory's `blobs` folder (made by the first put). */
  async blobStore(): Promise<BlobStore> {
    this.check(BLOB_FOLDER, true);
    const node = await nodeBlobPlatform();
    return new FolderBlobStore(new NodeBlobFolder(node.join(this.path, BLOB_FOLDER), node));
  }

  /** Releases the lock file; the directory is unusable after. Idempotent. */
  async close(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    lock?.release();
  }

  private check(name: string, blobs = false): void {
    if (this.lock === undefined) {
      throw new StorageError(
        `The directory ${this.path} was closed, and its lock released: no file in it may be opened or removed any more. Open the database again.`,
      );
    }
    if (name === LOCK_NAME || name === TAKEOVER_NAME) {
      throw new StorageError(
        `${name} in ${this.path} is the database's lock file, not a database file: it is removed only by closing the directory.`,
      );
    }
    if (name === BLOB_FOLDER && !blobs) {
      throw new StorageError(
        `${name} in ${this.path} is the database's blob folder, not a database file: reach it through blobStore().`,
      );
    }
  }
}

function isDirectory(fs: NodeFs, path: string): boolean {
  let stat: { isDirectory(): boolean };
  try {
    stat = fs.statSync(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    if (errorCode(error) === 'ENOTDIR') throw notADirectory(path, error);
    throw error;
  }
  if (!stat.isDirectory()) throw notADirectory(path);
  return true;
}

function notADirectory(path: string, cause?: unknown): ShelfError {
  return new ShelfError(
    `${path} is not a directory (it, or a folder on its way, is a file). Storage 'file' keeps a database in a directory of its own: pass the path of a directory, or of one to create. Nothing was changed.`,
    cause === undefined ? undefined : { cause },
  );
}
