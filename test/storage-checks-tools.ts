/**
 * Runner-free Storage checks, part two: what tools and the page read besides objects (sync,
 * transactions, history, invalidations, stats), pack (a second pack joins the running one), verify,
 * close, and the argument checks every id crossing a channel goes through.
 */
import fc from 'fast-check';
import { DatabaseClosedError, ReadConflictError, ShelfError } from '../src/shared/errors.js';
import type { Invalidation, Storage } from '../src/shared/storage.js';
import { equal, includes, ok, rejects } from './check-assert.js';
import {
  bytes,
  fresh,
  rec,
  rootAndA,
  rootAndAB,
  stateOf,
  type StorageCheck,
} from './storage-check-kit.js';

/** A listener that records what it hears, and lets a check await the n-th invalidation. */
function hearing(s: Storage): {
  heard: Invalidation[];
  count(n: number): Promise<void>;
  stop(): void;
} {
  const heard: Invalidation[] = [];
  const waiting: { n: number; resolve: () => void }[] = [];
  const stop = s.subscribe((invalidation) => {
    heard.push(invalidation);
    for (const w of waiting) if (heard.length >= w.n) w.resolve();
  });
  return {
    heard,
    stop,
    count: (n) =>
      heard.length >= n
        ? Promise.resolve()
        : new Promise((resolve) => waiting.push({ n, resolve })),
  };
}

/** A storage holding garbage: an old revision of the root and of `a`, and `b` unreachable. */
async function withGarbage(s: Storage): Promise<{ a: number; b: number; tids: number[] }> {
  const { a, b, t1 } = await rootAndAB(s);
  const t2 = await s.commit({ baseTid: t1, records: [rec(0, bytes(0, 0), [a], t1)] }); // b unreachable
  const t3 = await s.commit({ baseTid: t2, records: [rec(a, bytes(2), [], t1)] });
  return { a, b, tids: [t1, t2, t3] };
}

