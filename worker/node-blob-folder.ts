/**
 * NodeBlobFolder: a BlobFolder in a Node directory (a 'file' database's `blobs` folder), for
 * FolderBlobStore.
 *
 * Durability: a temporary is fsynced by the store before `publish`; `publish` renames it into its
 * leaf folder (atomic: the name shows whole bytes or nothing) and fsyncs that folder, and every
 * folder it made, with its parent, so the name survives a crash. A removal fsyncs its folder too.
 * Hashing uses `node:crypto` (several times faster than the portable SHA-256).
 */
import {
  blobPath,
  isHashName,
  isPrefixName,
  TEMPORARY_FOLDER,
  type BlobFileInfo,
  type BlobFolder,
  type BlobHasher,
  type BlobWriter,
} from './blob-folder.js';
import { errorCode, syncDirectory, type NodeFs } from './node-platform.js';

/** The part of node:fs the blob folder uses (typed by hand, as node-platform.ts does). */
export interface NodeBlobFs extends NodeFs {
  statSync(path: string): { size: number; mtimeMs: number; isDirectory(): boolean };
  renameSync(from: string, to: string): void;
  utimesSync(path: string, atime: Date, mtime: Date): void;
  /** Node ≥ 19.8: a Blob backed by the file, read when used. */
  openAsBlob(path: string): Promise<Blob>;
}

/** Node's modules the blob folder needs (injectable: tests pass a failing fs). */
export interface NodeBlobPlatform {
  fs: NodeBlobFs;
  join(...parts: string[]): string;
  dirname(path: string): string;
  /** A SHA-256 hasher (node:crypto's createHash('sha256')). */
  sha256(): BlobHasher;
}

/** Loads Node's fs, path and crypto. */
export async function nodeBlobPlatform(): Promise<NodeBlobPlatform> {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const load = async <T>(id: string): Promise<T> =>
    (proc?.getBuiltinModule?.(id) as T | undefined) ?? ((await import(/* @vite-ignore */ id)) as T);
  const [fs, path, crypto] = await Promise.all([
    load<NodeBlobFs>('node:fs'),
    load<{ join(...p: string[]): string; dirname(p: string): string }>('node:path'),
    load<{ createHash(algorithm: string): BlobHasher }>('node:crypto'),
  ]);
  return {
    fs,
    join: (...parts) => path.join(...parts),
    dirname: (p) => path.dirname(p),
    sha256: () => crypto.createHash('sha256'),
  };
}

/**
 * The blob folder at `path` (created on the first put).
 * @example
 * const store = new FolderBlobStore(new NodeBlobFolder('/data/notes/blobs', await nodeBlobPlatform()));
 */
export class NodeBlobFolder implements BlobFolder {
  private readonly fs: NodeBlobFs;

  constructor(
    /** The folder's path (`<database directory>/blobs`). */
    readonly path: string,
    private readonly node: NodeBlobPlatform,
  ) {
    this.fs = node.fs;
  }

  async createTemporary(name: string): Promise<BlobWriter> {
    const folder = this.node.join(this.path, TEMPORARY_FOLDER);
    this.makeFolder(folder);
    const path = this.node.join(folder, name);
    let fd = this.fs.openSync(path, 'wx');
    let at = 0;
    return {
      write: async (chunk) => {
        let done = 0;
        while (done < chunk.byteLength) {
          done += this.fs.writeSync(fd, chunk, done, chunk.byteLength - done, at + done);
        }
        at += chunk.byteLength;
      },
      flush: async () => this.fs.fsyncSync(fd),
      close: async () => {
        if (fd < 0) return;
        const closing = fd;
        fd = -1;
        this.fs.closeSync(closing);
      },
    };
  }

  async publish(name: string, hash: string): Promise<boolean> {
    const from = this.node.join(this.path, TEMPORARY_FOLDER, name);
    const to = this.pathOf(hash);
    if (this.statPath(to) !== undefined) {
      this.fs.rmSync(from, { force: true });
      // Stored again now: a sweep of a later process (which knows no put times of this one) keeps
      // it for the grace period as well, in case the commit naming it comes after a restart.
      const now = new Date();
      this.fs.utimesSync(to, now, now);
      return false;
    }
    const leaf = this.node.dirname(to);
    this.makeFolder(leaf);
    this.fs.renameSync(from, to);
    syncDirectory(this.fs, leaf);
    return true;
  }

  async removeTemporary(name: string): Promise<void> {
    this.fs.rmSync(this.node.join(this.path, TEMPORARY_FOLDER, name), { force: true });
  }

  async temporaries(): Promise<string[]> {
    return this.names(this.node.join(this.path, TEMPORARY_FOLDER));
  }

  async stat(hash: string): Promise<BlobFileInfo | undefined> {
    return this.statPath(this.pathOf(hash));
  }

  async read(hash: string, start: number, end: number): Promise<Uint8Array | undefined> {
    let fd: number;
    try {
      fd = this.fs.openSync(this.pathOf(hash), 'r');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const size = this.fs.fstatSync(fd).size; // clamped here: `end` may be past the end
      const buffer = new Uint8Array(Math.max(0, Math.min(end, size) - start));
      let done = 0;
      while (done < buffer.byteLength) {
        const n = this.fs.readSync(fd, buffer, done, buffer.byteLength - done, start + done);
        if (n === 0) break;
        done += n;
      }
      return done === buffer.byteLength ? buffer : buffer.subarray(0, done);
    } finally {
      this.fs.closeSync(fd);
    }
  }

  async file(hash: string): Promise<Blob | undefined> {
    const path = this.pathOf(hash);
    // openAsBlob says a missing file with a TypeError (ERR_INVALID_ARG_VALUE) like any other
    // refusal: ask first. (A sweep removing it in between fails this call: it was not kept.)
    if (this.statPath(path) === undefined) return undefined;
    return this.fs.openAsBlob(path);
  }

  async remove(hash: string): Promise<void> {
    const path = this.pathOf(hash);
    if (this.statPath(path) === undefined) return;
    this.fs.rmSync(path, { force: true });
    syncDirectory(this.fs, this.node.dirname(path)); // the removal survives a crash
  }

  async *list(): AsyncIterable<BlobFileInfo & { hash: string }> {
    for (const h0 of this.names(this.path).filter(isPrefixName)) {
      const first = this.node.join(this.path, h0);
      for (const h1 of this.names(first).filter(isPrefixName)) {
        const leaf = this.node.join(first, h1);
        for (const hash of this.names(leaf)) {
          if (!isHashName(hash) || !hash.startsWith(h0 + h1)) continue;
          const info = this.statPath(this.node.join(leaf, hash));
          if (info !== undefined) yield { hash, ...info };
        }
      }
    }
  }

  hasher(): BlobHasher {
    return this.node.sha256();
  }

  private pathOf(hash: string): string {
    return this.node.join(this.path, ...blobPath(hash));
  }

  private statPath(path: string): BlobFileInfo | undefined {
    try {
      const { size, mtimeMs } = this.fs.statSync(path);
      return { size, time: mtimeMs };
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** The names in folder `path`; none when it does not exist (no blob stored yet). */
  private names(path: string): string[] {
    try {
      return this.fs.readdirSync(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
  }

  /** Makes folder `path` and its missing parents, each new name made durable in its parent. */
  private makeFolder(path: string): void {
    const first = this.fs.mkdirSync(path, { recursive: true });
    if (first === undefined) return;
    for (let made = path; ; made = this.node.dirname(made)) {
      syncDirectory(this.fs, this.node.dirname(made));
      if (made === first || this.node.dirname(made) === made) break;
    }
  }
}
