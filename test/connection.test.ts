import { describe, expect, it, vi } from 'vitest';
import {
  ChangeEvent,
  ConflictError,
  StaleEvent,
  Database,
  MemoryStorage,
  StorageBusyError,
  type Storage,
  DatabaseClosedError,
  GhostError,
  Persistent,
  PersistentDict,
  ReadConflictError,
  SerializationError,
  ShelfError,
  UnregisteredClassError,
  WriteConflictError,
} from '../src/index.js';
import { CLASSES, Project, Todo, makeDb, todo } from './fixtures.js';
import { eventually, nextEvent, until } from './until.js';

async function seeded() {
  const { db, storage } = makeDb();
  const conn = db.open();
  const root = await conn.root();
  const t = todo('first');
  root.set('t', t);
  await conn.commit();
  return { db, storage, conn, root, t };
}

/** The next 'stale' on `conn`: a commit of others reached it while its snapshot cannot move. */
function staleAt(conn: EventTarget): Promise<StaleEvent> {
  return eventually(nextEvent<StaleEvent>(conn, 'stale'), "the 'stale' event");
}

async function loadTodo(
  conn: ReturnType<Awaited<ReturnType<typeof seeded>>['db']['open']>,
): Promise<Todo> {
  const root = await conn.root();
  return conn.load(root.get('t') as Todo);
}

describe('Connection: snapshots', () => {
  it("sees another connection's commit only after sync, abort or its own commit (autoSync off)", async () => {
    const { db, conn, t } = await seeded();
    const other = db.open();
    other.autoSync = false;
    const t2 = await loadTodo(other);
    let stale = staleAt(other);
    t.title = 'changed';
    await conn.commit();
    await stale; // the commit reached other, which does not move (autoSync off)
    expect(t2.title).toBe('first');
    await other.sync();
    expect(t2._p_status).toBe('ghost');
    expect((await other.load(t2)).title).toBe('changed');

    stale = staleAt(other);
    t.title = 'again';
    await conn.commit();
    await stale;
    expect(t2.title).toBe('changed');
    await other.abort();
    expect((await other.load(t2)).title).toBe('again');

    stale = staleAt(other);
    t.title = 'third';
    await conn.commit();
    await stale;
    expect(t2.title).toBe('again');
    const root2 = await other.root();
    root2.set('x', 1);
    await other.commit();
    expect((await other.load(t2)).title).toBe('third');
  });

  it('keeps reading its snapshot while another connection commits (MVCC)', async () => {
    const { db, conn, root, t } = await seeded();
    const other = db.open();
    other.autoSync = false;
    const root2 = await other.root();
    const t2 = root2.get('t') as Todo; // still a ghost
    // conn commits twice; other loads afterwards and still sees its snapshot's revision.
    t.title = 'v2';
    await conn.commit();
    t.title = 'v3';
    root.set('added', todo('new'));
    const stale = staleAt(other);
    const second = await conn.commit();
    expect((await stale).tid).toBe(second); // both commits reached other (root2 is held)
    expect((await other.load(t2)).title).toBe('first');
    expect(root2.has('added')).toBe(false);
  });

  it('applies invalidations at once when idle with autoSync, firing change', async () => {
    const { db, conn, t } = await seeded();
    const other = db.open();
    const t2 = await loadTodo(other);
    const events: ChangeEvent[] = [];
    other.addEventListener('change', (e) => events.push(e as ChangeEvent));
    const changed = nextEvent(other, 'change');
    t.done = true;
    const tid = await conn.commit();
    await eventually(changed, "other's 'change'");
    expect(events).toHaveLength(1);
    expect(events[0]?.tid).toBe(tid);
    expect(events[0]?.oids).toEqual([t2._p_oid]);
    expect(t2._p_status).toBe('ghost');
    expect((await other.load(t2)).done).toBe(true);
  });

  it('queues invalidations while it has changes, applying them at the next boundary', async () => {
    const { db, conn, t } = await seeded();
    const other = db.open();
    const t2 = await loadTodo(other);
    const root2 = await other.root();
    root2.set('pending', 1);
    const events: ChangeEvent[] = [];
    other.addEventListener('change', (e) => events.push(e as ChangeEvent));
    const stale = staleAt(other);
    t.title = 'elsewhere';
    await conn.commit();
    await stale; // the commit reached other, which has changes: it queues it
    expect(events).toHaveLength(0);
    expect(t2.title).toBe('first');
    await other.commit();
    expect(events).toHaveLength(1);
    expect((await other.load(t2)).title).toBe('elsewhere');
  });
});

