/**
 * The chunk values and entries of IndexedDBBlobStore (indexeddb-blob-store.ts) and what reads and
 * hashes them.
 *
 * A chunk is stored as a Blob of the bytes hashed: Chromium keeps a Blob value as a file and gives
 * it back as a handle, without reading it, so composing a stored blob's File moves no bytes through
 * the worker. Databases written before kept ArrayBuffers: both are read, checked and swept alike.
 * A blob put whole (up to WHOLE_HASH_MAX bytes) is ONE chunk of its size, its entry saying so
 * (`chunk`); a streamed one is in BLOB_CHUNK chunks, as every entry without `chunk` is.
 */
import { BLOB_CHUNK, hexOf } from './blob-store.js';
import { WHOLE_HASH_MAX, digestWhole, streamHasher } from './blob-hash.js';

/**
 * A stored blob: whose chunks, how many bytes, when last stored (ms since the epoch), and the size
 * of its chunks (the last one shorter) when they are not BLOB_CHUNK: a blob put whole is one chunk
 * of `size` bytes. Absent in entries written before there were such blobs.
 */
export interface BlobEntry {
  putId: string;
  size: number;
  time: number;
  chunk?: number;
}

/**
 * The size of `entry`'s chunks. The store writes `chunk` only for a blob put whole, as its size (one
 * chunk), so only a `chunk` of at least `size` is taken: any other (no positive whole number, or
 * shorter than the blob: a damaged entry) counts as BLOB_CHUNK, whose layout the stored chunks then
 * fail unless they are in it. The blob reads as damaged or as its bytes, never loops, and never
 * answers the bytes of another offset (a shorter `chunk` over 1 MiB chunks would place a range's
 * chunk wrongly, and its length could still match).
 */
export function chunkOf(entry: BlobEntry): number {
  const { chunk } = entry;
  return chunk !== undefined && Number.isSafeInteger(chunk) && chunk > 0 && chunk >= entry.size
    ? chunk
    : BLOB_CHUNK;
}

/** How many chunks `entry` has (none for an empty blob). */
export function chunkCount(entry: BlobEntry): number {
  return Math.ceil(entry.size / chunkOf(entry));
}

/** A stored chunk: a Blob, or an ArrayBuffer as the store wrote them before. */
export type ChunkValue = Blob | ArrayBuffer;

/** `value` as a Blob (an old ArrayBuffer chunk is copied into one). */
export function chunkBlob(value: ChunkValue): Blob {
  return value instanceof Blob ? value : new Blob([value]);
}

/** How many bytes `value` holds (known without reading a Blob). */
export function chunkSize(value: ChunkValue): number {
  return value instanceof Blob ? value.size : value.byteLength;
}

/**
 * Whether `chunks`, the values of chunks `first…last` of `entry`, are all there and each as long as
 * it must be (`chunkOf(entry)`, the blob's last one shorter).
 */
export function chunksWhole(
  chunks: readonly ChunkValue[],
  first: number,
  last: number,
  entry: BlobEntry,
): boolean {
  if (chunks.length !== last - first + 1) return false;
  const size = chunkOf(entry);
  return chunks.every(
    (chunk, i) => chunkSize(chunk) === Math.min(size, entry.size - (first + i) * size),
  );
}

/**
 * Whether `blob` is a platform Blob or File read as the platform reads it, so `arrayBuffer()` gives
 * the bytes its `stream()` would. A subclass or a Blob-like with a `stream()` of its own is read
 * through that stream, which is what its bytes are.
 */
export function readsWhole(blob: Blob): boolean {
  return (
    blob.size <= WHOLE_HASH_MAX &&
    blob instanceof Blob &&
    blob.stream === Blob.prototype.stream &&
    blob.arrayBuffer === Blob.prototype.arrayBuffer
  );
}

/**
 * The hex SHA-256 of the chunks of one stored blob, given page by page in order, and their bytes:
 * read whole and digested natively up to WHOLE_HASH_MAX bytes, beyond a chunk at a time (memory
 * bounded by one page of chunks, and only for ArrayBuffer chunks, whose bytes come with the page).
 */
export async function hashChunks(
  pages: AsyncIterable<ChunkValue[]>,
  size: number,
): Promise<{ hash: string; size: number }> {
  if (size <= WHOLE_HASH_MAX) {
    const parts: Blob[] = [];
    for await (const page of pages) parts.push(...page.map(chunkBlob));
    const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
    return { hash: hexOf(await digestWhole(bytes)), size: bytes.byteLength };
  }
  const hasher = streamHasher();
  let read = 0;
  for await (const page of pages) {
    for (const chunk of page) {
      const bytes = new Uint8Array(chunk instanceof Blob ? await chunk.arrayBuffer() : chunk);
      hasher.update(bytes);
      read += bytes.byteLength;
    }
  }
  return { hash: hexOf(hasher.digest()), size: read };
}

/**
 * The chunks of one put, written in batches of `perTransaction`, one batch in flight while the next
 * is read and hashed: memory bounded by two batches, a put's writes overlapping its reading.
 */
export class ChunkWriter {
  /** Chunks handed to `write` so far (all written once `finish` resolved). */
  chunks = 0;
  /** Their bytes, and those of the batch being gathered. */
  size = 0;
  private batch: Blob[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(
    /** Writes `chunks` as chunks `first…` in one transaction, resolving once it committed. */
    private readonly write: (chunks: Blob[], first: number) => Promise<void>,
    private readonly perTransaction: number,
  ) {}

  /** Adds the next chunk; rejects with the failure of a batch written before. */
  async add(chunk: Blob): Promise<void> {
    this.batch.push(chunk);
    this.size += chunk.size;
    if (this.batch.length >= this.perTransaction) await this.flush();
  }

  /** Writes what is gathered and resolves once every chunk is written. */
  async finish(): Promise<void> {
    if (this.batch.length > 0) await this.flush();
    await this.writing;
  }

  /** Resolves once no write is in flight (after a failure: nothing lands after this). */
  async settled(): Promise<void> {
    await this.writing.catch(() => undefined); // its failure is the one the put reported, or moot
  }

  private async flush(): Promise<void> {
    const batch = this.batch;
    const first = this.chunks;
    this.batch = [];
    await this.writing;
    this.chunks += batch.length;
    this.writing = this.write(batch, first);
    this.writing.catch(() => undefined); // awaited by the next flush, finish or settled: marks it heard
  }
}
