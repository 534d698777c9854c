import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ChangeEvent,
  Database,
  MemoryStorage,
  StaleEvent,
  StorageBusyError,
  type Connection,
} from '../src/index.js';
import { CLASSES, Todo, makeDb, seededTodos, todo } from './fixtures.js';
import { flakyStorage } from './flaky-storage.js';

/** The next event of `type` on `target`, as a promise. */
function next<E extends Event>(target: EventTarget, type: string): Promise<E> {
  return new Promise((resolve) =>
    target.addEventListener(type, (e) => resolve(e as E), { once: true }),
  );
}

/** Every event of `type` on `target` from now on, as `[tid, oids]`. */
function record(target: EventTarget, type: string): [number, number[]][] {
  const seen: [number, number[]][] = [];
  target.addEventListener(type, (e) => {
    const { tid, oids } = e as ChangeEvent | StaleEvent;
    seen.push([tid, oids]);
  });
  return seen;
}

/** A database with todos a and b committed, and a second connection `other` with both loaded. */
async function twoConnections(db = makeDb().db) {
  const { conn, root, a, b } = await seededTodos(db);
  const other = db.open();
  const root2 = await other.root();
  const [a2, b2] = await other.load(root2.get('a') as Todo, root2.get('b') as Todo);
  return { db, conn, root, a, b, other, root2, a2, b2 };
}

describe("Connection: the 'stale' event", () => {
  it('is exported as StaleEvent, firing with the type "stale"', () => {
    const event = new StaleEvent(3, [1]);
    expect([event.type, event.tid, event.oids]).toEqual(['stale', 3, [1]]);
  });

  it("fires as soon as another connection commits held objects with autoSync off, and 'change' follows at the next boundary", async () => {
    const { conn, a, other, a2 } = await twoConnections();
    other.autoSync = false;
    const changes = record(other, 'change');
    const stale = next<StaleEvent>(other, 'stale');
    a.title = 'a, elsewhere';
    const tid = await conn.commit();
    const event = await stale;
    expect([event.tid, event.oids]).toEqual([tid, [a2._p_oid]]);
    expect(a2.title).toBe('a'); // the snapshot did not move
    expect(changes).toEqual([]);
    await other.sync();
    expect(changes).toEqual([[tid, [a2._p_oid]]]);
    expect((await other.load(a2)).title).toBe('a, elsewhere');
  });

  it('fires while the connection has pending changes, naming the changed object too', async () => {
    const { conn, a, b, other, a2, b2 } = await twoConnections();
    b2.done = true; // pending: autoSync cannot move the snapshot
    const stale = next<StaleEvent>(other, 'stale');
    a.title = 'a2';
    b.title = 'b2';
    const tid = await conn.commit();
    const event = await stale;
    expect(event.tid).toBe(tid);
    expect([...event.oids].sort()).toEqual([a2._p_oid, b2._p_oid].sort());
    expect(a2.title).toBe('a');
  });

  it('fires while transact runs; the snapshot moves after it', async () => {
    const { conn, a, other, a2 } = await twoConnections();
    const titles: string[] = [];
    let seen: StaleEvent | undefined;
    await other.transact(async () => {
      titles.push(a2.title);
      const stale = next<StaleEvent>(other, 'stale');
      a.title = 'a, elsewhere';
      await conn.commit();
      seen = await stale;
      titles.push(a2.title);
    });
    expect(seen?.oids).toEqual([a2._p_oid]);
    expect(titles).toEqual(['a', 'a']);
    expect((await other.load(a2)).title).toBe('a, elsewhere');
  });

  it('fires for a commit of another Database on the same storage (another tab)', async () => {
    const { db, storage } = makeDb();
    const { a2, other } = await twoConnections(db);
    other.autoSync = false;
    const tab = new Database(storage, { classes: CLASSES });
    const theirs = tab.open();
    const theirA = (await theirs.root()).get('a') as Todo;
    await theirs.load(theirA);
    const stale = next<StaleEvent>(other, 'stale');
    theirA.done = true;
    const tid = await theirs.commit();
    expect(await stale).toMatchObject({ tid, oids: [a2._p_oid] });
    await tab.close();
  });

  it("does not fire when the snapshot moves at once (idle with autoSync): only 'change'", async () => {
    const { conn, a, other, a2 } = await twoConnections();
    const stale = record(other, 'stale');
    const change = next<ChangeEvent>(other, 'change');
    a.title = 'moved';
    const tid = await conn.commit();
    expect(await change).toMatchObject({ tid, oids: [a2._p_oid] });
    expect(stale).toEqual([]);
  });

  it('does not fire for its own commit, even while the commit is in flight', async () => {
    const { conn, a, other } = await twoConnections();
    other.autoSync = false;
    const ownStale = record(conn, 'stale');
    const otherStale = next<StaleEvent>(other, 'stale');
    a.title = 'mine';
    const tid = await conn.commit();
    // other hears the same broadcast: once it has, conn has too.
    expect((await otherStale).tid).toBe(tid);
    expect(ownStale).toEqual([]);
  });

  it('names only the objects the connection holds (loaded or changed), never ghosts or unknown oids', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        async (loaded, written) => {
          fc.pre(written.some(Boolean));
          const { db } = makeDb();
          const conn = db.open();
          const root = await conn.root();
          const todos = [0, 1, 2, 3].map((i) => todo(`t${i}`));
          root.set('list', todos);
          await conn.commit();
          const other: Connection = db.open();
          other.autoSync = false;
          const list = (await other.root()).get('list') as Todo[];
          const held = list.filter((_, i) => loaded[i]);
          if (held.length > 0) await other.load(...held);
          const staleEvents = record(other, 'stale');
          const probe = db.open(); // hears the broadcast after other does
          probe.autoSync = false;
          await probe.root();
          const heard = next<Event>(probe, 'stale');
          await probe.load(...((await probe.root()).get('list') as Todo[]));
          todos.forEach((t, i) => {
            if (written[i]) t.done = true;
          });
          await conn.commit();
          await heard;
          const expected = list.filter((_, i) => loaded[i] && written[i]).map((t) => t._p_oid);
          expect(staleEvents.flatMap(([, oids]) => oids).sort()).toEqual(
            expected.sort() as number[],
          );
          expect(staleEvents.length).toBe(expected.length > 0 ? 1 : 0);
          await db.close();
        },
      ),
      { seed: 20260710, numRuns: 40 },
    );
  });
});

