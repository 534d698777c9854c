/**
 * FolderBlobStore: the BlobStore of ShelfStorage, over a BlobFolder (an OPFS folder, a Node
 * directory, memory).
 *
 * A put writes the Blob into a temporary file in chunks of at most BLOB_CHUNK bytes; flushes and
 * closes it; then publishes it under its hash (blob-folder.ts). How it hashes depends on the folder:
 *   - a folder with a native incremental hasher (Node's node:crypto) streams the Blob, hashing each
 *     chunk as it is written: memory bounded by one chunk whatever the blob's size;
 *   - otherwise (OPFS, memory) a blob of up to WHOLE_HASH_MAX bytes is read whole and handed to
 *     WebCrypto's one-shot digest, which runs off the thread while the chunks are written (in
 *     Chromium the portable hash over a stream was the whole cost of a put: ~45 MB/s against ~240
 *     for WebCrypto); larger blobs stream through the portable incremental hash.
 * Size and hash are those of the bytes read, whatever size the Blob claimed (a File cut short on
 * disk after its size was taken). A stored file of the same hash and another size (damaged) is
 * replaced by the put's. Any failure removes the temporary; a full disk becomes
 * StorageFullError; the Blob's own read failure is reported as it is.
 *
 * In memory per store (one per open storage): the time of each put this session (sweep's "stored
 * before" is the later of it and the file's own time), the counts once a first walk made them
 * (kept up to date by put and sweep), and a lock per hash so a sweep never removes a file a
 * concurrent put has just found stored.
 */
import { ShelfError } from '../src/shared/errors.js';
import type { BlobInfo } from '../src/shared/storage.js';
import { isHashName, type BlobFolder, type BlobHasher, type BlobWriter } from './blob-folder.js';
import { digestWhole, streamHasher, WHOLE_HASH_MAX } from './blob-hash.js';
import { BLOB_CHUNK, hexOf, missingBlob, type BlobProblem, type BlobStore } from './blob-store.js';
import { storageFailure } from './storage-failures.js';

/** What a put's failure left: nothing. */
const NOTHING_STORED = 'Nothing of the blob was stored; the stored data is intact.';

/**
 * A BlobStore over a BlobFolder.
 * @example
 * const blobs = new FolderBlobStore(new MemoryBlobFolder());
 * const { hash } = await blobs.put(new Blob(['hello']));
 */
