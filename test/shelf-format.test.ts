import { describe, expect, it } from 'vitest';
import {
  ENTRY_HEADER_SIZE,
  KIND_TRANSACTION,
  RECORD_HEADER_SIZE,
  SEGMENT_HEADER_SIZE,
  decodeEntry,
  decodeManifest,
  encodeEntry,
  encodeManifest,
  encodeSegmentHeader,
  entryIsValid,
  position,
  getU64,
  setU64,
} from '../worker/shelf-format.js';
import { crc32 } from '../src/shared/crc32.js';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';

describe('shelf format', () => {
  it('computes CRC-32 as zlib does', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('computes the CRC-32 of any slice, continued from any previous CRC, as zlib does', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 100 }),
        fc.nat(),
        fc.nat(),
        fc.nat({ max: 0xffffffff }),
        (data, a, b, previous) => {
          // Non-empty slices: Node's zlib answers 0 for an empty one whatever `previous` is.
          const start = a % data.length;
          const end = start + 1 + (b % (data.length - start));
          expect(crc32(data, start, end, previous)).toBe(
            zlibCrc32(data.subarray(start, end), previous),
          );
        },
      ),
    );
  });

  it('writes the segment header as documented', () => {
    const h = encodeSegmentHeader(7);
    expect(h.byteLength).toBe(SEGMENT_HEADER_SIZE);
    expect(new TextDecoder().decode(h.subarray(0, 8))).toBe('SHELFLOG');
    const v = new DataView(h.buffer);
    expect(v.getUint32(8, true)).toBe(2);
    expect(v.getUint32(12, true)).toBe(7);
    expect(v.getUint32(16, true)).toBe(crc32(h, 0, 16));
  });

  it('lays out a transaction entry and its records at the documented offsets', () => {
    const state = new Uint8Array([9, 8, 7]);
    const { bytes, recordOffsets } = encodeEntry(
      {
        kind: KIND_TRANSACTION,
        tid: 2 ** 40 + 5,
        time: 1_700_000_000_000,
        nextOid: 99,
        metadata: { note: 'n', user: 'u', meta: { a: 1 } },
        records: [{ oid: 42, className: 'app.Todo', state, refs: [3, 2 ** 50], prev: 1234 }],
      },
      position(3, 4096),
    );
    const v = new DataView(bytes.buffer);
    const L = bytes.byteLength;
    const meta = new TextEncoder().encode(JSON.stringify({ note: 'n', user: 'u', meta: { a: 1 } }));
    expect(v.getUint32(0, true)).toBe(L);
    expect(bytes[4]).toBe(0x54);
    expect(bytes[5]).toBe(0x20);
    expect(getU64(v, 8)).toBe(2 ** 40 + 5);
    expect(getU64(v, 16)).toBe(1_700_000_000_000);
    expect(v.getUint32(24, true)).toBe(1);
    expect(v.getUint32(28, true)).toBe(meta.byteLength);
    expect(getU64(v, 32)).toBe(99);
    expect(ENTRY_HEADER_SIZE).toBe(40);
    expect(bytes.subarray(40, 40 + meta.byteLength)).toEqual(meta);
    const r = recordOffsets[0] as number;
    expect(r).toBe(40 + meta.byteLength);
    expect(RECORD_HEADER_SIZE).toBe(42);
    expect(v.getUint32(r, true)).toBe(42 + 8 + 3 + 16);
    expect(v.getUint32(r + 4, true)).toBe(r);
    expect(getU64(v, r + 8)).toBe(42);
    expect(getU64(v, r + 16)).toBe(2 ** 40 + 5);
    expect(getU64(v, r + 24)).toBe(1234);
    expect(v.getUint16(r + 32, true)).toBe(8);
    expect(v.getUint32(r + 34, true)).toBe(3);
    expect(v.getUint32(r + 38, true)).toBe(2);
    expect(new TextDecoder().decode(bytes.subarray(r + 42, r + 50))).toBe('app.Todo');
    expect(bytes.subarray(r + 50, r + 53)).toEqual(state);
    expect(getU64(v, r + 53)).toBe(3);
    expect(getU64(v, r + 61)).toBe(2 ** 50);
    // The checksum covers the entry's position (u64, little-endian) followed by bytes 0..L-8.
    const covered = new Uint8Array(8 + L - 8);
    setU64(new DataView(covered.buffer), 0, position(3, 4096));
    covered.set(bytes.subarray(0, L - 8), 8);
    expect(v.getUint32(L - 8, true)).toBe(crc32(covered));
    expect(v.getUint32(L - 4, true)).toBe(L);
    expect(entryIsValid(bytes, position(3, 4096))).toBe(true);
    const decoded = decodeEntry(bytes);
    expect(decoded.metadata).toEqual({ note: 'n', user: 'u', meta: { a: 1 } });
    expect(decoded.records[0]).toMatchObject({
      oid: 42,
      className: 'app.Todo',
      refs: [3, 2 ** 50],
      prev: 1234,
    });
  });

  it('detects any flipped byte in an entry', () => {
    const at = position(1, 32);
    const { bytes } = encodeEntry(
      { kind: KIND_TRANSACTION, tid: 1, time: 2, nextOid: 3, records: [] },
      at,
    );
    for (let i = 0; i < bytes.byteLength; i++) {
      const damaged = bytes.slice();
      damaged[i] = (damaged[i] as number) ^ 0x10;
      expect(entryIsValid(damaged, at), `byte ${i}`).toBe(false);
    }
  });

  it('refuses an entry read anywhere but where it was written', () => {
    const at = position(2, 500);
    const { bytes } = encodeEntry(
      { kind: KIND_TRANSACTION, tid: 1, time: 2, nextOid: 3, records: [] },
      at,
    );
    expect(entryIsValid(bytes, at)).toBe(true);
    expect(entryIsValid(bytes, at + 1)).toBe(false);
    expect(entryIsValid(bytes, position(1, 500))).toBe(false);
  });

  it('round-trips a manifest and treats a torn one as absent', () => {
    const m = { generation: 3, segments: [1, 2], checkpoint: null };
    const bytes = encodeManifest(m);
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('SHELFMAN');
    expect(decodeManifest(bytes, 'manifest.0')).toEqual(m);
    expect(decodeManifest(bytes.subarray(0, bytes.byteLength - 1), 'manifest.0')).toBeUndefined();
    expect(decodeManifest(new Uint8Array(0), 'manifest.0')).toBeUndefined();
  });

  it('treats a zero-filled or torn-at-any-byte manifest slot as absent, and a foreign one as an error', () => {
    const bytes = encodeManifest({ generation: 3, segments: [1], checkpoint: null });
    expect(decodeManifest(new Uint8Array(4096), 'manifest.1')).toBeUndefined();
    for (let keep = 0; keep < bytes.byteLength; keep++) {
      // A crash while writing: the first `keep` bytes, the rest as the truncated file left it.
      const torn = new Uint8Array(bytes.byteLength);
      torn.set(bytes.subarray(0, keep));
      expect(decodeManifest(torn, 'manifest.1'), `kept ${keep}`).toBeUndefined();
      expect(decodeManifest(bytes.subarray(0, keep), 'manifest.1'), `cut ${keep}`).toBeUndefined();
    }
    expect(() => decodeManifest(new TextEncoder().encode('hello'), 'manifest.1')).toThrow(
      /not a shelfdb manifest/,
    );
  });

  it('refuses a whole manifest of another format version, naming it', () => {
    const bytes = encodeManifest({ generation: 3, segments: [1], checkpoint: null });
    new DataView(bytes.buffer).setUint32(8, 1, true);
    expect(() => decodeManifest(bytes, 'manifest.0')).toThrow(/format version 1/);
  });

  it('stores 64-bit fields up to 2^53 and refuses larger ones on read', () => {
    const v = new DataView(new ArrayBuffer(8));
    setU64(v, 0, Number.MAX_SAFE_INTEGER);
    expect(getU64(v, 0)).toBe(Number.MAX_SAFE_INTEGER);
    v.setUint32(4, 0xffffffff, true);
    expect(() => getU64(v, 0)).toThrow(/2\^53/);
  });
});
