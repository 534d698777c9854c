/**
 * Object states as canonical JSON and back (src/archive/json-value.ts): the form archives hold.
 * A state stored, exported to JSON text and committed back decodes to the same values with the
 * same sharing; the text depends on the content only; a malformed marker is refused by its path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineField } from '../src/archive/json-markers.js';
import { CborEncoder } from '../src/cbor-encode.js';
import { MAX_NESTING } from '../src/serialize.js';
import { CorruptStorageError } from '../src/shared/errors.js';
import {
  canonicalJson,
  decodeState,
  jsonToState,
  jsonToValue,
  sha256,
  stateToJson,
  StoredRef,
  valueToJson,
  type Json,
  type RefMarker,
} from '../src/archive/json-value.js';

/** Encodes as serialize.ts does, a StoredRef standing for a persistent object. */
const encoder = new CborEncoder((value) =>
  value instanceof StoredRef ? [value.oid, value.className] : undefined,
);

/** An archive's naming: even oids are entries (`$ref` by id), odd ones are outside (`$ext`). */
const CLASSES = new Map<number, string>();
function refToJson(ref: StoredRef): Json {
  CLASSES.set(ref.oid, ref.className);
  return ref.oid % 2 === 0 ? { $ref: String(ref.oid) } : { $ext: ref.oid, class: ref.className };
}
function refFromJson(marker: RefMarker): StoredRef {
  if (marker.$ref !== undefined) {
    const oid = Number(marker.$ref);
    return new StoredRef(oid, CLASSES.get(oid) ?? 'app.Unknown');
  }
  return new StoredRef(marker.$ext as number, marker.class as string);
}

/**
 * Fails unless `a` and `b` are the same values with the same sharing: a one-to-one pairing of
 * their objects under which every pair has the same kind and content (keys compared as sets:
 * their order is not content). References compare by oid and class.
 */
function expectSameGraph(a: unknown, b: unknown): void {
  const pairs = new Map<object, object>();
  const back = new Map<object, object>();
  const walk = (x: unknown, y: unknown, path: string): void => {
    const fail = (why: string): never => {
      throw new Error(`${path || '.'}: ${why}`);
    };
    if (typeof x !== 'object' || x === null) {
      if (!Object.is(x, y)) fail(`${String(x)} ≠ ${String(y)}`);
      return;
    }
    if (typeof y !== 'object' || y === null) return void fail('an object became a primitive');
    // A plain object is one whatever its prototype (the encoder writes a null-prototype one so).
    const kind = (o: object): unknown => Object.getPrototypeOf(o) ?? Object.prototype;
    if (kind(x) !== kind(y)) fail('the kinds differ');
    if (x instanceof StoredRef) {
      const r = y as StoredRef;
      if (x.oid !== r.oid || x.className !== r.className) fail('another reference');
      return;
    }
    if (pairs.has(x) || back.has(y)) {
      if (pairs.get(x) !== y) fail('the sharing differs');
      return;
    }
    pairs.set(x, y);
    back.set(y, x);
    if (x instanceof Date) {
      if (!Object.is(x.getTime(), (y as Date).getTime())) fail('another time');
    } else if (x instanceof ArrayBuffer || ArrayBuffer.isView(x)) {
      const items = (v: object): unknown[] =>
        v instanceof ArrayBuffer || v instanceof DataView
          ? [...new Uint8Array(v instanceof DataView ? v.buffer : v)]
          : [...(v as unknown as Iterable<unknown>)];
      const [p, q] = [items(x), items(y)];
      if (p.length !== q.length || p.some((v, i) => !Object.is(v, q[i]))) fail('other elements');
    } else if (x instanceof Map) {
      const [p, q] = [[...x], [...(y as Map<unknown, unknown>)]];
      if (p.length !== q.length) fail('another size');
      p.forEach(([k, v], i) => {
        walk(k, q[i]?.[0], `${path}{key #${i}}`);
        walk(v, q[i]?.[1], `${path}{#${i}}`);
      });
    } else if (x instanceof Set) {
      const [p, q] = [[...x], [...(y as Set<unknown>)]];
      if (p.length !== q.length) fail('another size');
      p.forEach((v, i) => walk(v, q[i], `${path}{#${i}}`));
    } else {
      const [p, q] = [Object.keys(x).sort(), Object.keys(y).sort()];
      if (JSON.stringify(p) !== JSON.stringify(q)) fail(`keys ${p.join()} ≠ ${q.join()}`);
      for (const key of p) {
        const get = (o: object): unknown => (o as Record<string, unknown>)[key];
        walk(get(x), get(y), `${path}[${JSON.stringify(key)}]`);
      }
    }
  };
  walk(a, b, '');
}