export class FolderBlobStore implements BlobStore {
  /** When each hash was last put by this store (ms since the epoch). */
  private readonly putTimes = new Map<string, number>();
  /** The counts, once a walk made them; undefined before. */
  private counts: { blobs: number; blobBytes: number } | undefined;
  /** Bumped by every change of the counts: a walk overlapping one does not cache its counts. */
  private changes = 0;
  /** Publishes and sweep removals in progress, per hash: each waits for the one before. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly folder: BlobFolder) {}

  async put(blob: Blob): Promise<BlobInfo> {
    requireBlob(blob);
    const name = temporaryName();
    const whole = this.folder.hasher === undefined && readsWhole(blob);
    let writer: BlobWriter | undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      let written: { size: number; digest: Promise<Uint8Array> | Uint8Array };
      if (whole) {
        // Read while the temporary is made; awaited below, where its own failure is reported.
        const reading = blob.arrayBuffer();
        reading.catch(() => undefined); // handled by the await below (or moot: the create failed)
        writer = await this.folder.createTemporary(name).catch(storeFailed);
        written = await writeWhole(new Uint8Array(await reading), writer);
      } else {
        reader = (blob.stream() as ReadableStream<Uint8Array>).getReader();
        writer = await this.folder.createTemporary(name).catch(storeFailed);
        const hasher = this.hasher();
        const size = await copy(reader, writer, hasher);
        written = { size, digest: hasher.digest() };
      }
      await writer.flush().catch(storeFailed);
      await writer.close().catch(storeFailed);
      const hash = hexOf(await written.digest);
      const { size } = written;
      await this.locked(hash, async () => {
        // A stored file of another size is damaged (cut short): this put's replaces it, as the
        // damaged blob's error tells the app to store the bytes again.
        const stored = await this.folder.stat(hash).catch(storeFailed);
        if (stored !== undefined && stored.size !== size) {
          await this.folder.remove(hash).catch(storeFailed);
          this.counted(-1, -stored.size);
        }
        const published = await this.folder.publish(name, hash).catch(storeFailed);
        this.putTimes.set(hash, Date.now());
        if (published) this.counted(1, size);
      });
      return { hash, size };
    } catch (error) {
      // The source may be mid-stream (a write failed): stop reading it. Its own failure, if it
      // failed, is the error reported.
      reader?.cancel().catch(() => undefined); // cancelling an errored or finished stream rejects
      await writer?.close().catch(() => undefined); // closed already, or failed with the put
      try {
        await this.folder.removeTemporary(name);
      } catch {
        // clearTemporary removes it on the next open; the put's own failure is what to report.
      }
      throw error;
    }
  }

  async read(hash: string, start: number, end: number): Promise<Uint8Array> {
    requireHash(hash);
    // One lookup of the file: the folder clamps to its size (on OPFS a lookup walks three handles).
    const from = Math.max(0, start);
    const bytes = await this.folder.read(hash, from, Math.max(from, end));
    if (bytes === undefined) throw missingBlob(hash);
    return bytes;
  }

  async file(hash: string): Promise<Blob> {
    requireHash(hash);
    const file = await this.folder.file(hash);
    if (file === undefined) throw missingBlob(hash);
    return file;
  }

  async size(hash: string): Promise<number | undefined> {
    requireHash(hash);
    return (await this.folder.stat(hash))?.size;
  }

  async check(hash: string): Promise<BlobProblem | undefined> {
    requireHash(hash);
    const info = await this.folder.stat(hash);
    if (info === undefined) return 'missing';
    const hasher = this.hasher();
    for (let at = 0; at < info.size; at += BLOB_CHUNK) {
      const bytes = await this.folder.read(hash, at, Math.min(info.size, at + BLOB_CHUNK));
      if (bytes === undefined) return 'missing';
      hasher.update(bytes);
      if (bytes.byteLength < Math.min(BLOB_CHUNK, info.size - at)) return 'damaged';
    }
    return hexOf(hasher.digest()) === hash ? undefined : 'damaged';
  }

  async sweep(
    keep: ReadonlySet<string>,
    before: number,
  ): Promise<{ removed: number; bytes: number }> {
    let removed = 0;
    let bytes = 0;
    for await (const { hash, time, size } of this.folder.list()) {
      if (keep.has(hash) || time >= before) continue;
      await this.locked(hash, async () => {
        // Checked under the hash's lock: a put that found this file stored has set its time.
        if ((this.putTimes.get(hash) ?? 0) >= before) return;
        await this.folder.remove(hash);
        this.putTimes.delete(hash);
        this.counted(-1, -size);
        removed++;
        bytes += size;
      });
    }
    return { removed, bytes };
  }

  async stats(): Promise<{ blobs: number; blobBytes: number }> {
    if (this.counts !== undefined) return { ...this.counts };
    const changes = this.changes;
    let blobs = 0;
    let blobBytes = 0;
    for await (const { size } of this.folder.list()) {
      blobs++;
      blobBytes += size;
    }
    // A put or sweep during the walk may or may not be in it: keep no counts that may be off.
    if (changes === this.changes) this.counts = { blobs, blobBytes };
    return { blobs, blobBytes };
  }

  async *list(): AsyncIterable<BlobInfo> {
    for await (const { hash, size } of this.folder.list()) yield { hash, size };
  }

  async clearTemporary(): Promise<number> {
    const names = await this.folder.temporaries();
    for (const name of names) await this.folder.removeTemporary(name);
    return names.length;
  }

  private hasher(): BlobHasher {
    return this.folder.hasher?.() ?? streamHasher();
  }

  /** Notes a blob file published (+1) or removed (−1) in the counts, if there are counts. */
  private counted(blobs: number, bytes: number): void {
    this.changes++;
    if (this.counts === undefined) return;
    this.counts.blobs += blobs;
    this.counts.blobBytes += bytes;
  }

