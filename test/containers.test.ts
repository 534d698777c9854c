import { describe, expect, it } from 'vitest';
import { PersistentDict, PersistentList, PersistentSet } from '../src/index.js';
import { Todo, makeDb, todo } from './fixtures.js';

/** A committed container reloaded through a fresh connection. */
async function reloaded<T>(make: () => T, change?: (x: T) => void) {
  const { db } = makeDb();
  const conn = db.open();
  const root = await conn.root();
  const x = make();
  root.set('x', x);
  await conn.commit();
  if (change) {
    change(x);
    await conn.commit();
  }
  const other = db.open();
  const back = await other.load((await other.root()).get('x') as never);
  return { x, back: back as T, conn };
}

async function committed<T>(make: () => T) {
  const { db } = makeDb();
  const conn = db.open();
  const root = await conn.root();
  const x = make();
  root.set('x', x);
  await conn.commit();
  return x;
}

describe('PersistentDict', () => {
  it('behaves as a Map and round-trips', async () => {
    const { back } = await reloaded(
      () =>
        new PersistentDict<unknown, unknown>([
          ['a', 1],
          [2, 'two'],
          ['t', todo('in dict')],
        ]),
    );
    expect(back.size).toBe(3);
    expect(back.get('a')).toBe(1);
    expect(back.get(2)).toBe('two');
    expect([...back.keys()]).toEqual(['a', 2, 't']);
    expect(back.get('t')).toBeInstanceOf(Todo);
    expect(Object.prototype.toString.call(back)).toBe('[object PersistentDict]');
  });

  it('marks changes on set, delete and clear, not on reads', async () => {
    const d = await committed(() => new PersistentDict<string, number>([['a', 1]]));
    d.get('a');
    d.has('a');
    expect([...d.entries()]).toHaveLength(1);
    d.forEach(() => undefined);
    expect(d.size).toBe(1);
    expect(d._p_status).toBe('saved');
    d.delete('missing');
    expect(d._p_status).toBe('saved');
    d.set('b', 2);
    expect(d._p_status).toBe('unsaved');
  });

  it('stores deletes and clears', async () => {
    const { back } = await reloaded(
      () =>
        new PersistentDict<string, number>([
          ['a', 1],
          ['b', 2],
        ]),
      (d) => d.delete('a'),
    );
    expect([...back]).toEqual([['b', 2]]);
    const cleared = await reloaded(
      () => new PersistentDict<string, number>([['a', 1]]),
      (d) => d.clear(),
    );
    expect(cleared.back.size).toBe(0);
  });
});

describe('PersistentDict getOrInsert (Map upsert)', () => {
  it('returns a present value without a change, and stores a missing one as a change', async () => {
    const d = await committed(() => new PersistentDict<string, number>([['a', 1]]));
    let computed = 0;
    expect(d.getOrInsert('a', 9)).toBe(1);
    expect(d.getOrInsertComputed('a', () => ++computed)).toBe(1);
    expect(computed).toBe(0);
    expect(d._p_status).toBe('saved');
    expect(d.getOrInsertComputed('b', (key) => key.length + ++computed)).toBe(2);
    expect(d.getOrInsert('c', 3)).toBe(3);
    expect(d._p_status).toBe('unsaved');
    expect([...d]).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
  });
});

describe('PersistentList', () => {
  it('supports the list methods and round-trips', async () => {
    const { back } = await reloaded(
      () => new PersistentList<number>([1, 2, 3]),
      (l) => {
        l.push(4, 5);
        l.unshift(0);
        l.shift();
        l.pop();
        l.set(0, 10);
        l.set(-1, 40);
        l.splice(1, 1, 20, 21);
      },
    );
    expect(back.toArray()).toEqual([10, 20, 21, 3, 40]);
    expect(back.length).toBe(5);
    expect(back.at(-1)).toBe(40);
    expect(back.get(1)).toBe(20);
    expect(back.indexOf(3)).toBe(3);
    expect(back.includes(21)).toBe(true);
    expect([...back]).toEqual([10, 20, 21, 3, 40]);
  });

  it('marks changes on mutations only', async () => {
    const l = await committed(() => new PersistentList<number>([1, 2]));
    l.at(0);
    l.get(1);
    l.indexOf(2);
    l.includes(1);
    l.toArray();
    expect([...l]).toEqual([1, 2]);
    void l.length;
    l.splice(0, 0);
    expect(l._p_status).toBe('saved');
    l.push(3);
    expect(l._p_status).toBe('unsaved');
  });

  it('refuses set() outside the list with RangeError', () => {
    const l = new PersistentList([1]);
    expect(() => l.set(1, 2)).toThrow(RangeError);
    expect(() => l.set(-2, 2)).toThrow(RangeError);
  });
});

describe('PersistentSet', () => {
  it('behaves as a Set and round-trips', async () => {
    const { back } = await reloaded(
      () => new PersistentSet<string>(['a', 'b']),
      (s) => {
        s.add('c');
        s.delete('a');
      },
    );
    expect([...back]).toEqual(['b', 'c']);
    expect(back.has('b')).toBe(true);
    expect(back.size).toBe(2);
    expect([...back.entries()]).toEqual([
      ['b', 'b'],
      ['c', 'c'],
    ]);
  });

  it('marks changes on add of a new member, delete and clear only', async () => {
    const s = await committed(() => new PersistentSet<number>([1]));
    s.add(1);
    s.has(1);
    s.delete(2);
    expect([...s.values()]).toEqual([1]);
    expect(s._p_status).toBe('saved');
    s.add(2);
    expect(s._p_status).toBe('unsaved');
  });
});
