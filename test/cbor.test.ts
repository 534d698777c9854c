/**
 * shelfdb's CBOR codec against cbor-x 1.6 configured as shelfdb used it before 0.2: the new
 * encoder writes the same bytes, the new decoder reads what cbor-x wrote (in a browser or in
 * Node), cbor-x reads what the new encoder writes; and damaged bytes end in CorruptStorageError.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addExtension, Encoder } from 'cbor-x';
import { CborEncoder } from '../src/cbor-encode.js';
import { CborDecoder } from '../src/cbor-decode.js';
import { CorruptStorageError } from '../src/shared/errors.js';

/** Stands for a persistent object: the codec stores it as a reference. */
class Ref {
  constructor(
    readonly oid: number,
    readonly className: string,
  ) {}
}
/** One Ref per oid, as a connection has one object per oid. */
const REFS = Array.from({ length: 4 }, (_, i) => new Ref(i * 1000 + 7, `app.Thing${i}`));
const resolve = (oid: number, className: string): Ref => {
  const ref = REFS.find((r) => r.oid === oid);
  // An oid of no Ref (only in damaged bytes) gets a new one, as a connection makes a ghost.
  return ref !== undefined && ref.className === className ? ref : new Ref(oid, className);
};
const refOf = (value: object): readonly [number, string] | undefined =>
  value instanceof Ref ? [value.oid, value.className] : undefined;

/** cbor-x with the three extensions serialize.ts installed before 0.2. */
function cborX(node: boolean): Encoder {
  addExtension({
    Class: Ref,
    tag: 40401,
    encode: (ref: Ref, encode: (v: unknown) => Uint8Array) => encode([ref.oid, ref.className]),
    decode: (data: unknown) => resolve(...(data as [number, string])),
  });
  addExtension({
    Class: ArrayBuffer,
    tag: 40402,
    encode: (b: ArrayBuffer, encode: (v: unknown) => Uint8Array) => encode(new Uint8Array(b)),
    decode: (u8: unknown) => {
      const b = u8 as Uint8Array;
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    },
  });
  addExtension({
    Class: DataView,
    tag: 40403,
    encode: (v: DataView, encode: (v: unknown) => Uint8Array) =>
      encode(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)),
    decode: (u8: unknown) => {
      const b = u8 as Uint8Array;
      return new DataView(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    },
  });
  // In a browser cbor-x writes a Uint8Array as a plain byte string; in Node under tag 64.
  return new Encoder({
    structuredClone: true,
    useRecords: false,
    mapsAsObjects: true,
    ...(node ? {} : { tagUint8Array: false }),
  });
}
const browserCborX = cborX(false);
const nodeCborX = cborX(true);
const cborXEncode = (x: Encoder, v: unknown): Uint8Array => new Uint8Array(x.encode(v));
const cborXDecode = (bytes: Uint8Array): unknown => browserCborX.decode(new Uint8Array(bytes));

const encoder = new CborEncoder(refOf);
const decoder = new CborDecoder();
const decode = (bytes: Uint8Array): unknown => decoder.decode(bytes, resolve);

// ---- values of every supported kind, nested, with shared references and cycles ----

type Container = Record<string, unknown> | unknown[] | Map<unknown, unknown> | Set<unknown>;

const key = fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__');
const number = fc.oneof(
  fc.integer({ min: -30, max: 30 }),
  fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
  fc.double(), // NaN, ±Infinity, −0 included
  fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, 2 ** 53),
);
const text = fc.oneof(
  fc.string({ maxLength: 30, unit: 'grapheme' }),
  fc.string({ minLength: 60, maxLength: 300, unit: 'grapheme' }),
);
const bytes = fc.uint8Array({ maxLength: 40 });
const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(undefined, null, true, false),
  number,
  text,
  fc.bigInt({ min: -(2n ** 100n), max: 2n ** 100n }),
  fc.bigInt({ min: -(2n ** 64n) - 2n, max: 2n ** 64n + 2n }),
  fc.date({ min: new Date(-1e15), max: new Date(1e15), noInvalidDate: false }),
  bytes.map((b) => b.buffer),
  bytes.map((b) => new DataView(b.buffer)),
  bytes,
  bytes.map((b) => new Uint8ClampedArray(b)),
  fc.array(fc.integer({ min: -32768, max: 32767 })).map((a) => new Int16Array(a)),
  fc.array(fc.integer({ min: 0, max: 65535 })).map((a) => new Uint16Array(a)),
  fc.array(fc.integer()).map((a) => new Int32Array(a)),
  fc.array(fc.nat()).map((a) => new Uint32Array(a)),
  fc.array(fc.integer({ min: -128, max: 127 })).map((a) => new Int8Array(a)),
  fc.array(fc.float()).map((a) => new Float32Array(a)),
  fc.array(fc.double()).map((a) => new Float64Array(a)),
  fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map((a) => new BigInt64Array(a)),
  fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map((a) => new BigUint64Array(a)),
  fc.constantFrom(...REFS),
);
const tree = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((e) => new Map(e)),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => new Set(items)),
  ),
})).value;

