/**
 * CBOR bytes → object state: reads what cbor-encode.ts writes, and what cbor-x 1.6 wrote with
 * shelfdb's former options (the same format, plus tag 64 around Uint8Arrays written in Node and
 * indefinite-length arrays for views it had no tag for). See cbor-tags.ts for the tags.
 *
 * The bytes come from storage, so they may be damaged. Every read checks the bytes are there,
 * every length is checked against what is left before anything is allocated, containers grow as
 * items are read (each item takes at least one byte), and big numbers are read in linear time:
 * a damaged state costs at most time and memory in proportion to its size, and ends in a
 * CorruptStorageError that names the problem and the byte.
 *
 * The key `__proto__` of a plain object nested in a state comes back as an own key (never a
 * prototype); a field `__proto__` of the state itself comes back as `__proto_`, as cbor-x read it. A Date comes back to the millisecond it was written with (see millisecondsOf),
 * also where cbor-x read it 1 ms off.
 */
import { CorruptStorageError } from './shared/errors.js';
import {
  ARRAY_BUFFER_TAG,
  BIGINT_TAG,
  DATA_VIEW_TAG,
  DATE_TAG,
  MAP_TAG,
  NEGATIVE_BIGINT_TAG,
  REF_TAG,
  SET_TAG,
  SHAREABLE_TAG,
  SHARED_REF_TAG,
  TYPED_ARRAY_TAGS,
  UINT8_ARRAY_TAG,
  BLOB_TAG,
} from './cbor-tags.js';
import { ascii, cachedKey, millisecondsOf } from './cbor-scalars.js';
import { BlobReference, readBlobTag, type BlobTagFields } from './blob-tag.js';

/** Turns a stored reference into the object for it. */
export type ResolveRef = (oid: number, className: string) => unknown;

/** Turns a stored Blob (tag 40404) into the value for it: a StoredBlob where a storage can read it. */
export type ResolveBlob = (fields: BlobTagFields) => unknown;

/** Without a storage to read bytes from: the tag's fields (blob-tag.ts). */
const blobReference: ResolveBlob = (fields) => new BlobReference(fields);

/** Marks a shareable item still being read that is not a container (nothing may refer to it). */
const PENDING: unique symbol = Symbol('pending');
/** `share` when the item read is not shareable. */
const NONE = -1;
/** Longest key (in bytes) the cache holds: keys of plain objects are mostly short names. */
const KEY_CACHE_MAX = 23;

/**
 * Decodes object states.
 * @example
 * const state = new CborDecoder().decode(bytes, (oid, className) => ghostOf(oid, className));
 */
export class CborDecoder {
  // ignoreBOM: a string that starts with U+FEFF keeps it (by default TextDecoder drops it).
  private readonly utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
  /**
   * Keys of plain objects read before, by a hash of their bytes (see Reader.key): the same names
   * come back in every state of a class, and a cached one is returned as is, already internalized
   * as a property name. Invariant: every entry is ASCII, so an entry whose char codes equal the
   * bytes read is exactly the string those bytes decode to.
   */
  private readonly keys: string[];
  /** Eight bytes to read floats through (a DataView per decode cost more than the copy). */
  private readonly scratch = new DataView(new ArrayBuffer(8));

  /**
   * @param keyCacheBits the key cache holds 2^keyCacheBits keys (tests use 0, where every key
   *   collides with every other).
   */
  constructor(keyCacheBits = 9) {
    this.keys = new Array<string>(2 ** keyCacheBits).fill('');
  }

  /**
   * The object state in `bytes`, with references turned into objects by `resolve` and Blobs by
   * `blob` (default: a BlobReference holding the tag's fields). The result
   * shares no memory with `bytes`.
   * @throws CorruptStorageError when the bytes are not a whole, well-formed state.
   */
  decode(
    bytes: Uint8Array,
    resolve: ResolveRef,
    blob: ResolveBlob = blobReference,
  ): Record<string, unknown> {
    const reader = new Reader(bytes, resolve, blob, this.utf8, this.keys, this.scratch);
    let state: unknown;
    try {
      state = reader.item(NONE);
    } catch (e) {
      // The reader is recursive: a state nested deeper than the stack overflows it.
      if (e instanceof RangeError)
        throw reader.corrupt('it is nested too deeply (or is too large) to read', e);
      throw e;
    }
    if (reader.pos !== bytes.length) throw reader.corrupt('bytes follow the end of the state');
    if (
      typeof state !== 'object' ||
      state === null ||
      Object.getPrototypeOf(state) !== Object.prototype
    ) {
      throw reader.corrupt('the state is not a plain object', undefined, 0);
    }
    return state as Record<string, unknown>;
  }
}

