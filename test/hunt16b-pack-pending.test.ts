/**
 * Hunt 16b: PackBarrier.mayRemove is asked when the commit is accepted, but the pack learns of the
 * commit's refs only when it lands (packBarrier.written, after the group write). A commit accepted
 * before the blob record's segment is judged, landing after it was judged, links a record the
 * compaction then drops.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { blobRecord, clockPast, counting, hashOf } from './storage-checks-blobs.js';
import { bytes, rec } from './storage-check-kit.js';

describe('hunt16b: ShelfStorage blobRefs accepted before judging, landing after', () => {
  it('a commit accepted at the end of the mark keeps the blob record it references', async () => {
    const s = await ShelfStorage.open(new MemoryBlockDirectory(), {
      blobGraceMs: 0,
      packSliceMs: 60_000, // no pause: the pack runs from one task hop to the next
    });
    const data = counting(1000, 7);
    await s.putBlob(new Blob([data as BlobPart]));
    const [holder, blob, again] = (await s.newOids(3)) as [number, number, number];
    let tid = await s.commit({
      baseTid: 0,
      records: [rec(0, bytes(1), [holder]), rec(holder, bytes(2), [blob]), blobRecord(blob, data)],
    });
    tid = await s.commit({ baseTid: tid, records: [rec(0, bytes(3), [], tid)] }); // unlinked
    const rootTid = tid;
    await clockPast(Date.now());
    let committing: Promise<unknown> | undefined;
    let marks = 0;
    await s.pack({
      onProgress: ({ phase, done, total }) => {
        if (phase !== 'mark' || done !== total || ++marks !== 2) return;
        // The compaction's first mark, before it judges the old segment (scanned.add).
        // The blob record is stored and its segment not judged yet: the commit is accepted.
        committing = s
          .commit({
            baseTid: tid,
            records: [rec(0, bytes(4), [again], rootTid), rec(again, bytes(5), [blob])],
            blobRefs: [blob],
          })
          .catch((error: unknown) => error);
      },
    });
    expect(committing, 'the commit was made while the pack ran').toBeDefined();
    const outcome = await committing;
    expect(outcome, 'the commit landed (acknowledged)').toBeTypeOf('number');
    expect((await s.load([blob])).length, 'the blob record the landed commit references').toBe(1);
    expect(await s.verify()).toEqual({ ok: true, problems: [] });
    expect((await s.readBlob(hashOf(data), 0, 4)).length, 'the blob file').toBe(4);
    await s.close();
  });
});
