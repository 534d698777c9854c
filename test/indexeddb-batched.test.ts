/**
 * IndexedDBStorage finds the newest revisions of many objects in few requests (ranges over runs of
 * consecutive oids): for the conflict check of a commit, its readCurrent pins, and loads at any
 * snapshot. These tests hold it to MemoryStorage's answers over sparse and dense oids, objects with
 * many revisions, conflicts in large commits, and databases written by the code before it.
 */
import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory, IDBIndex, IDBKeyRange, IDBObjectStore } from 'fake-indexeddb';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ReadConflictError,
  WriteConflictError,
  type CommitRequest,
  type StoredRecord,
} from '../src/index.js';
import type { Storage, Tid } from '../src/shared/storage.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';

const rec = (oid: number, byte: number, tid?: number): StoredRecord => {
  const r: StoredRecord = { oid, className: 'test.Thing', state: new Uint8Array([byte]), refs: [] };
  if (tid !== undefined) r.tid = tid;
  return r;
};

const fresh = (name: string): Promise<IndexedDBStorage> =>
  IndexedDBStorage.open(name, { indexedDB: new IDBFactory(), IDBKeyRange });

/** Counts the read requests made on the records store and the txnId index from now on. */
function countReads(): { count: () => number } {
  let count = 0;
  for (const method of ['get', 'getAll', 'getAllKeys', 'getKey', 'openCursor', 'count'] as const) {
    const original = IDBObjectStore.prototype[method] as (...args: unknown[]) => IDBRequest;
    vi.spyOn(IDBObjectStore.prototype, method).mockImplementation(function (
      this: IDBObjectStore,
      ...args: unknown[]
    ) {
      if (this.name === 'records') count++;
      return original.apply(this, args);
    } as never);
  }
  const getKey = IDBIndex.prototype.getKey as (...args: unknown[]) => IDBRequest;
  vi.spyOn(IDBIndex.prototype, 'getKey').mockImplementation(function (
    this: IDBIndex,
    ...args: unknown[]
  ) {
    count++;
    return getKey.apply(this, args);
  } as never);
  return { count: () => count };
}

afterEach(() => vi.restoreAllMocks());

/** What a storage answered to a commit: its tid, or the conflict and its oids. */
async function outcome(s: Storage, txn: CommitRequest): Promise<unknown> {
  try {
    return { tid: await s.commit(txn) };
  } catch (error) {
    if (error instanceof WriteConflictError || error instanceof ReadConflictError) {
      return { conflict: error.name, oids: [...error.oids].sort((a, b) => a - b) };
    }
    throw error;
  }
}

/** What a load answered, comparable across storages. */
async function loaded(s: Storage, oids: number[], at?: Tid): Promise<unknown> {
  return (await s.load(oids, at)).map((r) => ({
    oid: r.oid,
    tid: r.tid,
    className: r.className,
    state: [...r.state],
    refs: r.refs,
  }));
}