describe('Connection: conflicts', () => {
  it('raises WriteConflictError with .oids when another connection wrote the object', async () => {
    const { db, conn, t, storage } = await seeded();
    const other = db.open();
    other.autoSync = false;
    const t2 = await loadTodo(other);
    t.title = 'mine';
    await conn.commit();
    t2.title = 'theirs';
    const before = (await storage.stats()).transactions;
    const error = await other.commit().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteConflictError);
    expect((error as WriteConflictError).oids).toEqual([t2._p_oid]);
    expect((await storage.stats()).transactions).toBe(before);
    // Unusable for writes until abort.
    await expect(other.commit()).rejects.toThrow(/abort/);
    await other.abort();
    const fresh = await loadTodo(other);
    expect(fresh).toBe(t2);
    expect(fresh.title).toBe('mine');
    fresh.title = 'theirs';
    await other.commit();
  });

  it('detects a conflict on an object kept changed across sync()', async () => {
    const { db, conn, t } = await seeded();
    const other = db.open();
    other.autoSync = false;
    const t2 = await loadTodo(other);
    t2.title = 'theirs';
    t.title = 'mine';
    await conn.commit();
    await other.sync(); // keeps t2's change, based on the old revision
    await expect(other.commit()).rejects.toBeInstanceOf(WriteConflictError);
  });

  it('never conflicts on objects only read', async () => {
    const { db, conn, t } = await seeded();
    const other = db.open();
    other.autoSync = false;
    const t2 = await loadTodo(other);
    const root2 = await other.root();
    void t2.title;
    t.title = 'changed by conn';
    await conn.commit();
    root2.set('note', 'unrelated');
    await expect(other.commit()).resolves.toBeTypeOf('number');
  });

  it('raises ReadConflictError for a readCurrent object changed meanwhile', async () => {
    const { db, conn, t } = await seeded();
    const other = db.open();
    other.autoSync = false;
    const t2 = await loadTodo(other);
    const root2 = await other.root();
    other.readCurrent(t2);
    root2.set('decision', t2.title);
    t.title = 'changed';
    await conn.commit();
    const error = await other.commit().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadConflictError);
    expect((error as ReadConflictError).oids).toEqual([t2._p_oid]);
  });

  it('commits with readCurrent when nothing changed the pinned object', async () => {
    const { db } = await seeded();
    const other = db.open();
    const t2 = await loadTodo(other);
    other.readCurrent(t2);
    (await other.root()).set('decision', t2.title);
    await expect(other.commit()).resolves.toBeTypeOf('number');
  });
});