/** Every value a state can store (API.md "Serializable values"), as leaves. */
const leaf = fc.oneof(
  fc.constantFrom(
    null,
    undefined,
    true,
    false,
    -0,
    0,
    NaN,
    Infinity,
    -Infinity,
    2 ** 53,
    -(2 ** 32),
  ),
  fc.double(),
  fc.integer(),
  fc.string(),
  fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }),
  fc.date({ noInvalidDate: false }),
  // Often enough: an invalid Date, and −0 where storage keeps it (in the bytes of an array).
  fc.constant(null).map(() => new Date(NaN)),
  fc.double().map((x) => new Float64Array([x, -0])),
  fc.oneof(
    fc.int8Array(),
    fc.uint8Array(),
    fc.uint8ClampedArray(),
    fc.int16Array(),
    fc.uint16Array(),
    fc.int32Array(),
    fc.uint32Array(),
    fc.float32Array(),
    fc.float64Array(),
    fc.bigInt64Array(),
    fc.bigUint64Array(),
  ),
  fc.uint8Array().map((bytes) => bytes.buffer),
  fc.uint8Array().map((bytes) => new DataView(bytes.buffer)),
  // One class per oid, as in a database.
  fc.nat(1000).map((oid) => new StoredRef(oid, oid % 3 === 0 ? 'app.Person' : 'app.Todo')),
);

/** Keys, with the awkward ones often: markers, escapes, `__proto__`, integer-like ones. */
const key = fc.oneof(
  fc.string(),
  fc.constantFrom('$ref', '$same', '$$x', '$', '__proto__', '10', '9', 'a.b', ''),
);

/** Adds a value met before into a container: what makes shared parts and cycles. */
interface Link {
  into: number;
  from: number;
  key: string;
}

/** Every object of `value` (containers and leaves), in walk order. */
function objectsOf(value: unknown, out: object[] = []): object[] {
  if (typeof value !== 'object' || value === null || out.includes(value)) return out;
  if (value instanceof StoredRef) return out;
  out.push(value);
  if (value instanceof Map) for (const [k, v] of value) objectsOf(v, objectsOf(k, out));
  else if (value instanceof Set || Array.isArray(value)) for (const v of value) objectsOf(v, out);
  else if (!(value instanceof Date || value instanceof ArrayBuffer || ArrayBuffer.isView(value))) {
    for (const v of Object.values(value)) objectsOf(v, out);
  }
  return out;
}

/** A copy of the containers of `value` (fast-check reuses generated values while it shrinks). */
function copied(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copied);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [copied(k), copied(v)]));
  if (value instanceof Set) return new Set([...value].map(copied));
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
    return value; // a leaf: never changed by `linked`
  }
  const out = {};
  for (const [k, v] of Object.entries(value)) defineField(out, k, copied(v));
  return out;
}

/** `state` with each link added (a container gets an object from elsewhere, maybe its ancestor). */
function linked(original: Record<string, unknown>, links: Link[]): Record<string, unknown> {
  const state = copied(original) as Record<string, unknown>;
  const objects = objectsOf(state).slice(1); // the state itself is never inside itself
  for (const { into, from, key } of links) {
    const container = objects[into % Math.max(objects.length, 1)];
    const value = objects[from % Math.max(objects.length, 1)];
    if (container === undefined || value === undefined) continue;
    if (Array.isArray(container)) container.push(value);
    else if (container instanceof Map) container.set(key, value);
    else if (container instanceof Set) container.add(value);
    else if (Object.getPrototypeOf(container) === Object.prototype) {
      defineField(container, key, value);
    }
  }
  return state;
}

const states = fc
  .tuple(
    // Few keys per level: a failure shrinks in seconds, where wide states take minutes.
    fc.dictionary(
      key,
      fc.anything({ key, values: [leaf], maxDepth: 3, maxKeys: 4, withMap: true, withSet: true }),
      { maxKeys: 6 },
    ),
    fc.array(fc.record({ into: fc.nat(), from: fc.nat(), key }), { maxLength: 6 }),
  )
  .map(([state, links]) => linked(state, links));