export const toolChecks: StorageCheck[] = [
  [
    'answers sync with the oids changed since a tid',
    async (factory) => {
      const s = await fresh(factory);
      const { a, b, t1 } = await rootAndAB(s);
      const t2 = await s.commit({ baseTid: t1, records: [rec(a, bytes(2), [], t1)] });
      const t3 = await s.commit({
        baseTid: t2,
        records: [rec(b, bytes(2), [], t1), rec(a, bytes(3), [], t2)],
      });
      const r = await s.sync(t1);
      equal([r.tid, [...r.oids].sort()], [t3, [a, b].sort()], 'sync from t1');
      equal(await s.sync(t3), { tid: t3, oids: [] }, 'sync from the newest tid');
      await s.close();
    },
  ],
  [
    'keeps transaction metadata, newest first, before exclusive',
    async (factory) => {
      const s = await fresh(factory);
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
      equal(
        all.map((t) => t.tid),
        [t2, t1],
        'tids',
      );
      const second = { note: 'second', user: '', meta: { app: 'x', n: 2 }, oids: [0], bytes: 2 };
      includes(all[0], second, 'the second transaction');
      includes(all[1], { note: 'first', user: 'ada', meta: {} }, 'the first transaction');
      equal(typeof all[0]?.time, 'number', 'the type of time');
      equal(
        (await s.transactions({ before: t2 })).map((t) => t.tid),
        [t1],
        'before t2',
      );
      equal(
        (await s.transactions({ limit: 1 })).map((t) => t.tid),
        [t2],
        'limit 1',
      );
      await s.close();
    },
  ],
  [
    'lists the revisions of an object, newest first',
    async (factory) => {
      const s = await fresh(factory);
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1))], note: 'a' });
      const t2 = await s.commit({ baseTid: t1, records: [rec(0, bytes(2), [], t1)], note: 'b' });
      const h = await s.history(0);
      const expected = [
        [t2, 'b', [2]],
        [t1, 'a', [1]],
      ];
      equal(
        h.map((r) => [r.tid, r.note, [...r.record.state]]),
        expected,
        'history',
      );
      equal((await s.history(0, 1)).length, 1, 'history with limit 1');
      await s.close();
    },
  ],
  [
    'announces every commit to subscribers with tid, prevTid and oids',
    async (factory) => {
      const s = await fresh(factory);
      const first = hearing(s);
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1))] });
      const t2 = await s.commit({ baseTid: t1, records: [rec(0, bytes(2), [], t1)] });
      await first.count(2);
      const expected = [
        { tid: t1, prevTid: 0, oids: [0] },
        { tid: t2, prevTid: t1, oids: [0] },
      ];
      equal(first.heard, expected, 'heard');
      first.stop();
      // Listeners hear a commit together: once the second has heard t3, the first would have.
      const second = hearing(s);
      await s.commit({ baseTid: t2, records: [rec(0, bytes(3), [], t2)] });
      await second.count(1);
      equal(first.heard.length, 2, 'what the removed listener heard');
      second.stop();
      await s.close();
    },
  ],
  [
    'resolves a commit whose invalidation listener throws, tells the other listeners, and reports the error',
    async (factory) => {
      const s = await fresh(factory);
      const failure = new Error('a listener of the app failed');
      s.subscribe(() => {
        throw failure;
      });
      const others = hearing(s);
      const reported = new Promise<unknown>((resolve) => s.subscribeErrors?.(resolve));
      // The commit landed: a listener's failure must not make it look failed (resent, it would
      // be a second write).
      const tid = await s.commit({ baseTid: 0, records: [rec(0, bytes(1))], txnId: 'listened' });
      await others.count(1);
      equal(others.heard[0]?.tid, tid, 'what the other listener heard');
      if (s.subscribeErrors !== undefined) equal(await reported, failure, 'the error reported');
      await s.close();
    },
  ],
  [
    'keeps what a snapshot taken after pack() was called needs, though a commit lands before it runs',
    async (factory) => {
      const s = await fresh(factory);
      const { a, t1 } = await rootAndA(s);
      // A commit in flight when pack is called: the pack waits for it before it runs.
      const landing = s.commit({ baseTid: t1, records: [rec(a, bytes(2), [], t1)] });
      const packing = s.pack();
      // A reader that asks for the newest tid now (as a tab that pins and then syncs while the
      // owner prepares the pack) may get t1, and reads a's revision at t1 after the pack.
      const { tid: seen } = await s.sync(0);
      await Promise.all([landing, packing]);
      equal(await stateOf(s, a, seen), seen === t1 ? [1] : [2], `a at the snapshot ${seen}`);
      await s.close();
    },
  ],
  [
    'verifies as ok while a pack removes what a commit made unreachable meanwhile',
    async (factory) => {
      const s = await fresh(factory);
      const [a, b, c] = (await s.newOids(3)) as [number, number, number];
      const t1 = await s.commit({
        baseTid: 0,
        records: [
          rec(0, bytes(1), [a]),
          rec(a, bytes(1), [b]),
          rec(b, bytes(1), [c]),
          rec(c, bytes(1)),
        ],
      });
      // verify walks the graph in load batches; the chain is cut and packed away meanwhile.
      const verifying = s.verify();
      const cut = s.commit({ baseTid: t1, records: [rec(0, bytes(2), [], t1)] });
      const packing = cut.then(() => s.pack());
      const [report] = await Promise.all([verifying, packing]);
      equal(report.problems, [], 'problems reported');
      equal(report.ok, true, 'ok');
      await s.close();
    },
  ],
  [
    'packs away unreachable objects and old revisions, keeping what a snapshot needs',
    async (factory) => {
      const s = await fresh(factory);
      const {
        a,
        b,
        tids: [t1, t2, t3],
      } = await withGarbage(s);
      // A snapshot at t2 is still open: a's revision of t1 stays; b is unreachable from it.
      const kept = await s.pack({ keepTid: t2 });
      equal(kept.objectsRemoved, 1, 'objects removed keeping t2'); // b
      equal(await stateOf(s, a, t2), [1], 'a at t2');
      const all = await s.pack();
      ok(all.revisionsRemoved > 0, 'the second pack removes revisions');
      equal(await stateOf(s, a, t3), [2], 'a at t3');
      await rejects(s.load([a], t1), ReadConflictError, 'a at t1, packed away');
      equal(await s.load([b]), [], 'b');
      const stats = await s.stats();
      includes(stats, { objects: 2, garbageBytes: 0 }, 'stats');
      equal(typeof stats.lastPack, 'number', 'the type of lastPack');
      await s.close();
    },
  ],
  [
    "resolves a second pack while one runs with the running pack's result, and a later pack runs anew",
    async (factory) => {
      const s = await fresh(factory);
      const { a } = await withGarbage(s);
      const [first, second] = await Promise.all([s.pack(), s.pack({ keepTid: 1 })]);
      // Had the second run on its own, after the first, it would have found nothing to remove.
      ok(
        first.revisionsRemoved > 0 && first.objectsRemoved === 1,
        'the first pack removed garbage',
      );
      equal(second, first, "the second pack's result");
      equal((await s.stats()).lastPack, first.time, 'the time of the last pack');
      const later = await s.pack();
      equal([later.objectsRemoved, later.revisionsRemoved], [0, 0], 'what a later pack removes');
      ok(later.time >= first.time, 'a later pack finishes later');
      equal(await stateOf(s, a), [2], 'a');
      await s.close();
    },
  ],
  [
    'verifies a healthy storage as ok, and reports a dangling reference',
    async (factory) => {
      const s = await fresh(factory);
      const { a, b, t1 } = await rootAndA(s, 2);
      equal(await s.verify(), { ok: true, problems: [] }, 'a healthy storage');
      await s.commit({ baseTid: t1, records: [rec(a, bytes(3), [b], t1)] }); // b never stored
      const report = await s.verify();
      equal(report.ok, false, 'ok with a dangling reference');
      equal(report.problems.length, 1, 'problems');
      includes(report.problems[0], { kind: 'dangling-ref', oid: a }, 'the problem');
      await s.close();
    },
  ],
  [
    'reports stats',
    async (factory) => {
      const s = await fresh(factory);
      const empty = { objects: 0, garbageBytes: 0, transactions: 0, lastPack: undefined };
      includes(await s.stats(), empty, 'stats of a new storage');
      const t1 = await s.commit({ baseTid: 0, records: [rec(0, bytes(1, 2, 3))] });
      const first = await s.stats();
      includes(first, { objects: 1, garbageBytes: 0, transactions: 1 }, 'stats after t1');
      ok(first.bytes >= 3, 'bytes hold the state');
      await s.commit({ baseTid: t1, records: [rec(0, bytes(4), [], t1)] });
      const after = await s.stats();
      includes(after, { objects: 1, transactions: 2 }, 'stats after t2');
      ok(after.bytes > first.bytes, 'bytes grow');
      ok(after.garbageBytes >= 3, 'the first revision is garbage');
      ok(['memory', 'file', 'opfs', 'indexeddb'].includes(after.storage), 'the storage kind');
      await s.close();
    },
  ],
  [
    'rejects every call after close with DatabaseClosedError; closing twice is harmless',
    async (factory) => {
      const s = await fresh(factory);
      await s.close();
      await s.close();
      await rejects(s.load([0]), DatabaseClosedError, 'load');
      await rejects(s.commit({ baseTid: 0, records: [] }), DatabaseClosedError, 'commit');
      await rejects(s.newOids(1), DatabaseClosedError, 'newOids');
      await rejects(s.sync(0), DatabaseClosedError, 'sync');
      await rejects(s.pack(), DatabaseClosedError, 'pack');
    },
  ],
];