describe('Connection: commit', () => {
  it('resolves an empty commit to the snapshot tid without writing', async () => {
    const { conn, storage } = await seeded();
    const before = await storage.stats();
    const tid = await conn.commit();
    expect(tid).toBe(conn.snapshotTid);
    expect((await storage.stats()).transactions).toBe(before.transactions);
  });

  it("moves an empty commit to the newest snapshot, applying others' commits (a boundary)", async () => {
    const { db, conn, t, storage } = await seeded();
    const other = db.open();
    other.autoSync = false;
    const t2 = await loadTodo(other);
    const stale = staleAt(other);
    t.title = 'changed elsewhere';
    const newest = await conn.commit();
    await stale;
    const before = (await storage.stats()).transactions;
    const events: ChangeEvent[] = [];
    other.addEventListener('change', (e) => events.push(e as ChangeEvent));
    expect(await other.commit()).toBe(newest);
    expect(other.snapshotTid).toBe(newest);
    expect(events.map((e) => [e.tid, e.oids])).toEqual([[newest, [t2._p_oid]]]);
    expect((await other.load(t2)).title).toBe('changed elsewhere');
    expect((await storage.stats()).transactions).toBe(before);
  });

  it("invalidates another connection's commit on a commit with only readCurrent pins", async () => {
    const { db, conn, t, root } = await seeded();
    root.set('rule', 'keep');
    await conn.commit();
    const other = db.open();
    other.autoSync = false;
    const t2 = await loadTodo(other);
    const root2 = await other.root();
    other.readCurrent(root2); // a read-only decision on the root; nothing written
    const stale = staleAt(other);
    t.title = 'changed elsewhere'; // another connection commits the very next tid
    const theirs = await conn.commit();
    await stale;
    expect(await other.commit()).toBe(theirs);
    expect(other.snapshotTid).toBe(theirs);
    expect(t2._p_status).toBe('ghost');
    expect((await other.load(t2)).title).toBe('changed elsewhere');
  });

  it('stores every new object reachable from a changed one, cycles included, in one transaction', async () => {
    const { db, conn, root, storage } = await seeded();
    const p = new Project();
    p.name = 'p';
    const a = todo('a', { project: p });
    const b = todo('b', { project: p });
    p.todos = [a, b];
    p.owner = { favourite: a, history: new Map([['x', b]]) };
    root.set('project', p);
    const before = (await storage.stats()).transactions;
    await conn.commit({ note: 'project', user: 'ada', meta: { n: 1 } });
    expect((await storage.stats()).transactions).toBe(before + 1);
    const [txn] = await storage.transactions({ limit: 1 });
    expect(txn).toMatchObject({ note: 'project', user: 'ada', meta: { n: 1 } });
    expect(new Set(txn?.oids)).toEqual(new Set([root._p_oid, p._p_oid, a._p_oid, b._p_oid]));

    const other = db.open();
    const p2 = await other.load((await other.root()).get('project') as Project);
    const [a2, b2] = await other.load(...(p2.todos as [Todo, Todo]));
    expect([a2.title, b2.title]).toEqual(['a', 'b']);
    expect(a2.project).toBe(p2);
    expect((p2.owner as { favourite: Todo }).favourite).toBe(a2);
  });

  it('does not store new objects nothing stored references', async () => {
    const { conn, storage } = await seeded();
    const loose = todo('loose');
    loose.title = 'changed';
    const before = await storage.stats();
    await conn.commit();
    expect(loose._p_oid).toBeUndefined();
    expect(loose._p_status).toBe('unsaved');
    expect((await storage.stats()).objects).toBe(before.objects);
  });

  it("rejects a reference to another connection's object, storing nothing", async () => {
    const { db, conn, root, storage } = await seeded();
    const other = db.open();
    const foreign = await loadTodo(other);
    const p = new Project();
    p.todos = [foreign];
    root.set('p', p);
    const before = await storage.stats();
    const error = await conn.commit().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShelfError);
    expect((error as Error).message).toContain(`Todo ${foreign._p_oid}`);
    expect((error as Error).message).toContain('another connection');
    expect(await storage.stats()).toEqual(before);
    expect(p._p_oid).toBeUndefined();
  });

  it('rejects an unregistered persistent class with UnregisteredClassError, storing nothing', async () => {
    class Stranger extends Persistent {
      x = 1;
    }
    const { conn, root, storage } = await seeded();
    const p = new Project();
    p.owner = new Stranger();
    root.set('p', p);
    const before = await storage.stats();
    const error = await conn.commit().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnregisteredClassError);
    expect((error as UnregisteredClassError).className).toBe('Stranger');
    expect((error as UnregisteredClassError).path).toBe('new Project → .owner');
    expect(await storage.stats()).toEqual(before);
    expect(p._p_oid).toBeUndefined();
  });

  it('rejects a value that cannot be stored with SerializationError naming the path, storing nothing', async () => {
    const { conn, root, storage, t } = await seeded();
    t.project = new Project();
    (t.project as Project).owner = { onClick: () => 0 };
    const before = await storage.stats();
    const error = await conn.commit().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).path).toBe('new Project → .owner.onClick');
    expect(await storage.stats()).toEqual(before);
    // Fix the value and commit: works.
    (t.project as Project).owner = 'ada';
    await conn.commit();
    expect(root._p_status).toBe('saved');
  });

  it('keeps a change made while the commit is in flight for the next commit', async () => {
    const { db, conn, t } = await seeded();
    t.title = 'one';
    const pending = conn.commit();
    t.title = 'two'; // after the commit captured its state
    await pending;
    expect(t._p_status).toBe('unsaved');
    await conn.commit();
    const other = db.open();
    expect((await loadTodo(other)).title).toBe('two');
  });

  it('puts objects back as they were when a commit fails', async () => {
    const { db, conn, t, root } = await seeded();
    conn.autoSync = false;
    const other = db.open();
    const t2 = await loadTodo(other);
    t2.title = 'theirs';
    await other.commit();
    t.title = 'mine';
    const added = todo('added');
    root.set('added', added);
    await expect(conn.commit()).rejects.toBeInstanceOf(ConflictError);
    expect(t._p_status).toBe('unsaved');
    expect(added._p_oid).toBeUndefined();
    expect(added._p_connection).toBeUndefined();
  });
});

