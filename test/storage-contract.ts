/**
 * The Storage contract suite: every storage implementation runs it (ZODB's storage test mixins
 * are the model). `make` returns a fresh, empty storage; a storage whose data outlives it returns
 * `{ storage, reopen }` instead, and the suite also checks what must hold after reopening.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DatabaseClosedError,
  ReadConflictError,
  ShelfError,
  WriteConflictError,
  type Invalidation,
  type Storage,
  type StoredRecord,
} from '../src/index.js';

const bytes = (...xs: number[]): Uint8Array => new Uint8Array(xs);

function rec(oid: number, state: Uint8Array, refs: number[] = [], tid?: number): StoredRecord {
  const r: StoredRecord = { oid, className: 'test.Thing', state, refs };
  if (tid !== undefined) r.tid = tid;
  return r;
}

/** A fresh storage whose database can be opened again after the suite closes it. */
export interface ReopenableStorage {
  storage: Storage;
  /** Opens the same database again (the suite calls it after closing `storage`). */
  reopen(): Promise<Storage> | Storage;
}

export type StorageFactory = () =>
  Promise<Storage | ReopenableStorage> | Storage | ReopenableStorage;

const isReopenable = (made: Storage | ReopenableStorage): made is ReopenableStorage =>
  'reopen' in made && typeof made.reopen === 'function' && 'storage' in made;

async function reopenable(make: StorageFactory): Promise<ReopenableStorage | { storage: Storage }> {
  const made = await make();
  return isReopenable(made) ? made : { storage: made };
}

