/**
 * BlobFolder: the narrow, platform-facing interface FolderBlobStore keeps blob files in (an OPFS
 * folder, a Node directory, memory). It knows files and names only; hashing, chunking, quota
 * errors, stats and sweep are FolderBlobStore's.
 *
 * Layout, inside the database's directory (the folder is its `blobs` subfolder, BLOB_FOLDER):
 *   1. `blobs/<hash[0..2]>/<hash[2..4]>/<hash>`: a published blob file, whose bytes hash to its
 *      name (65,536 leaf folders: ~150 files each at 10 million blobs);
 *   2. `blobs/tmp/<name>`: a put in progress. Never read; removed by a failed put, and by
 *      `clearTemporary` on open for puts a crash cut short.
 * A file appears under its hash only by `publish`, after its bytes were flushed, so no crash can
 * leave a file under a hash its bytes do not hash to.
 */

/** The name of the blob folder inside a database's directory (BlockDirectory lists hide it). */
export const BLOB_FOLDER = 'blobs';

/** The blob folder's subfolder of puts in progress. */
export const TEMPORARY_FOLDER = 'tmp';

/** A temporary blob file being written, front to back. */
export interface BlobWriter {
  /** Appends `chunk` (the caller may reuse its buffer once this resolves). */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes everything written so far durable. */
  flush(): Promise<void>;
  /** Releases the file; no call may follow. Idempotent. */
  close(): Promise<void>;
}

/** A published blob file as the folder sees it. */
export interface BlobFileInfo {
  /** Its length in bytes. */
  size: number;
  /** When it was last written (ms since the epoch): the file system's modification time. */
  time: number;
}

/** An incremental hash (SHA-256), as `@noble/hashes` and `node:crypto` give one. */
export interface BlobHasher {
  /** Adds bytes. */
  update(data: Uint8Array): unknown;
  /** The digest of everything added (32 bytes). */
  digest(): Uint8Array;
}

export interface BlobFolder {
  /** Creates the empty temporary file `name` (in `tmp/`) and opens it for writing. */
  createTemporary(name: string): Promise<BlobWriter>;
  /**
   * Moves the closed, flushed temporary `name` to `hash`'s place and makes the new name durable.
   * When a file is there already, removes the temporary instead.
   * @returns false when the blob was stored already.
   */
  publish(name: string, hash: string): Promise<boolean>;
  /** Removes temporary `name`; nothing if it is not there. */
  removeTemporary(name: string): Promise<void>;
  /** The names of the temporary files. */
  temporaries(): Promise<string[]>;
  /** Size and time of the blob file `hash`, undefined when there is none. */
  stat(hash: string): Promise<BlobFileInfo | undefined>;
  /**
   * Bytes `[start, end)` of blob file `hash`, clamped to its size by the folder (one lookup of the
   * file, not a `stat` first), undefined when there is none. `0 <= start <= end`.
   */
  read(hash: string, start: number, end: number): Promise<Uint8Array | undefined>;
  /** The blob file as a platform Blob read when used, undefined when there is none. */
  file(hash: string): Promise<Blob | undefined>;
  /** Removes blob file `hash` durably; nothing if it is not there. */
  remove(hash: string): Promise<void>;
  /** Every published blob file (names that are not hashes in their place are skipped). */
  list(): AsyncIterable<BlobFileInfo & { hash: string }>;
  /** Optional: a faster SHA-256 than the portable one (Node's `node:crypto`). */
  hasher?(): BlobHasher;
}

/** The path of blob file `hash` below the blob folder, as its folder names: [h0, h1, hash]. */
export function blobPath(hash: string): [string, string, string] {
  return [hash.slice(0, 2), hash.slice(2, 4), hash];
}

/** True for a 64-digit lowercase hexadecimal name (a blob file's). */
export function isHashName(name: string): boolean {
  return /^[0-9a-f]{64}$/.test(name);
}

/** True for a two-digit lowercase hexadecimal name (a level of the blob folder's tree). */
export function isPrefixName(name: string): boolean {
  return /^[0-9a-f]{2}$/.test(name);
}
