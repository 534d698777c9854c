import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BTree,
  Database,
  ReadConflictError,
  ShelfError,
  type Connection,
  type PersistentDict,
} from '../src/index.js';
import type { Tid } from '../src/shared/storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { FakeHub } from './fake-tabs.js';
import { todo, type Todo } from './fixtures.js';
import { historyBackends, joinTab, openOn, type Backend } from './history-backends.js';

/** How many todos the model test changes. */
const TODOS = 3;

/** What a connection reads: the todos' titles, and the BTree's entries in key order. */
interface Seen {
  titles: string[];
  entries: [number, string][];
  size: number;
}

/** Reads the whole model state through `conn` (root, each todo, every BTree node it needs). */
async function read(conn: Connection): Promise<Seen> {
  const root = await conn.root();
  const titles: string[] = [];
  for (let i = 0; i < TODOS; i++) titles.push((await conn.load(root.get(`t${i}`) as Todo)).title);
  const tree = root.get('tree') as BTree<number, string>;
  const entries: [number, string][] = [];
  for await (const entry of tree.entries()) entries.push(entry);
  return { titles, entries, size: tree.size };
}

type Op =
  | { kind: 'title'; i: number; title: string }
  | { kind: 'put'; key: number; value: string }
  | { kind: 'delete'; key: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('title' as const),
    i: fc.integer({ min: 0, max: TODOS - 1 }),
    title: fc.string({ maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('put' as const),
    key: fc.integer({ min: 0, max: 30 }),
    value: fc.string({ maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 30 }) }),
);

/** A database whose root holds todos t0… and a small-node BTree 'tree', committed. */
async function seeded(backend: Backend) {
  const { db, storage } = await openOn(backend);
  const conn = db.open();
  const root = await conn.root();
  for (let i = 0; i < TODOS; i++) root.set(`t${i}`, todo(`t${i}`));
  root.set('tree', new BTree<number, string>({ minimumDegree: 2 }));
  const tid = await conn.commit();
  return { db, storage, conn, root, tid };
}

const changes = (conn: Connection): { count: number } => {
  const seen = { count: 0 };
  conn.addEventListener('change', () => seen.count++);
  return seen;
};