export function describeStorage(name: string, factory: StorageFactory): void {
  const make = async (): Promise<Storage> => (await reopenable(factory)).storage;
  describe(`Storage contract: ${name}`, () => {
    it('starts empty at tid 0 and hands out fresh oids, never 0, never twice', async () => {
      const s = await make();
      expect(await s.sync(Number.MAX_SAFE_INTEGER)).toEqual({ tid: 0, oids: [] });
      const a = await s.newOids(3);
      const b = await s.newOids(2);
      const all = [...a, ...b];
      expect(new Set(all).size).toBe(5);
      expect(all).not.toContain(0);
      expect(await s.newOids(0)).toEqual([]);
      await s.close();
    });

    it('commits atomically and loads what was committed, in the order asked', async () => {
      const s = await make();
      const [a, b] = (await s.newOids(2)) as [number, number];
      const tid = await s.commit({
        baseTid: 0,
        records: [rec(0, bytes(1), [a]), rec(a, bytes(2), [b]), rec(b, bytes(3))],
      });
      expect(tid).toBe(1);
      const loaded = await s.load([b, 0, a]);
      expect(loaded.map((r) => r.oid)).toEqual([b, 0, a]);
      expect(loaded.map((r) => [...r.state])).toEqual([[3], [1], [2]]);
      expect(loaded.map((r) => r.tid)).toEqual([1, 1, 1]);
      expect(loaded[1]?.refs).toEqual([a]);
      expect(loaded[1]?.className).toBe('test.Thing');
      await s.close();
    });

    it('leaves out oids never stored', async () => {
      const s = await make();
      const [a] = (await s.newOids(1)) as [number];
      await s.commit({ baseTid: 0, records: [rec(0, bytes(1))] });
      expect((await s.load([a, 0, 999_999])).map((r) => r.oid)).toEqual([0]);
      await s.close();
    });

    it('gives each commit a tid one larger than the one before', async () => {
      const s = await make();
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1))] });
      const t2 = await s.commit({ baseTid: t1, records: [rec(0, bytes(2), [], t1)] });
      const t3 = await s.commit({ baseTid: t2, records: [rec(0, bytes(3), [], t2)] });
      expect([t1, t2, t3]).toEqual([1, 2, 3]);
      await s.close();
    });

    it('loads the revision a snapshot needs (MVCC)', async () => {
      const s = await make();
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1))] });
      const [a] = (await s.newOids(1)) as [number];
      const t2 = await s.commit({
        baseTid: t1,
        records: [rec(0, bytes(2), [a], t1), rec(a, bytes(9))],
      });
      expect([...((await s.load([0], t1))[0]?.state ?? [])]).toEqual([1]);
      expect([...((await s.load([0], t2))[0]?.state ?? [])]).toEqual([2]);
      expect([...((await s.load([0]))[0]?.state ?? [])]).toEqual([2]);
      // An object created after the snapshot is not visible in it.
      expect(await s.load([a], t1)).toEqual([]);
      await s.close();
    });

    it('refuses a write based on an old revision with WriteConflictError and stores nothing', async () => {
      const s = await make();
      const [a] = (await s.newOids(1)) as [number];
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1), [a]), rec(a, bytes(1))] });
      const t2 = await s.commit({ baseTid: t1, records: [rec(a, bytes(2), [], t1)] });
      const err = await s
        .commit({ baseTid: t1, records: [rec(0, bytes(5), [], t1), rec(a, bytes(3), [], t1)] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WriteConflictError);
      expect((err as WriteConflictError).oids).toEqual([a]);
      expect((await s.sync(Number.MAX_SAFE_INTEGER)).tid).toBe(t2);
      expect([...((await s.load([0]))[0]?.state ?? [])]).toEqual([1]);
      await s.close();
    });

    it('refuses to create an object that already exists', async () => {
      const s = await make();
      await s.commit({ baseTid: 0, records: [rec(0, bytes(1))] });
      await expect(s.commit({ baseTid: 0, records: [rec(0, bytes(2))] })).rejects.toBeInstanceOf(
        WriteConflictError,
      );
      await s.close();
    });

    it('checks readCurrent pins with ReadConflictError', async () => {
      const s = await make();
      const [a, b] = (await s.newOids(2)) as [number, number];
      const t1 = await s.commit({
        baseTid: 0,
        records: [rec(0, bytes(0), [a, b]), rec(a, bytes(1)), rec(b, bytes(1))],
      });
      await s.commit({ baseTid: t1, records: [rec(a, bytes(2), [], t1)] });
      const err = await s
        .commit({
          baseTid: t1,
          records: [rec(b, bytes(2), [], t1)],
          readCurrent: [{ oid: a, tid: t1 }],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReadConflictError);
      expect((err as ReadConflictError).oids).toEqual([a]);
      expect([...((await s.load([b]))[0]?.state ?? [])]).toEqual([1]);
      await s.close();
    });

    it('refuses malformed commits without storing anything', async () => {
      const s = await make();
      await expect(
        s.commit({ baseTid: 0, records: [rec(12345, bytes(1))] }),
      ).rejects.toBeInstanceOf(ShelfError);
      await expect(
        s.commit({ baseTid: 0, records: [rec(0, bytes(1)), rec(0, bytes(2))] }),
      ).rejects.toBeInstanceOf(ShelfError);
      await expect(
        s.commit({ baseTid: 0, records: [{ oid: 0, className: '', state: bytes(1), refs: [] }] }),
      ).rejects.toBeInstanceOf(ShelfError);
      expect((await s.sync(Number.MAX_SAFE_INTEGER)).tid).toBe(0);
      await s.close();
    });

    it('answers sync with the oids changed since a tid', async () => {
      const s = await make();
      const [a, b] = (await s.newOids(2)) as [number, number];
      const t1 = await s.commit({
        baseTid: 0,
        records: [rec(0, bytes(0), [a, b]), rec(a, bytes(1)), rec(b, bytes(1))],
      });
      const t2 = await s.commit({ baseTid: t1, records: [rec(a, bytes(2), [], t1)] });
      const t3 = await s.commit({
        baseTid: t2,
        records: [rec(b, bytes(2), [], t1), rec(a, bytes(3), [], t2)],
      });
      const r = await s.sync(t1);
      expect(r.tid).toBe(t3);
      expect([...r.oids].sort()).toEqual([a, b].sort());
      expect(await s.sync(t3)).toEqual({ tid: t3, oids: [] });
      await s.close();
    });

    it('writes a commit resent with the same txnId only once', async () => {
      const s = await make();
      const [a] = (await s.newOids(1)) as [number];
      const first = await s.commit({
        baseTid: 0,
        records: [rec(0, bytes(1), [a]), rec(a, bytes(2))],
        txnId: 'tab1-7',
      });
      const again = await s.commit({
        baseTid: 0,
        records: [rec(0, bytes(1), [a]), rec(a, bytes(2))],
        txnId: 'tab1-7',
      });
      expect(again).toBe(first);
      expect((await s.stats()).transactions).toBe(1);
      const other = await s.commit({
        baseTid: first,
        records: [rec(a, bytes(3), [], first)],
        txnId: 'tab1-8',
      });
      expect(other).toBe(first + 1);
      await s.close();
    });

    it('answers a commit resent after other commits, and after reopening, with its first tid and stores nothing new', async () => {
      const made = await reopenable(factory);
      let s = made.storage;
      const [a, b] = (await s.newOids(2)) as [number, number];
      const first = await s.commit({
        baseTid: 0,
        records: [rec(0, bytes(1), [a, b]), rec(a, bytes(2))],
        txnId: 'tab1-1',
      });
      const later = await s.commit({
        baseTid: first,
        records: [rec(a, bytes(3), [], first), rec(b, bytes(3))],
        txnId: 'tab2-1',
      });
      const resend = {
        baseTid: 0,
        records: [rec(0, bytes(1), [a, b]), rec(a, bytes(2))],
        txnId: 'tab1-1',
      };
      const stored = async (): Promise<unknown> => ({
        newest: (await s.sync(Number.MAX_SAFE_INTEGER)).tid,
        transactions: (await s.stats()).transactions,
        records: (await s.load([0, a, b])).map((r) => [r.oid, r.tid, [...r.state]]),
      });
      const expected = {
        newest: later,
        transactions: 2,
        records: [
          [0, first, [1]],
          [a, later, [3]],
          [b, later, [3]],
        ],
      };
      expect(await s.commit(resend)).toBe(first);
      expect(await stored()).toEqual(expected);
      if ('reopen' in made) {
        await s.close();
        s = await made.reopen();
        expect(await s.commit(resend)).toBe(first);
        expect(await s.commit({ ...resend, txnId: 'tab2-1' })).toBe(later);
        expect(await stored()).toEqual(expected);
        expect(await s.commit({ baseTid: later, records: [rec(b, bytes(4), [], later)] })).toBe(
          later + 1,
        );
      }
      await s.close();
    });

    it('answers a commit resent after pack dropped its revision (and after reopening) with its first tid', async () => {
      const made = await reopenable(factory);
      let s = made.storage;
      const [a] = (await s.newOids(1)) as [number];
      const base = await s.commit({
        baseTid: 0,
        records: [rec(0, bytes(1), [a]), rec(a, bytes(1))],
      });
      const resend = () => ({
        baseTid: base,
        records: [rec(a, bytes(2), [], base)],
        txnId: 'lost',
      });
      const first = await s.commit(resend());
      const later = await s.commit({ baseTid: first, records: [rec(a, bytes(3), [], first)] });
      await s.pack(); // no snapshot reads `first` any more: its revision of `a` goes
      expect(await s.commit(resend())).toBe(first);
      if ('reopen' in made) {
        await s.close();
        s = await made.reopen();
        expect(await s.commit(resend())).toBe(first);
      }
      expect((await s.load([a])).map((r) => [r.tid, [...r.state]])).toEqual([[later, [3]]]);
      expect((await s.transactions()).map((t) => t.tid)).toEqual([later, first, base]);
      await s.close();
    });

    it('keeps transaction metadata, newest first, before exclusive', async () => {
      const s = await make();
      const t1 = await s.commit({
        baseTid: 0,
        records: [rec(0, bytes(1))],
        note: 'first',
        user: 'ada',
      });
      const t2 = await s.commit({
        baseTid: t1,
        records: [rec(0, bytes(2, 2), [], t1)],
        note: 'second',
        meta: { app: 'x', n: 2 },
      });
      const all = await s.transactions();
      expect(all.map((t) => t.tid)).toEqual([t2, t1]);
      expect(all[0]).toMatchObject({
        note: 'second',
        user: '',
        meta: { app: 'x', n: 2 },
        oids: [0],
        bytes: 2,
      });
      expect(all[1]).toMatchObject({ note: 'first', user: 'ada', meta: {} });
      expect(typeof all[0]?.time).toBe('number');
      expect((await s.transactions({ before: t2 })).map((t) => t.tid)).toEqual([t1]);
      expect((await s.transactions({ limit: 1 })).map((t) => t.tid)).toEqual([t2]);
      await s.close();
    });

    it('lists the revisions of an object, newest first', async () => {
      const s = await make();
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1))], note: 'a' });
      const t2 = await s.commit({ baseTid: t1, records: [rec(0, bytes(2), [], t1)], note: 'b' });
      const h = await s.history(0);
      expect(h.map((r) => [r.tid, r.note, [...r.record.state]])).toEqual([
        [t2, 'b', [2]],
        [t1, 'a', [1]],
      ]);
      expect(await s.history(0, 1)).toHaveLength(1);
      await s.close();
    });

    it('announces every commit to subscribers with tid, prevTid and oids', async () => {
      const s = await make();
      const seen: Invalidation[] = [];
      const stop = s.subscribe((inv) => seen.push(inv));
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1))] });
      const t2 = await s.commit({ baseTid: t1, records: [rec(0, bytes(2), [], t1)] });
      await new Promise((r) => setTimeout(r, 0));
      expect(seen).toEqual([
        { tid: t1, prevTid: 0, oids: [0] },
        { tid: t2, prevTid: t1, oids: [0] },
      ]);
      stop();
      await s.commit({ baseTid: t2, records: [rec(0, bytes(3), [], t2)] });
      await new Promise((r) => setTimeout(r, 0));
      expect(seen).toHaveLength(2);
      await s.close();
    });

    it('packs away unreachable objects and old revisions, keeping what a snapshot needs', async () => {
      const s = await make();
      const [a, b] = (await s.newOids(2)) as [number, number];
      const t1 = await s.commit({
        baseTid: 0,
        records: [rec(0, bytes(0), [a, b]), rec(a, bytes(1)), rec(b, bytes(1))],
      });
      const t2 = await s.commit({ baseTid: t1, records: [rec(0, bytes(0, 0), [a], t1)] }); // b unreachable now
      const t3 = await s.commit({ baseTid: t2, records: [rec(a, bytes(2), [], t1)] });
      // A snapshot at t2 is still open: a's revision of t1 and b (reachable at t1's root? no: at t2) stay.
      const kept = await s.pack({ keepTid: t2 });
      expect(kept.objectsRemoved).toBe(1); // b: unreachable from every revision a snapshot ≥ t2 reads
      expect([...((await s.load([a], t2))[0]?.state ?? [])]).toEqual([1]);
      const all = await s.pack();
      expect(all.revisionsRemoved).toBeGreaterThan(0);
      expect([...((await s.load([a], t3))[0]?.state ?? [])]).toEqual([2]);
      await expect(s.load([a], t1)).rejects.toBeInstanceOf(ReadConflictError);
      expect(await s.load([b])).toEqual([]);
      const stats = await s.stats();
      expect(stats.objects).toBe(2);
      expect(stats.garbageBytes).toBe(0);
      expect(typeof stats.lastPack).toBe('number');
      await s.close();
    });

    it('verifies a healthy storage as ok, and reports a dangling reference', async () => {
      const s = await make();
      const [a, b] = (await s.newOids(2)) as [number, number];
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1), [a]), rec(a, bytes(2))] });
      expect(await s.verify()).toEqual({ ok: true, problems: [] });
      await s.commit({ baseTid: t1, records: [rec(a, bytes(3), [b], t1)] }); // b never stored
      const report = await s.verify();
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([expect.objectContaining({ kind: 'dangling-ref', oid: a })]);
      await s.close();
    });

    it('reports stats', async () => {
      const s = await make();
      const before = await s.stats();
      expect(before).toMatchObject({
        objects: 0,
        garbageBytes: 0,
        transactions: 0,
        lastPack: undefined,
      });
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1, 2, 3))] });
      const first = await s.stats();
      expect(first).toMatchObject({ objects: 1, garbageBytes: 0, transactions: 1 });
      expect(first.bytes).toBeGreaterThanOrEqual(3);
      await s.commit({ baseTid: t1, records: [rec(0, bytes(4), [], t1)] });
      const after = await s.stats();
      expect(after).toMatchObject({ objects: 1, transactions: 2 });
      expect(after.bytes).toBeGreaterThan(first.bytes);
      expect(after.garbageBytes).toBeGreaterThanOrEqual(3); // the first revision
      expect(['memory', 'file', 'opfs', 'indexeddb']).toContain(after.storage);
      await s.close();
    });

    it('rejects every call after close with DatabaseClosedError; closing twice is harmless', async () => {
      const s = await make();
      await s.close();
      await s.close();
      await expect(s.load([0])).rejects.toBeInstanceOf(DatabaseClosedError);
      await expect(s.commit({ baseTid: 0, records: [] })).rejects.toBeInstanceOf(
        DatabaseClosedError,
      );
      await expect(s.newOids(1)).rejects.toBeInstanceOf(DatabaseClosedError);
      await expect(s.sync(0)).rejects.toBeInstanceOf(DatabaseClosedError);
    });
  });
}

