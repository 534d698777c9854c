/**
 * IndexedDBStorage's pack beside the app: commits and loads served while it runs, progress, abort
 * and close between its chunks (and MemoryStorage's progress, for comparison).
 */
import { describe, expect, it } from 'vitest';
import { ROOT_OID, type PackProgress } from '../src/shared/storage.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import {
  BIG,
  connect,
  expectExactStats,
  fresh,
  halfGarbage,
  put,
  rec,
  recount,
} from './indexeddb-pack-fixture.js';
describe('IndexedDBStorage pack beside the app', () => {
  it(
    'serves a commit issued after the pack started before the pack ends',
    async () => {
      const { s, platform, name } = await fresh();
      const { live } = await halfGarbage(s, 2000);
      const order: string[] = [];
      let during: Promise<unknown> | undefined;
      const [a] = (await s.newOids(1)) as [number];
      const packing = s
        .pack({
          onProgress: () => {
            during ??= Promise.all([
              put(s, rec(a, [], 7), rec(ROOT_OID, [...live, a], 3)),
              s.load(live.slice(0, 10)),
            ]).then(() => order.push('commit and load'));
          },
        })
        .then(() => order.push('pack'));
      await packing;
      await during;
      expect(order).toEqual(['commit and load', 'pack']);
      expect((await s.load([a]))[0]?.state[0]).toBe(7);
      await expectExactStats(s, await connect(platform, name));
      await s.close();
    },
    BIG,
  );

  it(
    'reports mark and copy progress to every listener, done last',
    async () => {
      const { s } = await fresh();
      await halfGarbage(s, 300);
      const seen: PackProgress[] = [];
      const joined: PackProgress[] = [];
      const first = s.pack({ onProgress: (p) => seen.push(p) });
      const second = s.pack({ onProgress: (p) => joined.push(p) });
      await Promise.all([first, second]);
      expect(seen.map((p) => p.phase)).toContain('mark');
      expect(seen.map((p) => p.phase)).toContain('copy');
      expect(seen.at(-1)).toEqual({ phase: 'done', done: 1, total: 1 });
      expect(joined.at(-1)?.phase).toBe('done');
      const phases = seen.map((p) => p.phase);
      expect(phases.lastIndexOf('mark')).toBeLessThan(phases.indexOf('copy'));
      for (const p of seen) expect(p.done).toBeLessThanOrEqual(p.total);
      const copied = seen.filter((p) => p.phase === 'copy');
      expect(copied.at(-1)).toMatchObject({ done: 301 + 1 }); // every record: the root's two, 300 objects
      await s.close();
    },
    BIG,
  );

  it(
    'stops between chunks when aborted, with its reason, and leaves a valid database with exact stats that a later pack finishes',
    async () => {
      const { s, platform, name } = await fresh();
      const { all, half, live } = await halfGarbage(s, 2000);
      const db = await connect(platform, name);
      const stop = new AbortController();
      const reason = new Error('the user cancelled the pack');
      const packing = s.pack({
        signal: stop.signal,
        onProgress: (p) => {
          if (p.phase === 'copy' && p.done > 0 && p.done < p.total) stop.abort(reason);
        },
      });
      await expect(packing).rejects.toBe(reason);
      const counted = await recount(db);
      expect(counted.objects).toBeGreaterThan(live.length + 1); // it stopped midway...
      expect(counted.objects).toBeLessThan(2001); // ...after deleting some
      await expectExactStats(s, db);
      // What it deleted, a snapshot from before the pack can no longer read: it hears so.
      expect(await s.sync(all)).toMatchObject({ reset: true });
      expect((await s.sync(half)).reset).toBeUndefined();
      expect((await s.load(live)).length).toBe(live.length);
      await s.pack();
      expect((await recount(db)).objects).toBe(live.length + 1);
      await expectExactStats(s, db);
      db.close();
      await s.close();
    },
    BIG,
  );

  it(
    'stops when the storage is closed midway; reopened, the database is valid, its stats exact, and a pack finishes the job',
    async () => {
      const { s, platform, name } = await fresh();
      const { live } = await halfGarbage(s, 2000);
      let closing: Promise<void> | undefined;
      const packing = s.pack({
        onProgress: (p) => {
          if (p.phase === 'copy' && p.done > 0 && p.done < p.total) closing ??= s.close();
        },
      });
      await expect(packing).rejects.toThrow(/closed/);
      await closing;
      const again = await IndexedDBStorage.open(name, platform);
      const db = await connect(platform, name);
      const counted = await recount(db);
      expect(counted.objects).toBeGreaterThan(live.length + 1);
      expect(counted.objects).toBeLessThan(2001);
      await expectExactStats(again, db);
      await again.pack();
      expect((await recount(db)).objects).toBe(live.length + 1);
      expect((await again.load(live)).length).toBe(live.length);
      await expectExactStats(again, db);
      db.close();
      await again.close();
    },
    BIG,
  );
});

describe('MemoryStorage pack progress', () => {
  it('reports mark, then copy, then done, once each', async () => {
    const s = new MemoryStorage();
    await halfGarbage(s, 10);
    const seen: PackProgress[] = [];
    await s.pack({ onProgress: (p) => seen.push(p) });
    expect(seen).toEqual([
      { phase: 'mark', done: 6, total: 6 },
      { phase: 'copy', done: 11, total: 11 },
      { phase: 'done', done: 1, total: 1 },
    ]);
  });
});

describe('IndexedDBStorage pack, aborted without a reason', () => {
  it(
    'rejects with the signal’s own AbortError, not a storage failure',
    async () => {
      const { s } = await fresh();
      await halfGarbage(s, 500);
      const stop = new AbortController();
      const packing = s.pack({ signal: stop.signal, onProgress: () => stop.abort() });
      const error: unknown = await packing.then(
        () => 'resolved',
        (e: unknown) => e,
      );
      expect(error).toBe(stop.signal.reason);
      expect(error).toBeInstanceOf(DOMException);
      await s.close();
    },
    BIG,
  );
});
