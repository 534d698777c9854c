/**
 * StoredBlob.stream() over MemoryStorage and ShelfStorage on Node files: the bytes of a whole blob
 * and of its slices, in order; nothing read before the first pull (so a stream made and dropped
 * costs nothing, and a blob removed by pack before it is read says so); cancelling stops it.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../src/index.js';
import { StorageError } from '../src/shared/errors.js';
import type { Storage } from '../src/shared/storage.js';
import type { StoredBlob } from '../src/stored-blob.js';
import { BACKENDS, Doc, bytesOf, open, sameBytes } from './blobs-fixture.js';

const MiB = 1 << 20;

/** `inner` with its blob reads counted (readBlob and blobFile calls). */
function counted(inner: Storage): { storage: Storage; reads: string[] } {
  const reads: string[] = [];
  const storage = new Proxy(inner, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      const fn = (value as (...args: unknown[]) => unknown).bind(target);
      if (key !== 'readBlob' && key !== 'blobFile') return fn;
      return (...args: unknown[]) => {
        reads.push(String(key));
        return fn(...args);
      };
    },
  });
  return { storage, reads };
}

/** Stores `blobs` under the root keys of their index ('0', '1', …) in one commit. */
async function store(db: Database, blobs: Blob[]): Promise<void> {
  const conn = db.open();
  const root = await conn.root();
  blobs.forEach((blob, i) => {
    const doc = new Doc();
    doc.photo = blob;
    root.set(String(i), doc);
  });
  await conn.commit();
}

/** The blobs of `count` docs stored by `store`, loaded through a new connection. */
async function load(db: Database, count: number): Promise<StoredBlob[]> {
  const conn = db.open();
  const root = await conn.root();
  const docs = Array.from({ length: count }, (_, i) => root.get(String(i)) as Doc);
  await conn.load(...docs);
  return docs.map((d) => d.photo as StoredBlob);
}

/** Everything the stream gives, read to its end. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Lets every pending task run (a stream that would read ahead does it by then). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Past the millisecond the blob was stored in, so that a pack with grace 0 may sweep it. */
async function clockPast(t: number): Promise<void> {
  while (Date.now() <= t) await new Promise((resolve) => setImmediate(resolve));
}

describe.each(BACKENDS)('StoredBlob.stream() over %s', (_name, make) => {
  it('streams a whole blob and any slice of it as exactly their bytes, small and large', async () => {
    const db = open(await make());
    const big = bytesOf(3 * MiB + 12_345, 3);
    const small = bytesOf(70_000, 4);
    await store(db, [new Blob([big]), new File([small], 'small.bin'), new Blob([])]);
    const [blob, file, empty] = await load(db, 3);
    expect(sameBytes(await drain(blob.stream()), big)).toBe(true);
    expect(sameBytes(await drain(file.stream()), small)).toBe(true);
    expect((await drain(empty.stream())).length).toBe(0);
    const ranges: [number | undefined, number | undefined][] = [
      [0, 10],
      [MiB - 5, MiB + 5],
      [MiB, 2 * MiB], // exactly one read chunk
      [MiB - 1, 2 * MiB + 1], // just over one
      [7, undefined],
      [-(2 * MiB), -3],
      [2 * MiB, 2 * MiB],
    ];
    for (const [start, end] of ranges) {
      const streamed = await drain(blob.slice(start, end).stream());
      expect(sameBytes(streamed, big.slice(start, end)), `slice(${start}, ${end})`).toBe(true);
    }
    // A slice of a slice reads its own range of the file.
    const inner = blob.slice(100, 3 * MiB).slice(MiB, -MiB);
    expect(sameBytes(await drain(inner.stream()), big.slice(100 + MiB, 2 * MiB))).toBe(true);
    expect(sameBytes(await drain(file.slice(-1000).stream()), small.slice(-1000))).toBe(true);
    await db.close();
  });

  it('a stream created and never read asks the storage for nothing', async () => {
    const { storage, reads } = counted(await make());
    const db = open(storage);
    await store(db, [new Blob([bytesOf(2 * MiB)]), new Blob([bytesOf(1000)])]);
    const [large, small] = await load(db, 2);
    const streams = [large.stream(), small.stream(), large.slice(10, 20).stream()];
    await settle();
    expect(reads).toEqual([]);
    // Read, they do ask (so the count above is of reads that would have happened).
    expect((await drain(streams[1])).length).toBe(1000);
    expect(reads.length).toBeGreaterThan(0);
    await db.close();
  });

  for (const size of [1000, 3 * MiB]) {
    it(`a ${size}-byte blob that pack removed before the stream's first pull errors the stream with the StorageError naming its hash`, async () => {
      const db = open(await make());
      await store(db, [new Blob([bytesOf(size)])]);
      const [held] = await load(db, 1);
      const stream = held.stream();
      const writer = db.open();
      (await writer.root()).delete('0');
      await writer.commit();
      await clockPast(Date.now());
      await db.pack();
      expect((await db.stats()).blobs).toBe(0);
      const error = await drain(stream).then(
        () => 'read',
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).name).toBe('StorageError');
      expect((error as Error).message).toContain(held.hash);
      await db.close();
    });
  }
});
