/**
 * Hunt 13: a revision that one pack relocated (kept for a snapshot while a newer revision, landed
 * during that pack, still points at its old place) must stay readable through a second pack that
 * compacts both the relocated revision's segment and the newer one's.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import type { Tid } from '../src/index.js';
import { textRecord } from './text-records.js';

const dec = new TextDecoder();
const rec = textRecord;
const textOf = async (s: ShelfStorage, oid: number, at?: Tid): Promise<string> =>
  dec.decode(((await s.load([oid], at))[0] as { state: Uint8Array }).state);

describe('hunt 13: relocated revisions across packs', () => {
  it('a snapshot read of a revision relocated by one pack survives a second pack that compacts the relocated copy and its newer revision in one run', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir, { packSliceMs: 0 });
    const [x, w] = (await s.newOids(2)) as [number, number];
    const t1 = await s.commit({
      baseTid: 0,
      records: [rec(0, 'root', [x, w]), rec(x, 'x1', []), rec(w, 'w0', [])],
    });
    const t2 = await s.commit({ baseTid: t1, records: [rec(w, 'w1', [], t1)] });
    const t3 = await s.commit({ baseTid: t2, records: [rec(w, 'w2', [], t2)] });
    // Pack 1 keeps the snapshot t1; x's second revision lands while it marks, in the new segment,
    // pointing at x1's place in the segment pack 1 compacts (x1 is relocated).
    let during: Promise<Tid> | undefined;
    await s.pack({
      keepTid: t1,
      onProgress: () => {
        during ??= s.commit({ baseTid: t3, records: [rec(x, 'x2', [], t1)] });
      },
    });
    const t4 = await (during as Promise<Tid>);
    expect(s.log.relocated.size).toBeGreaterThan(0);
    expect(await textOf(s, x, t3)).toBe('x1');
    // Pack 2 keeps t3: x1 is still read (x2 is newer), w1 is garbage, so the compacted segment
    // and the small segment holding x2 are copied in one run.
    await s.pack({ keepTid: t3 });
    expect(await textOf(s, x)).toBe('x2');
    expect(await textOf(s, x, t3)).toBe('x1');
    expect((await s.verify()).problems).toEqual([]);
    await s.close();
    const again = await ShelfStorage.open(dir, {});
    expect(await textOf(again, x, t3)).toBe('x1');
    expect(await textOf(again, x, t4)).toBe('x2');
    await again.close();
  });
});