describe('Connection: abort', () => {
  it('restores the committed state: changed objects become ghosts and reload', async () => {
    const { conn, t, root } = await seeded();
    t.title = 'scratch';
    root.set('temp', 1);
    await conn.abort();
    expect(t._p_status).toBe('ghost');
    expect((await conn.load(t)).title).toBe('first');
    expect((await conn.root()).has('temp')).toBe(false);
    expect(root.has('temp')).toBe(false);
  });
});

describe('Connection: loading', () => {
  it('tries again to learn its first snapshot after the storage failed to answer', async () => {
    const inner = new MemoryStorage();
    let busy = 1;
    const storage: Storage = Object.assign(Object.create(inner) as MemoryStorage, {
      sync(since: number) {
        if (busy-- > 0) return Promise.reject(new StorageBusyError('The owner did not answer.'));
        return inner.sync(since);
      },
    });
    const conn = new Database(storage, { classes: CLASSES }).open();
    await expect(conn.root()).rejects.toBeInstanceOf(StorageBusyError);
    expect((await conn.root()).size).toBe(0);
  });

  it('loads many ghosts in one round trip', async () => {
    const { db, conn, root, storage } = await seeded();
    const list = Array.from({ length: 50 }, (_, i) => todo(`t${i}`));
    root.set('list', list);
    await conn.commit();
    const other = db.open();
    const root2 = await other.root();
    const ghosts = root2.get('list') as Todo[];
    let loads = 0;
    const original = storage.load.bind(storage);
    storage.load = (oids, at) => {
      loads++;
      return original(oids, at);
    };
    const loaded = await other.load(...ghosts);
    expect(loads).toBe(1);
    expect(loaded.map((x) => x.title)).toEqual(list.map((x) => x.title));
  });

  it('answers get(oid) with the loaded object, the same object every time, or undefined', async () => {
    const { db, t } = await seeded();
    const other = db.open();
    const a = await other.get(t._p_oid as number);
    expect(a).toBeInstanceOf(Todo);
    expect((a as Todo).title).toBe('first');
    expect(await other.get(t._p_oid as number)).toBe(a);
    expect(await other.get(987_654)).toBeUndefined();
    await expect(other.get(-1)).rejects.toBeInstanceOf(RangeError);
  });

  it('crawls every reachable object, loaded, in batches', async () => {
    const { db, conn, root } = await seeded();
    const p = new Project();
    p.todos = Array.from({ length: 250 }, (_, i) => todo(`c${i}`, { project: p }));
    root.set('p', p);
    await conn.commit();
    const other = db.open();
    const seen: Persistent[] = [];
    for await (const obj of other.crawl(await other.root())) {
      expect(obj._p_status).toBe('saved');
      seen.push(obj);
    }
    expect(seen).toHaveLength(1 + 1 + 1 + 250); // root, first todo, project, its todos
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('makes the root once even when two connections ask at the same time', async () => {
    const { db } = makeDb();
    const [r1, r2] = await Promise.all([db.open().root(), db.open().root()]);
    expect(r1).toBeInstanceOf(PersistentDict);
    expect(r2).toBeInstanceOf(PersistentDict);
    expect(r1._p_oid).toBe(0);
    expect(r2._p_oid).toBe(0);
  });

  it('verifies the database through db.verify()', async () => {
    const { db } = await seeded();
    expect(await db.verify()).toEqual({ ok: true, problems: [] });
  });

  it('lists the stored revisions of an object, newest first', async () => {
    const { conn, t } = await seeded();
    t.title = 'second';
    await conn.commit({ note: 'rename' });
    const h = await conn.history(t);
    expect(h.map((r) => [r.note, r.state.title])).toEqual([
      ['rename', 'second'],
      ['', 'first'],
    ]);
  });
});

describe('Connection: transact', () => {
  it('replays after touching a ghost, loading it in between', async () => {
    const { db } = await seeded();
    const other = db.open();
    const root = await other.root();
    let runs = 0;
    const title = await other.transact(() => {
      runs++;
      const t = root.get('t') as Todo; // a ghost on the first run
      t.done = true;
      return t.title;
    });
    expect(runs).toBe(2);
    expect(title).toBe('first');
    const third = db.open();
    expect((await loadTodo(third)).done).toBe(true);
  });

  it('rolls back the changes of a run that hit a ghost', async () => {
    const { db, conn, root } = await seeded();
    root.set('counter', 0);
    const p = new Project();
    root.set('p', p);
    await conn.commit();
    const other = db.open();
    const root2 = await other.root();
    await other.transact(() => {
      root2.set('counter', (root2.get('counter') as number) + 1);
      const ghost = root2.get('p') as Project;
      ghost.name = 'named';
    });
    const third = db.open();
    expect((await third.root()).get('counter')).toBe(1);
  });

  it('retries on a conflict and both increments land', async () => {
    const { db, conn, root } = await seeded();
    root.set('count', 0);
    await conn.commit();
    const a = db.open();
    const b = db.open();
    const rootA = await a.root();
    const rootB = await b.root();
    let runsA = 0;
    // a reads, then b commits in between, then a commits: a conflicts once and retries.
    const done = a.transact(async () => {
      runsA++;
      const n = rootA.get('count') as number;
      if (runsA === 1) {
        await b.transact(() => {
          rootB.set('count', (rootB.get('count') as number) + 1);
        });
      }
      rootA.set('count', n + 1);
    });
    await done;
    // Run 1 conflicts; run 2, on the newest snapshot (objects reloaded), lands.
    expect(runsA).toBe(2);
    const check = db.open();
    expect((await check.root()).get('count')).toBe(2);
  });

  it('gives up after `retries` conflicts with the ConflictError', async () => {
    const { db, conn, root } = await seeded();
    root.set('count', 0);
    await conn.commit();
    const a = db.open();
    const b = db.open();
    const rootA = await a.root();
    const rootB = await b.root();
    let runs = 0;
    const error = await a
      .transact(
        async () => {
          runs++;
          const n = rootA.get('count') as number;
          await b.transact(() => rootB.set('count', (rootB.get('count') as number) + 1));
          rootA.set('count', n + 1);
        },
        { retries: 2 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteConflictError);
    // The first run and 2 retries, each conflicting.
    expect(runs).toBe(3);
  });

  it('refuses to start with uncommitted changes', async () => {
    const { conn, root } = await seeded();
    root.set('x', 1);
    await expect(conn.transact(() => 1)).rejects.toThrow(/uncommitted/);
  });

  it('rolls back and rethrows when fn throws', async () => {
    const { conn, root, storage } = await seeded();
    const before = await storage.stats();
    await expect(
      conn.transact(() => {
        root.set('x', 1);
        throw new Error('app failure');
      }),
    ).rejects.toThrow('app failure');
    expect(await storage.stats()).toEqual(before);
    expect((await conn.root()).has('x')).toBe(false);
  });

  it('does not move the snapshot during fn', async () => {
    const { db, conn, t } = await seeded();
    const other = db.open();
    const t2 = await loadTodo(other);
    const titles: string[] = [];
    await other.transact(async () => {
      titles.push(t2.title);
      const stale = staleAt(other);
      t.title = 'moved';
      await conn.commit();
      await stale; // the commit reached other, whose transaction keeps its snapshot
      titles.push(t2.title); // still the transaction's snapshot
    });
    expect(titles).toEqual(['first', 'first']);
    expect((await other.load(t2)).title).toBe('moved');
  });
});

describe('Connection: cache', () => {
  it('shrinks to cacheSize at boundaries, keeping changed objects and identity', async () => {
    const { db } = makeDb({ cacheSize: 10 });
    const conn = db.open();
    const root = await conn.root();
    const todos = Array.from({ length: 40 }, (_, i) => todo(`t${i}`));
    root.set('todos', todos);
    await conn.commit();
    const other = db.open();
    const root2 = await other.root();
    const ghosts = root2.get('todos') as Todo[];
    await other.load(...ghosts);
    expect(other.cacheInfo().loaded).toBeGreaterThan(10);
    (ghosts[0] as Todo).title = 'dirty';
    (ghosts[1] as Todo).title = 'dirty too';
    await other.sync(); // a boundary that keeps changes
    expect(other.cacheInfo().loaded).toBeLessThanOrEqual(10);
    expect(ghosts[0]?._p_status).toBe('unsaved');
    expect(ghosts[1]?._p_status).toBe('unsaved');
    expect(ghosts.filter((x) => x._p_status === 'ghost').length).toBeGreaterThanOrEqual(30);
    // Identity: asking again gives the very same objects.
    expect(await other.get(ghosts[5]?._p_oid as number)).toBe(ghosts[5]);
    await other.commit();
    const check = db.open();
    const loaded = await check.load(...((await check.root()).get('todos') as Todo[]).slice(0, 2));
    expect(loaded.map((x) => x.title)).toEqual(['dirty', 'dirty too']);
  });

  it('shrinks to cacheBytes', async () => {
    const { db } = makeDb({ cacheBytes: 2000 });
    const conn = db.open();
    const root = await conn.root();
    root.set(
      'todos',
      Array.from({ length: 50 }, (_, i) => todo('x'.repeat(100) + i)),
    );
    await conn.commit();
    const other = db.open();
    await other.load(...((await other.root()).get('todos') as Todo[]));
    expect(other.cacheInfo().bytes).toBeGreaterThan(2000);
    await other.sync();
    expect(other.cacheInfo().bytes).toBeLessThanOrEqual(2000);
  });

  it('keeps recently read objects over older ones (second chance)', async () => {
    const { db } = makeDb({ cacheSize: 5 });
    const conn = db.open();
    const root = await conn.root();
    root.set(
      'todos',
      Array.from({ length: 10 }, (_, i) => todo(`t${i}`)),
    );
    await conn.commit();
    const other = db.open();
    const todos = (await other.root()).get('todos') as Todo[];
    await other.load(...todos);
    void todos[0]?.title; // the oldest, but read since loading
    await other.sync();
    expect(todos[0]?._p_status).toBe('saved');
  });

  it('forgets objects the app dropped once they are collected', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'tests run with --expose-gc').toBeTypeOf('function');
    const { db } = makeDb({ cacheSize: 1 });
    const conn = db.open();
    const root = await conn.root();
    root.set(
      'todos',
      Array.from({ length: 100 }, (_, i) => todo(`t${i}`)),
    );
    await conn.commit();
    const other = db.open();
    const root2 = await other.root();
    await other.load(...(root2.get('todos') as Todo[]));
    root2.delete('todos'); // drop the list; its todos are referenced by nothing else now
    await other.abort(); // boundary: ghosts the root (changed) and shrinks
    const before = other.cacheInfo().known;
    // Nothing announces a collection: collect after each turn (the finalizers run in a task).
    await until(
      () => {
        (gc as () => void)();
        return other.cacheInfo().known < before - 50;
      },
      'the dropped todos to leave the cache',
      100,
    );
    expect(other.cacheInfo().known).toBeLessThan(before - 50);
  });
});

describe('Database: autoPack', () => {
  it('packs by itself once garbage passes the ratio', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const { db, storage } = makeDb({ autoPack: { garbageRatio: 0.5, minBytes: 0 } });
      const conn = db.open();
      const root = await conn.root();
      for (let i = 0; i < 20; i++) {
        root.set('big', 'x'.repeat(1000) + i); // each commit supersedes the last revision
        await conn.commit();
      }
      expect((await storage.stats()).lastPack).toBeUndefined();
      await vi.advanceTimersByTimeAsync(5_000);
      await vi.waitFor(async () => expect((await storage.stats()).lastPack).toBeTypeOf('number'));
      expect((await storage.stats()).garbageBytes).toBe(0);
      await db.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a garbageRatio outside (0, 1)', () => {
    expect(() => makeDb({ autoPack: { garbageRatio: 2 } })).toThrow(RangeError);
  });
});

