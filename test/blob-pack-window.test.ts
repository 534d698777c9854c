/**
 * ShelfStorage compacts one old segment at a time: once a segment's records were judged, a record
 * it did not keep goes at publish, whatever links it meanwhile (the write barrier marks it too late
 * for the copy). A commit that references such a blob record (blobRefs) while the compaction runs
 * must be refused, never land pointing at a record and a file the pack then removes.
 */
import { describe, expect, it } from 'vitest';
import { StorageError } from '../src/shared/errors.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { blobRecord, clockPast, counting, hashOf } from './storage-checks-blobs.js';
import { bytes, rec } from './storage-check-kit.js';

describe('ShelfStorage: a blob record linked while pack compacts its segment', () => {
  it('a commit referencing it after its segment was judged is refused, or the record and its file are kept', async () => {
    const s = await ShelfStorage.open(new MemoryBlockDirectory(), {
      blobGraceMs: 0,
      packSliceMs: 0, // a pause, and a progress report, after every step
    });
    const data = counting(1000, 3);
    await s.putBlob(new Blob([data as BlobPart]));
    const [holder, blob, again] = (await s.newOids(3)) as [number, number, number];
    let tid = await s.commit({
      baseTid: 0,
      records: [rec(0, bytes(1), [holder]), rec(holder, bytes(2), [blob]), blobRecord(blob, data)],
    });
    tid = await s.commit({ baseTid: tid, records: [rec(0, bytes(3), [], tid)] }); // unlinked
    let rootTid = tid;
    // More entries in the old segment: the compaction takes many steps over it.
    for (let i = 0; i < 20; i++) {
      const [o] = (await s.newOids(1)) as [number];
      tid = await s.commit({ baseTid: tid, records: [rec(o, new Uint8Array(200))] });
    }
    await clockPast(Date.now());
    let committing: Promise<unknown> | undefined;
    await s.pack({
      onProgress: ({ phase, done, total }) => {
        // Past the half of the copy phase's work: the old segment was scanned (judged).
        if (phase !== 'copy' || done <= total / 2 || committing !== undefined) return;
        committing = s
          .commit({
            baseTid: tid,
            records: [rec(0, bytes(4), [again], rootTid), rec(again, bytes(5), [blob])],
            blobRefs: [blob],
          })
          .catch((error: unknown) => error);
      },
    });
    expect(committing, 'the commit was made while the pack compacted').toBeDefined();
    const outcome = await committing;
    if (outcome instanceof Error) {
      expect(outcome).toBeInstanceOf(StorageError);
      expect(await s.load([again])).toEqual([]);
    } else {
      rootTid = outcome as number;
      expect((await s.load([blob])).length, 'the blob record it references').toBe(1);
      expect((await s.readBlob(hashOf(data), 0, 4)).length, 'the blob file').toBe(4);
    }
    expect(await s.verify()).toEqual({ ok: true, problems: [] });
    await s.close();
  });
});
