/**
 * ShelfStorage's incremental pack (worker/shelf-pack.ts): it serves loads and commits between its
 * slices, needs about one segment of extra space, keeps what every kept snapshot reads (also after
 * a reopen), stops cleanly when aborted or closed, and — checked against a model of the history
 * with random commits landing at random steps of the pack — loses nothing reachable.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import type { ShelfOptions } from '../worker/shelf-options.js';
import { DatabaseClosedError, type StoredRecord, type Tid } from '../src/index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A record whose state is `value` as text, padded to `size` bytes. */
const rec = (oid: number, value: number, refs: number[], tid?: number, size = 8): StoredRecord => {
  const state = encoder.encode(String(value).padEnd(size, '.'));
  return tid === undefined
    ? { oid, className: 'test.Node', state, refs }
    : { oid, className: 'test.Node', state, refs, tid };
};
const valueOf = (state: Uint8Array): number => Number(decoder.decode(state).replace(/\.+$/, ''));

/** Every byte the directory holds. */
const dirBytes = (dir: MemoryBlockDirectory): number =>
  [...dir.files.values()].reduce((n, f) => n + f.size(), 0);

/** Files the directory holds that its current manifest does not name (an interrupted step's). */
function leftovers(dir: MemoryBlockDirectory, s: ShelfStorage): string[] {
  const m = s.log.manifest;
  const named = new Set([
    'manifest.0',
    'manifest.1',
    ...m.segments.map((n) => `seg-${String(n).padStart(6, '0')}.log`),
    ...(m.checkpoint === null ? [] : [m.checkpoint.file]),
  ]);
  return [...dir.files.keys()].filter((f) => !named.has(f));
}

/** A database of `count` objects under the root, each updated `updates` times, one per commit. */
async function database(
  options: ShelfOptions,
  count: number,
  updates: number,
): Promise<{ dir: MemoryBlockDirectory; s: ShelfStorage; oids: number[]; tid: Tid }> {
  const dir = new MemoryBlockDirectory();
  const s = await ShelfStorage.open(dir, options);
  const oids = await s.newOids(count);
  let tid = await s.commit({
    baseTid: 0,
    records: [rec(0, 0, oids), ...oids.map((o) => rec(o, 0, []))],
  });
  const serial = new Map(oids.map((o) => [o, tid]));
  for (let u = 1; u <= updates; u++) {
    for (const oid of oids) {
      tid = await s.commit({ baseTid: tid, records: [rec(oid, u, [], serial.get(oid), 24)] });
      serial.set(oid, tid);
    }
  }
  return { dir, s, oids, tid };
}

