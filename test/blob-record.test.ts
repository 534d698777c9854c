/** Blob records: the fixed CBOR map the page writes and the storage reads alone. */
import { describe, expect, it } from 'vitest';
import {
  decodeBlobRecord,
  encodeBlobRecord,
  isBlobHash,
  type BlobRecordState,
} from '../src/shared/blob-record.js';
import { CorruptStorageError } from '../src/shared/errors.js';
import { CborDecoder } from '../src/cbor-decode.js';

const hash = 'ab'.repeat(32);

describe('blob records', () => {
  const cases: BlobRecordState[] = [
    { hash, size: 0, type: '', name: null },
    { hash, size: 3, type: 'text/plain', name: 'a.txt' },
    { hash, size: 2 ** 53 - 1, type: 'image/png', name: 'ü'.repeat(300) },
    { hash, size: 70_000, type: 'x'.repeat(30), name: '' },
  ];
  for (const state of cases) {
    it(`round-trips ${JSON.stringify({ ...state, name: state.name?.slice(0, 8) ?? null })}`, () => {
      expect(decodeBlobRecord(encodeBlobRecord(state))).toEqual(state);
    });
  }

  it('is a CBOR map the page decoder reads as a plain state', () => {
    const state = { hash, size: 5, type: 'text/plain', name: null };
    expect(new CborDecoder().decode(encodeBlobRecord(state), () => undefined as never)).toEqual(
      state,
    );
  });

  it('refuses damaged bytes with CorruptStorageError', () => {
    const good = encodeBlobRecord({ hash, size: 1, type: '', name: null });
    for (const bad of [
      new Uint8Array(),
      good.subarray(0, good.length - 1),
      Uint8Array.from([...good, 0]),
      Uint8Array.from([0xa0]), // an empty map: no hash
      encodeBlobRecord({ hash: 'AB'.repeat(32), size: 1, type: '', name: null }),
    ]) {
      expect(() => decodeBlobRecord(bad)).toThrow(CorruptStorageError);
    }
  });

  it('names blob files by 64 lowercase hexadecimal digits only', () => {
    expect(isBlobHash(hash)).toBe(true);
    expect(isBlobHash('AB'.repeat(32))).toBe(false);
    expect(isBlobHash('../'.repeat(22))).toBe(false);
    expect(isBlobHash(hash.slice(1))).toBe(false);
  });
});