/** A plain object: fast-check makes some with a null prototype; they read back as `{}`. */
const isPlain = (v: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

function containersOf(root: unknown): Container[] {
  const found: Container[] = [];
  const seen = new Set<unknown>();
  const visit = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) v.forEach(visit);
    else if (v instanceof Map) v.forEach((val, k) => (visit(k), visit(val)));
    else if (v instanceof Set) v.forEach(visit);
    else if (isPlain(v)) Object.values(v).forEach(visit);
    else return;
    found.push(v as Container);
  };
  visit(root);
  return found;
}

function objectsOf(root: unknown): object[] {
  const found = new Set<object>();
  const visit = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || found.has(v)) return;
    found.add(v);
    if (Array.isArray(v)) v.forEach(visit);
    else if (v instanceof Map) v.forEach((val, k) => (visit(k), visit(val)));
    else if (v instanceof Set) v.forEach(visit);
    else if (isPlain(v)) Object.values(v).forEach(visit);
  };
  visit(root);
  return [...found];
}

/**
 * A state: a plain object over generated trees, with extra edges from containers to objects
 * already in it (shared references, and cycles when the target holds the container).
 * `mapSetTargets`: whether a Map or Set may be an edge's target. cbor-x cannot read a cycle back
 * to a Map or Set (its decoder fills a placeholder object instead), so it is off where cbor-x
 * decodes.
 */
function state(mapSetTargets: boolean): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(
      fc.dictionary(key, tree, { maxKeys: 6 }),
      fc.array(fc.tuple(fc.nat(), fc.nat(), key), { maxLength: 6 }),
    )
    .map(([root, edges]) => {
      for (const [from, to, name] of edges) {
        const containers = containersOf(root);
        const targets = objectsOf(root).filter(
          (o) => mapSetTargets || !(o instanceof Map || o instanceof Set),
        );
        const c = containers[from % containers.length] as Container;
        const t = targets[to % targets.length];
        if (Array.isArray(c)) c.push(t);
        else if (c instanceof Map) c.set(name, t);
        else if (c instanceof Set) c.add(t);
        else c[name] = t;
      }
      return root;
    });
}

/**
 * Whether `actual` is `expected` as stored: the same shape, with the same sharing (one object of
 * `expected` is always the same one of `actual`, and the other way round), −0 as 0, lone
 * surrogates as U+FFFD, and persistent references to the same object.
 */