/** The export → text → commit path: stored bytes, JSON text, and the bytes written back. */
function throughJson(state: Record<string, unknown>, pretty: boolean) {
  const first = decodeState(encoder.encode(state));
  const json = stateToJson(first, refToJson);
  const text = canonicalJson(json, { pretty });
  const committed = jsonToState(JSON.parse(text) as { [key: string]: Json }, refFromJson);
  const second = decodeState(encoder.encode(committed));
  return { first, text, second };
}

describe('a state as canonical JSON', () => {
  it('commits back to the same values with the same sharing and cycles, and writes the same text again (property)', () => {
    fc.assert(
      fc.property(states, fc.boolean(), (state, pretty) => {
        const { first, text, second } = throughJson(state, pretty);
        expectSameGraph(first, second);
        expect(canonicalJson(stateToJson(second, refToJson), { pretty })).toBe(text);
      }),
      { seed: 20261215, numRuns: 400 },
    );
  });

  it('gives back −0, shared Dates and shared bytes without storage in between (property)', () => {
    // A state's own field __proto__ is read back as __proto_ by storage, and refused here.
    const withoutProto = states.filter((state) => !Object.hasOwn(state, '__proto__'));
    fc.assert(
      fc.property(withoutProto, (state) => {
        const text = canonicalJson(stateToJson(state, refToJson));
        const back = jsonToState(JSON.parse(text) as { [key: string]: Json }, refFromJson);
        expectSameGraph(state, back);
      }),
      { seed: 20261216, numRuns: 300 },
    );
  });

  it('writes each marker of the design, with keys sorted and escaped', () => {
    const date = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const state: Record<string, unknown> = {
      zeta: [bytes, bytes, date, date],
      missing: undefined,
      numbers: [NaN, Infinity, -Infinity, -0, 1.5],
      big: -(2n ** 70n),
      never: new Date(NaN),
      byKey: new Map<unknown, unknown>([
        [1, 'one'],
        [{ k: 1 }, 'object key'],
      ]),
      tags: new Set(['b', 'a']),
      buffer: new Uint8Array([9, 8]).buffer,
      view: new DataView(new Uint8Array([7]).buffer),
      clamped: new Uint8ClampedArray([300]),
      floats: new Float64Array([1.5, NaN, -0]),
      longs: new BigUint64Array([2n ** 64n - 1n]),
      $dollar: 'escaped',
      owner: new StoredRef(12, 'app.Person'),
      parent: new StoredRef(7, 'app.Folder'),
    };
    const json = stateToJson(state, refToJson);
    expect(Object.keys(json)).toEqual([...Object.keys(json)].sort());
    expect(json).toEqual({
      $$dollar: 'escaped',
      big: { $bigint: '-1180591620717411303424' },
      buffer: { $type: 'ArrayBuffer', base64: 'CQg=' },
      byKey: {
        $map: [
          [1, 'one'],
          [{ k: 1 }, 'object key'],
        ],
      },
      clamped: { $type: 'Uint8ClampedArray', base64: '/w==' },
      floats: { $type: 'Float64Array', values: [1.5, { $number: 'NaN' }, { $number: '-0' }] },
      longs: { $type: 'BigUint64Array', values: ['18446744073709551615'] },
      missing: { $undefined: true },
      never: { $date: null },
      numbers: [
        { $number: 'NaN' },
        { $number: 'Infinity' },
        { $number: '-Infinity' },
        { $number: '-0' },
        1.5,
      ],
      owner: { $ref: '12' },
      parent: { $ext: 7, class: 'app.Folder' },
      tags: { $set: ['b', 'a'] },
      view: { $type: 'DataView', base64: 'Bw==' },
      zeta: [
        { $type: 'Uint8Array', base64: 'AAEC/w==' },
        { $same: '.zeta[0]' },
        { $date: '2026-01-02T03:04:05.000Z' },
        { $same: '.zeta[2]' },
      ],
    });
  });

  it('names shared parts by the first place in sorted key order, whatever order the keys were set in', () => {
    const shared = { n: 1 };
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const json = stateToJson({ b: shared, a: shared, c: cyclic }, refToJson);
    expect(json).toEqual({ a: { n: 1 }, b: { $same: '.a' }, c: { self: { $same: '.c' } } });
    // A hand-written file with its keys in another order reads the same way.
    const back = jsonToState(JSON.parse('{"b": {"$same": ".a"}, "a": {"n": 1}}'), refFromJson);
    expect(back.a).toBe(back.b);
  });

  it('keeps the key __proto__ as an own key both ways, never as a prototype', () => {
    const json = JSON.parse('{"nested": {"__proto__": {"$$ref": 1}}}') as { [key: string]: Json };
    const state = jsonToState(json, refFromJson);
    const nested = state.nested as Record<string, unknown>;
    expect(Object.getPrototypeOf(nested)).toBe(Object.prototype);
    expect(Object.keys(nested)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(nested, '__proto__')?.value).toEqual({ $ref: 1 });
    expect(canonicalJson(stateToJson(state, refToJson))).toBe(
      '{"nested":{"__proto__":{"$$ref":1}}}',
    );
  });

  it('reads every ISO 8601 form a Date can be written in, to the millisecond', () => {
    const dates = jsonToState(
      {
        z: { $date: '2026-01-02T03:04:05.006Z' },
        offset: { $date: '2026-01-02T05:04:05.006+02:00' },
        day: { $date: '2026-01-02' },
        minutes: { $date: '2026-01-02T03:04Z' },
        leap: { $date: '2024-02-29T00:00:00Z' },
        last: { $date: '+275760-09-13T00:00:00.000Z' },
        first: { $date: '-271821-04-20T00:00:00.000Z' },
        invalid: { $date: null },
      },
      refFromJson,
    );
    const times = Object.fromEntries(
      Object.entries(dates).map(([k, d]) => [k, (d as Date).getTime()]),
    );
    expect(times).toEqual({
      z: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
      offset: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
      day: Date.UTC(2026, 0, 2),
      minutes: Date.UTC(2026, 0, 2, 3, 4),
      leap: Date.UTC(2024, 1, 29),
      last: 8.64e15,
      first: -8.64e15,
      invalid: NaN,
    });
  });

  it('hands each reference marker to the caller with its path', () => {
    const seen: [RefMarker, string][] = [];
    const state = jsonToState(
      { owner: { $ref: 'a-1' }, list: [{ $ext: 9, class: 'app.Tag' }] },
      (marker, path) => {
        seen.push([marker, path]);
        return path;
      },
    );
    expect(seen).toEqual([
      [{ $ext: 9, class: 'app.Tag' }, '.list[0]'],
      [{ $ref: 'a-1' }, '.owner'],
    ]);
    expect(state).toEqual({ list: ['.list[0]'], owner: '.owner' });
  });

  it('shows states as stored in the display form: stored key order, repeated Dates, −0 as 0', () => {
    const date = new Date(0);
    const options = { sorted: false, exact: false };
    const floats = new Float64Array([-0]);
    const shown = stateToJson(
      { b: date, a: date, z: -0, f: floats, g: floats },
      refToJson,
      options,
    );
    expect(shown).toEqual({
      b: { $date: '1970-01-01T00:00:00.000Z' },
      a: { $date: '1970-01-01T00:00:00.000Z' },
      z: -0,
      f: { $type: 'Float64Array', values: [-0] },
      g: { $type: 'Float64Array', values: [-0] },
    });
    expect(Object.keys(stateToJson({ b: 1, a: 2 }, refToJson, options))).toEqual(['b', 'a']);
  });

  it('refuses to write what no decoded state holds', () => {
    expect(() => valueToJson({ f: () => 1 }, refToJson)).toThrow(/function.*\.f/);
    expect(() => valueToJson([new (class Todo {})()], refToJson)).toThrow(/Todo.*\[0\]/);
  });

  it('refuses bytes that are not a state with CorruptStorageError', () => {
    expect(() => decodeState(new Uint8Array([0xbf, 0x61]))).toThrow(CorruptStorageError);
  });
});

