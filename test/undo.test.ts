import { afterEach, describe, expect, it } from 'vitest';
import {
  Database,
  ReadConflictError,
  ShelfError,
  WriteConflictError,
  type ChangeEvent,
  type Connection,
  type PersistentDict,
} from '../src/index.js';
import type { Tid, TransactionInfo } from '../src/shared/storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { FakeHub } from './fake-tabs.js';
import { CLASSES, todo, type Todo } from './fixtures.js';
import { historyBackends, joinTab, openOn } from './history-backends.js';
import { closeLinks, link } from './link-fixture.js';
import { hooked } from './storage-hooks.js';

afterEach(() => closeLinks());

/** The newest transaction of `db`. */
async function newest(db: Database): Promise<TransactionInfo> {
  for await (const txn of db.transactions({ limit: 1 })) return txn;
  throw new Error('no transaction');
}

/** Root creation (tid 1), then todo 'a' stored (tid 2), then a's title changed and root['n'] set. */
async function history(db: Database): Promise<{
  conn: Connection;
  root: PersistentDict;
  a: Todo;
  stored: Tid;
  changed: Tid;
}> {
  const conn = db.open();
  const root = await conn.root();
  const a = todo('a');
  root.set('a', a);
  const stored = await conn.commit({ note: 'store a' });
  a.title = 'changed';
  root.set('n', 1);
  const changed = await conn.commit({ note: 'change a' });
  return { conn, root, a, stored, changed };
}

const changeOf = (conn: Connection): Promise<ChangeEvent> =>
  new Promise((resolve) =>
    conn.addEventListener('change', (e) => resolve(e as ChangeEvent), { once: true }),
  );