function sameValue(expected: unknown, actual: unknown): boolean {
  const there = new Map<object, object>();
  const back = new Map<object, object>();
  const same = (e: unknown, a: unknown): boolean => {
    if (typeof e === 'number')
      return typeof a === 'number' && (Object.is(e, a) || (e === 0 && a === 0));
    if (typeof e === 'string') {
      return a === (e as unknown as { toWellFormed(): string }).toWellFormed();
    }
    if (typeof e !== 'object' || e === null || e instanceof Ref) return e === a;
    if (typeof a !== 'object' || a === null) return false;
    if (there.has(e) || back.has(a)) return there.get(e) === a && back.get(a) === e;
    there.set(e, a);
    back.set(a, e);
    const proto: unknown = Object.getPrototypeOf(e);
    if ((proto === null ? Object.prototype : proto) !== Object.getPrototypeOf(a)) return false;
    if (e instanceof Date)
      return (
        (a as Date).getTime() === Math.round((e.getTime() / 1000) * 1000) ||
        (Number.isNaN(e.getTime()) && Number.isNaN((a as Date).getTime()))
      );
    if (e instanceof ArrayBuffer)
      return sameBytes(new Uint8Array(e), new Uint8Array(a as ArrayBuffer));
    if (ArrayBuffer.isView(e)) {
      const v = a as ArrayBufferView;
      return sameBytes(
        new Uint8Array(e.buffer, e.byteOffset, e.byteLength),
        new Uint8Array(v.buffer, v.byteOffset, v.byteLength),
      );
    }
    if (Array.isArray(e)) {
      const arr = a as unknown[];
      return e.length === arr.length && e.every((x, i) => same(x, arr[i]));
    }
    if (e instanceof Set || e instanceof Map) {
      // Items in iteration order: both codecs keep it.
      const xs = [...(e as Map<unknown, unknown>).entries()];
      const ys = [...(a as Map<unknown, unknown>).entries()];
      return (
        xs.length === ys.length &&
        xs.every(([k, v], i) => same(k, ys[i]?.[0]) && same(v, ys[i]?.[1]))
      );
    }
    const ek = Object.keys(e);
    const ak = Object.keys(a);
    return (
      ek.length === ak.length &&
      ek.every(
        (k, i) =>
          ak[i] === k && same((e as Record<string, unknown>)[k], (a as Record<string, unknown>)[k]),
      )
    );
  };
  return same(expected, actual);
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  return x.length === y.length && x.every((b, i) => b === y[i]);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s/g, ''), 'hex'));

function corruptError(fn: () => unknown): CorruptStorageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CorruptStorageError);
    return e as CorruptStorageError;
  }
  throw new Error('expected a CorruptStorageError');
}

describe('the CBOR codec against cbor-x (differential)', () => {
  it('writes byte for byte what cbor-x wrote in a browser (property)', () => {
    fc.assert(
      fc.property(state(true), (s) => {
        expect(hex(encoder.encode(s))).toBe(hex(cborXEncode(browserCborX, s)));
      }),
      { seed: 20261201, numRuns: 400 },
    );
  });

  it('reads back what it writes, with sharing and cycles (property)', () => {
    fc.assert(
      fc.property(state(true), (s) => {
        expect(sameValue(s, decode(encoder.encode(s)))).toBe(true);
      }),
      { seed: 20261202, numRuns: 400 },
    );
  });

  it('reads what cbor-x wrote in a browser and in Node (property)', () => {
    fc.assert(
      fc.property(state(true), (s) => {
        expect(sameValue(s, decode(cborXEncode(browserCborX, s)))).toBe(true);
        expect(sameValue(s, decode(cborXEncode(nodeCborX, s)))).toBe(true);
      }),
      { seed: 20261203, numRuns: 400 },
    );
  });

  it('writes what cbor-x reads back as the same value (property)', () => {
    fc.assert(
      fc.property(state(false), (s) => {
        expect(sameValue(s, cborXDecode(encoder.encode(s)))).toBe(true);
      }),
      { seed: 20261204, numRuns: 400 },
    );
  });

  it('writes a lone surrogate as U+FFFD, which both decoders read (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (s) => {
        const bytes = encoder.encode({ s });
        const wellFormed = (s as unknown as { toWellFormed(): string }).toWellFormed();
        expect(decode(bytes)).toEqual({ s: wellFormed });
        expect(cborXDecode(bytes)).toEqual({ s: wellFormed });
      }),
      { seed: 20261205, numRuns: 300 },
    );
  });

  it('keeps a cycle through a Map or a Set, which cbor-x read back broken', () => {
    const map = new Map<string, unknown>();
    map.set('me', map);
    const set = new Set<unknown>();
    set.add(set);
    const back = decode(encoder.encode({ map, set })) as {
      map: Map<string, unknown>;
      set: Set<unknown>;
    };
    expect(back.map.get('me')).toBe(back.map);
    expect([...back.set][0]).toBe(back.set);
    // The bytes are cbor-x's, so a database cbor-x wrote gets its cycles back too.
    expect(hex(encoder.encode({ map, set }))).toBe(hex(cborXEncode(browserCborX, { map, set })));
  });

  it('reads a nested key __proto__ as an own key, without touching a prototype', () => {
    const s = JSON.parse('{"a":{"__proto__":{"polluted":1}}}') as Record<string, unknown>;
    const back = decode(encoder.encode(s)) as { a: Record<string, unknown> };
    expect(Object.getPrototypeOf(back.a)).toBe(Object.prototype);
    expect(Object.keys(back.a)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(back.a, '__proto__')?.value).toEqual({ polluted: 1 });
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
  });

  it("reads a field __proto__ of the state itself as __proto_, as cbor-x did (the state's fields are assigned to the object)", () => {
    const state = JSON.parse('{"__proto__":{"polluted":1},"x":1}') as Record<string, unknown>;
    const back = decode(encoder.encode(state));
    expect(back).toEqual({ __proto_: { polluted: 1 }, x: 1 });
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('keeps shared references inside an object of more than 65535 keys', () => {
    const shared = { n: 1 };
    const big: Record<string, unknown> = { first: shared };
    for (let i = 0; i < 70_000; i++) big[`k${i}`] = i;
    big.last = shared;
    const back = decode(encoder.encode({ before: shared, big })) as Record<
      string,
      Record<string, unknown>
    >;
    expect(Object.keys(back.big as object)).toHaveLength(70_002);
    expect(back.big?.first).toBe(back.before);
    expect(back.big?.last).toBe(back.before);
  });

  it('numbers more than 65536 shared objects with 32-bit ids, where cbor-x wrapped around', () => {
    const items = Array.from({ length: 70_000 }, (_, n) => ({ n }));
    const back = decode(encoder.encode({ items, again: [...items] })) as Record<string, object[]>;
    expect(back.again).toHaveLength(70_000);
    back.again?.forEach((o, i) => expect(o).toBe(back.items?.[i]));
  });
});

