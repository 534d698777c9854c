/**
 * Runner-free Storage checks that hand the storage what no link can carry (refs whose copy throws,
 * metadata holding a function), so they run against storages in the same process only: a link
 * refuses such a call before it is sent, which its own tests check.
 */
import type { Storage } from '../src/shared/storage.js';
import { equal, ok } from './check-assert.js';
import { bytes, fresh, rec, rootAndA, type StorageCheck } from './storage-check-kit.js';
import { throwingRefs } from './storage-hooks.js';

/** The error `promise` rejects with; throws if it resolves. */
async function failure(promise: Promise<unknown>, what: string): Promise<Error> {
  const outcome = await promise.then(
    (value: unknown) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if ('value' in outcome) throw new Error(`${what}: resolved, expected to fail`);
  ok(outcome.error instanceof Error, `${what}: failed with an Error`);
  return outcome.error as Error;
}

/** [oid, tid, first state byte] of each stored record of `oids`. */
async function stored(s: Storage, oids: number[]): Promise<unknown> {
  return (await s.load(oids)).map((r) => [r.oid, r.tid, r.state[0]]);
}

export const inProcessChecks: StorageCheck[] = [
  [
    'stores nothing of a commit that throws half way, forgets its txnId, and gives the next commit the next tid',
    async (factory) => {
      const s = await fresh(factory);
      const { a, b, t1 } = await rootAndA(s);
      const half = {
        baseTid: t1,
        records: [
          rec(0, bytes(2), [a, b], t1),
          rec(a, bytes(2), [], t1),
          { ...rec(b, bytes(2)), refs: throwingRefs() },
        ],
        txnId: 'half-1',
      };
      const error = await failure(s.commit(half), 'a commit whose refs throw');
      ok(/injected failure/.test(error.message), `the error says why: ${error.message}`);
      equal(
        await stored(s, [0, a, b]),
        [
          [0, t1, 1],
          [a, t1, 1],
        ],
        'stored after the failure',
      );
      equal((await s.history(0)).length, 1, 'revisions of the root');
      equal((await s.sync(0)).tid, t1, 'the newest tid');
      // Its txnId names nothing stored: the same id now lands as a new commit.
      const again = { baseTid: t1, records: [rec(a, bytes(3), [], t1)], txnId: 'half-1' };
      const t2 = await s.commit(again);
      equal(t2, t1 + 1, 'the next tid');
      equal(
        await stored(s, [0, a]),
        [
          [0, t1, 1],
          [a, t2, 3],
        ],
        'stored after the next commit',
      );
      equal((await s.stats()).transactions, 2, 'transactions');
      equal(await s.verify(), { ok: true, problems: [] }, 'verify');
      await s.close();
    },
  ],
  [
    'refuses a commit whose meta holds a value JSON would drop, storing nothing of it',
    async (factory) => {
      const s = await fresh(factory);
      const meta = { kept: 1, dropped: () => 1 };
      const error = await failure(
        s.commit({ baseTid: 0, records: [rec(0, bytes(1))], meta }),
        'a commit whose meta holds a function',
      );
      ok(/meta key "dropped" holds a function/.test(error.message), `says why: ${error.message}`);
      equal(await s.transactions(), [], 'transactions');
      equal(await s.load([0]), [], 'the root');
      const next = { baseTid: 0, records: [rec(0, bytes(2))], meta: { kept: 1 } };
      equal(await s.commit(next), 1, 'the next commit');
      await s.close();
    },
  ],
];
