import { describe, expect, it } from 'vitest';
import { StorageError } from '../src/shared/errors.js';
import type { BlobStore } from '../worker/blob-store.js';
import { FaultDirectory, type CrashModel } from './fault-directory.js';
import { hashOf, patterned } from './blob-store-contract.js';

const MIB = 1 << 20;
/** Stored before the put under test: must survive every fault intact. */
const EARLIER = patterned(1000, 1);
/** The put under test: three chunks and a bit. */
const BYTES = patterned(3 * MIB + 100, 2);

/** A fault directory holding EARLIER, armed to count from the next operation. */
async function prepared(seed: number): Promise<FaultDirectory> {
  const dir = new FaultDirectory(seed);
  await (await dir.blobStore()).put(new Blob([EARLIER]));
  return dir;
}

/** Every blob file the store lists hashes to its name; returns the hashes. */
async function soundBlobs(store: BlobStore): Promise<string[]> {
  const hashes: string[] = [];
  for await (const { hash } of store.list()) {
    expect(await store.check(hash), hash).toBeUndefined();
    hashes.push(hash);
  }
  return hashes.sort();
}

/** How many operations a put of BYTES makes (a dry run). */
async function operationsOfPut(): Promise<number> {
  const dir = await prepared(1);
  dir.arm();
  await (await dir.blobStore()).put(new Blob([BYTES]));
  return dir.operations;
}

describe('FolderBlobStore under faults', () => {
  it('leaves after a crash at any operation of a put only temporaries, removed by clearTemporary, and sound blob files', async () => {
    const n = await operationsOfPut();
    expect(n).toBeGreaterThan(6); // create, 4 writes, flush, publish at least
    const models: CrashModel[] = ['lost', 'kept', 'mixed'];
    for (let at = 1; at <= n; at++) {
      for (const model of models) {
        const dir = await prepared(at);
        dir.arm({ at, action: 'crash' });
        await expect((await dir.blobStore()).put(new Blob([BYTES]))).rejects.toThrow();
        const image = dir.crashImage(model);
        const store = await image.blobStore();
        await store.clearTemporary();
        expect(
          [...image.blobs.files.keys()].filter((p) => p.startsWith('tmp/')),
          `${model} at ${at}`,
        ).toEqual([]);
        // Publishing is the put's last operation: a crash at any of them leaves the new blob
        // unpublished, and the earlier one as it was.
        expect(await soundBlobs(store), `${model} at ${at}`).toEqual([hashOf(EARLIER)]);
        expect(await store.read(hashOf(EARLIER), 0, 1000)).toEqual(EARLIER);
      }
    }
  }, 60_000); // every operation of a put, under three crash models: seconds on a loaded machine

  it('after a failure at any operation of a put keeps nothing of it and stores it on the next try', async () => {
    const n = await operationsOfPut();
    for (let at = 1; at <= n; at++) {
      const dir = await prepared(at);
      dir.arm({ at, action: 'fail' });
      const store = await dir.blobStore();
      const error = await store.put(new Blob([BYTES])).catch((e: unknown) => e);
      expect(error, `fault at ${at}: ${dir.injected?.op}`).toBeInstanceOf(StorageError);
      expect([...dir.blobs.files.keys()].filter((p) => p.startsWith('tmp/'))).toEqual([]);
      expect(await soundBlobs(store)).toEqual([hashOf(EARLIER)]);
      expect(await store.put(new Blob([BYTES]))).toEqual({
        hash: hashOf(BYTES),
        size: BYTES.length,
      });
      expect(await store.stats()).toEqual({ blobs: 2, blobBytes: 1000 + BYTES.length });
    }
  }, 60_000); // every operation of a put, under three crash models: seconds on a loaded machine

  it('makes a put that resolved survive a crash right after it', async () => {
    const dir = await prepared(7);
    await (await dir.blobStore()).put(new Blob([BYTES]));
    dir.crash();
    for (const model of ['lost', 'torn-old', 'torn-zeros', 'mixed'] as const) {
      const store = await dir.crashImage(model).blobStore();
      expect(await soundBlobs(store)).toEqual([hashOf(EARLIER), hashOf(BYTES)].sort());
    }
  });
});