describe('the key caches of the encoder and decoder', () => {
  // Keys over a few characters, ASCII and not, where the UTF-8 bytes of some keys equal the char
  // codes of others ('\u00c3\u00a9' is the UTF-8 of '\u00e9' read as Latin-1): many share their
  // length, prefix and the bytes a cache may hash, so entries collide and are replaced all the time.
  const cacheKey = fc.string({
    unit: fc.constantFrom('a', 'b', '\u00c3', '\u00a9', '\u00e9', '\u0100', '\u{1f600}'),
    maxLength: 14,
  });
  const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes);
  // One encoder and decoder for every run, so each run meets the caches the earlier runs left;
  // a decoder with the usual cache and one whose cache has one entry, which every key collides on.
  const warmEncoder = new CborEncoder(refOf);
  const warmDecoders = [new CborDecoder(), new CborDecoder(0)];

  it('writes every key as cbor-x did and reads it back, however the cached keys collide (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(cacheKey, { maxLength: 12 }), (some) => {
        // Each key after its UTF-8 bytes read as Latin-1: the bytes of the key are the char codes
        // of the one before it.
        const keys = [...new Set(some.flatMap((k) => [latin1(new TextEncoder().encode(k)), k]))];
        const state = Object.fromEntries(keys.map((k, i) => [k, { [k]: i }]));
        const bytes = warmEncoder.encode(state);
        expect(hex(bytes)).toBe(hex(cborXEncode(browserCborX, state)));
        for (const warmDecoder of warmDecoders) {
          const read = warmDecoder.decode(bytes, resolve);
          expect(Object.keys(read)).toEqual(keys);
          expect(read).toEqual(state);
        }
      }),
      { seed: 20261206, numRuns: 1000 },
    );
  });
});

describe('the CBOR format (golden bytes)', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['an empty state', {}, 'b9 0000'],
    [
      'small numbers, a float, NaN, −0 and a string',
      { a: 1, b: -1, c: 1.5, d: NaN, e: -0, s: 'hé' },
      'b9 0006 6161 01 6162 20 6163 fb3ff8000000000000 6164 fb7ff8000000000000 6165 00 6173 6368c3a9',
    ],
    [
      'bigints',
      { a: 5n, b: -1n, c: 2n ** 64n },
      'b9 0003 6161 1b0000000000000005 6162 3b0000000000000000 6163 c2 49 010000000000000000',
    ],
    [
      'a Date, a Map and a Set',
      { d: new Date(1_000), m: new Map([[1, 'x']]), s: new Set([true]) },
      'b9 0003 6164 c1 1a00000001 616d d90103 a1 01 6178 6173 d90102 81 f5',
    ],
    [
      'binary data and a reference',
      {
        u: new Uint8Array([1]),
        f: new Int16Array([-1]),
        b: new Uint8Array([2]).buffer,
        r: REFS[1],
      },
      'b9 0004 6175 4101 6166 d84d 42ffff 6162 d99dd2 4102 6172 d99dd1 82 1903ef 6a6170702e5468696e6731',
    ],
    ['an array and null', { a: [{}], b: null }, 'b9 0002 6161 81 b90000 6162 f6'],
  ];
  for (const [what, value, bytes] of cases) {
    it(`writes ${what} as pinned bytes and reads them back`, () => {
      expect(hex(encoder.encode(value))).toBe(bytes.replace(/\s/g, ''));
      expect(sameValue(value, decode(fromHex(bytes)))).toBe(true);
    });
  }

  it('writes a shared object as tag 28 before the first occurrence and tag 29 after', () => {
    const o = { x: 1 };
    const s: Record<string, unknown> = { a: o, b: o };
    s.c = s.a;
    expect(hex(encoder.encode(s))).toBe(
      'b90003' + '6161' + 'd81c' + 'b90001617801' + '6162' + 'd81d190000' + '6163' + 'd81d190000',
    );
  });
});

