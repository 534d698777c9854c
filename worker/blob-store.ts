/**
 * BlobStore: where a storage keeps blob files, content-addressed by SHA-256 (KoboldFS's model: a
 * flat namespace of hashes, spread over hash-prefixed folders by the stores that keep files).
 *
 * A store only holds bytes; what references them is the storages' business (blob records,
 * blob-record.ts). Storages hold one store each: FolderBlobStore over a BlobFolder (OPFS, Node,
 * memory folders) for ShelfStorage, IndexedDBBlobStore for IndexedDBStorage, MemoryBlobStore for
 * MemoryStorage.
 *
 * Durability: `put` resolves after the bytes are flushed under their hash, so a commit naming the
 * hash after it never references bytes a crash could lose. A put that fails or is cut short leaves
 * at most a temporary file, removed by `clearTemporary` (on open) and never seen by readers.
 */
import { StorageError } from '../src/shared/errors.js';
import type { BlobInfo } from '../src/shared/storage.js';

/** Why `check` found a blob wanting: no file, or bytes that do not hash to its name. */
export type BlobProblem = 'missing' | 'damaged';

/** Where one storage keeps its blob files (see the module's comment). */
export interface BlobStore {
  /**
   * Stores `blob`'s bytes, written while hashed (read whole up to WHOLE_HASH_MAX where the hash is
   * WebCrypto's one shot, streamed beyond), flushed before it resolves. Bytes stored already
   * are kept once (the store only notes the time, see `sweep`).
   * @throws StorageFullError when they do not fit: nothing of them is kept.
   */
  put(blob: Blob): Promise<BlobInfo>;
  /**
   * Bytes `[start, end)` of a stored blob, clamped to its size.
   * @throws StorageError naming the hash when it is not stored.
   */
  read(hash: string, start: number, end: number): Promise<Uint8Array>;
  /**
   * The stored bytes as a platform Blob read when used (a disk-backed File where the platform
   * gives one), `type` ''.
   * @throws StorageError naming the hash when it is not stored.
   */
  file(hash: string): Promise<Blob>;
  /** Its size, or undefined when no blob has this hash. */
  size(hash: string): Promise<number | undefined>;
  /** Reads a stored blob whole and says what is wrong with it, undefined when it is sound. */
  check(hash: string): Promise<BlobProblem | undefined>;
  /**
   * Removes every blob not in `keep` that was stored (by a put of this store, or in the file's own
   * time for those found on disk) before `before` (ms since the epoch). Resolves to what it removed.
   */
  sweep(keep: ReadonlySet<string>, before: number): Promise<BlobSweep>;
  /** How many blobs, and their bytes. */
  stats(): Promise<BlobStats>;
  /** Every stored hash (for verify, backup and tests), in no particular order. */
  list(): AsyncIterable<BlobInfo>;
  /** Removes what interrupted puts left (called on open); resolves to how many it removed. */
  clearTemporary(): Promise<number>;
}

/** What a sweep removed. */
export interface BlobSweep {
  /** Blob files removed. */
  removed: number;
  /** Their bytes. */
  bytes: number;
}

/** How many blob files a store holds, and their bytes. */
export interface BlobStats {
  /** Blob files. */
  blobs: number;
  /** Their bytes. */
  blobBytes: number;
}

/** The chunk size stores read and write blobs in: bounded memory whatever the blob's size. */
export const BLOB_CHUNK = 1 << 20;

/** The error for a blob asked for that is not stored. */
export function missingBlob(hash: string): StorageError {
  return new StorageError(
    `No blob ${hash} is stored: pack removed it (nothing kept referenced it) or it was never stored. Store the bytes again.`,
  );
}

/** Lowercase hexadecimal of a digest. */
export function hexOf(digest: Uint8Array): string {
  let s = '';
  for (const b of digest) s += b.toString(16).padStart(2, '0');
  return s;
}
