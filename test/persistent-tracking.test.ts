/**
 * The proxy's traps on paths their fast cases could get wrong: a new (unsaved) object skips
 * `noteChange`, and a class field is defined by assignment where that is the same thing
 * (src/persistent.ts, `mustNote` and `defineOn`); ghosts are emptied newest field first.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BrokenObject,
  Database,
  GhostError,
  MemoryStorage,
  Persistent,
  ShelfError,
} from '../src/index.js';
import { ghostify, metaOf, setState } from '../src/persistent.js';
import { makeDb, todo, type Todo } from './fixtures.js';

describe('Persistent: new objects', () => {
  it('refuses a _p_ name defined by a class field initializer of a new object', () => {
    class Sneaky extends Persistent {
      title = '';
      _p_mine = 1;
    }
    expect(() => new Sneaky()).toThrow(/_p_mine is shelfdb's/);
  });

  it('refuses _p_ names defined, assigned or deleted on a new object', () => {
    const t = todo('a');
    const data = { value: 1, writable: true, enumerable: true, configurable: true };
    expect(() => Object.defineProperty(t, '_p_x', data)).toThrow(TypeError);
    expect(() => Object.assign(t, { _p_y: 1 })).toThrow(TypeError);
    expect(() => delete (t as unknown as { _p_oid?: number })._p_oid).toThrow(TypeError);
    expect(Object.keys(t)).toEqual(['title', 'done', 'project', 'tags']);
  });

  it('defines class fields on the object, not through setters its prototype has for them', () => {
    const setterCalls: unknown[] = [];
    class Base extends Persistent {
      get x(): number {
        return -1;
      }
      set x(value: number) {
        setterCalls.push(value);
      }
    }
    class Field extends Base {
      // @ts-expect-error: a field over an accessor, as plain JavaScript allows
      x = 1;
    }
    const f = new Field();
    expect(setterCalls).toEqual([]);
    expect(Object.getOwnPropertyDescriptor(f, 'x')).toEqual({
      value: 1,
      writable: true,
      enumerable: true,
      configurable: true,
    });
    f.x = 2; // now an own data property: no setter either
    expect(setterCalls).toEqual([]);
    expect(f.x).toBe(2);
  });

  it('defines properties on a new object exactly as on a plain object of its class', () => {
    const bool = fc.option(fc.boolean(), { nil: undefined });
    const descriptor = fc.oneof(
      // What a class field initializer defines: the case the trap takes a shortcut for.
      fc
        .integer()
        .map((value) => ({ value, writable: true, enumerable: true, configurable: true })),
      fc.record(
        { value: fc.integer(), writable: bool, enumerable: bool, configurable: bool },
        { requiredKeys: [] },
      ),
      fc.record(
        {
          get: fc.constant(() => 7),
          set: fc.constant((): void => undefined),
          enumerable: bool,
          configurable: bool,
        },
        { requiredKeys: [] },
      ),
    );
    // Keys the object has (a field), its prototype has (a method, a getter, a read-only value), or
    // nobody has; on an extensible object or not.
    const key = fc.constantFrom('title', 'method', 'getter', 'fixed', 'fresh', '7');
    fc.assert(
      fc.property(key, descriptor, fc.boolean(), (k, desc, extensible) => {
        class Shape extends Persistent {
          title = 'a';
          method(): number {
            return 1;
          }
          get getter(): number {
            return 2;
          }
        }
        Object.defineProperty(Shape.prototype, 'fixed', { value: 3, writable: false });
        const tracked = new Shape();
        const plain = Object.create(Shape.prototype) as Record<string, unknown>;
        plain.title = 'a';
        if (!extensible) {
          Object.preventExtensions(tracked);
          Object.preventExtensions(plain);
        }
        const done = Reflect.defineProperty(tracked, k, desc);
        expect(done).toBe(Reflect.defineProperty(plain, k, desc));
        expect(Reflect.getOwnPropertyDescriptor(tracked, k)).toEqual(
          Reflect.getOwnPropertyDescriptor(plain, k),
        );
        expect(tracked._p_status).toBe('unsaved');
      }),
      { numRuns: 300 },
    );
  });
});

describe('Persistent: stored objects', () => {
  it('still marks a saved object changed by defineProperty, and a ghost still throws on it', async () => {
    const { db } = makeDb();
    const conn = db.open();
    const root = await conn.root();
    const t = todo('a');
    root.set('t', t);
    await conn.commit();
    const data = { value: 'b', writable: true, enumerable: true, configurable: true };
    Object.defineProperty(t, 'fresh', data); // a new key: the assignment case of the trap
    expect(t._p_status).toBe('unsaved');
    await conn.commit();
    const other = db.open();
    const ghost = (await other.root()).get('t') as Todo;
    expect(ghost._p_status).toBe('ghost');
    expect(() => Object.defineProperty(ghost, 'fresh2', data)).toThrow(GhostError);
    expect(() => Object.assign(ghost, { title: 'x' })).toThrow(GhostError);
    expect(() => delete (ghost as Partial<Todo>).title).toThrow(GhostError);
    const loaded = await other.load(ghost);
    expect((loaded as unknown as { fresh: string }).fresh).toBe('b');
  });

  it('refuses every kind of write to a BrokenObject', async () => {
    class Secret extends Persistent {
      static _p_name = 'Secret';
      code = 42;
    }
    const storage = new MemoryStorage();
    const c1 = new Database(storage, { classes: [Secret] }).open();
    (await c1.root()).set('s', new Secret());
    await c1.commit();
    const c2 = new Database(storage).open();
    const broken = await c2.load((await c2.root()).get('s') as BrokenObject);
    const data = { value: 1, writable: true, enumerable: true, configurable: true };
    expect(() => Object.defineProperty(broken, 'x', data)).toThrow(ShelfError);
    expect(() => Object.assign(broken, { x: 1 })).toThrow(/BrokenObject/);
    expect(() => delete (broken as unknown as { state?: unknown }).state).toThrow(/BrokenObject/);
    expect(broken._p_status).toBe('saved');
    expect(broken.state.code).toBe(42);
    // No path makes a BrokenObject unsaved (it is never written); if one did, the shortcut the
    // traps take for unsaved objects must still refuse its writes.
    metaOf(broken).status = 'unsaved';
    expect(() => Object.defineProperty(broken, 'x', data)).toThrow(ShelfError);
    expect(() => Object.assign(broken, { x: 1 })).toThrow(/BrokenObject/);
    expect(() => delete (broken as unknown as { state?: unknown }).state).toThrow(/BrokenObject/);
  });

  it('gets its fields back in order, with the same values, when a ghost is filled again', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/).filter((k) => k !== 'constructor'),
          { maxLength: 12 },
        ),
        fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), { maxLength: 12 }),
        (first, second) => {
          class Bag extends Persistent {}
          const bag = Object.assign(new Bag(), Object.fromEntries(first.map((k, i) => [k, i])));
          const m = metaOf(bag);
          m.status = 'saved';
          ghostify(m);
          expect(bag._p_status).toBe('ghost');
          expect(Object.keys(m.target)).toEqual([]);
          const state = Object.fromEntries(second.map((k, i) => [k, `v${i}`]));
          setState(m, state, 1 as never, 10);
          expect(Object.keys(bag)).toEqual(Object.keys(state));
          expect({ ...bag }).toEqual(state);
        },
      ),
    );
  });
});
