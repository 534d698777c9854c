/**
 * Object states as canonical JSON and back (src/archive/json-value.ts): the form archives hold.
 * A state stored, exported to JSON text and committed back decodes to the same values with the
 * same sharing; the text depends on the content only; a malformed marker is refused by its path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_NESTING } from '../src/serialize.js';
import { CorruptStorageError } from '../src/shared/errors.js';
import {
  canonicalJson,
  decodeState,
  jsonToState,
  jsonToValue,
  stateToJson,
  StoredRef,
  valueToJson,
  type Json,
  type RefMarker,
} from '../src/archive/json-value.js';
import {
  encoder,
  expectSameGraph,
  refFromJson,
  refToJson,
  states,
  throughJson,
} from './archive-json-value-fixture.js';

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