/** One decode: the bytes, where it is, and the shareable items met so far. */
class Reader {
  /** The next byte to read. */
  pos = 0;
  /** The items under tag 28, by number; PENDING while a non-container one is being read. */
  private readonly shared: unknown[] = [];
  /** A plain object was read already: the state's own, so later ones are nested. */
  private stateStarted = false;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly resolve: ResolveRef,
    private readonly blob: ResolveBlob,
    private readonly utf8: TextDecoder,
    private readonly keys: string[],
    private readonly scratch: DataView,
  ) {}

  corrupt(problem: string, cause?: unknown, at = this.pos): CorruptStorageError {
    return new CorruptStorageError(
      `A stored object state cannot be read: ${problem} (at byte ${at} of ${this.bytes.length}). The record is damaged; check the database with db.verify() and restore it from a backup if it reports damage.`,
      cause === undefined ? undefined : { cause },
    );
  }

  /** Checks `n` more bytes are there. */
  private need(n: number): void {
    if (n > this.bytes.length - this.pos) {
      throw this.corrupt(`the state ends early (${n} more bytes expected)`);
    }
  }

  private byte(): number {
    this.need(1);
    return this.bytes[this.pos++] as number;
  }

  /** The argument of a head whose low five bits are `info` (< 2^53 for 8-byte ones). */
  private arg(info: number): number {
    if (info < 24) return info;
    if (info === 24) return this.byte();
    const b = this.bytes;
    const p = this.pos;
    // By hand rather than through a DataView: one per decode cost more than these reads.
    if (info === 25) {
      this.need(2);
      this.pos = p + 2;
      return ((b[p] as number) << 8) | (b[p + 1] as number);
    }
    if (info === 26) {
      this.need(4);
      this.pos = p + 4;
      return this.uint32(p);
    }
    if (info === 27) {
      this.need(8);
      this.pos = p + 8;
      return this.uint32(p) * 0x100000000 + this.uint32(p + 4);
    }
    throw this.corrupt(`byte ${b[p - 1]} starts no item`, undefined, p - 1);
  }

  /** The big-endian uint32 at `p` (checked to be there). */
  private uint32(p: number): number {
    const b = this.bytes;
    return (
      (b[p] as number) * 0x1000000 +
      (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number))
    );
  }

  /** The scratch view, holding the next `n` (≤ 8) bytes, which are consumed. */
  private load(n: number): DataView {
    this.need(n);
    const view = this.scratch;
    const b = this.bytes;
    for (let i = 0; i < n; i++) view.setUint8(i, b[this.pos++] as number);
    return view;
  }

  /** A count of items that each take at least `size` bytes, checked against what is left. */
  private count(info: number, size: number): number {
    const at = this.pos - 1;
    const n = this.arg(info);
    if (n * size > this.bytes.length - this.pos) {
      throw this.corrupt(`a length of ${n} runs past the end`, undefined, at);
    }
    return n;
  }

  /**
   * Reads one item. `share` is the number of the tag 28 right in front of it, if any: a
   * container is registered under it before its items are read, so they can refer to it.
   */
  item(share: number): unknown {
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
        return info === 27 ? this.bigUint() : this.arg(info);
      case 1:
        return info === 27 ? -1n - this.bigUint() : -1 - this.arg(info);
      case 2:
        return this.bytesOf(this.count(info, 1));
      case 3:
        return this.text(this.count(info, 1));
      case 4:
        if (info === 31) return this.indefiniteArray(share);
        return this.array(this.count(info, 1), share);
      case 5:
        return this.plainObject(this.count(info, 2), share);
      case 6:
        return this.tagged(this.arg(info), share);
      default:
        return this.simple(info);
    }
  }

  private bigUint(): bigint {
    return this.load(8).getBigUint64(0);
  }

  private simple(info: number): unknown {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 26:
        return this.load(4).getFloat32(0);
      case 27:
        return this.load(8).getFloat64(0);
      default:
        throw this.corrupt(
          `simple value ${info} is not one shelfdb writes`,
          undefined,
          this.pos - 1,
        );
    }
  }

  /** A copy of the next `n` bytes (a loaded object never aliases the storage's bytes). */
  private bytesOf(n: number): Uint8Array<ArrayBuffer> {
    return this.bytes.slice(this.pos, (this.pos += n));
  }

  private text(n: number): string {
    const b = this.bytes;
    const p = this.pos;
    if (n <= 32) {
      // Short keys and values are mostly ASCII, and a loop beats a TextDecoder call for them.
      const s = ascii(b, p, n);
      if (s !== undefined) {
        this.pos = p + n;
        return s;
      }
    }
    this.pos = p + n;
    return this.utf8.decode(b.subarray(p, p + n));
  }

  /**
   * The key of a plain object: a text string of `n` < 24 bytes (checked to be there), its head
   * read; through the decoder's key cache (see cachedKey).
   */
  private key(n: number): string {
    const s = cachedKey(this.keys, this.bytes, this.pos, n);
    if (s === undefined) return this.text(n);
    this.pos += n;
    return s;
  }

  private array(n: number, share: number): unknown[] {
    const array: unknown[] = [];
    if (share !== NONE) this.shared[share] = array;
    for (let i = 0; i < n; i++) array.push(this.item(NONE));
    return array;
  }

  private indefiniteArray(share: number): unknown[] {
    const array: unknown[] = [];
    if (share !== NONE) this.shared[share] = array;
    for (;;) {
      this.need(1);
      if (this.bytes[this.pos] === 0xff) {
        this.pos++;
        return array;
      }
      array.push(this.item(NONE));
    }
  }

  private plainObject(n: number, share: number): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    // The first plain object read is the state itself (items are read outside in).
    const isState = !this.stateStarted;
    this.stateStarted = true;
    if (share !== NONE) this.shared[share] = object;
    const b = this.bytes;
    for (let i = 0; i < n; i++) {
      const at = this.pos;
      const initial = at < b.length ? (b[at] as number) : 0;
      let key: unknown;
      if (initial >= 0x60 && initial <= 0x60 + KEY_CACHE_MAX) {
        this.pos = at + 1;
        key = this.key(this.count(initial - 0x60, 1));
      } else key = this.item(NONE);
      if (typeof key !== 'string')
        throw this.corrupt('a plain object has a key that is not a string', undefined, at);
      const value = this.item(NONE);
      if (key !== '__proto__') object[key] = value;
      // The state's fields are assigned to the object (setState), where `__proto__` would set its
      // prototype: there it stays `__proto_`, as cbor-x read it. Nested, it is an own key.
      else if (isState) object.__proto_ = value;
      else
        Object.defineProperty(object, key, {
          value,
          writable: true,
          enumerable: true,
          configurable: true,
        });
    }
    return object;
  }

  /** The head of an item that must be an array or a map (`major` 4 or 5): its count. */
  private containerHead(major: number, what: string): number {
    const at = this.pos;
    const initial = this.byte();
    if (initial >> 5 !== major || (initial & 0x1f) === 31)
      throw this.corrupt(`${what} is malformed`, undefined, at);
    return this.count(initial & 0x1f, major === 4 ? 1 : 2);
  }

  /** The bytes of a byte string, possibly under tag 64 (as cbor-x wrote them in Node). */
  private byteStringItem(what: string): Uint8Array<ArrayBuffer> {
    // (Reading past the end gives undefined, which fails the test.)
    if (this.bytes[this.pos] === 0xd8 && this.bytes[this.pos + 1] === UINT8_ARRAY_TAG)
      this.pos += 2;
    return this.byteString(what);
  }

  /** The bytes of the byte string that must come next. */
  private byteString(what: string): Uint8Array<ArrayBuffer> {
    const at = this.pos;
    const initial = this.byte();
    if (initial >> 5 !== 2 || (initial & 0x1f) === 31) {
      throw this.corrupt(`${what} has no bytes`, undefined, at);
    }
    return this.bytesOf(this.count(initial & 0x1f, 1));
  }

  private tagged(tag: number, share: number): unknown {
    const at = this.pos;
    switch (tag) {
      case SHAREABLE_TAG: {
        const id = this.shared.length;
        this.shared.push(PENDING);
        const value = this.item(id);
        this.shared[id] = value;
        return value;
      }
      case SHARED_REF_TAG: {
        const id = this.item(NONE);
        const value = typeof id === 'number' ? this.shared[id] : undefined;
        if (value === undefined || value === PENDING) {
          throw this.corrupt(
            `a reference to shared item ${String(id)}, which is not before it`,
            undefined,
            at,
          );
        }
        return value;
      }
      case MAP_TAG: {
        const n = this.containerHead(5, 'a Map');
        const map = new Map<unknown, unknown>();
        if (share !== NONE) this.shared[share] = map;
        for (let i = 0; i < n; i++) {
          const key = this.item(NONE);
          map.set(key, this.item(NONE));
        }
        return map;
      }
      case SET_TAG: {
        const n = this.containerHead(4, 'a Set');
        const set = new Set<unknown>();
        if (share !== NONE) this.shared[share] = set;
        for (let i = 0; i < n; i++) set.add(this.item(NONE));
        return set;
      }
      default:
        return this.leafTagged(tag, at);
    }
  }

  /**
   * An item under a tag whose content (as shelfdb and cbor-x wrote it) nests no container. Apart from
   * `tagged` so that the frame the deep paths recurse through (tag 28, Map, Set) stays small: a
   * state nested MAX_NESTING levels deep (serialize.ts) must read back with stack to spare.
   */
  private leafTagged(tag: number, at: number): unknown {
    switch (tag) {
      case DATE_TAG: {
        const seconds = this.item(NONE);
        if (typeof seconds !== 'number') throw this.corrupt('a Date has no time', undefined, at);
        return new Date(millisecondsOf(seconds));
      }
      case BIGINT_TAG:
      case NEGATIVE_BIGINT_TAG: {
        const bytes = this.byteStringItem('a bigint');
        let hex = '0x0';
        // One string and one parse: linear, where shifting in a byte at a time is quadratic.
        for (const byte of bytes) hex += (byte < 16 ? '0' : '') + byte.toString(16);
        const magnitude = BigInt(hex);
        return tag === BIGINT_TAG ? magnitude : -1n - magnitude;
      }
      case REF_TAG: {
        if (this.containerHead(4, 'a reference') !== 2)
          throw this.corrupt('a reference is malformed', undefined, at);
        const oid = this.item(NONE);
        const className = this.item(NONE);
        if (!Number.isSafeInteger(oid) || (oid as number) < 0 || typeof className !== 'string') {
          throw this.corrupt('a reference is malformed', undefined, at);
        }
        return this.resolve(oid as number, className);
      }
      case BLOB_TAG: {
        const fields = readBlobTag(this.item(NONE));
        if (fields === undefined) throw this.corrupt('a Blob is malformed', undefined, at);
        return this.blob(fields);
      }
      case ARRAY_BUFFER_TAG:
        return this.byteStringItem('an ArrayBuffer').buffer;
      case DATA_VIEW_TAG:
        return new DataView(this.byteStringItem('a DataView').buffer);
      case UINT8_ARRAY_TAG:
        return this.byteString('a Uint8Array');
      default:
        for (const [cls, typedTag] of TYPED_ARRAY_TAGS) {
          if (tag !== typedTag) continue;
          const bytes = this.byteStringItem(`a ${cls.name}`);
          if (bytes.length % cls.BYTES_PER_ELEMENT !== 0) {
            throw this.corrupt(`a ${cls.name} of ${bytes.length} bytes`, undefined, at);
          }
          return new cls(bytes.buffer);
        }
        throw this.corrupt(`tag ${tag} is not one shelfdb writes`, undefined, at);
    }
  }
}
