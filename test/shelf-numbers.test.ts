/**
 * Segment numbers (worker/shelf-numbers.ts): a position must stay below 2^53, so numbers stop at
 * 8,191; a log that packs often takes them again once nothing can name a removed segment. Found by
 * the issue 13 hunt: past the last number, a commit was acknowledged into a segment whose positions
 * could not be stored, and was unreadable after a reopen.
 */
import { describe, expect, it } from 'vitest';
import { StorageError, type Tid } from '../src/index.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { MAX_SEGMENT, numbering, segmentNumber } from '../worker/shelf-numbers.js';
import { textRecord } from './text-records.js';

const dec = new TextDecoder();
const rec = textRecord;

describe('segment numbers', () => {
  it('are fresh up to the last one, then retired ones no segment of the log still witnesses', () => {
    const m = { generation: 1, segments: [8190, 8191], checkpoint: null, nextSegment: 8192 };
    expect(segmentNumber({ ...m, nextSegment: 8191 })).toBe(8191);
    const retired: [number, number[]][] = [
      [7, [8190]], // 8190 is still in the log: 7 may still be named by one of its records
      [9, [8000, 8100]], // both gone: free
    ];
    expect(segmentNumber({ ...m, retired })).toBe(9);
    expect(() => segmentNumber({ ...m, retired: [[7, [8190]]] })).toThrow(StorageError);
    expect(MAX_SEGMENT).toBe(8191);
  });

  it('records numbers retired by a pack step with their witnesses, and drops the relocations of a number taken again', () => {
    const m = {
      generation: 1,
      segments: [3, 5],
      checkpoint: null,
      nextSegment: 8192,
      retired: [[2, [9]]] as [number, number[]][],
    };
    const relocated = new Map([
      [2 * 2 ** 40 + 100, 5 * 2 ** 40 + 40],
      [4 * 2 ** 40 + 100, 5 * 2 ** 40 + 80],
    ]);
    const after = numbering(m, relocated, 2, [4], [5]);
    expect(after.nextSegment).toBe(8192);
    expect(after.retired).toEqual([[4, [5]]]);
    expect([...after.relocated.keys()]).toEqual([4 * 2 ** 40 + 100]);
  });

  it('a database whose packs and rolls used up 8,185 segment numbers still commits, packs and reopens', async () => {
    const dir = new MemoryBlockDirectory();
    let s = await ShelfStorage.open(dir, {});
    s.log.publish({ ...s.log.manifest, nextSegment: 8185 });
    const [x, y] = (await s.newOids(2)) as [number, number];
    let tid: Tid = await s.commit({
      baseTid: 0,
      records: [rec(0, 'root', [x, y]), rec(x, 'x0', []), rec(y, 'y0', [])],
    });
    let serial = tid;
    for (let i = 1; i <= 20; i++) {
      tid = await s.commit({ baseTid: tid, records: [rec(x, `x${i}`, [], serial)] });
      serial = tid;
      await s.pack();
      expect(s.log.manifest.segments.every((n) => n <= MAX_SEGMENT)).toBe(true);
    }
    expect((await s.verify()).problems).toEqual([]);
    await s.close();
    s = await ShelfStorage.open(dir, {});
    expect((await s.load([x, y])).map((r) => dec.decode(r.state))).toEqual(['x20', 'y0']);
    expect((await s.verify()).problems).toEqual([]);
    await s.close();
  });
});