  /** Runs `work` once the work on `hash` before it has settled. */
  private async locked<T>(hash: string, work: () => Promise<T>): Promise<T> {
    const before = this.locks.get(hash);
    const mine = (async () => {
      await before?.catch(() => undefined); // its failure is its caller's, not this work's
      return work();
    })();
    this.locks.set(hash, mine);
    try {
      return await mine;
    } finally {
      if (this.locks.get(hash) === mine) this.locks.delete(hash);
    }
  }
}

/**
 * True when `blob` is read whole to be digested at once: it says a size of at most WHOLE_HASH_MAX
 * (the memory one put may take) and can be read so (a Blob-like that only streams is streamed).
 */
function readsWhole(blob: Blob): boolean {
  return (
    typeof blob.size === 'number' &&
    blob.size <= WHOLE_HASH_MAX &&
    typeof (blob as { arrayBuffer?: unknown }).arrayBuffer === 'function'
  );
}

/**
 * Writes `bytes` to `writer` in chunks of BLOB_CHUNK bytes while WebCrypto digests them off the
 * thread. The digest is of the very buffer written, which nothing changes meanwhile (and WebCrypto
 * copies what it digests when called).
 * @returns the size written and the digest, to await once the temporary is flushed.
 */
async function writeWhole(
  bytes: Uint8Array<ArrayBuffer>,
  writer: BlobWriter,
): Promise<{ size: number; digest: Promise<Uint8Array> }> {
  const digest = digestWhole(bytes);
  digest.catch(() => undefined); // awaited after the flush; unawaited only when a write failed
  for (let at = 0; at < bytes.byteLength; at += BLOB_CHUNK) {
    await writer.write(bytes.subarray(at, at + BLOB_CHUNK)).catch(storeFailed);
  }
  return { size: bytes.byteLength, digest };
}

/**
 * Streams `reader` into `writer` in chunks of exactly BLOB_CHUNK bytes (the last one shorter),
 * hashing them: few large writes whatever chunks the source gives, one chunk in memory.
 * @returns the number of bytes.
 */
async function copy(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  writer: BlobWriter,
  hasher: BlobHasher,
): Promise<number> {
  const buffer = new Uint8Array(BLOB_CHUNK);
  let filled = 0;
  let size = 0;
  const emit = async (chunk: Uint8Array): Promise<void> => {
    hasher.update(chunk);
    await writer.write(chunk).catch(storeFailed);
    size += chunk.byteLength;
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let at = 0;
    while (at < value.byteLength) {
      if (filled === 0 && value.byteLength - at >= BLOB_CHUNK) {
        await emit(value.subarray(at, at + BLOB_CHUNK)); // a whole chunk: no copy
        at += BLOB_CHUNK;
        continue;
      }
      const n = Math.min(BLOB_CHUNK - filled, value.byteLength - at);
      buffer.set(value.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === BLOB_CHUNK) {
        await emit(buffer);
        filled = 0;
      }
    }
  }
  if (filled > 0) await emit(buffer.subarray(0, filled));
  return size;
}

/**
 * Refuses what is not a blob hash, before it names a path (`../x` must never reach a folder).
 * @throws ShelfError naming the value.
 */
export function requireHash(hash: unknown): void {
  if (typeof hash !== 'string' || !isHashName(hash)) {
    throw new ShelfError(
      `${JSON.stringify(hash)?.slice(0, 80) ?? String(hash)} is not a blob hash: a blob is named by the SHA-256 of its bytes, 64 lowercase hexadecimal digits, as putBlob answered it. Nothing was read.`,
    );
  }
}

/**
 * Refuses what is not a Blob (or File) before anything is written.
 * @throws ShelfError naming what it got.
 */
export function requireBlob(blob: unknown): void {
  if (typeof (blob as { stream?: unknown } | null)?.stream !== 'function') {
    const what = blob === null ? 'null' : typeof blob;
    throw new ShelfError(
      `A blob to store must be a Blob or a File, got ${what}. Nothing was stored.`,
    );
  }
}

/** A platform failure while storing a blob, as shelfdb's error (full disk: StorageFullError). */
function storeFailed(error: unknown): never {
  if (error instanceof ShelfError) throw error;
  throw storageFailure(error, NOTHING_STORED, 'storing a blob');
}

/** A name no other put uses: time first, so the leftovers of a crash sort by age. */
function temporaryName(): string {
  return `${Date.now().toString(36)}-${crypto.randomUUID()}`;
}