describe('Connection.hold: objects the app shows stay loaded, so the events keep naming them', () => {
  /** A database with a cache of one object and todos a and b; `other` has loaded and read a. */
  async function tinyCache() {
    const { db } = makeDb({ cacheSize: 1 });
    const conn = db.open();
    const root = await conn.root();
    const a = todo('a');
    const b = todo('b');
    root.set('a', a);
    root.set('b', b);
    await conn.commit();
    const other = db.open();
    const a2 = (await other.get(a._p_oid as number)) as Todo;
    expect(a2.title).toBe('a');
    return { db, conn, a, b, other, a2 };
  }

  it("keeps a held object loaded through shrinking, and 'change' names it when another connection commits it", async () => {
    const { conn, a, b, other, a2 } = await tinyCache();
    const release = other.hold(a2);
    const b2 = (await other.get(b._p_oid as number)) as Todo;
    expect(b2.title).toBe('b');
    await other.sync(); // a boundary: shrinks the cache to one object
    expect(other.shrinkCache()).toBe(0);
    expect(a2._p_status).toBe('saved');
    expect(b2._p_status).toBe('ghost');
    const change = next<ChangeEvent>(other, 'change');
    await conn.transact(() => {
      a.title = 'a, elsewhere'; // conn's cache is tiny too: transact loads a again
    });
    expect(await change).toMatchObject({ tid: conn.snapshotTid, oids: [a2._p_oid] });
    release();
    expect(other.cacheInfo().held).toBe(0);
  });

  it('counts holds: the object can be evicted once every hold is released, each release working once', async () => {
    const { b, other, a2 } = await tinyCache();
    const first = other.hold(a2);
    const second = other.hold(a2);
    expect(other.cacheInfo().held).toBe(1);
    first();
    first(); // a second call does not release the other hold
    const b2 = (await other.get(b._p_oid as number)) as Todo;
    expect(b2.title).toBe('b');
    other.shrinkCache();
    expect(a2._p_status).toBe('saved');
    second();
    expect(other.cacheInfo().held).toBe(0);
    expect((await other.load(b2)).title).toBe('b'); // read: a second chance for b too
    other.shrinkCache();
    expect(a2._p_status).toBe('ghost');
  });

  it("names a held ghost in 'change' when another connection commits it", async () => {
    const { db, conn, root, a } = await twoConnections();
    const viewer = db.open();
    const ghost = (await viewer.root()).get('a') as Todo; // never loaded
    expect(ghost._p_status).toBe('ghost');
    const release = viewer.hold(ghost);
    const change = next<ChangeEvent>(viewer, 'change');
    a.title = 'a, elsewhere';
    const tid = await conn.commit();
    expect(await change).toMatchObject({ tid, oids: [ghost._p_oid] });
    release();
    const unheld = record(viewer, 'change');
    a.title = 'a, once more';
    root.set('touched', true); // viewer holds the root: a 'change' comes, naming only the root
    const next2 = next<ChangeEvent>(viewer, 'change');
    await conn.commit();
    await next2;
    expect(unheld.flatMap(([, oids]) => oids)).toEqual([root._p_oid]);
  });

  it('names held ghosts too when the storage cannot say what changed (its sync answers reset)', async () => {
    const inner = new MemoryStorage();
    let reset = false;
    const storage = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'sync') {
          return async (sinceTid: number) => ({ ...(await target.sync(sinceTid)), reset });
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const { db, conn, root, a } = await twoConnections(new Database(storage, { classes: CLASSES }));
    const viewer = db.open();
    viewer.autoSync = false;
    const ghost = (await viewer.root()).get('a') as Todo;
    viewer.hold(ghost);
    a.title = 'a, elsewhere';
    await conn.commit();
    reset = true;
    const change = next<ChangeEvent>(viewer, 'change');
    await viewer.sync();
    expect([...(await change).oids].sort()).toEqual([root._p_oid, ghost._p_oid].sort());
  });

  it("names the held objects whose changes abort() dropped in its 'change', and only those", async () => {
    const { conn, a, b } = await twoConnections();
    const release = conn.hold(a);
    a.title = 'draft a';
    b.title = 'draft b'; // not held: abort names it to nobody
    const change = next<ChangeEvent>(conn, 'change');
    await conn.abort();
    expect(await change).toMatchObject({ tid: conn.snapshotTid, oids: [a._p_oid] });
    expect((await conn.load(a)).title).toBe('a');
    release();
  });

  it("names a held object in abort()'s 'change' when the commit that failed with StorageBusyError did not land", async () => {
    const flaky = flakyStorage();
    const { conn, a, b } = await twoConnections(new Database(flaky.storage, { classes: CLASSES }));
    const release = conn.hold(a);
    a.title = 'lost a';
    b.title = 'lost b'; // not held: abort names it to nobody
    flaky.faults.push('request'); // lost on the way: nothing lands
    await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
    const changes = record(conn, 'change');
    await conn.abort();
    expect(changes).toEqual([[conn.snapshotTid, [a._p_oid]]]);
    expect((await conn.load(a)).title).toBe('a');
    release();
  });

  it("names the held objects a transact function changed before it threw in a 'change', without moving", async () => {
    const { conn, a, b } = await twoConnections();
    const release = conn.hold(a);
    const tid = conn.snapshotTid;
    const changes = record(conn, 'change');
    const failing = conn.transact(() => {
      a.title = 'draft a';
      b.title = 'draft b'; // not held: named to nobody
      throw new Error('the app gave up');
    });
    await expect(failing).rejects.toThrow('the app gave up');
    expect(changes).toEqual([[tid, [a._p_oid]]]);
    expect(conn.snapshotTid).toBe(tid);
    expect((await conn.load(a)).title).toBe('a');
    release();
  });

  it("names a held object in 'change' when transact ran fn again after it met a ghost and the new run left it alone", async () => {
    const { db } = await twoConnections();
    const viewer = db.open();
    const root = await viewer.root();
    const a = await viewer.load(root.get('a') as Todo);
    const b = root.get('b') as Todo;
    expect(b._p_status).toBe('ghost');
    const release = viewer.hold(a);
    const tid = viewer.snapshotTid;
    const changes = record(viewer, 'change');
    let runs = 0;
    await viewer.transact(() => {
      runs++;
      if (runs === 1) a.title = 'draft a'; // the second run does not write it
      b.title = `${b.title}!`; // a ghost in the first run: fn runs again once b is loaded
    });
    expect(runs).toBe(2);
    expect(changes).toEqual([[tid, [a._p_oid]]]);
    expect(a.title).toBe('a');
    release();
  });

  it("names a held object in 'change' when transact ran fn again after a conflict and the new run left it alone", async () => {
    const { conn, a, b, other, b2 } = await twoConnections();
    const release = conn.hold(a);
    const changes = record(conn, 'change');
    let runs = 0;
    await conn.transact(async () => {
      runs++;
      if (runs === 1) {
        a.title = 'draft a'; // shown meanwhile, say; the second run does not write it
        b.title = 'b, here';
        b2.title = 'b, elsewhere'; // lands first: this run's commit conflicts
        await other.commit();
      } else {
        b.title = 'b, here again';
      }
    });
    expect(runs).toBe(2);
    expect(changes.flatMap(([, oids]) => oids)).toContain(a._p_oid);
    expect(a.title).toBe('a');
    release();
  });

  it('refuses an object of another connection, and does nothing after close', async () => {
    const { conn, a, other } = await tinyCache();
    expect(() => other.hold(a)).toThrow(/belongs to another connection/);
    other.close();
    const release = conn.hold(a);
    conn.close();
    expect(() => conn.hold(a)).not.toThrow();
    release();
  });
});
