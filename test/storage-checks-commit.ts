/**
 * Runner-free Storage checks, part one: oids, commits and loads, conflicts (per record: its `tid`,
 * else the request's `baseTid`), malformed commits and resends by txnId.
 */
import fc from 'fast-check';
import { ReadConflictError, ShelfError, WriteConflictError } from '../src/shared/errors.js';
import type { Storage } from '../src/shared/storage.js';
import { equal, ok, rejects } from './check-assert.js';
import {
  bytes,
  fresh,
  newest,
  rec,
  reopenable,
  rootAndA,
  rootAndAB,
  stateOf,
  type StorageCheck,
  type StorageFactory,
} from './storage-check-kit.js';

/** Whether a record conflicts, per the contract, when its oid's newest tid is `latest`. */
function conflicts(
  latest: number | undefined,
  recordTid: number | undefined,
  baseTid: number,
): boolean {
  if (recordTid !== undefined) return latest === undefined || latest > recordTid;
  return latest !== undefined && latest > baseTid;
}

/** An attempt as drawn: tids as numbers taken modulo how many there are (see `conflictRun`). */
interface Drawn {
  which: number;
  recordTid: number | undefined;
  baseTid: number;
}

/** One raw commit of the conflict property: which object, and what it says it is based on. */
interface Attempt {
  which: number;
  recordTid: number | undefined;
  baseTid: number;
}

const attempt = fc.record({
  which: fc.integer({ min: 0, max: 2 }),
  recordTid: fc.option(fc.nat(1000), { nil: undefined, freq: 2 }),
  baseTid: fc.nat(1000),
});

/** Runs `attempts` against a fresh storage and a model of the contract's conflict rule. */
async function conflictRun(factory: StorageFactory, drawn: Drawn[]): Promise<void> {
  const s = await fresh(factory);
  const [a, b] = (await s.newOids(2)) as [number, number];
  const oids = [0, a, b];
  const latest = new Map<number, number>();
  let tid = await s.commit({ baseTid: 0, records: [rec(0, bytes(0), [a, b]), rec(a, bytes(0))] });
  latest.set(0, tid).set(a, tid); // b: handed out, never stored
  for (const [i, f] of drawn.entries()) {
    const step: Attempt = {
      which: f.which,
      // A record tid up to one past the newest tid; a snapshot up to the newest.
      recordTid: f.recordTid === undefined ? undefined : f.recordTid % (tid + 2),
      baseTid: f.baseTid % (tid + 1),
    };
    const oid = oids[step.which] as number;
    const refs = oid === 0 ? [a, b] : [];
    const request = {
      baseTid: step.baseTid,
      records: [rec(oid, bytes(i + 1), refs, step.recordTid)],
    };
    const what = `commit ${i} (oid ${oid}, record tid ${step.recordTid}, baseTid ${step.baseTid}, newest of oid ${latest.get(oid)})`;
    if (step.recordTid !== undefined && step.recordTid > tid) {
      // Based on a revision newer than any: refused as malformed, nothing stored.
      await rejects(s.commit(request), ShelfError, what);
    } else if (conflicts(latest.get(oid), step.recordTid, step.baseTid)) {
      const error = await rejects(s.commit(request), WriteConflictError, what);
      equal(error.oids, [oid], `${what}: the conflicting oids`);
    } else {
      tid = await s.commit(request);
      latest.set(oid, tid);
      equal(await stateOf(s, oid), [i + 1], `${what}: stored`);
    }
  }
  equal(await newest(s), tid, 'the newest tid after every attempt');
  await s.close();
}

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
  const { a, t1: base } = await rootAndA(s);
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
    "refuses a baseTid or a record's tid newer than the newest tid, storing nothing",
    async (factory) => {
      const s = await fresh(factory);
      const { a, t1 } = await rootAndA(s);
      // A base nobody was given: records checked against it would conflict with nothing.
      for (const txn of [
        { baseTid: t1 + 1, records: [rec(a, bytes(9))] },
        { baseTid: Number.MAX_SAFE_INTEGER, records: [rec(0, bytes(9), [a])], txnId: 'tool' },
        { baseTid: t1, records: [rec(a, bytes(9), [], t1 + 5)] },
      ]) {
        await rejects(
          s.commit(txn),
          ShelfError,
          `the commit based on ${JSON.stringify(txn.baseTid)}`,
        );
      }
      equal(await newest(s), t1, 'the newest tid');
      equal(await stateOf(s, a), [1], 'a');
      await s.close();
    },
  ],
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
      const { a, t1 } = await rootAndA(s);
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
    "checks a record without tid against the request's baseTid; an oid never stored has no revision",
    async (factory) => {
      const s = await fresh(factory);
      const { a, b, t1 } = await rootAndA(s);
      // A raw commit, as tools make them: no record tid, the snapshot in baseTid.
      const t2 = await s.commit({
        baseTid: t1,
        records: [rec(0, bytes(2), [a, b]), rec(b, bytes(2))],
      });
      equal([await stateOf(s, 0), await stateOf(s, b)], [[2], [2]], 'stored at t2');
      const stale = s.commit({ baseTid: t1, records: [rec(0, bytes(3)), rec(a, bytes(3))] });
      equal((await rejects(stale, WriteConflictError, 'based on t1 after t2')).oids, [0], 'oids');
      // A record's own tid wins over baseTid, either way.
      const own = s.commit({ baseTid: t2, records: [rec(0, bytes(4), [], t1)] });
      equal(
        (await rejects(own, WriteConflictError, 'record tid t1, baseTid t2')).oids,
        [0],
        'oids',
      );
      const t3 = await s.commit({ baseTid: 0, records: [rec(0, bytes(5), [a, b], t2)] });
      equal([t3, await stateOf(s, 0), await stateOf(s, a)], [t2 + 1, [5], [1]], 'after t3');
      await s.close();
    },
  ],
  [
    'decides every conflict as the contract says: record tid, else baseTid, never-stored oids have no revision',
    async (factory) => {
      await fc.assert(
        fc.asyncProperty(fc.array(attempt, { minLength: 1, maxLength: 8 }), (drawn) =>
          conflictRun(factory, drawn),
        ),
        { numRuns: 15, seed: 10 },
      );
    },
  ],
  [
    'checks readCurrent pins with ReadConflictError',
    async (factory) => {
      const s = await fresh(factory);
      const { a, b, t1 } = await rootAndAB(s);
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
