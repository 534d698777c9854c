/**
 * A Blob in an object's state as JSON (archives, the CLI's show/dump): the marker
 *
 *   { "$blob": "<sha-256>", "size": 1234, "type": "image/png", "name": "cat.png" | null,
 *     "lastModified": 1700000000000 | null, "record": <reference to its blob record> }
 *
 * `record` is written as any reference is where the JSON goes — in an archive the blob record's
 * entry (`{ "$ref": "12" }`: the record is an owned object of the tree, exported with it) or an
 * external (`{ "$ext": 12, "class": "shelfdb.Blob" }`), in the CLI its oid and class — so check
 * compares it, commit resolves it, and importCopy remaps it to the copy's new oid exactly as it does
 * a `$ref`. The other keys repeat what the stored tag holds (blob-tag.ts), so a reader of the JSON
 * knows the blob without opening its entry.
 */
import type { BlobReference } from '../blob-tag.js';
import type { Json, JsonObject } from './json-markers.js';
import { BLOB_CLASS, isBlobHash } from '../shared/blob-record.js';

/** The keys a `$blob` marker has besides `$blob`. */
export const BLOB_MARKER_KEYS: readonly string[] = [
  'size',
  'type',
  'name',
  'lastModified',
  'record',
];

/** A Blob read from JSON: its fields and its record's reference as the reader resolved it. */
export class JsonBlob {
  constructor(
    /** What the reader's reference resolver made of `record` (a RecordRef when writing records). */
    readonly record: unknown,
    /** The blob file's SHA-256. */
    readonly hash: string,
    /** Its length in bytes. */
    readonly size: number,
    /** Its MIME type. */
    readonly type: string,
    /** A File's name, or null. */
    readonly name: string | null,
    /** A File's lastModified, or null. */
    readonly lastModified: number | null,
  ) {}

  /** The items of the stored tag (BLOB_TAG), given the record's oid. */
  tagItems(oid: number): unknown[] {
    return [oid, this.hash, this.size, this.type, this.name, this.lastModified];
  }
}

/** `blob` (a decoded tag) as its JSON marker, its record (oid, class) written by `record`. */
export function blobToJson(
  blob: BlobReference,
  record: (oid: number, className: string) => Json,
): JsonObject {
  const { oid, hash, size, type, name, lastModified } = blob.fields;
  return { $blob: hash, size, type, name, lastModified, record: record(oid, BLOB_CLASS) };
}

/**
 * The Blob a `$blob` marker at `path` describes (its keys checked by the caller: only
 * BLOB_MARKER_KEYS), its record read by `record`.
 * @throws what `malformed` makes, naming the key that is wrong.
 */
export function blobFromJson(
  json: JsonObject,
  record: (json: Json) => unknown,
  malformed: (problem: string) => Error,
): JsonBlob {
  const { $blob: hash, size, type, name, lastModified } = json;
  if (!isBlobHash(hash)) {
    throw malformed(
      `"$blob" must be a SHA-256, 64 lowercase hexadecimal digits; found ${show(hash)}`,
    );
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw malformed(`"size" must be the blob's length in bytes; found ${show(size)}`);
  }
  if (typeof type !== 'string') throw malformed(`"type" must be a string; found ${show(type)}`);
  if (name !== null && typeof name !== 'string') {
    throw malformed(`"name" must be a string or null; found ${show(name)}`);
  }
  if (lastModified !== null && (typeof lastModified !== 'number' || !isFinite(lastModified))) {
    throw malformed(`"lastModified" must be a number or null; found ${show(lastModified)}`);
  }
  const ref = json.record;
  const isRef =
    typeof ref === 'object' &&
    ref !== null &&
    !Array.isArray(ref) &&
    ('$ref' in ref || '$ext' in ref);
  if (!isRef) {
    throw malformed(
      `"record" must reference the blob record, as {"$ref": "<id>"} or {"$ext": <oid>, "class": "${BLOB_CLASS}"}; found ${show(ref)}`,
    );
  }
  return new JsonBlob(record(ref), hash, size, type, name, lastModified);
}

const show = (x: unknown): string => (x === undefined ? 'nothing' : JSON.stringify(x));
