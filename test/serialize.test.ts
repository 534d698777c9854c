import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Serializer } from '../src/serialize.js';
import {
  CorruptStorageError,
  Database,
  MemoryStorage,
  Persistent,
  SerializationError,
  UnregisteredClassError,
} from '../src/index.js';
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
    expect((caught as UnregisteredClassError).path).toBe('Todo 3 → .where{"home"}');
    expect((caught as Error).message).toContain('registerClass(Point)');
    expect((caught as Error).message).toContain("static _p_name = 'app.Point'");
  });

  it('names keys that are not identifiers with brackets', () => {
    const s = new Serializer();
    expect(() => s.scan({ 'odd key': { f: () => 0 } }, 'X 1')).toThrow(
      expect.objectContaining({ path: 'X 1 → ["odd key"].f' }),
    );
  });

  it('keeps a cycle through a Map or a Set', () => {
    const map = new Map<string, unknown>();
    map.set('me', map);
    const set = new Set<unknown>();
    set.add(set);
    const back = roundTrip({ map, set }) as { map: Map<string, unknown>; set: Set<unknown> };
    expect(back.map.get('me')).toBe(back.map);
    expect([...back.set][0]).toBe(back.set);
  });

  it('keeps shared objects inside an object of more than 65535 keys', () => {
    const shared = { n: 1 };
    const big: Record<string, unknown> = { first: shared };
    for (let i = 0; i < 70_000; i++) big[`k${i}`] = i;
    big.last = shared;
    const back = roundTrip({ before: shared, big }) as Record<string, Record<string, unknown>>;
    expect(back.big?.first).toBe(back.before);
    expect(back.big?.last).toBe(back.before);
  });

  it('keeps the identity of more than 65536 shared objects', () => {
    const items = Array.from({ length: 70_000 }, (_, n) => ({ n }));
    const back = roundTrip({ items, again: [...items] }) as Record<string, object[]>;
    expect(back.again?.every((o, i) => o === back.items?.[i])).toBe(true);
  });

  it('raises CorruptStorageError for a truncated or damaged state', () => {
    const s = new Serializer();
    const bytes = s.encode({
      list: [1, 'two', { three: 3n ** 50n }],
      m: new Map([[1, new Set([2])]]),
    });
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(() => s.decode(bytes.subarray(0, cut), noRefs)).toThrow(CorruptStorageError);
    }
    const damaged = [
      '83010203', // an array, not an object
      'b9000000', // a byte after the state
      'b900016161d81d00', // a reference to a shared object before any
      'b900016161d84d43010203', // an Int16Array of 3 bytes
    ];
    for (const hex of damaged) {
      const b = new Uint8Array(hex.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
      expect(() => s.decode(b, noRefs)).toThrow(CorruptStorageError);
    }
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

/** The `.path` of the SerializationError that `fn` throws. */
function pathOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SerializationError);
    return (e as SerializationError).path;
  }
  throw new Error('expected a SerializationError');
}

