/**
 * Blob records: how a committed transaction references a blob file.
 *
 * A `Blob` in an object's state is stored as a small immutable record of its own, of class
 * BLOB_CLASS, whose state names the blob file by its SHA-256 (`{ hash, size, type, name }`), and the
 * object's state references that record like any persistent object (its oid is in the record's
 * `refs`). So a blob is kept exactly as long as something reachable references it: pack's mark over
 * `refs` finds the live blob records, reads their hash (the one state storage ever reads, written
 * by this module in a fixed shape), and removes the blob files none of them names.
 *
 * The state is CBOR, a map of four text keys, so the page's decoder reads it as the state of an
 * ordinary object (the explorer shows it) while the storage side reads it with `decodeBlobRecord`
 * alone, without the page's codec.
 */
import { CorruptStorageError } from './errors.js';

/** The class name of blob records. */
export const BLOB_CLASS = 'shelfdb.Blob';

/**
 * How long after it was stored an unreferenced blob file is safe from pack: its commit may still be
 * on its way (stored by a page whose owner tab changed meanwhile).
 */
export const BLOB_GRACE_MS = 60 * 60 * 1000;

/** What a blob record holds. */
export interface BlobRecordState {
  /** The blob file's SHA-256: 64 lowercase hexadecimal digits. */
  hash: string;
  /** Its length in bytes. */
  size: number;
  /** The Blob's MIME type ('' for none). */
  type: string;
  /** A File's name; null for a Blob that is not a File. */
  name: string | null;
}

const HASH = /^[0-9a-f]{64}$/;

/** True for a SHA-256 as blob files are named: 64 lowercase hexadecimal digits. */
export const isBlobHash = (x: unknown): x is string => typeof x === 'string' && HASH.test(x);

/** The state bytes of a blob record. */
export function encodeBlobRecord(state: BlobRecordState): Uint8Array {
  const text = new TextEncoder();
  const parts: number[] = [0xa4];
  const str = (s: string): void => {
    const b = text.encode(s);
    head(parts, 0x60, b.length);
    for (const x of b) parts.push(x);
  };
  str('hash');
  str(state.hash);
  str('name');
  if (state.name === null) parts.push(0xf6);
  else str(state.name);
  str('size');
  head(parts, 0x00, state.size);
  str('type');
  str(state.type);
  return Uint8Array.from(parts);
}

function head(out: number[], major: number, n: number): void {
  if (n < 24) out.push(major | n);
  else if (n < 0x100) out.push(major | 24, n);
  else if (n < 0x10000) out.push(major | 25, n >> 8, n & 0xff);
  else if (n < 0x100000000)
    out.push(major | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  else {
    const hi = Math.floor(n / 0x100000000);
    out.push(major | 27, hi >>> 24, (hi >> 16) & 0xff, (hi >> 8) & 0xff, hi & 0xff);
    out.push(n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  }
}

/**
 * Reads a blob record's state: a CBOR map with text keys `hash`, `size`, `type` and `name`, in any
 * order (other keys are ignored).
 * @throws CorruptStorageError when the bytes are not such a map or the hash is not a SHA-256.
 */
export function decodeBlobRecord(bytes: Uint8Array): BlobRecordState {
  const bad = (why: string): CorruptStorageError =>
    new CorruptStorageError(`A blob record's state is damaged (${why}); run db.verify().`);
  const text = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  const argument = (): { major: number; value: number } => {
    if (at >= bytes.length) throw bad('it ends early');
    const first = bytes[at++] as number;
    const major = first >> 5;
    const info = first & 31;
    if (info < 24) return { major, value: info };
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) return { major, value: -1 }; // indefinite lengths and the like: refused below
    if (at + size > bytes.length) throw bad('it ends early');
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + (bytes[at++] as number);
    if (!Number.isSafeInteger(value)) throw bad('a number is too large');
    return { major, value };
  };
  const string = (): string | null => {
    const { major, value } = argument();
    if (major === 7 && value === 22) return null; // CBOR null (0xf6)
    if (major !== 3 || value < 0 || at + value > bytes.length) throw bad('a text was expected');
    const s = text.decode(bytes.subarray(at, at + value));
    at += value;
    return s;
  };
  const map = argument();
  if (map.major !== 5 || map.value < 0) throw bad('a map was expected');
  const found: Partial<Record<string, string | number | null>> = {};
  for (let i = 0; i < map.value; i++) {
    const key = string();
    if (key === null) throw bad('a key is null');
    if (key === 'size') {
      const { major, value } = argument();
      if (major !== 0) throw bad('the size is not an integer');
      found.size = value;
    } else {
      found[key] = string();
    }
  }
  if (at !== bytes.length) throw bad('bytes follow the map');
  const { hash, size, type, name } = found;
  if (!isBlobHash(hash)) throw bad('its hash is not a SHA-256');
  if (typeof size !== 'number') throw bad('it has no size');
  if (typeof type !== 'string') throw bad('it has no type');
  if (name !== null && name !== undefined && typeof name !== 'string') throw bad('its name');
  return { hash, size, type, name: name ?? null };
}
