/** The CLI's JSON form of stored states (cli/json-value.ts, cli/record-json.ts), without classes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CborEncoder } from '../src/cbor-encode.js';
import { Persistent } from '../src/persistent.js';
import { RecordReader } from '../cli/record-json.js';
import { toJson } from '../cli/json-value.js';

/** A record of `state` as storage would load it (references written as [oid, className]). */
function recordOf(state: Record<string, unknown>, refs: [number, string][] = []) {
  const byObject = new Map<object, readonly [number, string]>();
  const encoder = new CborEncoder((value) => byObject.get(value));
  const withRefs: Record<string, unknown> = { ...state };
  refs.forEach(([oid, className], i) => {
    const stand = new Persistent();
    byObject.set(stand, [oid, className]);
    withRefs[`ref${i}`] = stand;
  });
  return {
    oid: 7,
    className: 'app.Thing',
    tid: 3,
    state: encoder.encode(withRefs),
    refs: refs.map(([oid]) => oid),
  };
}

/** True when `value` is JSON itself: what JSON.stringify writes and JSON.parse reads back whole. */
function isPureJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isPureJson);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value).every(isPureJson);
  }
  return false;
}

/** JSON data with every key that starts with `$` given one more, as the CLI shows it. */
function escaped(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(escaped);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(out, key.startsWith('$') ? `$${key}` : key, {
      value: escaped(item),
      enumerable: true,
    });
  }
  return out;
}

describe('the JSON the CLI shows for a stored state', () => {
  it('shows JSON data as it is, keys starting with $ escaped (property)', () => {
    // A state's own field __proto__ reads back as __proto_ (cbor-decode.ts): not JSON's business.
    const key = fc.string().filter((k) => k !== '__proto__');
    fc.assert(
      fc.property(fc.dictionary(key, fc.jsonValue()), (state) => {
        const shown = new RecordReader().toJson(recordOf(state));
        // -0 is stored as 0: JSON.stringify writes both as 0.
        expect(JSON.stringify(shown.fields)).toBe(JSON.stringify(escaped(state)));
      }),
      { seed: 20261213, numRuns: 200 },
    );
  });

  it('is always pure JSON, whatever storable values the state holds (property)', () => {
    const value = fc.anything({
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withBoxedValues: false,
      withSparseArray: false,
      withNullPrototype: false,
      maxDepth: 3,
    });
    const key = fc.string().filter((k) => k !== '__proto__');
    fc.assert(
      fc.property(fc.dictionary(key, value), (state) => {
        const shown = new RecordReader().toJson(recordOf(state));
        expect(shown.damaged).toBeUndefined();
        expect(isPureJson(shown.fields)).toBe(true);
      }),
      { seed: 20261214, numRuns: 200 },
    );
  });

  it('marks what JSON lacks: references, undefined, non-finite numbers, bigint, dates, maps, sets and bytes', () => {
    const shared = { n: 1 };
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const shown = new RecordReader().toJson(
      recordOf(
        {
          missing: undefined,
          nan: NaN,
          inf: -Infinity,
          big: -(2n ** 70n),
          when: new Date(Date.UTC(2026, 10, 30, 12)),
          never: new Date(NaN),
          tags: new Set(['a', 'b']),
          byKey: new Map<unknown, unknown>([
            [1, 'one'],
            [{ k: 1 }, 'object key'],
          ]),
          bytes: new Uint8Array([0, 1, 2, 255]),
          buffer: new Uint8Array([9, 8]).buffer,
          floats: new Float64Array([1.5, NaN]),
          longs: new BigInt64Array([5n]),
          twice: [shared, shared],
          cyclic,
          $dollar: 'kept, escaped',
          nested: JSON.parse('{"__proto__": {"$ref": 1}}') as unknown,
        },
        [[12, 'app.Todo']],
      ),
    );
    expect(shown).toEqual({
      oid: 7,
      class: 'app.Thing',
      tid: 3,
      fields: {
        missing: { $undefined: true },
        nan: { $number: 'NaN' },
        inf: { $number: '-Infinity' },
        big: { $bigint: (-(2n ** 70n)).toString() },
        when: { $date: '2026-11-30T12:00:00.000Z' },
        never: { $date: null },
        tags: { $set: ['a', 'b'] },
        byKey: {
          $map: [
            [1, 'one'],
            [{ k: 1 }, 'object key'],
          ],
        },
        bytes: { $type: 'Uint8Array', base64: 'AAEC/w==' },
        buffer: { $type: 'ArrayBuffer', base64: 'CQg=' },
        floats: { $type: 'Float64Array', values: [1.5, { $number: 'NaN' }] },
        longs: { $type: 'BigInt64Array', values: ['5'] },
        twice: [{ n: 1 }, { $same: '.twice[0]' }],
        cyclic: { name: 'loop', self: { $same: '.cyclic' } },
        $$dollar: 'kept, escaped',
        nested: JSON.parse('{"__proto__": {"$$ref": 1}}') as unknown,
        ref0: { $ref: 12, class: 'app.Todo' },
      },
      refs: [{ oid: 12, class: 'app.Todo' }],
    });
  });

  it('reports a state that does not decode as damaged instead of failing', () => {
    const record = { ...recordOf({ a: 1 }), state: new Uint8Array([0xbf, 0x61]) };
    const shown = new RecordReader().toJson(record);
    expect(shown.damaged).toMatch(/./);
    expect(shown.fields).toEqual({});
    expect(toJson(undefined)).toEqual({ $undefined: true });
  });
});
