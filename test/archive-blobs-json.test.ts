/**
 * A Blob in a state as JSON: decodeState reads tag 40404 as a BlobReference, valueToJson writes the
 * `$blob` marker (its record as a reference), and the JSON → record path writes the same tag
 * again, with the blob record's oid among the record's refs.
 */
import { describe, expect, it } from 'vitest';
import { BlobReference } from '../src/blob-tag.js';
import { CborEncoder } from '../src/cbor-encode.js';
import { BLOB_TAG } from '../src/cbor-tags.js';
import { decodeState, stateToJson, type Json } from '../src/archive/json-value.js';
import { RecordRef, RecordWriter } from '../src/archive/record-writer.js';
import { CorruptStorageError } from '../src/shared/errors.js';

const HASH = 'ab'.repeat(32);

/** A state `{ photo: <Blob>, title }` as the page stores it: the tag, and the record's oid in refs. */
function storedState(name: string | null, lastModified: number | null): Uint8Array {
  const encoder = new CborEncoder(
    () => undefined,
    (value) =>
      value instanceof BlobReference
        ? { tag: BLOB_TAG, items: [7, HASH, 3, 'image/png', name, lastModified] }
        : undefined,
  );
  const fields = { oid: 7, hash: HASH, size: 3, type: 'image/png', name, lastModified };
  return encoder.encode({ photo: new BlobReference(fields), title: 'cat' }).slice();
}

/** CLI-style references: `{ "$ref": oid, "class": name }`. */
const cliRef = (ref: { oid: number; className: string }): Json => ({
  $ref: ref.oid,
  class: ref.className,
});

describe('a Blob in a state as JSON', () => {
  it('is the $blob marker with its size, type, name, lastModified and its blob record as a reference', () => {
    const json = stateToJson(decodeState(storedState('cat.png', 1_700_000_000_000)), cliRef);
    expect(json).toEqual({
      photo: {
        $blob: HASH,
        size: 3,
        type: 'image/png',
        name: 'cat.png',
        lastModified: 1_700_000_000_000,
        record: { $ref: 7, class: 'shelfdb.Blob' },
      },
      title: 'cat',
    });
  });

  it('written back as a record, is the same bytes, with the blob record in refs', () => {
    for (const [name, lastModified] of [
      [null, null],
      ['cat.png', 1_700_000_000_000],
    ] as const) {
      const bytes = storedState(name, lastModified);
      const archiveRef = (ref: { oid: number }): Json => ({ $ref: String(ref.oid) });
      const json = stateToJson(decodeState(bytes), archiveRef);
      const writer = new RecordWriter(
        (marker) => new RecordRef(Number(marker.$ref), 'shelfdb.Blob'),
      );
      const record = writer.record(1, 'app.Photo', json, undefined, 'objects/1.json');
      expect(record.state).toEqual(bytes);
      expect(record.refs).toEqual([7]);
    }
  });

  it('a malformed $blob marker is refused naming the key and the entry', () => {
    const writer = new RecordWriter((marker) => new RecordRef(Number(marker.$ref), 'shelfdb.Blob'));
    const good = {
      $blob: HASH,
      size: 3,
      type: '',
      name: null,
      lastModified: null,
      record: { $ref: '7' },
    };
    const bad: [Record<string, Json>, RegExp][] = [
      [{ ...good, $blob: 'nothex' }, /"\$blob" must be a SHA-256/],
      [{ ...good, size: -1 }, /"size" must be/],
      [{ ...good, record: 7 }, /"record" must reference the blob record/],
      [{ ...good, extra: 1 }, /"extra"/],
    ];
    for (const [photo, message] of bad) {
      const run = (): unknown =>
        writer.record(1, 'app.Photo', { photo }, undefined, 'objects/1.json');
      expect(run).toThrow(CorruptStorageError);
      expect(run).toThrow(message);
      expect(run).toThrow(/objects\/1\.json → \.photo/);
    }
  });
});
