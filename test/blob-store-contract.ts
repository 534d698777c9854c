/**
 * The BlobStore contract, as plain checks with no test runner, so the same code runs in Vitest
 * (memory folder, Node folder, IndexedDB on fake-indexeddb) and inside a real worker in Chromium
 * (the OPFS folder). Each check gets a fresh, empty store and throws with a message on failure.
 */
import { sha256 } from '@noble/hashes/sha2';
import type { BlobStore } from '../worker/blob-store.js';
import { hexOf } from '../worker/blob-store.js';

type Check = [name: string, run: (store: BlobStore) => Promise<void>];

function equal(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** `n` bytes of a pattern that differs with `seed`. */
export function patterned(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** The SHA-256 of `bytes` in hex, as the stores name files. */
export const hashOf = (bytes: Uint8Array): string => hexOf(sha256(bytes));

/** A Blob whose stream gives `bytes` in pieces of `piece` bytes (sources chunk as they like). */
export function chunkedBlob(bytes: Uint8Array, piece: number): Blob {
  return {
    size: bytes.byteLength,
    type: '',
    stream: () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < bytes.byteLength; at += piece)
            controller.enqueue(bytes.slice(at, at + piece));
          controller.close();
        },
      }),
  } as unknown as Blob;
}

async function rejects(promise: Promise<unknown>, name: string, text: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    const e = error as Error;
    if (e.name !== name || !e.message.includes(text)) {
      throw new Error(`expected ${name} mentioning ${text}, got ${e.name}: ${e.message}`, {
        cause: error,
      });
    }
    return;
  }
  throw new Error(`expected ${name} mentioning ${text}, but it resolved`);
}

async function listed(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const { hash, size } of store.list()) out.push(`${hash}:${size}`);
  return out.sort();
}

const MIB = 1 << 20;