describe('damaged bytes', () => {
  const sample = (): Record<string, unknown> => {
    const shared = { deep: [1, 'two', { three: 3n ** 50n }] };
    return {
      shared,
      again: shared,
      text: 'a longer text, long enough to take the TextEncoder path: ' + 'x'.repeat(80),
      when: new Date(1_700_000_000_123),
      map: new Map<unknown, unknown>([[{ k: 1 }, new Set([1, 2])]]),
      f64: new Float64Array([Math.PI]),
      buffer: new Uint8Array([1, 2, 3]).buffer,
      view: new DataView(new Uint8Array([4]).buffer),
      ref: REFS[0],
      big: -(2n ** 70n),
    };
  };

  it('raises CorruptStorageError for the state cut at every byte', () => {
    const bytes = encoder.encode(sample());
    expect(sameValue(sample(), decode(bytes))).toBe(true);
    for (let cut = 0; cut < bytes.length; cut++) {
      const error = corruptError(() => decode(bytes.subarray(0, cut)));
      expect(error.message).toMatch(/cannot be read: .* \(at byte \d+ of \d+\)/);
    }
  });

  it('raises CorruptStorageError for random bytes, or reads a plain object (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom(0xb9, 0xa3, 0x9f, 0xd8, 0xd9, 0),
        (bytes, lead) => {
          for (const candidate of [bytes, new Uint8Array([lead, ...bytes])]) {
            try {
              const state = decode(candidate);
              expect(Object.getPrototypeOf(state)).toBe(Object.prototype);
            } catch (e) {
              expect(e).toBeInstanceOf(CorruptStorageError);
            }
          }
        },
      ),
      { seed: 20261206, numRuns: 3000 },
    );
  });

  it('raises CorruptStorageError for a valid state with bytes changed (property)', () => {
    const bytes = encoder.encode(sample());
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (changes) => {
          const damaged = bytes.slice();
          for (const [at, byte] of changes) damaged[at] = byte;
          try {
            decode(damaged);
          } catch (e) {
            expect(e).toBeInstanceOf(CorruptStorageError);
          }
        },
      ),
      { seed: 20261207, numRuns: 3000 },
    );
  });

  it('refuses a huge length in a tiny state before allocating anything', () => {
    for (const h of [
      '9b00000000ffffffff',
      '5a7fffffff',
      '7a7fffffff',
      'bbffffffffffffffff',
      'd9010399ffff',
      'c25affffffff',
    ]) {
      expect(corruptError(() => decode(fromHex(h))).message).toMatch(
        /runs past the end|starts no item|malformed|no bytes/,
      );
    }
  });

  it('raises CorruptStorageError for a state nested deeper than the stack', () => {
    const deep = new Uint8Array(200_000).fill(0x81);
    expect(corruptError(() => decode(deep)).message).toMatch(/nested too deeply/);
  });

  it('raises CorruptStorageError for a reference to a shared object not yet read', () => {
    expect(corruptError(() => decode(fromHex('b90001 6161 d81d00'))).message).toMatch(
      /shared item 0/,
    );
    expect(corruptError(() => decode(fromHex('b90001 6161 d81c c1 d81d00'))).message).toMatch(
      /shared item 0/,
    );
  });

  it('raises CorruptStorageError for bytes after the state and for a state that is not an object', () => {
    expect(corruptError(() => decode(fromHex('b90000 00'))).message).toMatch(
      /bytes follow the end/,
    );
    expect(corruptError(() => decode(fromHex('83010203'))).message).toMatch(/not a plain object/);
    expect(corruptError(() => decode(fromHex('b90001 01 02'))).message).toMatch(
      /key that is not a string/,
    );
    expect(corruptError(() => decode(fromHex('b90001 6161 d8ff 00'))).message).toMatch(/tag 255/);
    expect(corruptError(() => decode(fromHex('b90001 6161 d84d 43010203'))).message).toMatch(
      /Int16Array of 3 bytes/,
    );
  });
});