describe('Connection and Database: bad input and closing', () => {
  it('refuses a cacheSize or cacheBytes that is not a positive integer', () => {
    expect(() => makeDb({ cacheSize: 0 })).toThrow(RangeError);
    expect(() => makeDb({ cacheSize: -5 })).toThrow(RangeError);
    expect(() => makeDb({ cacheSize: 1.5 })).toThrow(RangeError);
    expect(() => makeDb({ cacheBytes: 0 })).toThrow(RangeError);
  });

  it('raises DatabaseClosedError after close; close twice is harmless', async () => {
    const { db, conn, t } = await seeded();
    await db.close();
    await db.close();
    expect(() => db.open()).toThrow(DatabaseClosedError);
    await expect(conn.root()).rejects.toBeInstanceOf(DatabaseClosedError);
    await expect(conn.commit()).rejects.toBeInstanceOf(DatabaseClosedError);
    await expect(conn.abort()).rejects.toBeInstanceOf(DatabaseClosedError);
    expect(() => {
      t.title = 'after close';
    }).toThrow(DatabaseClosedError);
    await expect(db.stats()).rejects.toBeInstanceOf(DatabaseClosedError);
  });

  it('throws GhostError for readCurrent on a ghost', async () => {
    const { db } = await seeded();
    const other = db.open();
    const ghost = (await other.root()).get('t') as Todo;
    expect(() => other.readCurrent(ghost)).toThrow(GhostError);
  });
});
