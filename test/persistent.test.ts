import { describe, expect, it } from 'vitest';
import {
  BrokenObject,
  ClassRegistry,
  Database,
  GhostError,
  MemoryStorage,
  Persistent,
  ShelfError,
} from '../src/index.js';
import { Todo, makeDb, todo } from './fixtures.js';

describe('Persistent', () => {
  it('starts unsaved, with no oid, connection or serial', () => {
    const t = new Todo();
    expect(t._p_oid).toBeUndefined();
    expect(t._p_connection).toBeUndefined();
    expect(t._p_serial).toBeUndefined();
    expect(t._p_status).toBe('unsaved');
    expect(t).toBeInstanceOf(Todo);
    expect(t).toBeInstanceOf(Persistent);
    expect(t.title).toBe('');
  });

  it('becomes saved at commit, and unsaved again when a field is assigned or deleted', async () => {
    const { db } = makeDb();
    const conn = db.open();
    const root = await conn.root();
    const t = todo('a');
    root.set('t', t);
    const tid = await conn.commit();
    expect(t._p_status).toBe('saved');
    expect(t._p_oid).toBeGreaterThan(0);
    expect(t._p_connection).toBe(conn);
    expect(t._p_serial).toBe(tid);
    t.done = true;
    expect(t._p_status).toBe('unsaved');
    await conn.commit();
    expect(t._p_status).toBe('saved');
    delete (t as Partial<Todo>).project;
    expect(t._p_status).toBe('unsaved');
    await conn.commit();
    Object.defineProperty(t, 'title', {
      value: 'b',
      writable: true,
      enumerable: true,
      configurable: true,
    });
    expect(t._p_status).toBe('unsaved');
  });

  it('does not mark reads, volatile _v_ fields, or mutations of nested plain data', async () => {
    const { db } = makeDb();
    const conn = db.open();
    const root = await conn.root();
    const t = todo('a');
    root.set('t', t);
    await conn.commit();
    void t.title;
    void t.tags.length;
    t.tags.push('nested');
    (t as unknown as { _v_cache: number })._v_cache = 1;
    expect(t._p_status).toBe('saved');
    t._p_noteChange();
    expect(t._p_status).toBe('unsaved');
    await conn.commit();
    const other = db.open();
    const t2 = (await other.root()).get('t') as Todo;
    await other.load(t2);
    expect(t2.tags).toEqual(['nested']);
    expect((t2 as unknown as { _v_cache?: number })._v_cache).toBeUndefined();
  });

  it('refuses assignment to _p_ names', () => {
    const t = new Todo();
    expect(() => {
      (t as unknown as { _p_oid: number })._p_oid = 5;
    }).toThrow(TypeError);
  });

  it('throws GhostError naming oid, class and fix on reading or writing a ghost', async () => {
    const { db } = makeDb();
    const conn = db.open();
    const root = await conn.root();
    root.set('t', todo('a'));
    await conn.commit();
    const other = db.open();
    const t = (await other.root()).get('t') as Todo;
    expect(t._p_status).toBe('ghost');
    expect(t).toBeInstanceOf(Todo);
    const oid = t._p_oid as number;
    let error: unknown;
    try {
      void t.title;
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GhostError);
    expect(error).toMatchObject({ oid, className: 'Todo' });
    expect((error as Error).message).toContain(`Todo ${oid}`);
    expect((error as Error).message).toContain('conn.load');
    expect(() => {
      t.title = 'x';
    }).toThrow(GhostError);
    expect(() => delete (t as Partial<Todo>).title).toThrow(GhostError);
    expect(() => Object.keys(t)).toThrow(GhostError);
    expect(() => 'title' in t).toThrow(GhostError);
    expect(() => t._p_noteChange()).toThrow(GhostError);
    // Promise resolution asks ghosts for `then`: that must not throw.
    await expect(Promise.resolve(t)).resolves.toBe(t);
    await other.load(t);
    expect(t.title).toBe('a');
  });

  it('calls _p_upgrade with the stored fields when loading', async () => {
    class V1 extends Persistent {
      name = 'Ada Lovelace';
    }
    const storage = new MemoryStorage();
    const db1 = new Database(storage);
    db1.registry.register(V1, 'person');
    const c1 = db1.open();
    (await c1.root()).set('p', new V1());
    await c1.commit();

    class V2 extends Persistent {
      first = '';
      last = '';
      _p_upgrade(state: Record<string, unknown>): Record<string, unknown> {
        if (typeof state.name !== 'string') return state;
        const [first, last] = state.name.split(' ');
        return { first, last };
      }
    }
    const db2 = new Database(storage);
    db2.registry.register(V2, 'person');
    const c2 = db2.open();
    const p = (await c2.root()).get('p') as V2;
    await c2.load(p);
    expect(p).toBeInstanceOf(V2);
    expect([p.first, p.last]).toEqual(['Ada', 'Lovelace']);
    expect((p as unknown as { name?: string }).name).toBeUndefined();
  });

  it('loads records with extra or missing fields (classes change)', async () => {
    class Old extends Persistent {
      a = 1;
      gone = 'x';
    }
    class New extends Persistent {
      a = 0;
      added = 'default';
    }
    const storage = new MemoryStorage();
    const db1 = new Database(storage);
    db1.registry.register(Old, 'thing');
    const c1 = db1.open();
    (await c1.root()).set('x', new Old());
    await c1.commit();
    const db2 = new Database(storage);
    db2.registry.register(New, 'thing');
    const c2 = db2.open();
    const x = await c2.load((await c2.root()).get('x') as New);
    expect(x.a).toBe(1);
    expect((x as unknown as { gone: string }).gone).toBe('x');
    expect(x.added).toBeUndefined();
  });

  it('loads records of unregistered classes as BrokenObjects that keep their data', async () => {
    class Secret extends Persistent {
      static _p_name = 'Secret';
      code = 42;
      friend: Secret | null = null;
    }
    const storage = new MemoryStorage();
    const db1 = new Database(storage, { classes: [Secret] });
    const c1 = db1.open();
    const s = new Secret();
    s.friend = new Secret();
    (await c1.root()).set('s', s);
    await c1.commit();

    const db2 = new Database(storage); // this page does not know Secret
    const c2 = db2.open();
    const root = await c2.root();
    const broken = await c2.load(root.get('s') as BrokenObject);
    expect(broken).toBeInstanceOf(BrokenObject);
    expect(broken.className).toBe('Secret');
    expect(broken.state.code).toBe(42);
    expect(broken.state.friend).toBeInstanceOf(BrokenObject);
    expect(() => broken._p_noteChange()).toThrow(ShelfError);
    expect(() => {
      (broken as unknown as { x: number }).x = 1;
    }).toThrow(/BrokenObject/);
    // Written back unchanged: the root keeps referencing it through another commit.
    root.set('other', 1);
    await c2.commit();
    const c3 = db1.open();
    const s3 = await c3.load((await c3.root()).get('s') as Secret);
    expect(s3.code).toBe(42);
    expect(await c3.load(s3.friend as Secret)).toBeInstanceOf(Secret);
  });

  it('cannot be constructed as a BrokenObject by apps', () => {
    expect(() => new BrokenObject()).toThrow(TypeError);
  });
});

describe('ClassRegistry', () => {
  it('refuses two classes under one name, and one class under two names', () => {
    class A extends Persistent {}
    class B extends Persistent {}
    const r = new ClassRegistry();
    r.register(A, 'x');
    r.register(A, 'x'); // again, same: fine
    expect(() => r.register(B, 'x')).toThrow(/already registered for another class/);
    expect(() => r.register(A, 'y')).toThrow(/already registered as "x"/);
  });

  it('refuses classes that do not extend Persistent', () => {
    class Plain {}
    const r = new ClassRegistry();
    expect(() => r.register(Plain as never)).toThrow(/does not extend Persistent/);
  });

  it('falls back to its parent registry', () => {
    class A extends Persistent {}
    const parent = new ClassRegistry();
    parent.register(A, 'a');
    const child = new ClassRegistry(parent);
    expect(child.classOf('a')).toBe(A);
    expect(child.nameOf(A)).toBe('a');
    class B extends Persistent {}
    expect(() => child.register(B, 'a')).toThrow();
  });
});
