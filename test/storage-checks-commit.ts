/**
 * Runner-free Storage checks, part one: oids, commits and loads, conflicts, malformed commits and
 * resends by txnId.
 */
import { ReadConflictError, ShelfError, WriteConflictError } from '../src/shared/errors.js';
import type { Storage } from '../src/shared/storage.js';
import { equal, ok, rejects } from './check-assert.js';
import {
  bytes,
  fresh,
  newest,
  rec,
  reopenable,
  stateOf,
  type StorageCheck,
  type StorageFactory,
} from './storage-check-kit.js';

async function resendAfterOthers(factory: StorageFactory): Promise<void> {
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
    newest: await newest(s),
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
  equal(await s.commit(resend), first, 'the resend answered');
  equal(await stored(), expected, 'what is stored after the resend');
  if ('reopen' in made) {
    await s.close();
    s = await made.reopen();
    equal(await s.commit(resend), first, 'the resend answered after reopening');
    equal(await s.commit({ ...resend, txnId: 'tab2-1' }), later, 'the other resend');
    equal(await stored(), expected, 'what is stored after reopening');
    const next = await s.commit({ baseTid: later, records: [rec(b, bytes(4), [], later)] });
    equal(next, later + 1, 'the next commit');
  }
  await s.close();
}

async function resendAfterPack(factory: StorageFactory): Promise<void> {
  const made = await reopenable(factory);
  let s: Storage = made.storage;
  const [a] = (await s.newOids(1)) as [number];
  const base = await s.commit({ baseTid: 0, records: [rec(0, bytes(1), [a]), rec(a, bytes(1))] });
  const resend = () => ({ baseTid: base, records: [rec(a, bytes(2), [], base)], txnId: 'lost' });
  const first = await s.commit(resend());
  const later = await s.commit({ baseTid: first, records: [rec(a, bytes(3), [], first)] });
  await s.pack(); // no snapshot reads `first` any more: its revision of `a` goes
  equal(await s.commit(resend()), first, 'the resend answered after pack');
  if ('reopen' in made) {
    await s.close();
    s = await made.reopen();
    equal(await s.commit(resend()), first, 'the resend answered after reopening');
  }
  const loaded = (await s.load([a])).map((r) => [r.tid, [...r.state]]);
  equal(loaded, [[later, [3]]], 'a as stored');
  equal(
    (await s.transactions()).map((t) => t.tid),
    [later, first, base],
    'the transactions',
  );
  await s.close();
}

