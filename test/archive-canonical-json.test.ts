/** canonicalJson's text, bytes as base64 and sha256 digests (src/archive/json-value.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  jsonToValue,
  sha256,
  valueToJson,
  type Json,
} from '../src/archive/json-value.js';
import { refFromJson, refToJson } from './archive-json-value-fixture.js';

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
