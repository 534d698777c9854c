import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Serializer } from '../src/serialize.js';
import { Persistent, SerializationError, UnregisteredClassError } from '../src/index.js';
import { metaOf } from '../src/persistent.js';

const noRefs = (): Persistent => {
  throw new Error('no refs expected');
};

function roundTrip(state: Record<string, unknown>): Record<string, unknown> {
  const s = new Serializer();
  expect(s.scan(state, 'Thing 1')).toEqual([]);
  return s.decode(s.encode(state), noRefs);
}

describe('Serializer', () => {
  it('round-trips every supported type', () => {
    const buffer = new Uint8Array([1, 2, 3]).buffer;
    const state = {
      undef: undefined,
      nul: null,
      t: true,
      f: false,
      int: 42,
      neg: -7,
      float: 1.5,
      big: 2 ** 60,
      maxSafe: Number.MAX_SAFE_INTEGER,
      nan: NaN,
      inf: Infinity,
      ninf: -Infinity,
      str: 'héllo 🌍',
      empty: '',
      bigint: 123n,
      hugeBigint: 2n ** 100n,
      negBigint: -(2n ** 80n),
      date: new Date(1_700_000_000_123),
      nested: { a: [1, { b: [2, 3] }], c: {} },
      arr: [1, 'two', null, [3]],
      map: new Map<unknown, unknown>([
        ['k', 1],
        [2, { x: 1 }],
      ]),
      set: new Set([1, 'a']),
      arrayBuffer: buffer,
      u8: new Uint8Array([1, 2]),
      i16: new Int16Array([-1, 2]),
      f32: new Float32Array([1.5]),
      f64: new Float64Array([Math.PI]),
      big64: new BigInt64Array([-3n]),
      u8c: new Uint8ClampedArray([255]),
      dataView: new DataView(new Uint8Array([9, 8, 7]).buffer),
    };
    const back = roundTrip(state);
    expect(back).toEqual(state);
    expect(back.map).toBeInstanceOf(Map);
    expect(back.set).toBeInstanceOf(Set);
    expect(back.date).toBeInstanceOf(Date);
    expect(back.arrayBuffer).toBeInstanceOf(ArrayBuffer);
    expect(back.dataView).toBeInstanceOf(DataView);
    expect(back.i16).toBeInstanceOf(Int16Array);
    expect(back.nested).toEqual({ a: [1, { b: [2, 3] }], c: {} });
    expect(Object.getPrototypeOf(back.nested)).toBe(Object.prototype);
  });

  it('hands out encoded bytes that later encodes do not overwrite', () => {
    const s = new Serializer();
    const first = s.encode({ n: 1, text: 'first' });
    const copy = [...first];
    for (let i = 0; i < 2000; i++) s.encode({ n: i, text: 'x'.repeat(i % 50) });
    expect([...first]).toEqual(copy);
    expect(Object.getPrototypeOf(first)).toBe(Uint8Array.prototype);
  });

  it('never lets decoded byte arrays alias the stored bytes', () => {
    const s = new Serializer();
    const bytes = s.encode({ u8: new Uint8Array([1, 2, 3]) });
    const first = s.decode(bytes, noRefs);
    (first.u8 as Uint8Array)[0] = 99;
    expect((s.decode(bytes, noRefs).u8 as Uint8Array)[0]).toBe(1);
  });

  it('keeps cycles and shared references inside one state', () => {
    const shared = { n: 1 };
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    const back = roundTrip({ a: shared, b: shared, cyclic });
    expect(back.a).toBe(back.b);
    const c = back.cyclic as Record<string, unknown>;
    expect(c.self).toBe(c);
  });

  it('stores -0 as 0 (a documented limit of the encoding)', () => {
    expect(Object.is(roundTrip({ z: -0 }).z, 0)).toBe(true);
  });

  it('round-trips arbitrary JSON-like values (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (state) => {
        // JSON.parse(JSON.stringify(x)) is x with -0 as 0, as shelfdb stores it.
        expect(roundTrip(state)).toEqual(JSON.parse(JSON.stringify(state)));
      }),
      { seed: 20261122, numRuns: 300 },
    );
  });

  it('refuses a function, naming the path', () => {
    const s = new Serializer();
    const err = (() => {
      try {
        s.scan({ project: { owner: { callback: () => 1 } } }, 'Todo 12');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SerializationError);
    expect((err as SerializationError).path).toBe('Todo 12 → .project.owner.callback');
    expect((err as Error).message).toMatch(/function/);
  });

  it('refuses symbols, WeakMaps, RegExps and Promises with SerializationError', () => {
    const s = new Serializer();
    for (const bad of [Symbol('s'), new WeakMap(), /x/, Promise.resolve(1), new WeakSet()]) {
      expect(() => s.scan({ list: [0, { bad }] }, 'new Todo')).toThrow(SerializationError);
      try {
        s.scan({ list: [0, { bad }] }, 'new Todo');
      } catch (e) {
        expect((e as SerializationError).path).toBe('new Todo → .list[1].bad');
        expect(e).not.toBeInstanceOf(UnregisteredClassError);
      }
    }
  });

  it('refuses instances of plain classes with UnregisteredClassError naming the class', () => {
    class Point {
      x = 1;
    }
    const s = new Serializer();
    let caught: unknown;
    try {
      s.scan({ where: new Map([['home', new Point()]]) }, 'Todo 3');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UnregisteredClassError);
    expect((caught as UnregisteredClassError).className).toBe('Point');
    expect((caught as UnregisteredClassError).path).toBe('Todo 3 → .where.get("home")');
    expect((caught as Error).message).toContain('registerClass(Point)');
  });

  it('names keys that are not identifiers with brackets', () => {
    const s = new Serializer();
    expect(() => s.scan({ 'odd key': { f: () => 0 } }, 'X 1')).toThrow(
      expect.objectContaining({ path: 'X 1 → ["odd key"].f' }),
    );
  });

  it('returns referenced persistent objects and encodes them as references', () => {
    class Thing extends Persistent {}
    const a = new Thing();
    const m = metaOf(a);
    m.oid = 7;
    m.className = 'test.Thing';
    const s = new Serializer();
    const state = { one: a, list: [a], map: new Map([['a', a]]) };
    expect(s.scan(state, 'X 1')).toEqual([a, a, a]);
    const resolved: [number, string][] = [];
    const ghost = new Thing();
    const back = s.decode(s.encode(state), (oid, className) => {
      resolved.push([oid, className]);
      return ghost;
    });
    expect(back.one).toBe(ghost);
    expect((back.list as unknown[])[0]).toBe(ghost);
    expect((back.map as Map<string, unknown>).get('a')).toBe(ghost);
    expect(resolved[0]).toEqual([7, 'test.Thing']);
  });
});