/** Values that are not ids: what another tab, or a bug, may send where an oid or tid belongs. */
const notAnId = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constantFrom(NaN, Infinity, -Infinity, -1, 2 ** 53, 1.5, '1', null, true, [1], { oid: 1 }),
    fc.integer({ max: -1 }),
    fc.double({ noInteger: true }),
    fc.double({ min: 2 ** 53, max: Number.MAX_VALUE, noNaN: true }),
  );

/**
 * The argument checks: every id that crosses a channel is a non-negative safe integer, and a call
 * naming anything else is refused with ShelfError before it reaches the store.
 */
export const argumentChecks: StorageCheck[] = [
  [
    'refuses an oid or tid that is not a non-negative integer with ShelfError and changes nothing',
    async (factory) => {
      const s = await fresh(factory);
      const { a, t1 } = await rootAndA(s);
      const t2 = await s.commit({ baseTid: t1, records: [rec(a, bytes(2), [], t1)] });
      await fc.assert(
        fc.asyncProperty(notAnId(), async (bad) => {
          const id = bad as number;
          await rejects(s.load([0, id]), ShelfError, 'load of a bad oid');
          await rejects(s.load([0], id), ShelfError, 'load at a bad tid');
          await rejects(s.sync(id), ShelfError, 'sync');
          await rejects(s.history(id), ShelfError, 'history');
          await rejects(s.pack({ keepTid: id }), ShelfError, 'pack');
        }),
        { numRuns: 25, seed: 9 },
      );
      // The refused pack removed nothing: the snapshot at t1 still reads a's first revision.
      equal(await stateOf(s, a, t1), [1], 'a at t1');
      equal(
        (await s.history(a)).map((r) => r.tid),
        [t2, t1],
        'the history of a',
      );
      equal((await s.stats()).lastPack, undefined, 'lastPack');
      await s.close();
    },
  ],
];
