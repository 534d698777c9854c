import { describe, expect, it } from 'vitest';
import type { Database } from '../src/index.js';
import type { TransactionInfo } from '../src/shared/storage.js';
import { readLogPage, type LogFilter, type LogPage } from '../src/explorer/transaction-filter.js';
import { makeDb, todo, type Todo } from './fixtures.js';

/**
 * A database with 300 transactions after the root's: each changes one of ten todos (transaction i
 * changes todo i % 10), notes 'edit i', users alternating 'ann' and 'bob', every 7th noted 'import'.
 */
async function seeded(): Promise<{ db: Database; todos: Todo[] }> {
  const { db } = makeDb();
  const conn = db.open();
  const root = await conn.root();
  const todos = Array.from({ length: 10 }, (_, i) => todo(`t${i}`));
  todos.forEach((t, i) => root.set(`t${i}`, t));
  await conn.commit({ note: 'seed', user: 'setup' });
  for (let i = 0; i < 300; i++) {
    const t = todos[i % 10] as Todo;
    t.title = `v${i}`;
    await conn.commit({
      note: i % 7 === 0 ? `import ${i}` : `edit ${i}`,
      user: i % 2 ? 'bob' : 'ann',
    });
  }
  return { db, todos };
}

/** Every transaction of `db`, newest first. */
async function all(db: Database): Promise<TransactionInfo[]> {
  const out: TransactionInfo[] = [];
  for await (const txn of db.transactions()) out.push(txn);
  return out;
}

/** Walks the pages with Older until the log ends; returns them. */
async function walk(
  db: Database,
  filter: LogFilter | undefined,
  scanLimit?: number,
): Promise<LogPage[]> {
  const pages: LogPage[] = [];
  let before: number | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await readLogPage((o) => db.transactions(o), {
      before,
      filter,
      ...(scanLimit === undefined ? {} : { scanLimit }),
    });
    pages.push(page);
    if (page.next === undefined) return pages;
    before = page.next;
  }
  throw new Error('the pages never ended');
}

const tids = (txns: TransactionInfo[]): number[] => txns.map((t) => t.tid);

describe('readLogPage', () => {
  it('pages the whole log 50 at a time, newest first, without overlap or gap, and says where it ends', async () => {
    const { db } = await seeded();
    const everything = await all(db);
    expect(everything).toHaveLength(302); // the root's creation, the seed, 300 edits
    const pages = await walk(db, undefined);
    expect(pages.map((p) => p.transactions.length)).toEqual([50, 50, 50, 50, 50, 50, 2]);
    expect(pages.flatMap((p) => tids(p.transactions))).toEqual(tids(everything));
    expect(pages.every((p) => !p.limited)).toBe(true);
    expect(pages.at(-1)?.next).toBe(undefined);
    await db.close();
  });

  it('offers no older page when the page holds exactly the last transactions', async () => {
    const { db } = await seeded();
    const everything = await all(db);
    const start = everything[everything.length - 51]?.tid; // 50 transactions are older than it
    const page = await readLogPage((o) => db.transactions(o), { before: start, filter: undefined });
    expect(page.transactions).toHaveLength(50);
    expect(page.next).toBe(undefined);
    await db.close();
  });

  it('finds exactly the transactions that wrote an oid, across pages', async () => {
    const { db, todos } = await seeded();
    const oid = (todos[3] as Todo)._p_oid as number;
    const expected = (await all(db)).filter((t) => t.oids.includes(oid));
    expect(expected).toHaveLength(31); // the seed and 30 edits
    const pages = await walk(db, { text: '', oid }, 100);
    const found = pages.flatMap((p) => p.transactions);
    expect(tids(found)).toEqual(tids(expected));
    expect(found.every((t) => t.oids.includes(oid))).toBe(true);
    await db.close();
  });

  it('matches the text filter against the note and the user, ignoring case', async () => {
    const { db } = await seeded();
    const everything = await all(db);
    const imports = (await walk(db, { text: 'IMPORT', oid: undefined })).flatMap(
      (p) => p.transactions,
    );
    expect(tids(imports)).toEqual(tids(everything.filter((t) => t.note.startsWith('import'))));
    const bob = (await walk(db, { text: 'bob', oid: undefined })).flatMap((p) => p.transactions);
    expect(bob).toHaveLength(150);
    expect(bob.every((t) => t.user === 'bob')).toBe(true);
    await db.close();
  });

  it('stops a filtered scan at the scan limit, says so, and the next page goes on from there', async () => {
    const { db } = await seeded();
    const everything = await all(db);
    const filter = { text: 'import', oid: undefined };
    const first = await readLogPage((o) => db.transactions(o), {
      before: undefined,
      filter,
      scanLimit: 70,
    });
    expect(first.scanned).toBe(70);
    expect(first.limited).toBe(true);
    expect(first.transactions).toHaveLength(10);
    expect(first.next).toBe(everything[69]?.tid);
    const pages = await walk(db, filter, 70);
    expect(pages.reduce((n, p) => n + p.scanned, 0)).toBe(everything.length);
    expect(pages.flatMap((p) => tids(p.transactions))).toEqual(
      tids(everything.filter((t) => t.note.startsWith('import'))),
    );
    await db.close();
  });

  it('a page is unchanged by a commit landing after it was read', async () => {
    const { db } = await seeded();
    const everything = await all(db);
    const first = await readLogPage((o) => db.transactions(o), { before: undefined });
    const conn = db.open();
    const root = await conn.root();
    root.set('late', todo('late'));
    await conn.commit({ note: 'late' });
    const second = await readLogPage((o) => db.transactions(o), { before: first.next });
    expect([...tids(first.transactions), ...tids(second.transactions)]).toEqual(
      tids(everything.slice(0, 100)),
    );
    await db.close();
  });
});