describe('a malformed marker', () => {
  const refuse = (json: Json): CorruptStorageError => {
    try {
      jsonToState(json as { [key: string]: Json }, refFromJson, { where: 'objects/12.json' });
    } catch (error) {
      expect(error).toBeInstanceOf(CorruptStorageError);
      return error as CorruptStorageError;
    }
    throw new Error(`accepted ${JSON.stringify(json)}`);
  };
  const cases: [string, Json, string, RegExp][] = [
    ['an unknown $ key', { a: { $foo: 1 } }, '.a', /"\$foo" is no marker.*"\$\$x"/],
    ['two markers in one object', { a: { $date: null, $bigint: '1' } }, '.a', /are not one marker/],
    ['a marker with another key', { a: { $date: null, x: 1 } }, '.a', /has no other key.*"x"/],
    [
      'a $date that is not a date',
      { tags: [1, 2, { $date: 'yesterday' }] },
      '.tags[2]',
      /ISO 8601/,
    ],
    ['a $date without a time zone', { d: { $date: '2026-01-02T03:04:05' } }, '.d', /time zone/],
    ['a $date that is a number', { d: { $date: 0 } }, '.d', /found 0/],
    ['a $date on a day the month lacks', { d: { $date: '2026-02-30T00:00:00Z' } }, '.d', /ISO/],
    ['a $date at hour 24', { d: { $date: '2026-01-01T24:00:00Z' } }, '.d', /ISO/],
    ['a $date finer than milliseconds', { d: { $date: '2026-01-01T00:00:00.1234Z' } }, '.d', /ISO/],
    ['a state field __proto__', JSON.parse('{"__proto__": 1}') as Json, '.__proto__', /rename/],
    ['a $bigint that is not an integer', { n: { $bigint: '1.5' } }, '.n', /decimal integer/],
    ['a $bigint that is a number', { n: { $bigint: 15 } }, '.n', /decimal integer/],
    ['a $number JSON holds', { n: { $number: '1' } }, '.n', /"NaN", "Infinity"/],
    ['a $undefined that is not true', { u: { $undefined: false } }, '.u', /must be true/],
    ['bad base64', { b: { $type: 'Uint8Array', base64: 'AAE' } }, '.b', /base64/],
    [
      'base64 with a stray character',
      { b: { $type: 'ArrayBuffer', base64: 'A*==' } },
      '.b',
      /base64/,
    ],
    ['an unknown $type', { b: { $type: 'Float16Array', values: [1] } }, '.b', /must be one of/],
    [
      'bytes given as values',
      { b: { $type: 'Uint8Array', values: [1] } },
      '.b',
      /"base64" beside it.*"values"/,
    ],
    [
      'an element out of range',
      { v: { $type: 'Int8Array', values: [1, 300] } },
      '.v[1]',
      /-128 to 127/,
    ],
    [
      'a fraction in an integer array',
      { v: { $type: 'Uint32Array', values: [0.5] } },
      '.v[0]',
      /integer/,
    ],
    [
      'a bigint element as a number',
      { v: { $type: 'BigInt64Array', values: [5] } },
      '.v[0]',
      /string/,
    ],
    [
      'a bigint element out of range',
      { v: { $type: 'BigUint64Array', values: ['-1'] } },
      '.v[0]',
      /from 0/,
    ],
    [
      'a float element that is text',
      { v: { $type: 'Float64Array', values: ['x'] } },
      '.v[0]',
      /number/,
    ],
    ['a $same to a later place', { a: { $same: '.b' }, b: [] }, '.a', /met before/],
    ['a $same to no place', { a: [{ $same: '.nowhere' }] }, '.a[0]', /met before/],
    ['a $same to a number', { a: 1, b: { $same: '.a' } }, '.b', /met before/],
    ['a $map that is not pairs', { m: { $map: [[1]] } }, '.m{#0}', /\[key, value\] pair/],
    ['a $map that is an object', { m: { $map: {} } }, '.m', /array of \[key, value\]/],
    [
      'a $map with a key twice',
      {
        m: {
          $map: [
            [1, 'a'],
            [1, 'b'],
          ],
        },
      },
      '.m{key #1}',
      /has this key/,
    ],
    ['a $set with an item twice', { s: { $set: ['x', 'x'] } }, '.s{#1}', /has this item/],
    ['a $ref that is an oid', { r: { $ref: 12 } }, '.r', /id of an archive entry/],
    ['a $ext that is no oid', { r: { $ext: -1, class: 'app.A' } }, '.r', /integer ≥ 0/],
    ['a $ext without its class', { r: { $ext: 3 } }, '.r', /needs "class"/],
    ['a state that is not an object', [1] as Json, '.', /JSON object of its fields/],
  ];
  for (const [what, json, path, problem] of cases) {
    it(`is refused naming the entry and the path: ${what}`, () => {
      const error = refuse(json);
      expect(error.message).toContain(`objects/12.json → ${path}:`);
      expect(error.message).toMatch(problem);
    });
  }

  it('is refused when containers nest deeper than a state may be read back, and accepted at the limit', () => {
    const nested = (depth: number): Json => (depth === 0 ? 1 : [nested(depth - 1)]);
    const deepest = jsonToState({ a: nested(MAX_NESTING) }, refFromJson);
    expect(decodeState(encoder.encode(deepest))).toEqual(deepest);
    expect(refuse({ a: nested(MAX_NESTING + 1) }).message).toMatch(/more than 256 levels/);
    expect(() => jsonToValue(nested(MAX_NESTING + 1), refFromJson)).toThrow(CorruptStorageError);
  });
});