for (const backend of historyBackends()) {
  describe(`db.undo on ${backend.name}`, () => {
    it("restores every object the transaction wrote to its revision before it, and a connection holding them sees that with a 'change' event", async () => {
      const { db, storage } = await openOn(backend);
      const { a, stored, changed } = await history(db);
      const oid = a._p_oid as number;
      const viewer = db.open();
      const vroot = await viewer.root();
      const va = vroot.get('a') as Todo;
      await viewer.load(va);
      expect([va.title, vroot.get('n')]).toEqual(['changed', 1]);
      const seen = changeOf(viewer);

      const undo = await db.undo(changed);

      expect(undo).toBe(changed + 1);
      expect((await seen).oids.sort()).toEqual([0, oid].sort());
      expect((await viewer.load(va)).title).toBe('a');
      expect((await viewer.load(vroot)).has('n')).toBe(false);
      // Byte for byte the revisions before the undone transaction.
      for (const o of [0, oid]) {
        const [before] = await storage.load([o], stored);
        const [now] = await storage.load([o]);
        expect(now?.tid).toBe(undo);
        expect([now?.className, now?.state, now?.refs]).toEqual([
          before?.className,
          before?.state,
          before?.refs,
        ]);
      }
      await db.close();
    });

    it('undoes an undo, which redoes the transaction', async () => {
      const { db } = await openOn(backend);
      const { conn, root, a, changed } = await history(db);
      const undo = await db.undo(changed);
      const redo = await db.undo(undo);
      await conn.sync();
      expect((await conn.load(a)).title).toBe('changed');
      expect((await conn.load(root)).get('n')).toBe(1);
      expect((await newest(db)).undoes).toBe(undo);
      expect(redo).toBe(undo + 1);
      await db.close();
    });

    it('refuses to undo a transaction whose objects a later one changed again, naming them, and stores nothing', async () => {
      const { db } = await openOn(backend);
      const { conn, a, changed } = await history(db);
      a.title = 'again';
      const later = await conn.commit();
      const error = await db.undo(changed).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WriteConflictError);
      expect((error as WriteConflictError).oids).toEqual([a._p_oid]);
      expect((error as Error).message).toMatch(/changed again by a later transaction/);
      expect((await newest(db)).tid).toBe(later);
      await db.close();
    });

    it('reports a conflict found by the storage itself when a commit lands between its checks and its own commit', async () => {
      const storage = await backend.make();
      let slipIn: (() => Promise<unknown>) | undefined;
      const db = new Database(
        hooked(storage, {
          async commit(txn) {
            // The first commit carrying `undoes`: another writer lands first.
            if (txn.undoes !== undefined && slipIn !== undefined) {
              const run = slipIn;
              slipIn = undefined;
              await run();
            }
            return storage.commit(txn);
          },
        }),
        { classes: CLASSES },
      );
      const { a, changed } = await history(db);
      const other = db.open();
      const oa = (await other.root()).get('a') as Todo;
      await other.load(oa);
      slipIn = async () => {
        oa.title = 'meanwhile';
        await other.commit();
      };
      const error = await db.undo(changed).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WriteConflictError);
      expect((error as WriteConflictError).oids).toContain(a._p_oid);
      expect((await newest(db)).undoes).toBeUndefined();
      await db.close();
    });

    it('leaves the objects a transaction created alone: restored referrers no longer reach them, and pack removes them', async () => {
      const { db, storage } = await openOn(backend);
      const { conn, root } = await history(db);
      const c = todo('c');
      root.set('c', c);
      const created = await conn.commit();
      const cOid = c._p_oid as number;
      await db.undo(created);
      await conn.sync();
      expect((await conn.load(root)).has('c')).toBe(false);
      expect((await storage.load([cOid])).map((r) => r.tid)).toEqual([created]);
      conn.close();
      await db.pack();
      expect(await storage.load([cOid])).toEqual([]);
      await db.close();
    });

    it('refuses to undo a transaction when a later one changed an object it created, naming it', async () => {
      const { db } = await openOn(backend);
      const { conn, root } = await history(db);
      const c = todo('c');
      root.set('c', c);
      const created = await conn.commit();
      c.title = 'c changed';
      await conn.commit();
      const error = await db.undo(created).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WriteConflictError);
      expect((error as WriteConflictError).oids).toEqual([c._p_oid]);
      await db.close();
    });

    it('refuses, saying pack removed what it needs, to undo a transaction whose earlier revisions pack removed', async () => {
      const { db } = await openOn(backend);
      const { conn, changed } = await history(db);
      conn.close(); // no snapshot keeps the revisions before `changed`
      await db.pack();
      const error = await db.undo(changed).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReadConflictError);
      expect((error as Error).message).toMatch(/pack removed what undo needs/);
      expect((await newest(db)).tid).toBe(changed);
      await db.close();
    });

    it('lists the undoing transaction in transactions() with undoes, the default note, and the user and meta given', async () => {
      const { db } = await openOn(backend);
      const { changed } = await history(db);
      const undo = await db.undo(changed);
      expect(await newest(db)).toMatchObject({
        tid: undo,
        undoes: changed,
        note: `undo of transaction ${changed}`,
      });
      const redo = await db.undo(undo, { note: 'redo', user: 'ann', meta: { why: 'test' } });
      expect(await newest(db)).toMatchObject({
        tid: redo,
        undoes: undo,
        note: 'redo',
        user: 'ann',
        meta: { why: 'test' },
      });
      const all: TransactionInfo[] = [];
      for await (const txn of db.transactions()) all.push(txn);
      expect(all.filter((t) => 'undoes' in t).map((t) => t.tid)).toEqual([redo, undo]);
      // Pack copies what it keeps with its metadata: the newest transaction still says what it undid.
      await db.pack();
      expect(await newest(db)).toMatchObject({ tid: redo, undoes: undo, note: 'redo' });
      await db.close();
    });

    it('rejects a tid that is not a transaction: not a positive integer, never committed, or one that only created objects', async () => {
      const { db } = await openOn(backend);
      const { changed } = await history(db);
      for (const bad of [0, -1, 1.5, Number.NaN, '2' as unknown as number]) {
        await expect(db.undo(bad)).rejects.toThrow(RangeError);
      }
      await expect(db.undo(changed + 5)).rejects.toThrow(
        new ShelfError(
          `db.undo(${changed + 5}): there is no transaction ${changed + 5} (the newest at or before it is ${changed}). Find the one to undo with db.transactions().`,
        ),
      );
      expect((await newest(db)).tid).toBe(changed);
      await db.close();
      // Tid 1 created the root and nothing else: there is nothing before it to restore.
      const fresh = await openOn(backend);
      await fresh.db.open().root();
      await expect(fresh.db.undo(1)).rejects.toThrow(/only created objects/);
      expect((await newest(fresh.db)).tid).toBe(1);
      await fresh.db.close();
    });

    it('refuses a commit whose undoes is not the tid of a committed transaction', async () => {
      const storage = await backend.make();
      const record = { oid: 0, className: 'x', state: new Uint8Array([1]), refs: [] };
      const tid = await storage.commit({ baseTid: 0, records: [record] });
      for (const undoes of [0, tid + 1, -1, 1.5]) {
        await expect(
          storage.commit({ baseTid: tid, records: [{ ...record, tid }], undoes }),
        ).rejects.toThrow(/is not the tid of a committed transaction/);
      }
      const [info] = await storage.transactions({ limit: 1 });
      expect(info?.tid).toBe(tid);
      expect(info).not.toHaveProperty('undoes');
      await storage.close();
    });
  });
}

describe('db.undo across the links', () => {
  it("keeps the transaction's undoes over the page's worker link", async () => {
    const storage = new MemoryStorage();
    const { client } = await link(storage);
    const db = new Database(client, { classes: CLASSES });
    const { changed } = await history(db);
    const undo = await db.undo(changed);
    expect((await storage.transactions({ limit: 1 }))[0]).toMatchObject({
      tid: undo,
      undoes: changed,
    });
    expect((await newest(db)).undoes).toBe(changed);
    await db.close();
  });

  it("keeps the transaction's undoes when a tab that does not own the database undoes", async () => {
    const hub = new FakeHub();
    const storage = new MemoryStorage();
    const join = (): Promise<Database> => joinTab(hub, storage);
    const owner = await join();
    const follower = await join();
    const { changed } = await history(follower);
    const undo = await follower.undo(changed);
    expect((await storage.transactions({ limit: 1 }))[0]).toMatchObject({
      tid: undo,
      undoes: changed,
    });
    expect((await newest(owner)).undoes).toBe(changed);
    expect((await newest(follower)).undoes).toBe(changed);
    await follower.close();
    await owner.close();
  });
});