describe('Serializer: the path of a refused value goes all the way down through plain data', () => {
  const bad = (): number => 1;

  it('names nested plain objects and arrays: Bag 12 → .slot.inner, Todo 3 → .tags[2]', () => {
    const s = new Serializer();
    expect(pathOf(() => s.scan({ slot: { inner: bad } }, 'Bag 12'))).toBe('Bag 12 → .slot.inner');
    expect(pathOf(() => s.scan({ tags: ['a', 'b', bad] }, 'Todo 3'))).toBe('Todo 3 → .tags[2]');
    expect(pathOf(() => s.scan({ grid: [[0], [1, [bad]]] }, 'G 1'))).toBe('G 1 → .grid[1][1][0]');
  });

  it('names a Map value by its key in braces: Doc 5 → .byName{"x"}', () => {
    const s = new Serializer();
    const byName = new Map<unknown, unknown>([
      ['w', 1],
      ['x', { f: bad }],
    ]);
    expect(pathOf(() => s.scan({ byName }, 'Doc 5'))).toBe('Doc 5 → .byName{"x"}.f');
    expect(pathOf(() => s.scan({ m: new Map([[3, bad]]) }, 'D 1'))).toBe('D 1 → .m{3}');
    expect(pathOf(() => s.scan({ m: new Map([[12n, bad]]) }, 'D 1'))).toBe('D 1 → .m{12n}');
    expect(pathOf(() => s.scan({ m: new Map([[{ k: 1 }, bad]]) }, 'D 1'))).toBe('D 1 → .m{#0}');
  });

  it('names a refused Map key by its entry number, and a Set item by its number', () => {
    const s = new Serializer();
    const keyed = new Map<unknown, unknown>([
      ['ok', 1],
      [{ f: bad }, 2],
    ]);
    expect(pathOf(() => s.scan({ m: keyed }, 'D 1'))).toBe('D 1 → .m{key #1}.f');
    expect(pathOf(() => s.scan({ s: new Set([1, 2, [bad]]) }, 'S 1'))).toBe('S 1 → .s{#2}[0]');
  });

  it('names the path through cycles and shared objects by the first way in', () => {
    const s = new Serializer();
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    loop.list = [loop, { f: bad }];
    expect(pathOf(() => s.scan({ a: loop }, 'C 1'))).toBe('C 1 → .a.list[1].f');
    const shared = { f: bad };
    expect(pathOf(() => s.scan({ first: [shared], second: shared }, 'C 1'))).toBe(
      'C 1 → .first[0].f',
    );
  });

  it('names the path of a refused value at any depth (property)', () => {
    type Step =
      | { kind: 'key'; key: string }
      | { kind: 'index'; index: number }
      | { kind: 'map'; key: string }
      | { kind: 'set'; index: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('key' as const), key: fc.stringMatching(/^[a-z][a-z0-9]*$/) }),
      fc.record({ kind: fc.constant('index' as const), index: fc.nat(3) }),
      fc.record({ kind: fc.constant('map' as const), key: fc.string({ maxLength: 4 }) }),
      fc.record({ kind: fc.constant('set' as const), index: fc.nat(3) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 6 }), (steps) => {
        // Build from the leaf up; plain numbers fill the places before the way down.
        let value: unknown = bad;
        for (const st of [...steps].reverse()) {
          if (st.kind === 'key') value = { [st.key]: value };
          else if (st.kind === 'index') value = [...Array<number>(st.index).fill(0), value];
          else if (st.kind === 'map') value = new Map([[st.key, value]]);
          else value = new Set([...Array.from({ length: st.index }, (_, i) => i), value]);
        }
        const expected = steps
          .map((st) =>
            st.kind === 'key'
              ? `.${st.key}`
              : st.kind === 'index'
                ? `[${st.index}]`
                : st.kind === 'map'
                  ? `{${JSON.stringify(st.key)}}`
                  : `{#${st.index}}`,
          )
          .join('');
        expect(pathOf(() => new Serializer().scan({ root: value }, 'P 1'))).toBe(
          `P 1 → .root${expected}`,
        );
      }),
      { seed: 20260711, numRuns: 300 },
    );
  });
});

describe('commit: the path of an unregistered persistent class goes all the way down', () => {
  class Unlisted extends Persistent {}
  class Bag extends Persistent {
    static _p_name = 'Bag';
    slot: unknown = null;
  }

  async function commitError(slot: unknown): Promise<UnregisteredClassError> {
    const db = new Database(new MemoryStorage(), { classes: [Bag] });
    const conn = db.open();
    const root = await conn.root();
    const bag = new Bag();
    root.set('bag', bag);
    await conn.commit();
    bag.slot = slot;
    const error = await conn.commit().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnregisteredClassError);
    await db.close();
    return error as UnregisteredClassError;
  }

  it('names Bag 1 → .slot.inner, .slot[2] and .slot{"x"} for a new object of an unregistered class', async () => {
    expect((await commitError({ inner: new Unlisted() })).path).toBe('Bag 1 → .slot.inner');
    expect((await commitError([0, 1, new Unlisted()])).path).toBe('Bag 1 → .slot[2]');
    expect((await commitError(new Map([['x', new Unlisted()]]))).path).toBe('Bag 1 → .slot{"x"}');
  });
});
