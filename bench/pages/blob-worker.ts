/**
 * The blob benchmark's worker (bench/pages/blob-cases.ts): the platform limit of a blob write (the
 * Blob's stream written through an OPFS sync access handle, then flushed), and the parts of
 * shelfdb's write path measured alone: reading a Blob's stream, and SHA-256 with @noble/hashes
 * (what FolderBlobStore hashes with) against the browser's native SHA-256 (WebCrypto, one shot).
 * Answers {id, op, blob, name} with {id, result} (result: the op's own time in ms and what it
 * produced), or {id, error}.
 *
 * Typed against the DOM lib (bench/tsconfig.json checks every page module), so the worker-only
 * API (sync access handles, the worker's postMessage) is declared here.
 */
import { sha256 } from '@noble/hashes/sha2';

/** The part of FileSystemSyncAccessHandle used here. */
type SyncHandle = {
  write(b: Uint8Array, o: { at: number }): number;
  flush(): void;
  truncate(n: number): void;
  getSize(): number;
  close(): void;
};

/** A request from the page. */
type Request = { id: number; op: string; blob: Blob; name?: string };

/** What an op answers: its time inside the worker, and a check of what it did. */
type OpResult = { ms: number; bytes: number; hash?: string };

const post = (message: unknown): void =>
  (self as unknown as { postMessage(m: unknown): void }).postMessage(message);

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** Reads `blob`'s stream to its end, handing each chunk to `each`; resolves to the byte count. */
async function eachChunk(blob: Blob, each: (chunk: Uint8Array) => void): Promise<number> {
  const reader = (blob.stream() as ReadableStream<Uint8Array>).getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytes;
    each(value);
    bytes += value.byteLength;
  }
}

const ops: Record<string, (blob: Blob, name: string) => Promise<OpResult>> = {
  /** The limit: the stream written through a sync access handle, then flushed and closed. */
  async syncWrite(blob, name) {
    const t0 = performance.now();
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle('raw-blobs', { create: true });
    const file = await dir.getFileHandle(name, { create: true });
    const handle = await (
      file as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }
    ).createSyncAccessHandle();
    try {
      handle.truncate(0);
      let at = 0;
      await eachChunk(blob, (chunk) => {
        at += handle.write(chunk, { at });
      });
      handle.flush();
      const bytes = handle.getSize();
      return { ms: performance.now() - t0, bytes };
    } finally {
      handle.close();
    }
  },

  /** Reading the Blob's stream alone: the floor under every streaming write. */
  async streamRead(blob) {
    const t0 = performance.now();
    const bytes = await eachChunk(blob, () => undefined);
    return { ms: performance.now() - t0, bytes };
  },

  /** @noble/hashes SHA-256 over the Blob's stream, as FolderBlobStore.put hashes (no write). */
  async nobleStream(blob) {
    const t0 = performance.now();
    const hasher = sha256.create();
    const bytes = await eachChunk(blob, (chunk) => hasher.update(chunk));
    const hash = hex(hasher.digest());
    return { ms: performance.now() - t0, bytes, hash };
  },

  /** @noble/hashes SHA-256 alone: the bytes in memory first (not timed), 1 MiB updates. */
  async nobleMemory(blob) {
    const all = new Uint8Array(await blob.arrayBuffer());
    const t0 = performance.now();
    const hasher = sha256.create();
    for (let at = 0; at < all.byteLength; at += 1 << 20)
      hasher.update(all.subarray(at, Math.min(all.byteLength, at + (1 << 20))));
    const hash = hex(hasher.digest());
    return { ms: performance.now() - t0, bytes: all.byteLength, hash };
  },

  /** The browser's native SHA-256 (WebCrypto, one shot: it cannot hash incrementally). */
  async subtleMemory(blob) {
    const all = await blob.arrayBuffer();
    const t0 = performance.now();
    const hash = hex(new Uint8Array(await crypto.subtle.digest('SHA-256', all)));
    return { ms: performance.now() - t0, bytes: all.byteLength, hash };
  },
};

self.onmessage = async (event: MessageEvent<Request>) => {
  const { id, op, blob, name = 'blob' } = event.data;
  try {
    const run = ops[op];
    if (run === undefined) throw new Error(`blob worker: no op ${op}`);
    post({ id, result: await run(blob, name) });
  } catch (error) {
    post({ id, error: String((error as Error)?.stack ?? error) });
  }
};
