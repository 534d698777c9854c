/**
 * A commit that failed with StorageBusyError may have landed (API.md, settled details): the
 * connection keeps it and the next commit (or transact's retry) resends the very same request, so
 * it lands exactly once; later changes go in a transaction of their own; abort() drops it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ChangeEvent,
  Database,
  ShelfError,
  StorageBusyError,
  WriteConflictError,
  type Connection,
  type PersistentDict,
} from '../src/index.js';
import { CLASSES, Todo, todo } from './fixtures.js';
import { flakyStorage } from './flaky-storage.js';
import { TxnIds } from '../src/pending-commit.js';

async function counterDb() {
  const flaky = flakyStorage();
  const db = new Database(flaky.storage, { classes: CLASSES });
  const conn = db.open();
  const root = await conn.root();
  root.set('counter', 0);
  await conn.commit();
  return { ...flaky, db, conn, root };
}

/** What a fresh connection reads now. */
async function read(db: Database, key: string): Promise<unknown> {
  const fresh = db.open();
  try {
    return (await fresh.root()).get(key);
  } finally {
    fresh.close();
  }
}

function increment(root: PersistentDict): void {
  root.set('counter', (root.get('counter') as number) + 1);
}

async function transactionCount(db: Database): Promise<number> {
  return (await db.stats()).transactions;
}

