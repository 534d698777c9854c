/**
 * Hunt (issue #12, second pass): IndexedDBStorage's bet on the next tid (indexeddb-commit.ts)
 * under two storages on one database committing concurrently, resends by txnId while a bet is in
 * flight, and conflicts found after the bet's puts were issued.
 */
import 'fake-indexeddb/auto';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WriteConflictError, type CommitRequest, type StoredRecord } from '../src/index.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';

const rec = (oid: number, byte: number, tid?: number): StoredRecord => {
  const r: StoredRecord = { oid, className: 'test.Thing', state: new Uint8Array([byte]), refs: [] };
  if (tid !== undefined) r.tid = tid;
  return r;
};

describe('IndexedDB bets (hunt 12b)', () => {
  it('stores nothing of a commit refused for a conflict found after its bet was written, so its resend with a fresh base lands', async () => {
    const s = await IndexedDBStorage.open('hunt-bet-conflict', {
      indexedDB: new IDBFactory(),
      IDBKeyRange,
    });
    await s.newOids(5);
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1), rec(5, 1)] });
    const t2 = await s.commit({ baseTid: t1, records: [rec(5, 2, t1)] });
    await expect(
      s.commit({ baseTid: t1, records: [rec(0, 3, t1), rec(5, 3, t1)], txnId: 'c.1' }),
    ).rejects.toBeInstanceOf(WriteConflictError);
    const t3 = await s.commit({
      baseTid: t2,
      records: [rec(0, 4, t1), rec(5, 4, t2)],
      txnId: 'c.1',
    });
    expect(t3).toBe(t2 + 1);
    expect((await s.load([0, 5])).map((r) => [r.tid, r.state[0]])).toEqual([
      [t3, 4],
      [t3, 4],
    ]);
    expect((await s.stats()).transactions).toBe(3);
    await s.close();
  });

  it('gives every acknowledged commit of two storages on one database committing at once its own tid, and loses none of them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            writer: fc.integer({ min: 0, max: 1 }),
            resend: fc.boolean(),
            awaitIt: fc.boolean(),
          }),
          { minLength: 1, maxLength: 14 },
        ),
        async (steps) => {
          const platform = { indexedDB: new IDBFactory(), IDBKeyRange };
          const a = await IndexedDBStorage.open('hunt-two', platform);
          const b = await IndexedDBStorage.open('hunt-two', platform);
          await a.newOids(40);
          const writers = [a, b];
          const sent: { txn: CommitRequest; result: Promise<number | Error> }[] = [];
          let n = 0;
          for (const step of steps) {
            const txnId =
              step.resend && sent.length > 0
                ? ((sent.at(-1) as { txn: CommitRequest }).txn.txnId as string)
                : `w${step.writer}.${++n}`;
            // New objects each time (no base), so no conflict: every distinct commit must land.
            const oid =
              step.resend && sent.length > 0
                ? ((sent.at(-1) as { txn: CommitRequest }).txn.records[0] as StoredRecord).oid
                : n;
            const txn: CommitRequest = { baseTid: 0, records: [rec(oid, n % 250)], txnId };
            const s = writers[step.writer] as IndexedDBStorage;
            const result = s.commit(txn).catch((e: unknown) => e as Error);
            sent.push({ txn, result });
            if (step.awaitIt) await result;
          }
          const results = await Promise.all(sent.map((x) => x.result));
          for (const r of results) expect(r).toBeTypeOf('number');
          const byTxn = new Map<string, number>();
          sent.forEach((x, i) => {
            const tid = results[i] as number;
            const id = x.txn.txnId as string;
            if (byTxn.has(id)) expect(tid).toBe(byTxn.get(id));
            byTxn.set(id, tid);
          });
          const tids = [...byTxn.values()].sort((p, q) => p - q);
          expect(tids).toEqual(tids.map((_, i) => i + 1));
          expect((await a.stats()).transactions).toBe(byTxn.size);
          await a.close();
          await b.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});