describe('IndexedDBStorage with many objects per request', () => {
  it('checks a commit of 1,000 new objects for conflicts in a few requests, not one per object', async () => {
    const s = await fresh('bulk-requests');
    const oids = await s.newOids(1000);
    const reads = countReads();
    const tid = await s.commit({
      baseTid: 0,
      records: [rec(0, 1), ...oids.map((oid) => rec(oid, 2))],
      txnId: 'bulk-1',
    });
    expect(reads.count()).toBeLessThan(10);
    vi.restoreAllMocks();
    expect(await loaded(s, [0, oids[0] as number, oids[999] as number])).toEqual(
      [0, oids[0], oids[999]].map((oid) => ({
        oid,
        tid,
        className: 'test.Thing',
        state: [oid === 0 ? 1 : 2],
        refs: [],
      })),
    );
    await s.close();
  });

  it('loads 1,000 consecutive objects in a few requests, not one per object', async () => {
    const s = await fresh('bulk-load-requests');
    const oids = await s.newOids(1000);
    const tid = await s.commit({ baseTid: 0, records: oids.map((oid) => rec(oid, 3)) });
    const reads = countReads();
    const found = await s.load(oids);
    expect(reads.count()).toBeLessThan(10);
    expect(found.map((r) => r.oid)).toEqual(oids);
    expect(found.every((r) => r.tid === tid && r.state[0] === 3)).toBe(true);
    await s.close();
  });

  it('refuses a commit of 1,000 records when one of them has a newer revision, and stores none of them', async () => {
    const s = await fresh('bulk-conflict');
    const oids = await s.newOids(1000);
    const t1 = await s.commit({ baseTid: 0, records: oids.map((oid) => rec(oid, 1)) });
    const stale = oids[637] as number;
    const t2 = await s.commit({ baseTid: t1, records: [rec(stale, 2, t1)] });
    const error = await s
      .commit({ baseTid: t1, records: oids.map((oid) => rec(oid, 3, t1)) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteConflictError);
    expect((error as WriteConflictError).oids).toEqual([stale]);
    const now = await s.load(oids);
    expect(now.filter((r) => r.state[0] === 3)).toEqual([]);
    expect(now.find((r) => r.oid === stale)?.tid).toBe(t2);
    expect((await s.stats()).transactions).toBe(2);
    await s.close();
  });

  it('refuses a commit of new objects based on an old snapshot when one oid among 1,000 was written since', async () => {
    const s = await fresh('bulk-conflict-base');
    const oids = await s.newOids(1000);
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1)] });
    await s.commit({ baseTid: t1, records: [rec(oids[999] as number, 1)] });
    const error = await s
      .commit({ baseTid: t1, records: oids.map((oid) => rec(oid, 2)) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteConflictError);
    expect((error as WriteConflictError).oids).toEqual([oids[999]]);
    expect(await s.load(oids.slice(0, 999))).toEqual([]);
    await s.close();
  });

  it('refuses a commit whose readCurrent pins, among many, name one object changed since', async () => {
    const s = await fresh('bulk-pins');
    const oids = await s.newOids(300);
    const t1 = await s.commit({ baseTid: 0, records: oids.map((oid) => rec(oid, 1)) });
    const changed = oids[150] as number;
    await s.commit({ baseTid: t1, records: [rec(changed, 2, t1)] });
    const error = await s
      .commit({
        baseTid: t1,
        records: [rec(0, 5)],
        readCurrent: oids.map((oid) => ({ oid, tid: t1 })),
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadConflictError);
    expect((error as ReadConflictError).oids).toEqual([changed]);
    expect(await s.load([0])).toEqual([]);
    await s.close();
  });

  it('answers commits and loads at every snapshot as MemoryStorage does, over sparse oids and objects with many revisions', async () => {
    let round = 0;
    /** A tid as drawn: mostly the newest one (-1: a commit that does not conflict), or any. */
    const tidArb = fc.oneof(
      { arbitrary: fc.constant(-1), weight: 12 },
      { arbitrary: fc.nat(60), weight: 1 },
    );
    /** A commit as drawn: records by index into the oids, each with a base (or none), pins. */
    const commitArb = fc.record({
      records: fc.uniqueArray(
        fc.record({ at: fc.nat(59), base: fc.option(tidArb, { nil: undefined, freq: 8 }) }),
        { selector: (r) => r.at, minLength: 1, maxLength: 25 },
      ),
      base: tidArb,
      pins: fc.array(fc.record({ at: fc.nat(59), tid: tidArb }), { maxLength: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(
        // Which of 120 handed-out oids are used: sparse sets, runs and lone oids; few of them
        // make objects with many revisions.
        fc.uniqueArray(fc.nat(119), { minLength: 60, maxLength: 60 }),
        fc.integer({ min: 3, max: 60 }),
        fc.array(commitArb, { minLength: 1, maxLength: 60, size: 'medium' }),
        fc.array(fc.tuple(fc.nat(60), fc.uniqueArray(fc.nat(119), { maxLength: 60 })), {
          maxLength: 8,
        }),
        async (chosen, used, commits, reads) => {
          const idb = await fresh(`model-${round++}`);
          const memory = new MemoryStorage();
          const handed = await idb.newOids(120);
          expect(await memory.newOids(120)).toEqual(handed);
          const oidAt = (i: number): number => handed[chosen[i % used] as number] as number;
          /** The newest tid of each oid written, as the model answered. */
          const newest = new Map<number, number>();
          let last = 0;
          for (const [k, c] of commits.entries()) {
            const base = (oid: number, t: number): number | undefined =>
              t === -1 ? newest.get(oid) : Math.min(t, last);
            const txn: CommitRequest = {
              baseTid: c.base === -1 ? last : Math.min(c.base, last),
              records: c.records
                .filter((r, i) => c.records.findIndex((o) => oidAt(o.at) === oidAt(r.at)) === i)
                .map((r) => {
                  const oid = oidAt(r.at);
                  return rec(oid, k & 255, r.base === undefined ? undefined : base(oid, r.base));
                }),
              // Pins on written objects: one on an object never written always conflicts.
              readCurrent: c.pins
                .filter((p) => newest.has(oidAt(p.at)))
                .map((p) => ({ oid: oidAt(p.at), tid: base(oidAt(p.at), p.tid) ?? last })),
            };
            const expected = (await outcome(memory, txn)) as { tid?: number };
            expect(await outcome(idb, txn)).toEqual(expected);
            if (expected.tid !== undefined) {
              last = expected.tid;
              for (const r of txn.records) newest.set(r.oid, last);
            }
          }
          for (const [at, picks] of reads) {
            const oids = picks.map((p) => handed[p] as number);
            expect(await loaded(idb, oids, Math.min(at, last))).toEqual(
              await loaded(memory, oids, Math.min(at, last)),
            );
            expect(await loaded(idb, oids)).toEqual(await loaded(memory, oids));
          }
          await idb.close();
          await memory.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('IndexedDBStorage over a database written before batched reads', () => {
  /** Writes what the code before batched reads wrote for three commits, through the stores. */
  async function writeOldForm(factory: IDBFactory, name: string): Promise<void> {
    const open = factory.open(`shelfdb:${name}`, 1);
    open.onupgradeneeded = () => {
      const db = open.result;
      db.createObjectStore('records');
      db.createObjectStore('txns').createIndex('txnId', 'txnId');
      db.createObjectStore('meta');
    };
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const tx = db.transaction(['records', 'txns', 'meta'], 'readwrite');
    const records = tx.objectStore('records');
    const value = (byte: number, refs: number[] = []): unknown => ({
      className: 'test.Thing',
      state: new Uint8Array([byte]),
      refs,
    });
    // tid 1: the root and objects 1..4; tid 2: object 2 again; tid 3: objects 2 and 4 again.
    records.put(value(10, [1, 2, 3, 4]), [0, 1]);
    for (const oid of [1, 2, 3, 4]) records.put(value(oid), [oid, 1]);
    records.put(value(22), [2, 2]);
    records.put(value(32), [2, 3]);
    records.put(value(34), [4, 3]);
    const txns = tx.objectStore('txns');
    const info = (oids: number[], txnId: string): unknown => ({
      time: 1,
      note: '',
      user: '',
      meta: {},
      oids,
      bytes: oids.length,
      txnId,
    });
    txns.put(info([0, 1, 2, 3, 4], 'old-1'), 1);
    txns.put(info([2], 'old-2'), 2);
    txns.put(info([2, 4], 'old-3'), 3);
    tx.objectStore('meta').put(
      {
        lastTid: 3,
        nextOid: 5,
        objects: 5,
        bytes: 8,
        garbageBytes: 2,
        lastPack: undefined,
        floor: 0,
      },
      'state',
    );
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }

  it('reads every snapshot of a database the previous code wrote, and commits on it', async () => {
    const factory = new IDBFactory();
    await writeOldForm(factory, 'old-form');
    const s = await IndexedDBStorage.open('old-form', { indexedDB: factory, IDBKeyRange });
    const at = async (tid: number): Promise<[number, number, number][]> =>
      (await s.load([0, 1, 2, 3, 4], tid)).map((r) => [r.oid, r.tid, r.state[0] as number]);
    expect(await at(1)).toEqual([
      [0, 1, 10],
      [1, 1, 1],
      [2, 1, 2],
      [3, 1, 3],
      [4, 1, 4],
    ]);
    expect(await at(2)).toEqual([
      [0, 1, 10],
      [1, 1, 1],
      [2, 2, 22],
      [3, 1, 3],
      [4, 1, 4],
    ]);
    expect((await s.load([4, 2, 4])).map((r) => [r.oid, r.tid])).toEqual([
      [4, 3],
      [2, 3],
      [4, 3],
    ]);
    // A resend of a commit the old code stored is answered with its tid.
    expect(await s.commit({ baseTid: 0, records: [rec(1, 9)], txnId: 'old-2' })).toBe(2);
    await expect(s.commit({ baseTid: 2, records: [rec(2, 9, 2), rec(3, 9, 1)] })).rejects.toEqual(
      new WriteConflictError([2]),
    );
    expect(await s.commit({ baseTid: 3, records: [rec(2, 9, 3), rec(3, 9, 1)] })).toBe(4);
    expect((await s.load([2, 3])).map((r) => [r.oid, r.tid, r.state[0]])).toEqual([
      [2, 4, 9],
      [3, 4, 9],
    ]);
    expect(await s.stats()).toMatchObject({ objects: 5, garbageBytes: 4, transactions: 4 });
    await s.close();
  });
});

describe('IndexedDBStorage betting on its own last tid', () => {
  it("issues a commit's writes with its reads, before IndexedDB has answered any read, once it knows the tid", async () => {
    const s = await fresh('bet-order');
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1)] });
    const metaReads: IDBRequest[] = [];
    const pendingAtPut: boolean[] = [];
    const get = IDBObjectStore.prototype.get;
    vi.spyOn(IDBObjectStore.prototype, 'get').mockImplementation(function (
      this: IDBObjectStore,
      key: IDBValidKey | IDBKeyRange,
    ) {
      const request = get.call(this, key);
      if (this.name === 'meta') metaReads.push(request);
      return request;
    });
    const put = IDBObjectStore.prototype.put;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (
      this: IDBObjectStore,
      value: unknown,
      key?: IDBValidKey,
    ) {
      if (this.name === 'records') pendingAtPut.push(metaReads.at(-1)?.readyState === 'pending');
      return put.call(this, value, key);
    });
    const t2 = await s.commit({ baseTid: t1, records: [rec(0, 2, t1)], txnId: 'bet-2' });
    expect(pendingAtPut).toEqual([true]);
    vi.restoreAllMocks();
    expect(t2).toBe(t1 + 1);
    expect((await s.load([0]))[0]).toMatchObject({ tid: t2, state: new Uint8Array([2]) });
    await s.close();
  });

  it('commits correctly from two storages on one database taking turns: each finds its guess stale and neither overwrites the other', async () => {
    const platform = { indexedDB: new IDBFactory(), IDBKeyRange };
    const a = await IndexedDBStorage.open('two-writers', platform);
    const b = await IndexedDBStorage.open('two-writers', platform);
    const [x, y] = (await a.newOids(2)) as [number, number];
    let last = await a.commit({ baseTid: 0, records: [rec(0, 0), rec(x, 0), rec(y, 0)] });
    const tids = [last];
    for (let i = 1; i <= 6; i++) {
      const s = i % 2 === 0 ? a : b;
      // Each writes both objects, based on the other's last commit.
      last = await s.commit({ baseTid: last, records: [rec(x, i, last), rec(y, i, last)] });
      tids.push(last);
    }
    expect(tids).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const s of [a, b]) {
      expect((await s.history(x)).map((r) => [r.tid, r.record.state[0]])).toEqual(
        tids.map((t, i) => [t, i]).reverse(),
      );
      expect(await s.stats()).toMatchObject({ objects: 3, transactions: 7 });
    }
    await a.close();
    await b.close();
  });

  it('refuses a commit whose guess another storage on the same database made stale, based on what that storage overwrote, and keeps its revision', async () => {
    const platform = { indexedDB: new IDBFactory(), IDBKeyRange };
    const a = await IndexedDBStorage.open('stale-guess', platform);
    const b = await IndexedDBStorage.open('stale-guess', platform);
    const [x, y] = (await a.newOids(2)) as [number, number];
    const t1 = await a.commit({ baseTid: 0, records: [rec(x, 1)] });
    const t2 = await b.commit({ baseTid: t1, records: [rec(x, 2, t1)] });
    // `a` still guesses t1: its commit based on t1 is valid as against the guess.
    await expect(a.commit({ baseTid: t1, records: [rec(x, 3, t1)] })).rejects.toEqual(
      new WriteConflictError([x]),
    );
    expect((await b.history(x)).map((r) => [r.tid, r.record.state[0]])).toEqual([
      [t2, 2],
      [t1, 1],
    ]);
    const t3 = await b.commit({ baseTid: t2, records: [rec(x, 4, t2)] });
    // A new object, based on an old snapshot: lands after t3, and t3 stays.
    expect(await a.commit({ baseTid: t1, records: [rec(y, 5)] })).toBe(t3 + 1);
    expect((await a.load([x, y])).map((r) => [r.oid, r.tid, r.state[0]])).toEqual([
      [x, t3, 4],
      [y, t3 + 1, 5],
    ]);
    await a.close();
    await b.close();
  });

  it('takes an oid another storage on the same database handed out, though its own guess of the next oid is older', async () => {
    const platform = { indexedDB: new IDBFactory(), IDBKeyRange };
    const a = await IndexedDBStorage.open('other-oids', platform);
    const b = await IndexedDBStorage.open('other-oids', platform);
    const t1 = await a.commit({ baseTid: 0, records: [rec(0, 1)] });
    const [z] = (await b.newOids(1)) as [number];
    const t2 = await a.commit({ baseTid: t1, records: [rec(z, 7)] });
    expect((await b.load([z]))[0]).toMatchObject({ oid: z, tid: t2 });
    await a.close();
    await b.close();
  });

  it('answers a resent commit with its first tid while betting on the next, and stores it once', async () => {
    const s = await fresh('bet-resend');
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1)], txnId: 'once' });
    expect(await s.commit({ baseTid: 0, records: [rec(0, 1)], txnId: 'once' })).toBe(t1);
    expect(await s.commit({ baseTid: 0, records: [rec(0, 1)], txnId: 'once' })).toBe(t1);
    expect((await s.stats()).transactions).toBe(1);
    const t2 = await s.commit({ baseTid: t1, records: [rec(0, 2, t1)], txnId: 'twice' });
    expect(t2).toBe(t1 + 1);
    expect((await s.history(0)).map((r) => r.tid)).toEqual([t2, t1]);
    await s.close();
  });

  it('keeps the next tid right after a conflict while betting', async () => {
    const s = await fresh('bet-conflict');
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1)] });
    const t2 = await s.commit({ baseTid: t1, records: [rec(0, 2, t1)] });
    await expect(s.commit({ baseTid: t1, records: [rec(0, 3, t1)] })).rejects.toBeInstanceOf(
      WriteConflictError,
    );
    expect((await s.history(0)).map((r) => r.tid)).toEqual([t2, t1]);
    expect(await s.commit({ baseTid: t2, records: [rec(0, 4, t2)] })).toBe(t2 + 1);
    expect((await s.load([0]))[0]?.state[0]).toBe(4);
    await s.close();
  });
});