describe('Connection: a commit whose fate is not known (StorageBusyError)', () => {
  it('lands it exactly once when commit() is called again after the answer and broadcast were lost', async () => {
    const { db, conn, root, faults, sent } = await counterDb();
    const before = await transactionCount(db);
    increment(root);
    faults.push('answer-and-broadcast');
    await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
    expect(conn.hasUncertainCommit).toBe(true);

    const tid = await conn.commit();
    expect(sent.at(-1)).toEqual(sent.at(-2)); // the very same request, txnId included
    expect(conn.hasUncertainCommit).toBe(false);
    expect(await transactionCount(db)).toBe(before + 1);
    expect(conn.snapshotTid).toBe(tid);
    expect(root._p_serial).toBe(tid);
    expect(await read(db, 'counter')).toBe(1);
  });

  it('resends the same request when the busy commit had not landed, and it lands once', async () => {
    const { db, conn, root, faults, sent } = await counterDb();
    const before = await transactionCount(db);
    const t = todo('new');
    root.set('t', t);
    increment(root);
    faults.push('request');
    await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
    expect(t._p_oid).toBeTypeOf('number'); // its oid is in the request: kept

    await conn.commit();
    expect(sent.at(-1)).toEqual(sent.at(-2));
    expect(await transactionCount(db)).toBe(before + 1);
    expect(await read(db, 'counter')).toBe(1);
    expect(t._p_status).toBe('saved');
    expect(await conn.get(t._p_oid as number)).toBe(t);
  });

  it('knows from a broadcast arriving later that it landed, and resolves the next commit without resending', async () => {
    const { db, conn, root, faults, sent, deliverHeld } = await counterDb();
    const before = await transactionCount(db);
    increment(root);
    faults.push('answer-broadcast-later');
    await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
    deliverHeld(); // the invalidation, carrying its txnId, arrives after the error
    const requests = sent.length;
    const tid = await conn.commit();
    expect(sent).toHaveLength(requests);
    expect(tid).toBe((await db.storage.transactions({ limit: 1 }))[0]?.tid);
    expect(await transactionCount(db)).toBe(before + 1);
    expect(await read(db, 'counter')).toBe(1);
  });

  it('resolves instead of raising StorageBusyError when its broadcast came before the error', async () => {
    const { db, conn, root, faults } = await counterDb();
    increment(root);
    faults.push('answer');
    const tid = await conn.commit();
    expect(tid).toBe((await db.storage.transactions({ limit: 1 }))[0]?.tid);
    expect(conn.hasUncertainCommit).toBe(false);
    expect(await read(db, 'counter')).toBe(1);
  });

  it('commits changes made after the StorageBusyError in a following transaction, never under the old txnId', async () => {
    const { db, conn, root, faults, sent } = await counterDb();
    const before = await transactionCount(db);
    increment(root);
    faults.push('answer-and-broadcast');
    await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
    const uncertain = sent.at(-1);
    increment(root); // the same object again, and a new one
    const later = todo('later');
    root.set('later', later);

    const tid = await conn.commit({ note: 'second' });
    const [resent, following] = sent.slice(-2);
    expect(resent).toEqual(uncertain);
    expect(following?.txnId).toBeTypeOf('string');
    expect(following?.txnId).not.toBe(uncertain?.txnId);
    expect(following?.note).toBe('second');
    expect(await transactionCount(db)).toBe(before + 2);
    const [last, first] = await db.storage.transactions({ limit: 2 });
    expect(last?.tid).toBe(tid);
    expect(following?.records.find((r) => r.oid === root._p_oid)?.tid).toBe(first?.tid);
    expect(await read(db, 'counter')).toBe(2);
    expect(((await read(db, 'later')) as Todo)._p_oid).toBe(later._p_oid);
  });

  it('puts everything back when the resend fails for certain (a conflict): nothing of it was stored', async () => {
    const { db, conn, root, faults } = await counterDb();
    const t = todo('mine');
    root.set('t', t);
    increment(root);
    faults.push('request');
    await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
    const other = db.open();
    const root2 = await other.root();
    root2.set('counter', 100);
    await other.commit();

    await expect(conn.commit()).rejects.toBeInstanceOf(WriteConflictError);
    expect(conn.hasUncertainCommit).toBe(false);
    expect(root._p_status).toBe('unsaved');
    expect(t._p_oid).toBeUndefined();
    await conn.abort();
    expect(await read(db, 'counter')).toBe(100);
    expect(await read(db, 't')).toBeUndefined();
  });

  it('abort() drops it without resending: what it wrote reloads as stored, and later commits use a new txnId', async () => {
    for (const fault of ['answer-and-broadcast', 'request'] as const) {
      const { db, conn, root, faults, sent } = await counterDb();
      const t = todo('new');
      root.set('t', t);
      increment(root);
      faults.push(fault);
      await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
      const uncertain = sent.at(-1);
      const requests = sent.length;
      await conn.abort();
      expect(sent).toHaveLength(requests);
      expect(conn.hasUncertainCommit).toBe(false);
      expect(root._p_status).toBe('ghost');
      expect(t._p_status).toBe('ghost');
      const landed = fault !== 'request';
      const root2 = await conn.root();
      expect(root2).toBe(root);
      expect(root.get('counter')).toBe(landed ? 1 : 0);
      expect(await conn.get(t._p_oid as number)).toBe(landed ? t : undefined);

      root.set('counter', 7);
      await conn.commit();
      expect(sent.at(-1)?.txnId).not.toBe(uncertain?.txnId);
      expect(await read(db, 'counter')).toBe(7);
      await db.close();
    }
  });

  it("abort() names in 'change' exactly the held objects it wrote or that changed since, landed or not", async () => {
    const index = fc.subarray([0, 1, 2, 3]);
    await fc.assert(
      fc.asyncProperty(
        index.filter((written) => written.length > 0),
        index,
        index,
        fc.constantFrom('request' as const, 'answer-and-broadcast' as const),
        async (written, changedSince, held, fault) => {
          const flaky = flakyStorage();
          const db = new Database(flaky.storage, { classes: CLASSES });
          const conn = db.open();
          const root = await conn.root();
          const todos = [todo('0'), todo('1'), todo('2'), todo('3')];
          todos.forEach((t, i) => root.set(`t${i}`, t));
          await conn.commit();
          for (const i of held) conn.hold(todos[i] as Todo);
          for (const i of written) (todos[i] as Todo).title = `busy ${i}`;
          flaky.faults.push(fault);
          await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
          for (const i of changedSince) (todos[i] as Todo).title = `since ${i}`;
          const named: number[] = [];
          conn.addEventListener('change', (e) => named.push(...(e as ChangeEvent).oids));
          await conn.abort();
          const dropped = new Set([...written, ...changedSince]);
          const expected = held.filter((i) => dropped.has(i)).map((i) => todos[i]?._p_oid);
          expect(named.sort((x, y) => x - y)).toEqual(expected.sort((x, y) => (x ?? 0) - (y ?? 0)));
          const landed = fault !== 'request';
          for (const i of held) {
            const t = await conn.load(todos[i] as Todo);
            expect(t.title).toBe(landed && written.includes(i) ? `busy ${i}` : String(i));
          }
          await db.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses sync() and transact() until commit() or abort() settles it, and keeps its objects in the cache', async () => {
    const { db, conn, root, faults } = await counterDb();
    increment(root);
    faults.push('answer-and-broadcast');
    await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
    await expect(conn.sync()).rejects.toThrow(/may have landed.*commit\(\).*abort\(\)/);
    await expect(conn.transact(() => increment(root))).rejects.toBeInstanceOf(ShelfError);
    expect(conn.shrinkCache()).toBe(0);
    expect(root._p_status).toBe('saved');
    await conn.commit();
    await conn.sync();
    expect(await read(db, 'counter')).toBe(1);
  });

  it('keeps a commit of only readCurrent pins that failed busy as it was: nothing to resend, pins kept', async () => {
    const { db, conn, root, faults } = await counterDb();
    const other = db.open();
    const root2 = await other.root();
    other.readCurrent(root2);
    faults.push('request');
    await expect(other.commit()).rejects.toBeInstanceOf(StorageBusyError);
    expect(other.hasUncertainCommit).toBe(false);
    increment(root);
    await conn.commit();
    await expect(other.commit()).rejects.toThrow(/changed|conflict/i);
  });
});

describe('Connection: transact after StorageBusyError', () => {
  async function incrementBy(conn: Connection, options = {}): Promise<number> {
    let runs = 0;
    const root = await conn.root();
    await conn.transact(() => {
      runs++;
      increment(root);
    }, options);
    return runs;
  }

  it('resends the commit without running fn again: one transaction, the counter incremented once', async () => {
    const { db, conn, faults, sent } = await counterDb();
    const before = await transactionCount(db);
    faults.push('answer-and-broadcast', 'request');
    expect(await incrementBy(conn)).toBe(1);
    expect(sent.slice(-3).map((r) => r.txnId)).toEqual(Array(3).fill(sent.at(-1)?.txnId));
    expect(await transactionCount(db)).toBe(before + 1);
    expect(await read(db, 'counter')).toBe(1);
  });

  it('rejects with the StorageBusyError when the storage stays busy through every resend; commit() then lands it once', async () => {
    const { db, conn, faults, sent } = await counterDb();
    const before = await transactionCount(db);
    faults.push('answer-and-broadcast', 'request', 'request');
    const error = await incrementBy(conn, { retries: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageBusyError);
    expect(sent.slice(-3).every((r) => r.txnId === sent.at(-1)?.txnId)).toBe(true);
    expect(conn.hasUncertainCommit).toBe(true);
    await conn.commit();
    expect(await transactionCount(db)).toBe(before + 1);
    expect(await read(db, 'counter')).toBe(1);
  });
});

describe('client-made transaction ids', () => {
  it('are unique within a connection and across connections, without a random draw per commit', () => {
    const a = new TxnIds();
    const b = new TxnIds();
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      ids.add(a.next());
      ids.add(b.next());
    }
    expect(ids.size).toBe(2000);
  });
});
