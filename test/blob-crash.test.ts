/**
 * ShelfStorage with blobs under faults (FaultDirectory): a crash at every operation of a putBlob
 * and of the commit after it, under several crash models, reopens valid with no temporary left,
 * the blob readable where its commit landed, and an unreferenced blob gone at the next pack (grace
 * 0); a full disk during a put fails it with StorageFullError and the database goes on.
 */
import { describe, expect, it } from 'vitest';
import { BLOB_CLASS } from '../src/shared/blob-record.js';
import { StorageError, StorageFullError } from '../src/shared/errors.js';
import { BLOB_CHUNK } from '../worker/blob-store.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { FaultDirectory, type CrashModel } from './fault-directory.js';
import { blobRecord, clockPast, counting, hashOf } from './storage-checks-blobs.js';
import { bytes, rec } from './storage-check-kit.js';

/** The blob under test: two chunks' worth of writes. */
const BYTES = counting(BLOB_CHUNK + 100, 3);
const HASH = hashOf(BYTES);

interface Prepared {
  dir: FaultDirectory;
  s: ShelfStorage;
  tid: number;
  holder: number;
  blob: number;
}

/** A database holding a root and a holder, with the blob record's oid handed out. */
async function prepared(seed: number): Promise<Prepared> {
  const dir = new FaultDirectory(seed);
  const s = await ShelfStorage.open(dir, { blobGraceMs: 0 });
  const [holder, blob] = (await s.newOids(2)) as [number, number];
  const tid = await s.commit({
    baseTid: 0,
    records: [rec(0, bytes(1), [holder]), rec(holder, bytes(1))],
  });
  return { dir, s, tid, holder, blob };
}

/** Puts BYTES, then commits the holder referencing its blob record; what was acknowledged. */
async function putAndCommit(p: Prepared): Promise<{ put: boolean; tid?: number }> {
  try {
    await p.s.putBlob(new Blob([BYTES as BlobPart]));
  } catch {
    return { put: false };
  }
  try {
    const tid = await p.s.commit({
      baseTid: p.tid,
      records: [rec(p.holder, bytes(2), [p.blob], p.tid), blobRecord(p.blob, BYTES)],
    });
    return { put: true, tid };
  } catch {
    return { put: true };
  }
}

/** Temporary blob files in the folder. */
const temporaries = (dir: FaultDirectory): string[] =>
  [...dir.blobs.files.keys()].filter((path) => path.startsWith('tmp/'));

describe('ShelfStorage blobs under faults', () => {
  it('reopens valid after a crash at every operation of a put and of its commit: the committed blob readable, no temporary left, an uncommitted blob gone at the next pack', async () => {
    const dry = await prepared(1);
    dry.dir.arm();
    expect(await putAndCommit(dry)).toMatchObject({ put: true, tid: dry.tid + 1 });
    const n = dry.dir.operations;
    expect(n).toBeGreaterThan(5); // create, two writes, flush, publish, the commit's write and flush
    const models: CrashModel[] = ['lost', 'kept', 'mixed', 'torn-old'];
    for (let at = 1; at <= n; at++) {
      for (const model of models) {
        const what = `${model}, crash at operation ${at}`;
        const p = await prepared(at);
        p.dir.arm({ at, action: 'crash' });
        const acked = await putAndCommit(p);
        expect(p.dir.injected, what).toBeDefined();
        const image = p.dir.crashImage(model);
        const s = await ShelfStorage.open(image, { blobGraceMs: 0 });
        expect(temporaries(image), what).toEqual([]);
        expect(await s.verify(), what).toEqual({ ok: true, problems: [] });
        const landed = (await s.load([p.blob]))[0];
        if (acked.tid !== undefined) expect(landed?.className, what).toBe(BLOB_CLASS);
        if (landed !== undefined) {
          // Compared by hash: a deep equality of a megabyte takes seconds.
          expect(hashOf(await s.readBlob(HASH, 0, BYTES.length)), what).toBe(HASH);
        } else {
          await clockPast(Date.now());
          await s.pack();
          await expect(s.readBlob(HASH, 0, 1), what).rejects.toThrow(StorageError);
          expect((await s.stats()).blobs, what).toBe(0);
        }
        await s.close();
      }
    }
  }, 60_000);

  it('fails a put on a full disk with StorageFullError, refuses a commit of it, and stores both after', async () => {
    const p = await prepared(5);
    p.dir.arm({ at: 2, kind: 'write', file: 'blobs/', action: 'fail' });
    await expect(p.s.putBlob(new Blob([BYTES as BlobPart]))).rejects.toThrow(StorageFullError);
    expect(p.dir.injected?.name).toMatch(/^blobs\/tmp\//);
    expect(temporaries(p.dir)).toEqual([]);
    const txn = {
      baseTid: p.tid,
      records: [rec(p.holder, bytes(2), [p.blob], p.tid), blobRecord(p.blob, BYTES)],
    };
    await expect(p.s.commit(txn)).rejects.toThrow(`blob ${HASH} is not stored: store it again`);
    expect((await p.s.sync(0)).tid).toBe(p.tid);
    expect(await p.s.putBlob(new Blob([BYTES as BlobPart]))).toEqual({
      hash: HASH,
      size: BYTES.length,
    });
    expect(await p.s.commit(txn)).toBe(p.tid + 1);
    expect(await p.s.readBlob(HASH, BLOB_CHUNK, BLOB_CHUNK + 100)).toEqual(
      BYTES.subarray(BLOB_CHUNK),
    );
    expect(await p.s.verify()).toEqual({ ok: true, problems: [] });
    await p.s.close();
  });
});
