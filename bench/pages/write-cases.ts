/**
 * The cases issue 12 adds, each beside its peer: relaxed-durability small commits, three tabs
 * committing at once, small commits from a tab that is not the owner, the chunked import, and
 * shelfdb on its IndexedDB fallback. bench-page.ts merges them into its cases.
 */
import { openDatabase, type Database } from 'shelfdb';
import { shelfImport } from './import-case.js';
import { randomKeys } from './records.js';
import { dexieSmall, idbSmall } from './peer-small.js';
import { rec, shelfBulk, shelfReads, shelfSmall, type Rec } from './shelf.js';
import type { Tab } from './tab-sync.js';

/** What a case returns: numbers only (times in ms, absolute times in ms since the epoch). */
export type Result = Record<string, number>;
/** A case: `n` operations, the run's number (each run uses new names), this page's tab. */
export type Case = (n: number, run: number, tab: Tab) => Promise<Result>;
/** A call to the peer worker (SQLite-WASM, raw OPFS): its op, N, and the answer. */
export type Ask = <T>(op: string, n?: number) => Promise<T>;

/** Milliseconds since the epoch, comparable across the pages of one browser. */
const now = (): number => performance.timeOrigin + performance.now();

/** The held owner lock of database `name` (TabRouter's `shelfdb:<name>:owner`), or throws. */
async function expectOwned(name: string): Promise<void> {
  const { held = [] } = await navigator.locks.query();
  if (!held.some((lock) => lock.name === `shelfdb:${name}:owner`)) {
    throw new Error(`no tab holds the owner lock of ${name}: the next tab would not be a follower`);
  }
}

/**
 * `n` commits of one object, its own per tab: `rec<index>`, which tab 0 stores before the others
 * start. Returns the commits' absolute start and end, for the runner's total rate.
 */
async function tabCommits(db: Database, tab: Tab, n: number): Promise<Result> {
  const conn = db.open();
  const root = await conn.root();
  if (tab.index === 0) {
    for (let k = 0; k < tab.count; k++) root.set(`rec${k}`, rec(k + 1));
    await conn.commit();
  }
  const mine = await conn.load(root.get(`rec${tab.index}`) as Rec);
  await tab.sync(); // every tab is open, tab 0 owns the database: start together
  const startAt = now();
  let ghosts = 0;
  for (let i = 0; i < n; i++) {
    // This tab alone writes `mine`, so it should stay loaded; counted and reloaded when it does
    // not, so that the run goes on and the count shows it (the runner prints it).
    if (mine._p_status === 'ghost') {
      ghosts++;
      await conn.load(mine);
    }
    mine.priority = i;
    await conn.commit();
  }
  const endAt = now();
  await tab.sync(); // every tab is done before one closes (the owner's close would hand over)
  return { ms: endAt - startAt, startAt, endAt, ghosts };
}

/** The cases, with `ask` reaching the peer worker. */
export function writeCases(ask: Ask): Record<string, Case> {
  return {
    // ─── relaxed durability: acknowledged after the write, before the flush ───

    async 'shelfdb.smallRelaxed'(n, run) {
      return {
        ms: await shelfSmall(`relaxed-${run}`, n, { storage: 'opfs', durability: 'relaxed' }),
      };
    },

    async 'idb.smallRelaxed'(n, run) {
      return { ms: await idbSmall(`idb-relaxed-${run}`, n, 'relaxed') };
    },

    async 'dexie.smallRelaxed'(n, run) {
      return { ms: await dexieSmall(`dexie-relaxed-${run}`, n, 'relaxed') };
    },

    async 'raw.smallRelaxed'(n) {
      await ask('raw.bulk', 10);
      return { ms: await ask<number>('raw.smallRelaxed', n) };
    },

    // ─── several tabs (the runner opens the pages: browser.mjs TABS) ───

    /** Every tab commits `n` times at once, tab 0 the owner, the others forwarding to it. */
    async 'shelfdb.tabs'(n, run, tab) {
      const name = `tabs-${run}`;
      const db = await openDatabase(name, { storage: 'opfs' });
      if (tab.index === 0) await expectOwned(name);
      try {
        return await tabCommits(db, tab, n);
      } finally {
        await db.close();
      }
    },

    /**
     * Tab 0 opens the database (the owner) and commits `n` times itself (`ownerMs`); then tab 1,
     * which is not the owner, commits `n` times (`ms`), each commit forwarded to tab 0's worker
     * over BroadcastChannel. Alone (one page: the smoke test), the owner is a second Database of
     * the same name in this page, so the forwarding path still runs.
     */
    async 'shelfdb.notOwner'(n, run, tab) {
      const name = `not-owner-${run}`;
      if (tab.count === 1) {
        const owner = await openDatabase(name, { storage: 'opfs' });
        await expectOwned(name);
        const follower = await openDatabase(name, { storage: 'opfs' });
        try {
          return await followerCommits(follower, n);
        } finally {
          await follower.close();
          await owner.close();
        }
      }
      const db = await openDatabase(name, { storage: 'opfs' });
      try {
        if (tab.index === 0) {
          await expectOwned(name);
          const ownerMs = await ownerCommits(db, n);
          await tab.sync(); // tab 1 opens after this point: a follower
          await tab.sync(); // tab 1 committed
          return { ownerMs };
        }
        await tab.sync();
        const result = await followerCommits(db, n);
        await tab.sync();
        return result;
      } finally {
        await db.close();
      }
    },

    // ─── the chunked import ───

    async 'shelfdb.import'(n, run) {
      return await shelfImport(`import-${run}`, n);
    },
    async 'sqlite.import'(n) {
      return { ms: await ask<number>('sqlite.import', n) };
    },

    // ─── shelfdb on its IndexedDB fallback ───

    async 'shelfdbIdb.bulk'(n, run) {
      const { ms, db } = await shelfBulk(`idb-fallback-bulk-${run}`, n, { storage: 'indexeddb' });
      await db.close();
      return { ms };
    },
    async 'shelfdbIdb.small'(n, run) {
      return { ms: await shelfSmall(`idb-fallback-small-${run}`, n, { storage: 'indexeddb' }) };
    },
    async 'shelfdbIdb.reads'(n, run) {
      const name = `idb-fallback-reads-${run}`;
      const { db } = await shelfBulk(name, n, { storage: 'indexeddb' });
      await db.close();
      const cold = await openDatabase(name, { storage: 'indexeddb' });
      const ms = await shelfReads(cold, randomKeys(n, n));
      await cold.close();
      return { ms };
    },
  };
}

/** The owner's own `n` commits of its record `rec`, which it stores first. */
async function ownerCommits(db: Database, n: number): Promise<number> {
  const conn = db.open();
  const root = await conn.root();
  const mine = rec(1);
  root.set('owner', mine);
  root.set('follower', rec(2));
  await conn.commit();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    mine.priority = i;
    await conn.commit();
  }
  return performance.now() - t0;
}

/** `n` commits of record 'follower' (stored by the owner, or here when missing). */
async function followerCommits(db: Database, n: number): Promise<Result> {
  const conn = db.open();
  const root = await conn.root();
  if (root.get('follower') === undefined) {
    root.set('follower', rec(2));
    await conn.commit();
  }
  const mine = await conn.load(root.get('follower') as Rec);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    mine.priority = i;
    await conn.commit();
  }
  return { ms: performance.now() - t0 };
}