describe('ShelfStorage incremental pack', () => {
  it('serves commits and loads between its slices: a commit made after the pack started lands before it ends', async () => {
    const { s, oids, tid } = await database({ segmentSize: 2048, packSliceMs: 0 }, 40, 5);
    const order: string[] = [];
    let during: Promise<void> | undefined;
    const pack = s
      .pack({
        onProgress: ({ phase }) => {
          if (phase !== 'copy' || during !== undefined) return;
          during = (async () => {
            const [first] = await s.load([oids[0] as number]);
            expect(valueOf(first?.state as Uint8Array)).toBe(5);
            await s.commit({ baseTid: tid, records: [rec(oids[0] as number, 99, [], first?.tid)] });
            order.push('commit');
          })();
        },
      })
      .then((result) => {
        order.push('pack');
        return result;
      });
    const result = await pack;
    await during;
    expect(order).toEqual(['commit', 'pack']);
    expect(result.revisionsRemoved).toBe(40 * 5);
    expect(valueOf((await s.load([oids[0] as number]))[0]?.state as Uint8Array)).toBe(99);
    expect((await s.verify()).ok).toBe(true);
    await s.close();
  });

  it('needs about one segment of extra space, not a copy of the database', async () => {
    const segmentSize = 4096;
    const { dir, s } = await database({ segmentSize, packSliceMs: 0, keepTransactions: 0 }, 200, 4);
    const before = dirBytes(dir);
    let peak = before;
    const result = await s.pack({ onProgress: () => (peak = Math.max(peak, dirBytes(dir))) });
    const indexBytes = 16 + 8 * s.nextOidReserved;
    // A segment being written (up to one record past segmentSize) and the next index checkpoint.
    expect(peak - before).toBeLessThanOrEqual(segmentSize + 200 + indexBytes);
    expect(result.bytesAfter).toBeLessThan(before / 3);
    expect(s.log.manifest.segments.length).toBeGreaterThan(2); // it did compact run by run
    await s.close();
  });

  it('packs a 100,000-object database with half of it garbage to about half its size', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir, { segmentSize: 1 << 20 });
    const oids = await s.newOids(100_000);
    let tid = 0;
    for (let i = 0; i < oids.length; i += 10_000) {
      const chunk = oids.slice(i, i + 10_000);
      tid = await s.commit({
        baseTid: tid,
        records: chunk.map((o) => rec(o, o, [], undefined, 40)),
      });
    }
    const kept = oids.filter((_, i) => i % 2 === 0);
    await s.commit({ baseTid: tid, records: [rec(0, 0, kept)] });
    const result = await s.pack();
    expect(result.objectsRemoved).toBe(50_000);
    expect(result.bytesAfter / result.bytesBefore).toBeGreaterThan(0.4);
    expect(result.bytesAfter / result.bytesBefore).toBeLessThan(0.6);
    expect((await s.stats()).objects).toBe(50_001);
    const sample = [kept[0], kept[12_345], kept.at(-1)] as number[];
    expect((await s.load(sample)).map((r) => valueOf(r.state))).toEqual(sample);
    expect(await s.load([oids[1] as number])).toEqual([]);
    await s.close();
  }, 60_000);

  it('keeps an old revision a snapshot reads when pack moves it, also after a reopen', async () => {
    const dir = new MemoryBlockDirectory();
    const options = { segmentSize: 256, packSliceMs: 0 };
    const s = await ShelfStorage.open(dir, options);
    const [a, b] = (await s.newOids(2)) as [number, number];
    const tid = await s.commit({
      baseTid: 0,
      records: [rec(0, 0, [a, b]), rec(a, 1, []), rec(b, 1, [])],
    });
    const snapshot = tid;
    await s.rollSegment(); // a's first revision and its next are in different segments
    await s.commit({ baseTid: snapshot, records: [rec(a, 2, [], snapshot)] });
    await s.pack({ keepTid: snapshot });
    expect((await s.load([a], snapshot)).map((r) => valueOf(r.state))).toEqual([1]);
    expect(s.log.relocated.size).toBeGreaterThan(0);
    await s.close();
    const again = await ShelfStorage.open(dir, options);
    expect((await again.load([a, b], snapshot)).map((r) => valueOf(r.state))).toEqual([1, 1]);
    expect((await again.load([a])).map((r) => valueOf(r.state))).toEqual([2]);
    expect((await again.history(a)).map((h) => valueOf(h.record.state))).toEqual([2, 1]);
    expect((await again.verify()).ok).toBe(true);
    // With no snapshot kept, the next pack drops the old revision and its relocation.
    await again.pack();
    expect(again.log.relocated.size).toBe(0);
    await expect(again.load([a], snapshot)).rejects.toThrow(/pack/);
    await again.close();
  });

  it('keeps an object a commit links again while pack marks, though no kept snapshot reached it (the write barrier)', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir, { segmentSize: 512, packSliceMs: 0 });
    const oids = await s.newOids(20);
    const x = oids[19] as number;
    let tid = await s.commit({
      baseTid: 0,
      records: [rec(0, 0, oids), ...oids.map((o) => rec(o, o, []))],
    });
    const rootTid = await s.commit({ baseTid: tid, records: [rec(0, 1, oids.slice(0, 19), tid)] });
    tid = rootTid; // x is unreachable now; a client still holds it from an older snapshot
    let linked: Promise<number> | undefined;
    await s.pack({
      onProgress: ({ phase }) => {
        if (phase === 'mark' && linked === undefined) {
          linked = s.commit({ baseTid: tid, records: [rec(0, 2, oids, rootTid)] });
        }
      },
    });
    expect(await linked).toBe(tid + 1);
    expect((await s.load([x])).map((r) => valueOf(r.state))).toEqual([x]);
    expect((await s.verify()).problems).toEqual([]);
    await s.close();
  });

  it('stops at its next step when aborted: rejects with the reason, the database valid, and a later pack finishes the job', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 60 }), async (stopAt) => {
        const options = { segmentSize: 1024, packSliceMs: 0, keepTransactions: 0 };
        const { dir, s, oids } = await database(options, 30, 3);
        const before = await s.stats();
        const controller = new AbortController();
        const reason = new DOMException('stop', 'AbortError');
        let steps = 0;
        const outcome = await s
          .pack({
            signal: controller.signal,
            onProgress: () => {
              if (++steps === stopAt) controller.abort(reason);
            },
          })
          .then(
            () => 'finished',
            (error: unknown) => error,
          );
        if (outcome !== 'finished') expect(outcome).toBe(reason);
        // The caller hears the abort at once; the pack stops at its next step (verify runs after).
        expect((await s.verify()).ok).toBe(true);
        expect(leftovers(dir, s)).toEqual([]);
        expect((await s.load(oids)).map((r) => valueOf(r.state))).toEqual(oids.map(() => 3));
        expect((await s.stats()).bytes).toBeLessThanOrEqual(before.bytes + 2048);
        await s.close();
        const again = await ShelfStorage.open(dir, options);
        expect((await again.verify()).ok).toBe(true);
        const result = await again.pack();
        expect((await again.stats()).garbageBytes).toBe(0);
        expect(result.bytesAfter).toBeLessThan(before.bytes / 2);
        await again.close();
      }),
      { numRuns: 25 },
    );
  });

  it('stops when the storage closes mid-pack, and the database reopens whole', async () => {
    const { dir, s, oids } = await database({ segmentSize: 1024, packSliceMs: 0 }, 30, 3);
    let steps = 0;
    let closing: Promise<void> | undefined;
    const pack = s.pack({
      onProgress: () => {
        if (++steps === 10) closing = s.close();
      },
    });
    await expect(pack).rejects.toBeInstanceOf(DatabaseClosedError);
    await closing;
    const again = await ShelfStorage.open(dir);
    expect(leftovers(dir, again)).toEqual([]);
    expect((await again.verify()).ok).toBe(true);
    expect((await again.load(oids)).map((r) => valueOf(r.state))).toEqual(oids.map(() => 3));
    await again.close();
  });
});