describe('states appended to a batch (a commit written straight into its record batch)', () => {
  const keep = (k: string): boolean => !k.startsWith('_p_') && !k.startsWith('_v_');
  const copyKept = (fields: Record<string, unknown>): Record<string, unknown> => {
    const state: Record<string, unknown> = {};
    for (const k of Object.keys(fields)) if (keep(k)) state[k] = fields[k];
    return state;
  };

  it('writes each state as the bytes of encoding a copy of its kept fields, one after another (property)', () => {
    const fieldsOf = fc
      .tuple(fc.dictionary(key, tree, { maxKeys: 6 }), fc.dictionary(key, tree, { maxKeys: 2 }))
      .map(([kept, dropped]) => {
        const fields: Record<string, unknown> = { ...kept };
        for (const [k, v] of Object.entries(dropped)) fields[`_v_${k}`] = v;
        return fields;
      });
    fc.assert(
      fc.property(fc.array(fieldsOf, { maxLength: 5 }), fc.nat({ max: 40 }), (states, gap) => {
        const batch = new CborEncoder(refOf);
        batch.beginBatch();
        batch.reserve(gap);
        const sizes = states.map((fields) => batch.appendFields(fields, keep));
        const { buffer, length } = batch.endBatch();
        const out = new Uint8Array(buffer, 0, length);
        let at = gap;
        states.forEach((fields, i) => {
          const alone = encoder.encode(copyKept(fields));
          expect(sizes[i]).toBe(alone.byteLength);
          expect(out.subarray(at, at + alone.byteLength)).toEqual(alone);
          at += alone.byteLength;
        });
        expect(out.byteLength).toBe(at);
      }),
    );
  });

  it('writes a state of more than 65535 fields with shared references inside, after other bytes', () => {
    const shared = { n: 1 };
    const fields: Record<string, unknown> = { first: shared, _p_skip: 1 };
    for (let i = 0; i < 70_000; i++) fields[`k${i}`] = i;
    fields.last = shared;
    const batch = new CborEncoder(refOf);
    batch.beginBatch();
    batch.reserve(3);
    const size = batch.appendFields(fields, keep);
    const alone = encoder.encode(copyKept(fields));
    // Compared as Buffers: toEqual on arrays of 700 kB takes seconds.
    const { buffer, length } = batch.endBatch();
    expect(Buffer.from(buffer, 3, length - 3).equals(alone)).toBe(true);
    expect(size).toBe(alone.byteLength);
    const back = decode(alone) as Record<string, unknown>;
    expect(back.last).toBe(back.first);
  });
});

describe('a batch of more than 1 MiB', () => {
  it("is handed over in the encoder's own buffer, not copied; the encoder goes on with a new one", () => {
    const batch = new CborEncoder(refOf);
    const states = Array.from({ length: 3000 }, (_, i) => ({ text: 'x'.repeat(400), i }));
    batch.beginBatch();
    const sizes = states.map((s) => batch.appendFields(s, () => true));
    const { buffer, length } = batch.endBatch();
    expect(length).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(buffer.byteLength).toBeGreaterThanOrEqual(length);
    const out = new Uint8Array(buffer, 0, length);
    const before = Buffer.from(out);
    // The next batch and encode write elsewhere: the handed-over bytes stay as they were.
    batch.beginBatch();
    batch.appendFields({ other: 'y'.repeat(2000) }, () => true);
    batch.endBatch();
    expect(decode(batch.encode({ a: 1 }))).toEqual({ a: 1 });
    expect(Buffer.from(out).equals(before)).toBe(true);
    expect(decode(out.subarray(length - (sizes.at(-1) as number)))).toEqual(states.at(-1));
  });
});