/** Values that are not ids: what another tab, or a bug, may send where an oid or tid belongs. */
const notAnId = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constantFrom(NaN, Infinity, -Infinity, -1, 2 ** 53, 1.5, '1', null, true, [1], { oid: 1 }),
    fc.integer({ max: -1 }),
    fc.double({ noInteger: true }),
    fc.double({ min: 2 ** 53, max: Number.MAX_VALUE, noNaN: true }),
  );

/**
 * The argument checks of the Storage contract: every id that crosses a channel is a non-negative
 * safe integer, and a call naming anything else is refused with ShelfError before it reaches the
 * store. `make` returns a fresh, empty storage.
 */
export function describeStorageArguments(
  name: string,
  make: () => Promise<Storage> | Storage,
): void {
  describe(`Storage contract, arguments: ${name}`, () => {
    it('refuses an oid or tid that is not a non-negative integer with ShelfError and changes nothing', async () => {
      const s = await make();
      const [a] = (await s.newOids(1)) as [number];
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1), [a]), rec(a, bytes(1))] });
      const t2 = await s.commit({ baseTid: t1, records: [rec(a, bytes(2), [], t1)] });
      await fc.assert(
        fc.asyncProperty(notAnId(), async (bad) => {
          const id = bad as number;
          await expect(s.load([0, id])).rejects.toBeInstanceOf(ShelfError);
          await expect(s.load([0], id)).rejects.toBeInstanceOf(ShelfError);
          await expect(s.sync(id)).rejects.toBeInstanceOf(ShelfError);
          await expect(s.history(id)).rejects.toBeInstanceOf(ShelfError);
          await expect(s.pack({ keepTid: id })).rejects.toBeInstanceOf(ShelfError);
        }),
        { numRuns: 25, seed: 9 },
      );
      // The refused pack removed nothing: the snapshot at t1 still reads a's first revision.
      expect([...((await s.load([a], t1))[0]?.state ?? [])]).toEqual([1]);
      expect((await s.history(a)).map((r) => r.tid)).toEqual([t2, t1]);
      expect((await s.stats()).lastPack).toBeUndefined();
      await s.close();
    });
  });
}
