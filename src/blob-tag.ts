/**
 * The stored form of a Blob inside an object's state: CBOR tag 40404 (BLOB_TAG, cbor-tags.ts)
 * around the array `[oid, hash, size, type, name | null, lastModified | null]`.
 *
 * `oid` is the blob record's (src/shared/blob-record.ts), which the owning record also lists in its
 * `refs` so that pack keeps the record, and through it the blob file, exactly as long as something
 * reachable references it. The rest repeats what the record holds (and a File's `lastModified`,
 * which the record does not), so a page decoding the state knows a blob's size, type and name at
 * once, without loading the record.
 */

/** What the tag of one Blob holds. */
export interface BlobTagFields {
  /** The oid of its blob record. */
  oid: number;
  /** The SHA-256 of its bytes: the blob file's name. */
  hash: string;
  /** Its length in bytes. */
  size: number;
  /** Its MIME type ('' for none). */
  type: string;
  /** A File's name; null for a Blob that is not a File. */
  name: string | null;
  /** A File's lastModified (ms since the epoch); null for a Blob that is not a File. */
  lastModified: number | null;
}

/** The items of the tag's array, in their stored order. */
export function blobTagItems(f: BlobTagFields): unknown[] {
  return [f.oid, f.hash, f.size, f.type, f.name, f.lastModified];
}

const HASH = /^[0-9a-f]{64}$/;
const isCount = (x: unknown): x is number =>
  typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** The fields of a tag's array as read from bytes, or undefined when it is not one. */
export function readBlobTag(items: unknown): BlobTagFields | undefined {
  if (!Array.isArray(items) || items.length !== 6) return undefined;
  const [oid, hash, size, type, name, lastModified] = items as unknown[];
  if (!isCount(oid) || typeof hash !== 'string' || !HASH.test(hash) || !isCount(size)) {
    return undefined;
  }
  if (typeof type !== 'string' || (name !== null && typeof name !== 'string')) return undefined;
  if (lastModified !== null && (typeof lastModified !== 'number' || !isFinite(lastModified))) {
    return undefined;
  }
  return { oid, hash, size, type, name, lastModified };
}

/**
 * A Blob as decoded where no storage is at hand to read its bytes (tools reading states alone, such
 * as the archive and explorer code): its tag's fields, nothing more. Never stored back: the
 * serializer refuses it like any other class instance it does not know.
 */
export class BlobReference {
  constructor(
    /** What the tag holds. */
    readonly fields: Readonly<BlobTagFields>,
  ) {
    Object.freeze(this);
  }
}
