/**
 * MemoryBlobStore: blobs in memory, for MemoryStorage (nothing survives the process). Holds each
 * distinct content once.
 */
import type { BlobInfo } from '../src/shared/storage.js';
import { digestWhole, streamHasher } from './blob-hash.js';
import { hexOf, missingBlob, type BlobProblem, type BlobStore } from './blob-store.js';

interface Stored {
  bytes: Uint8Array<ArrayBuffer>;
  /** When it was last stored (ms since the epoch). */
  time: number;
  /** The bytes as one platform Blob, made at the first `file()`: its slices and streams are cheap. */
  file?: Blob;
}

export class MemoryBlobStore implements BlobStore {
  private readonly blobs = new Map<string, Stored>();

  async put(blob: Blob): Promise<BlobInfo> {
    const hasher = streamHasher();
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = (blob.stream() as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hasher.update(value);
      chunks.push(value.slice());
      size += value.byteLength;
    }
    const hash = hexOf(hasher.digest());
    const found = this.blobs.get(hash);
    if (found !== undefined) {
      found.time = Date.now();
      return { hash, size };
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
    this.blobs.set(hash, { bytes, time: Date.now() });
    return { hash, size };
  }

  async read(hash: string, start: number, end: number): Promise<Uint8Array> {
    const { bytes } = this.get(hash);
    return bytes.slice(Math.max(0, start), Math.min(bytes.length, end));
  }

  async file(hash: string): Promise<Blob> {
    const found = this.get(hash);
    // The Blob constructor copies the bytes: once per stored blob, not once per read of it.
    found.file ??= new Blob([found.bytes]);
    return found.file;
  }

  async size(hash: string): Promise<number | undefined> {
    return this.blobs.get(hash)?.bytes.length;
  }

  async check(hash: string): Promise<BlobProblem | undefined> {
    const found = this.blobs.get(hash);
    if (found === undefined) return 'missing';
    return hexOf(await digestWhole(found.bytes)) === hash ? undefined : 'damaged';
  }

  async sweep(
    keep: ReadonlySet<string>,
    before: number,
  ): Promise<{ removed: number; bytes: number }> {
    let removed = 0;
    let bytes = 0;
    for (const [hash, stored] of this.blobs) {
      if (keep.has(hash) || stored.time >= before) continue;
      this.blobs.delete(hash);
      removed++;
      bytes += stored.bytes.length;
    }
    return { removed, bytes };
  }

  async stats(): Promise<{ blobs: number; blobBytes: number }> {
    let blobBytes = 0;
    for (const { bytes } of this.blobs.values()) blobBytes += bytes.length;
    return { blobs: this.blobs.size, blobBytes };
  }

  async *list(): AsyncIterable<BlobInfo> {
    for (const [hash, { bytes }] of [...this.blobs]) yield { hash, size: bytes.length };
  }

  async clearTemporary(): Promise<number> {
    return 0;
  }

  /** Test hook: the stored bytes themselves (to damage them; `file()` then reads the damage too). */
  bytesOf(hash: string): Uint8Array | undefined {
    const found = this.blobs.get(hash);
    if (found !== undefined) found.file = undefined;
    return found?.bytes;
  }

  private get(hash: string): Stored {
    const found = this.blobs.get(hash);
    if (found === undefined) throw missingBlob(hash);
    return found;
  }
}