export const blobStoreChecks: Check[] = [
  [
    'put answers the SHA-256 and size, and read gives the bytes back',
    async (store) => {
      const bytes = patterned(1000);
      equal(await store.put(new Blob([bytes])), { hash: hashOf(bytes), size: 1000 }, 'put');
      equal([...(await store.read(hashOf(bytes), 0, 1000))], [...bytes], 'read');
      equal(await store.size(hashOf(bytes)), 1000, 'size');
    },
  ],
  [
    'an empty blob is stored under the hash of no bytes',
    async (store) => {
      const info = await store.put(new Blob([]));
      equal(info, { hash: hashOf(new Uint8Array(0)), size: 0 }, 'put');
      equal((await store.read(info.hash, 0, 10)).byteLength, 0, 'read');
      equal(await store.check(info.hash), undefined, 'check');
    },
  ],
  [
    'a blob of several chunks arriving in odd pieces is stored whole',
    async (store) => {
      const bytes = patterned(3 * MIB + 12345, 2);
      const info = await store.put(chunkedBlob(bytes, 777_777));
      equal(info, { hash: hashOf(bytes), size: bytes.byteLength }, 'put');
      const back = await store.read(info.hash, 0, bytes.byteLength);
      equal(hashOf(back), info.hash, 'bytes read back');
      equal(await store.check(info.hash), undefined, 'check');
    },
  ],
  [
    'reads a range, clamped to the size, without the rest',
    async (store) => {
      const bytes = patterned(2 * MIB + 10, 3);
      const { hash } = await store.put(new Blob([bytes]));
      equal(
        [...(await store.read(hash, MIB - 2, MIB + 2))],
        [...bytes.subarray(MIB - 2, MIB + 2)],
        'across a chunk',
      );
      equal(
        [...(await store.read(hash, 2 * MIB + 5, 1e12))],
        [...bytes.subarray(2 * MIB + 5)],
        'past the end',
      );
      equal((await store.read(hash, 3 * MIB, 4 * MIB)).byteLength, 0, 'after the end');
      equal((await store.read(hash, 10, 5)).byteLength, 0, 'end before start');
      equal([...(await store.read(hash, -5, 2))], [...bytes.subarray(0, 2)], 'negative start');
    },
  ],
  [
    'equal bytes are stored once',
    async (store) => {
      const bytes = patterned(5000, 4);
      const a = await store.put(new Blob([bytes]));
      const [b, c] = await Promise.all([
        store.put(new Blob([bytes.slice()])),
        store.put(chunkedBlob(bytes, 100)),
      ]);
      equal([b, c], [a, a], 'same answers');
      equal(await store.stats(), { blobs: 1, blobBytes: 5000 }, 'stats');
      equal(await listed(store), [`${a.hash}:5000`], 'list');
    },
  ],
  [
    'file gives the stored bytes as a platform Blob',
    async (store) => {
      const bytes = patterned(70_000, 5);
      const { hash } = await store.put(new Blob([bytes]));
      const file = await store.file(hash);
      equal(file.size, 70_000, 'size');
      equal(hashOf(new Uint8Array(await file.arrayBuffer())), hash, 'bytes');
      equal(
        [...new Uint8Array(await file.slice(10, 13).arrayBuffer())],
        [...bytes.subarray(10, 13)],
        'slice',
      );
    },
  ],
  [
    'a hash not stored is a StorageError naming it for read and file, undefined for size',
    async (store) => {
      const hash = hashOf(patterned(10, 6));
      await rejects(store.read(hash, 0, 1), 'StorageError', hash);
      await rejects(store.file(hash), 'StorageError', hash);
      equal(await store.size(hash), undefined, 'size');
      equal(await store.check(hash), 'missing', 'check');
    },
  ],
  [
    'list and stats count every blob, and stats follow puts and sweeps',
    async (store) => {
      const a = await store.put(new Blob([patterned(100, 7)]));
      equal(await store.stats(), { blobs: 1, blobBytes: 100 }, 'after one');
      const b = await store.put(new Blob([patterned(250, 8)]));
      equal(await store.stats(), { blobs: 2, blobBytes: 350 }, 'after two');
      equal(await listed(store), [`${a.hash}:100`, `${b.hash}:250`].sort(), 'list');
      equal(
        await store.sweep(new Set([a.hash]), Date.now() + 60_000),
        { removed: 1, bytes: 250 },
        'sweep',
      );
      equal(await store.stats(), { blobs: 1, blobBytes: 100 }, 'after the sweep');
      equal(await listed(store), [`${a.hash}:100`], 'list after the sweep');
    },
  ],
  [
    'sweep keeps what is kept and what was stored since before',
    async (store) => {
      const kept = await store.put(new Blob([patterned(10, 9)]));
      const dropped = await store.put(new Blob([patterned(20, 10)]));
      const earlier = Date.now() - 60_000;
      equal(await store.sweep(new Set(), earlier), { removed: 0, bytes: 0 }, 'all recent');
      equal(
        await store.sweep(new Set([kept.hash]), Date.now() + 60_000),
        { removed: 1, bytes: 20 },
        'sweep',
      );
      equal(await store.size(kept.hash), 10, 'kept');
      equal(await store.size(dropped.hash), undefined, 'dropped');
      await rejects(store.read(dropped.hash, 0, 1), 'StorageError', dropped.hash);
    },
  ],
  [
    'a blob put again after it was swept is stored again',
    async (store) => {
      const bytes = patterned(30, 11);
      const { hash } = await store.put(new Blob([bytes]));
      await store.sweep(new Set(), Date.now() + 60_000);
      await store.put(new Blob([bytes]));
      equal([...(await store.read(hash, 0, 30))], [...bytes], 'read');
      equal(await store.stats(), { blobs: 1, blobBytes: 30 }, 'stats');
    },
  ],
  [
    'refuses a hash that is not 64 hexadecimal digits, and a put of what is not a Blob',
    async (store) => {
      for (const bad of ['../../../etc/passwd', 'ab', 'A'.repeat(64), `${'a'.repeat(63)}/`]) {
        await rejects(store.read(bad, 0, 10), 'ShelfError', 'is not a blob hash');
        await rejects(store.file(bad), 'ShelfError', 'is not a blob hash');
        await rejects(store.size(bad), 'ShelfError', 'is not a blob hash');
        await rejects(store.check(bad), 'ShelfError', 'is not a blob hash');
      }
      await rejects(store.put('text' as unknown as Blob), 'ShelfError', 'must be a Blob or a File');
      equal(await store.stats(), { blobs: 0, blobBytes: 0 }, 'nothing stored');
      equal(await store.clearTemporary(), 0, 'no temporary');
    },
  ],
  [
    'clearTemporary finds nothing after puts that completed',
    async (store) => {
      await store.put(new Blob([patterned(10, 12)]));
      equal(await store.clearTemporary(), 0, 'removed');
    },
  ],
];

/** Runs every check on a fresh store from `make`; resolves to the failures, as "check: error". */
export async function runBlobStoreChecks(make: () => Promise<BlobStore>): Promise<string[]> {
  const failures: string[] = [];
  for (const [name, run] of blobStoreChecks) {
    try {
      await run(await make());
    } catch (error) {
      failures.push(`${name}: ${String(error)}`);
    }
  }
  return failures;
}