describe('canonicalJson', () => {
  /** `value` rebuilt with every object's keys set in reverse order. */
  const reversed = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(reversed);
    if (value === null || typeof value !== 'object') return value;
    const out: { [key: string]: Json } = {};
    for (const k of Object.keys(value).reverse()) {
      Object.defineProperty(out, k, { value: reversed(value[k] as Json), enumerable: true });
    }
    return out;
  };

  it('is the same text whatever order the keys were set in, and parses back to the value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, pretty) => {
        const text = canonicalJson(value as Json, { pretty });
        expect(canonicalJson(reversed(value as Json), { pretty })).toBe(text);
        // What JSON.stringify would give (−0 is 0 in JSON text: a state's −0 is a $number marker).
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(JSON.parse(text) as Json, { pretty })).toBe(text);
      }),
      { seed: 20261217, numRuns: 300 },
    );
  });

  it('sorts keys by UTF-16 code units at every level, integer-like ones too', () => {
    const value = JSON.parse('{"b": {"z": 1, "y": [{"d": 0, "c": 0}]}, "9": 1, "10": 2, "a": []}');
    expect(canonicalJson(value)).toBe('{"10":2,"9":1,"a":[],"b":{"y":[{"c":0,"d":0}],"z":1}}');
    expect(canonicalJson(value, { pretty: true })).toBe(
      '{\n  "10": 2,\n  "9": 1,\n  "a": [],\n  "b": {\n    "y": [\n      {\n        "c": 0,\n        "d": 0\n      }\n    ],\n    "z": 1\n  }\n}\n',
    );
  });

  it('refuses what is not JSON instead of writing null or dropping it', () => {
    expect(() => canonicalJson({ a: [NaN] })).toThrow(/NaN at \.a\[0\]/);
    expect(() => canonicalJson({ a: undefined } as unknown as Json)).toThrow(/undefined at \.a/);
    expect(() => canonicalJson({ d: new Date(0) } as unknown as Json)).toThrow(/\.d/);
  });
});

