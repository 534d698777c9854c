/**
 * MemoryBlobFolder: a BlobFolder in memory, for ShelfStorage over a MemoryBlockDirectory and for
 * tests. Files are lists of chunks (appended, never rewritten) with what survived their last
 * flush, so `crashImage` gives what a fresh process would find after a power loss.
 *
 * Fault hooks: `fault` is called before every operation with its kind and the file's path inside
 * the folder (`tmp/<name>`, `<h0>/<h1>/<hash>`); throwing from it makes the operation fail having
 * changed nothing (a write may first apply a prefix of its bytes through `partial`). FaultDirectory routes its
 * plan through it.
 */
import {
  blobPath,
  TEMPORARY_FOLDER,
  type BlobFileInfo,
  type BlobFolder,
  type BlobWriter,
} from './blob-folder.js';

/** The operations MemoryBlobFolder reports to its `fault` hook. */
export type BlobFolderOp = 'create' | 'write' | 'flush' | 'publish' | 'remove' | 'read' | 'list';

/**
 * The fault hook: called before operation `op` on `path`; throw to fail it. For a write, `write`
 * says its length and `partial` applies the first `length` bytes of it (what a failing write may
 * leave).
 */
export type BlobFolderFault = (
  op: BlobFolderOp,
  path: string,
  write?: { bytes: number; partial(length: number): void },
) => void;

/** One file: its chunks, how many of them a crash keeps, its time. */
class MemoryBlobFile {
  chunks: Uint8Array[] = [];
  size = 0;
  /** Chunks as of the last flush (what a power loss keeps). */
  durable = 0;
  constructor(public time: number) {}

  append(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.chunks.push(bytes.slice());
    this.size += bytes.byteLength;
  }

  /** Bytes [start, end). */
  read(start: number, end: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.min(end, this.size) - Math.min(start, this.size)));
    let at = 0;
    for (const chunk of this.chunks) {
      const from = Math.max(start - at, 0);
      const to = Math.min(end - at, chunk.byteLength);
      if (from < to) out.set(chunk.subarray(from, to), at + from - start);
      at += chunk.byteLength;
      if (at >= end) break;
    }
    return out;
  }

  copy(keepUnflushed: boolean): MemoryBlobFile {
    const copy = new MemoryBlobFile(this.time);
    for (const chunk of this.chunks.slice(0, keepUnflushed ? undefined : this.durable))
      copy.append(chunk);
    copy.durable = copy.chunks.length;
    return copy;
  }
}

/**
 * A BlobFolder in memory.
 * @example
 * const store = new FolderBlobStore(new MemoryBlobFolder());
 */
export class MemoryBlobFolder implements BlobFolder {
  /** The files by path inside the folder (tests read, damage and date them here). */
  readonly files = new Map<string, MemoryBlobFile>();
  /** Called before each operation; throw from it to make the operation fail (see the header). */
  fault: BlobFolderFault | undefined;
  /** The clock files are dated by (tests move it). */
  now: () => number = () => Date.now();

  async createTemporary(name: string): Promise<BlobWriter> {
    const path = `${TEMPORARY_FOLDER}/${name}`;
    this.fault?.('create', path);
    const file = new MemoryBlobFile(this.now());
    this.files.set(path, file);
    let closed = false;
    const open = (): void => {
      if (closed) throw new Error(`MemoryBlobFolder: ${path} was used after it was closed.`);
    };
    return {
      write: async (chunk) => {
        open();
        this.fault?.('write', path, {
          bytes: chunk.byteLength,
          partial: (length) => file.append(chunk.subarray(0, length)),
        });
        file.append(chunk);
        file.time = this.now();
      },
      flush: async () => {
        open();
        this.fault?.('flush', path);
        file.durable = file.chunks.length;
      },
      close: async () => {
        closed = true;
      },
    };
  }

  async publish(name: string, hash: string): Promise<boolean> {
    const from = `${TEMPORARY_FOLDER}/${name}`;
    const to = blobPath(hash).join('/');
    this.fault?.('publish', to);
    const file = this.files.get(from);
    if (file === undefined) throw new Error(`MemoryBlobFolder: no temporary ${name} to publish.`);
    this.files.delete(from);
    if (this.files.has(to)) return false;
    this.files.set(to, file);
    return true;
  }

  async removeTemporary(name: string): Promise<void> {
    const path = `${TEMPORARY_FOLDER}/${name}`;
    this.fault?.('remove', path);
    this.files.delete(path);
  }

  async temporaries(): Promise<string[]> {
    this.fault?.('list', TEMPORARY_FOLDER);
    const prefix = `${TEMPORARY_FOLDER}/`;
    return [...this.files.keys()].filter((p) => p.startsWith(prefix)).map((p) => p.slice(4));
  }

  async stat(hash: string): Promise<BlobFileInfo | undefined> {
    const file = this.get(hash);
    return file === undefined ? undefined : { size: file.size, time: file.time };
  }

  async read(hash: string, start: number, end: number): Promise<Uint8Array | undefined> {
    return this.get(hash)?.read(start, end);
  }

  async file(hash: string): Promise<Blob | undefined> {
    const file = this.get(hash);
    return file === undefined ? undefined : new Blob(file.chunks as BlobPart[]);
  }

  async remove(hash: string): Promise<void> {
    const path = blobPath(hash).join('/');
    this.fault?.('remove', path);
    this.files.delete(path);
  }

  async *list(): AsyncIterable<BlobFileInfo & { hash: string }> {
    this.fault?.('list', '');
    for (const [path, file] of [...this.files]) {
      if (path.startsWith(`${TEMPORARY_FOLDER}/`)) continue;
      const hash = path.slice(6);
      if (this.files.get(path) === file) yield { hash, size: file.size, time: file.time };
    }
  }

  /**
   * The folder a fresh process finds after a power loss now: every name (creates, publishes and
   * removes are durable at once), each file as of its last flush, or with everything written when
   * `keepUnflushed` (the OS wrote its cache back).
   */
  crashImage(keepUnflushed = false): MemoryBlobFolder {
    const image = new MemoryBlobFolder();
    for (const [path, file] of this.files) image.files.set(path, file.copy(keepUnflushed));
    return image;
  }

  private get(hash: string): MemoryBlobFile | undefined {
    const path = blobPath(hash).join('/');
    this.fault?.('read', path);
    return this.files.get(path);
  }
}