export const commitChecks: StorageCheck[] = [
  [
    'starts empty at tid 0 and hands out fresh oids, never 0, never twice',
    async (factory) => {
      const s = await fresh(factory);
      equal(await s.sync(Number.MAX_SAFE_INTEGER), { tid: 0, oids: [] }, 'sync of a new storage');
      const all = [...(await s.newOids(3)), ...(await s.newOids(2))];
      equal(new Set(all).size, 5, 'distinct oids');
      ok(!all.includes(0), 'no oid is 0');
      equal(await s.newOids(0), [], 'no oids');
      await s.close();
    },
  ],
  [
    'commits atomically and loads what was committed, in the order asked',
    async (factory) => {
      const s = await fresh(factory);
      const [a, b] = (await s.newOids(2)) as [number, number];
      const tid = await s.commit({
        baseTid: 0,
        records: [rec(0, bytes(1), [a]), rec(a, bytes(2), [b]), rec(b, bytes(3))],
      });
      equal(tid, 1, 'the first tid');
      const loaded = await s.load([b, 0, a]);
      equal(
        loaded.map((r) => [r.oid, [...r.state], r.tid]),
        [
          [b, [3], 1],
          [0, [1], 1],
          [a, [2], 1],
        ],
        'loaded',
      );
      equal([loaded[1]?.refs, loaded[1]?.className], [[a], 'test.Thing'], 'the root as loaded');
      await s.close();
    },
  ],
  [
    'leaves out oids never stored',
    async (factory) => {
      const s = await fresh(factory);
      const [a] = (await s.newOids(1)) as [number];
      await s.commit({ baseTid: 0, records: [rec(0, bytes(1))] });
      equal(
        (await s.load([a, 0, 999_999])).map((r) => r.oid),
        [0],
        'loaded oids',
      );
      await s.close();
    },
  ],
  [
    'gives each commit a tid one larger than the one before',
    async (factory) => {
      const s = await fresh(factory);
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1))] });
      const t2 = await s.commit({ baseTid: t1, records: [rec(0, bytes(2), [], t1)] });
      const t3 = await s.commit({ baseTid: t2, records: [rec(0, bytes(3), [], t2)] });
      equal([t1, t2, t3], [1, 2, 3], 'tids');
      await s.close();
    },
  ],
  [
    'loads the revision a snapshot needs (MVCC)',
    async (factory) => {
      const s = await fresh(factory);
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1))] });
      const [a] = (await s.newOids(1)) as [number];
      const t2 = await s.commit({
        baseTid: t1,
        records: [rec(0, bytes(2), [a], t1), rec(a, bytes(9))],
      });
      equal(await stateOf(s, 0, t1), [1], 'the root at t1');
      equal(await stateOf(s, 0, t2), [2], 'the root at t2');
      equal(await stateOf(s, 0), [2], 'the newest root');
      equal(await s.load([a], t1), [], 'an object created after the snapshot');
      await s.close();
    },
  ],
  [
    'refuses a write based on an old revision with WriteConflictError and stores nothing',
    async (factory) => {
      const s = await fresh(factory);
      const [a] = (await s.newOids(1)) as [number];
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1), [a]), rec(a, bytes(1))] });
      const t2 = await s.commit({ baseTid: t1, records: [rec(a, bytes(2), [], t1)] });
      const request = {
        baseTid: t1,
        records: [rec(0, bytes(5), [], t1), rec(a, bytes(3), [], t1)],
      };
      const error = await rejects(s.commit(request), WriteConflictError, 'a stale write');
      equal(error.oids, [a], 'the conflicting oids');
      equal(await newest(s), t2, 'the newest tid');
      equal(await stateOf(s, 0), [1], 'the root');
      await s.close();
    },
  ],
  [
    'refuses to create an object that already exists',
    async (factory) => {
      const s = await fresh(factory);
      await s.commit({ baseTid: 0, records: [rec(0, bytes(1))] });
      const again = s.commit({ baseTid: 0, records: [rec(0, bytes(2))] });
      await rejects(again, WriteConflictError, 'a second root made at tid 0');
      await s.close();
    },
  ],
  [
    'checks readCurrent pins with ReadConflictError',
    async (factory) => {
      const s = await fresh(factory);
      const [a, b] = (await s.newOids(2)) as [number, number];
      const t1 = await s.commit({
        baseTid: 0,
        records: [rec(0, bytes(0), [a, b]), rec(a, bytes(1)), rec(b, bytes(1))],
      });
      await s.commit({ baseTid: t1, records: [rec(a, bytes(2), [], t1)] });
      const pinned = s.commit({
        baseTid: t1,
        records: [rec(b, bytes(2), [], t1)],
        readCurrent: [{ oid: a, tid: t1 }],
      });
      equal((await rejects(pinned, ReadConflictError, 'a stale pin')).oids, [a], 'pinned oids');
      equal(await stateOf(s, b), [1], 'b');
      await s.close();
    },
  ],
  [
    'refuses malformed commits without storing anything',
    async (factory) => {
      const s = await fresh(factory);
      const bad = [
        [rec(12345, bytes(1))],
        [rec(0, bytes(1)), rec(0, bytes(2))],
        [{ oid: 0, className: '', state: bytes(1), refs: [] }],
      ];
      for (const [i, records] of bad.entries())
        await rejects(s.commit({ baseTid: 0, records }), ShelfError, `malformed commit ${i}`);
      equal(await newest(s), 0, 'the newest tid');
      await s.close();
    },
  ],
  [
    'writes a commit resent with the same txnId only once',
    async (factory) => {
      const s = await fresh(factory);
      const [a] = (await s.newOids(1)) as [number];
      const request = () => ({
        baseTid: 0,
        records: [rec(0, bytes(1), [a]), rec(a, bytes(2))],
        txnId: 'tab1-7',
      });
      const first = await s.commit(request());
      equal(await s.commit(request()), first, 'the resend answered');
      equal((await s.stats()).transactions, 1, 'transactions');
      const other = s.commit({
        baseTid: first,
        records: [rec(a, bytes(3), [], first)],
        txnId: 'tab1-8',
      });
      equal(await other, first + 1, 'the next commit');
      await s.close();
    },
  ],
  [
    'answers a commit resent after other commits, and after reopening, with its first tid and stores nothing new',
    resendAfterOthers,
  ],
  [
    'answers a commit resent after pack dropped its revision (and after reopening) with its first tid',
    resendAfterPack,
  ],
];