for (const backend of historyBackends()) {
  describe(`db.open({ at }) on ${backend.name}`, () => {
    it('reads every object and BTree exactly as the model had them at each tid, and never moves', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 }),
          async (transactions) => {
            const { db, conn, root, tid } = await seeded(backend);
            const titles = Array.from({ length: TODOS }, (_, i) => `t${i}`);
            const tree = new Map<number, string>();
            const model = new Map<Tid, Seen>();
            const snap = (): Seen => ({
              titles: [...titles],
              entries: [...tree].sort((a, b) => a[0] - b[0]),
              size: tree.size,
            });
            model.set(tid, snap());
            // Opened before the history goes on: it must stay at its tid throughout.
            const first = db.open({ at: tid });
            const firstChanges = changes(first);
            expect(await read(first)).toEqual(model.get(tid));

            const btree = root.get('tree') as BTree<number, string>;
            for (const ops of transactions) {
              for (const o of ops) {
                if (o.kind === 'title') {
                  const t = await conn.load(root.get(`t${o.i}`) as Todo);
                  t.title = o.title;
                  titles[o.i] = o.title;
                } else if (o.kind === 'put') {
                  await btree.set(o.key, o.value);
                  tree.set(o.key, o.value);
                } else {
                  await btree.delete(o.key);
                  tree.delete(o.key);
                }
              }
              model.set(await conn.commit(), snap());
            }

            for (const [at, expected] of model) {
              const past = db.open({ at });
              expect(past.at).toBe(at);
              expect(await read(past)).toEqual(expected);
              past.close();
            }
            await first.sync();
            expect(first.snapshotTid).toBe(tid);
            expect(await read(first)).toEqual(model.get(tid));
            expect(firstChanges.count).toBe(0);
            await db.close();
          },
        ),
        { numRuns: backend.name.startsWith('Memory') ? 25 : 8 },
      );
    });

    it('refuses changes, commit and transact, saying it is read-only at its tid, and keeps showing the stored state', async () => {
      const { db, conn, root, tid } = await seeded(backend);
      const t0 = root.get('t0') as Todo;
      t0.title = 'newer';
      await (root.get('tree') as BTree<number, string>).set(1, 'one');
      await conn.commit();

      const past = db.open({ at: tid });
      const proot = await past.root();
      const pt0 = await past.load(proot.get('t0') as Todo);
      const readOnly = /read-only at tid \d+ .*Use db\.open\(\) for a connection that writes/;
      expect(() => {
        pt0.title = 'x';
      }).toThrow(ShelfError);
      expect(() => delete (pt0 as Partial<Todo>).title).toThrow(readOnly);
      // An assignment is refused before it is made: the object stays loaded as it was.
      expect([pt0._p_status, pt0.title]).toEqual(['saved', 't0']);
      const ptree = proot.get('tree') as BTree<number, string>;
      // A container changes its data before it notes the change: it becomes a ghost to drop it.
      expect(() => proot.set('x', 1)).toThrow(readOnly);
      expect(proot._p_status).toBe('ghost');
      await expect(ptree.set(2, 'two')).rejects.toThrow(readOnly);
      await expect(past.commit()).rejects.toThrow(readOnly);
      await expect(past.transact(() => undefined)).rejects.toThrow(readOnly);
      expect(past.cacheInfo().changed).toBe(0);

      // What the refused changes may have done in memory is dropped: it reads as stored at tid.
      expect((await past.load(pt0)).title).toBe('t0');
      expect((await past.load(proot)).has('x')).toBe(false);
      expect(await read(past)).toEqual({ titles: ['t0', 't1', 't2'], entries: [], size: 0 });
      // The writer is untouched.
      await conn.sync();
      expect((await conn.load(t0)).title).toBe('newer');
      await db.close();
    });

    it("stays at its tid: autoSync does not apply others' commits, sync() and abort() keep it, and no 'change' fires", async () => {
      const { db, conn, root, tid } = await seeded(backend);
      const past = db.open({ at: tid });
      expect(past.autoSync).toBe(false);
      past.autoSync = true; // has no effect: the snapshot never moves
      const seen = changes(past);
      const pt0 = await past.load((await past.root()).get('t0') as Todo);
      const t0 = root.get('t0') as Todo;
      t0.title = 'later';
      const later = await conn.commit();
      await past.sync();
      await past.abort();
      expect(past.snapshotTid).toBe(tid);
      expect(pt0._p_status).toBe('saved');
      expect(pt0.title).toBe('t0');
      expect(seen.count).toBe(0);
      const now = db.open();
      expect(now.at).toBeUndefined();
      expect((await now.load((await now.root()).get('t0') as Todo)).title).toBe('later');
      expect(now.snapshotTid).toBe(later);
      await db.close();
    });

    it('rejects an at that is not a tid: RangeError at once for a negative or fractional one, at the first load for one newer than the newest', async () => {
      const { db, tid } = await seeded(backend);
      for (const at of [-1, 1.5, Number.NaN, '1' as unknown as number]) {
        expect(() => db.open({ at })).toThrow(RangeError);
      }
      const future = db.open({ at: tid + 1 });
      await expect(future.root()).rejects.toThrow(
        new RangeError(
          `db.open({ at: ${tid + 1} }): there is no transaction ${tid + 1} yet (the newest is ${tid}). Open it at a tid db.transactions() lists.`,
        ),
      );
      await expect(db.open({ at: 0 }).root()).rejects.toThrow(/did not exist yet at tid 0/);
      await db.close();
    });

    it('keeps reading what it reads through a pack run while it is open', async () => {
      const { db, conn, root, tid } = await seeded(backend);
      const past = db.open({ at: tid });
      const before = await read(past);
      past.close();
      const kept = db.open({ at: tid });
      await kept.root(); // loaded before the pack; the rest after it
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < TODOS; j++) (root.get(`t${j}`) as Todo).title = `v${i}`;
        await (root.get('tree') as BTree<number, string>).set(i, `v${i}`);
        root.set(`garbage${i}`, todo('x'));
        await conn.commit();
      }
      root.delete('t1'); // unreachable at the newest tid, reachable at `tid`
      await conn.commit();
      await db.pack();
      expect(await read(kept)).toEqual(before);
      await db.close();
    });

    it('rejects loads with ReadConflictError at a tid older than what pack kept', async () => {
      const { db, conn, root, tid } = await seeded(backend);
      (root.get('t0') as Todo).title = 'newer';
      root.set('more', 1);
      await conn.commit();
      await db.pack(); // conn's snapshot is the newest: nothing older is kept
      const past = db.open({ at: tid });
      const error = await past.root().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReadConflictError);
      expect((error as ReadConflictError).oids).toEqual([0]);
      expect((error as Error).message).toMatch(
        /older than what pack kept; open one at a later tid/,
      );
      await db.close();
    });
  });
}

describe('db.open({ at }) with tabs', () => {
  it("pins its tid in the owner: another tab's pack keeps what it reads", async () => {
    const hub = new FakeHub();
    const storage = new MemoryStorage();
    const join = (): Promise<Database> => joinTab(hub, storage);
    const a = await join();
    const b = await join();
    const writer = b.open();
    const root: PersistentDict = await writer.root();
    root.set('t', todo('first'));
    const tid = await writer.commit();
    const past = a.open({ at: tid });
    await hub.idle(); // its pin has reached the owner
    (root.get('t') as Todo).title = 'second';
    root.set('u', 1);
    await writer.commit();
    await b.close(); // its pins go with it
    const c = await join();
    await c.pack(); // c has no connection: only a's pin holds pack back
    const proot = await past.root();
    expect((await past.load(proot.get('t') as Todo)).title).toBe('first');
    expect(proot.has('u')).toBe(false);
    await c.close();
    await a.close();
  });
});