describe('bytes as base64', () => {
  it('is standard padded base64, as btoa writes it, at every length around a chunk boundary', () => {
    for (const length of [0, 1, 2, 3, 4, 3071, 3072, 3073, 3074, 10_000]) {
      const bytes = new Uint8Array(length).map((_, i) => (i * 167 + 13) & 255);
      const base64 = btoa(String.fromCharCode(...bytes));
      expect(valueToJson(bytes, refToJson)).toEqual({ $type: 'Uint8Array', base64 });
      expect(jsonToValue({ $type: 'Uint8Array', base64 }, refFromJson)).toEqual(bytes);
    }
  });
});

describe('sha256', () => {
  it('gives the known digest of "abc" and of nothing, as text or bytes', async () => {
    const abc = 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(await sha256('abc')).toBe(abc);
    expect(await sha256(new Uint8Array([0x61, 0x62, 0x63]))).toBe(abc);
    expect(await sha256('')).toBe(
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('hashes the UTF-8 of a string', async () => {
    expect(await sha256('é€')).toBe(await sha256(new TextEncoder().encode('é€')));
  });

  it('gives the known digest of a message two blocks long and of a million bytes', async () => {
    expect(await sha256('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      'sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    expect(await sha256('a'.repeat(1_000_000))).toBe(
      'sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });

  it('agrees with crypto.subtle at every length around the block and size boundaries (property)', async () => {
    const lengths = fc.oneof(fc.nat(300), fc.integer({ min: 4000, max: 4200 }));
    await fc.assert(
      fc.asyncProperty(lengths, fc.nat(255), async (length, seed) => {
        const bytes = new Uint8Array(length).map((_, i) => (i * 131 + seed) & 255);
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
        const hex = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
        expect(await sha256(bytes)).toBe(`sha256:${hex}`);
      }),
      { seed: 20261218, numRuns: 400 },
    );
  });
});
