/**
 * Object state → CBOR bytes (RFC 8949), for exactly the values shelfdb stores: CborWriter, the value
 * writing of CborEncoder (cbor-encode.ts adds the batches a commit is written in).
 *
 * The bytes are those cbor-x 1.6 wrote in a browser with shelfdb's former options
 * (`structuredClone: true, useRecords: false, mapsAsObjects: true`), so a database keeps one
 * format across the switch and test/cbor.test.ts can compare the two byte for byte:
 *
 * 1. Numbers: an integer in [−2^32, 2^32) as a CBOR integer with the shortest head; any other
 *    number (fractions, larger integers, NaN, ±Infinity) as a float64. −0 is written as 0.
 * 2. bigint: always a 64-bit integer head (0x1b / 0x3b) when it fits, else tag 2 / 3 around the
 *    big-endian magnitude — so a bigint never reads back as a number.
 * 3. Strings: UTF-8 text with the shortest head. A lone surrogate is written as U+FFFD, as
 *    TextEncoder does (neither codec could bring one back).
 * 4. Plain objects: a map with a 16-bit count (0xb9; 0xba past 65535 keys), string keys in
 *    for-in order. Arrays: an array. Map: tag 259 + map. Set: tag 258 + array.
 * 5. Date: tag 1 + seconds; a uint32 for whole seconds in [0, 2^32), else a float64.
 * 6. Uint8Array: a byte string; other typed arrays: their RFC 8746 tag + byte string; ArrayBuffer
 *    and DataView: shelfdb's tags + byte string; a persistent object: tag 40401 + [oid, className].
 * 7. An object met a second time is tag 29 + its number (a 16-bit head); its first occurrence gets
 *    tag 28 in front, inserted after the whole value is written (only then is it known that it is
 *    shared). Numbers count the tag-28 items in byte order, which is the order a decoder meets them.
 */
import { SerializationError } from './shared/errors.js';
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
} from './cbor-tags.js';
import { writeUtf8 } from './utf8-write.js';

/**
 * How the encoder stores an object that is neither plain data nor a built-in it knows: the
 * `[oid, className]` of a persistent object, or undefined to refuse it.
 */
export type RefOf = (value: object) => readonly [oid: number, className: string] | undefined;

/**
 * How the encoder stores an object of a class with a tag of its own (a Blob: tag 40404, see
 * blob-tag.ts): the tag and the items of the array under it, or undefined to refuse it.
 */
export type TaggedOf = (value: object) => { tag: number; items: readonly unknown[] } | undefined;

/** The size of a new output buffer. */
export const INITIAL_SIZE = 8192;
/** A buffer grown past this by one large state is not kept for the next encode. */
export const KEEP_AT_MOST = 1 << 20;
const TWO_64 = 1n << 64n;

/**
 * Encodes object states; one instance is reused (it keeps its output buffer between calls).
 * @example
 * const writer = new CborWriter(() => undefined);
 * writer.encode({ title: 'milk', done: false }); // Uint8Array [0xb9, 0x00, 0x02, …]
 */
export class CborWriter {
  /** The output buffer, grown as needed; bytes [0, pos) are the value written so far. */
  protected bytes = new Uint8Array(INITIAL_SIZE);
  /** A DataView over `bytes`, for multi-byte numbers. */
  protected view = new DataView(this.bytes.buffer);
  /** Where the next byte goes. */
  protected pos = 0;
  /** Every object of the value being encoded → the offset where it starts. */
  protected seen = new Map<object, number>();
  /** Start offset of each object met more than once → offsets of the heads of its tag-29 ids. */
  protected readonly shared = new Map<number, number[]>();
  private readonly utf8 = new TextEncoder();

  constructor(
    private readonly refOf: RefOf,
    private readonly taggedOf: TaggedOf = () => undefined,
  ) {}

  /**
   * The CBOR bytes of `value`, in a new array the encoder does not touch again.
   * @throws SerializationError for a value outside the supported ones (Serializer.scan refuses
   *   those first, naming the path; reaching this is a bug).
   */
  encode(value: unknown): Uint8Array {
    if (this.bytes.length > KEEP_AT_MOST) this.setBuffer(new Uint8Array(INITIAL_SIZE));
    this.pos = 0;
    try {
      this.item(value);
      if (this.shared.size > 0) this.markShared();
      return this.bytes.slice(0, this.pos);
    } finally {
      this.forgetValue();
    }
  }

  /** Forgets the objects of the value just written (each value's sharing is its own). */
  protected forgetValue(): void {
    // A new Map: clear() costs more than making one (it reallocates the table in V8, and
    // showed as the encoder's largest cost in bench/serializer.mjs).
    this.seen = new Map();
    if (this.shared.size > 0) this.shared.clear();
  }

  protected setBuffer(bytes: Uint8Array<ArrayBuffer>): void {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
  }

  /** Makes room for `n` more bytes. */
  protected ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.bytes.length) return;
    const bigger = new Uint8Array(Math.max(need, this.bytes.length * 2));
    bigger.set(this.bytes.subarray(0, this.pos));
    this.setBuffer(bigger);
  }

  /** Writes a head: `major` (already shifted: 0x00, 0x20, … 0xe0) with argument `n` < 2^32. */
  private head(major: number, n: number): void {
    this.ensure(5);
    const b = this.bytes;
    if (n < 24) b[this.pos++] = major | n;
    else if (n < 0x100) {
      b[this.pos++] = major | 24;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = major | 25;
      b[this.pos++] = n >> 8;
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = major | 26;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }

  protected item(value: unknown): void {
    switch (typeof value) {
      case 'string':
        return this.string(value);
      case 'number':
        return this.number(value);
      case 'object':
        if (value === null) return this.simple(0xf6);
        return this.object(value);
      case 'boolean':
        return this.simple(value ? 0xf5 : 0xf4);
      case 'undefined':
        return this.simple(0xf7);
      case 'bigint':
        return this.bigint(value);
      default:
        throw new SerializationError(
          `Cannot encode a ${typeof value}: Serializer.scan should have refused it (a bug in shelfdb; please report it).`,
          '',
        );
    }
  }

  private simple(byte: number): void {
    this.ensure(1);
    this.bytes[this.pos++] = byte;
  }

  private number(v: number): void {
    if (v >>> 0 === v) return this.head(0x00, v); // also −0, written as 0
    if (v >> 0 === v || (v < 0 && v >= -0x100000000 && Math.floor(v) === v)) {
      return this.head(0x20, -1 - v);
    }
    this.float64(v);
  }

  private float64(v: number): void {
    this.ensure(9);
    this.bytes[this.pos] = 0xfb;
    this.view.setFloat64(this.pos + 1, v);
    this.pos += 9;
  }

  private bigint(v: bigint): void {
    if (v >= 0n && v < TWO_64) {
      this.ensure(9);
      this.bytes[this.pos] = 0x1b;
      this.view.setBigUint64(this.pos + 1, v);
      this.pos += 9;
    } else if (v < 0n && v > -TWO_64) {
      this.ensure(9);
      this.bytes[this.pos] = 0x3b;
      this.view.setBigUint64(this.pos + 1, -1n - v);
      this.pos += 9;
    } else {
      this.head(0xc0, v < 0n ? NEGATIVE_BIGINT_TAG : BIGINT_TAG);
      // toString(16) is linear in the size of the number; shifting a byte at a time is not.
      let hex = (v < 0n ? -1n - v : v).toString(16);
      if (hex.length % 2 === 1) hex = '0' + hex;
      const n = hex.length / 2;
      this.head(0x40, n);
      this.ensure(n);
      for (let i = 0; i < n; i++)
        this.bytes[this.pos++] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    }
  }

  /**
   * A text string. Short strings are written by hand (faster than a TextEncoder call), into the
   * place their head of one or two bytes leaves; long ones by `encodeInto`.
   */
  protected string(s: string): void {
    const n = s.length;
    if (n < 0x40) {
      // At most 3 bytes per UTF-16 unit: < 0xc0 bytes, so a head of 1 or 2 bytes.
      this.ensure(2 + 3 * n);
      const b = this.bytes;
      const start = this.pos;
      const guess = n < 24 ? 1 : 2;
      const p = writeUtf8(b, start + guess, s);
      const length = p - start - guess;
      if (length < 24) {
        if (guess !== 1) b.copyWithin(start + 1, start + 2, p);
        b[start] = 0x60 | length;
        this.pos = start + 1 + length;
      } else {
        if (guess !== 2) b.copyWithin(start + 2, start + 1, p);
        b[start] = 0x78;
        b[start + 1] = length;
        this.pos = start + 2 + length;
      }
      return;
    }
    this.ensure(5 + 3 * n);
    const start = this.pos;
    // The head for n bytes (the fewest the string can take); moved up if it takes more.
    const guess = headSize(n);
    const length = this.utf8.encodeInto(s, this.bytes.subarray(start + guess)).written;
    const size = headSize(length);
    if (size !== guess) {
      this.bytes.copyWithin(start + size, start + guess, start + guess + length);
    }
    this.head(0x60, length);
    this.pos = start + size + length;
  }

  private object(value: object): void {
    const first = this.seen.get(value);
    if (first !== undefined) return this.sharedRef(first);
    this.seen.set(value, this.pos);
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      return this.plainObject(value as Record<string, unknown>);
    }
    if (proto === Array.prototype) {
      const array = value as unknown[];
      const n = array.length;
      this.head(0x80, n);
      for (let i = 0; i < n; i++) this.item(array[i]);
      return;
    }
    if (value instanceof Map) {
      this.head(0xc0, MAP_TAG);
      this.head(0xa0, value.size);
      for (const [k, v] of value) {
        this.item(k);
        this.item(v);
      }
      return;
    }
    if (value instanceof Set) {
      this.head(0xc0, SET_TAG);
      this.head(0x80, value.size);
      for (const v of value) this.item(v);
      return;
    }
    if (value instanceof Date) return this.date(value);
    if (value instanceof ArrayBuffer) {
      this.head(0xc0, ARRAY_BUFFER_TAG);
      return this.byteString(new Uint8Array(value));
    }
    if (ArrayBuffer.isView(value)) return this.binary(value);
    const ref = this.refOf(value);
    if (ref === undefined) return this.tagged(value);
    this.head(0xc0, REF_TAG);
    this.head(0x80, 2);
    this.number(ref[0]);
    this.string(ref[1]);
  }

  /** An object under a tag of its own (see TaggedOf): the tag, then its items as an array. */
  private tagged(value: object): void {
    const tagged = this.taggedOf(value);
    if (tagged === undefined) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      throw new SerializationError(
        `Cannot encode a ${String(name ?? 'Object')}: Serializer.scan should have refused it (a bug in shelfdb; please report it).`,
        '',
      );
    }
    this.head(0xc0, tagged.tag);
    this.head(0x80, tagged.items.length);
    for (const item of tagged.items) this.item(item);
  }

  private plainObject(value: Record<string, unknown>): void {
    const at = this.mapStart();
    let count = 0;
    for (const key in value) {
      this.string(key);
      this.item(value[key]);
      count++;
    }
    this.mapEnd(at, count);
  }

  /** Starts a map whose count is written after its entries: a 16-bit one is reserved, as cbor-x did. */
  protected mapStart(): number {
    this.ensure(3);
    const at = this.pos;
    this.bytes[at] = 0xb9;
    this.pos += 3;
    return at;
  }

  /** Writes the count of the map started at `at` (see mapStart). */
  protected mapEnd(at: number, count: number): void {
    if (count < 0x10000) {
      this.bytes[at + 1] = count >> 8;
      this.bytes[at + 2] = count & 0xff;
      return;
    }
    // Past 65535 keys the count needs 4 bytes: move the entries up by 2, and with them the
    // offsets recorded for objects and references inside them.
    this.ensure(2);
    this.bytes.copyWithin(at + 5, at + 3, this.pos);
    this.pos += 2;
    this.bytes[at] = 0xba;
    this.view.setUint32(at + 1, count);
    for (const [obj, start] of this.seen) if (start > at) this.seen.set(obj, start + 2);
    const moved = [...this.shared].map(([start, refs]): [number, number[]] => [
      start > at ? start + 2 : start,
      refs.map((r) => (r > at ? r + 2 : r)),
    ]);
    this.shared.clear();
    for (const [start, refs] of moved) this.shared.set(start, refs);
  }

  private date(date: Date): void {
    this.head(0xc0, DATE_TAG);
    const ms = date.getTime();
    if (ms % 1000 === 0 && ms >= 0 && ms < 0x100000000 * 1000) {
      this.ensure(5);
      this.bytes[this.pos] = 0x1a;
      this.view.setUint32(this.pos + 1, ms / 1000);
      this.pos += 5;
    } else {
      this.float64(ms / 1000);
    }
  }

  private byteString(bytes: Uint8Array): void {
    this.head(0x40, bytes.length);
    this.ensure(bytes.length);
    this.bytes.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  private binary(view: ArrayBufferView): void {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    if (view instanceof Uint8Array) return this.byteString(bytes);
    if (view instanceof DataView) {
      this.head(0xc0, DATA_VIEW_TAG);
      return this.byteString(bytes);
    }
    for (const [cls, tag] of TYPED_ARRAY_TAGS) {
      if (view instanceof cls) {
        this.head(0xc0, tag);
        return this.byteString(bytes);
      }
    }
    // A view this format has no tag for (Float16Array): its elements, as an indefinite-length
    // array, as cbor-x wrote it. It reads back as an array of numbers.
    this.simple(0x9f);
    for (const element of view as unknown as Iterable<unknown>) this.item(element);
    this.simple(0xff);
  }

  /** A second (or later) occurrence of the object that starts at `start`. */
  private sharedRef(start: number): void {
    let refs = this.shared.get(start);
    if (refs === undefined) this.shared.set(start, (refs = []));
    this.ensure(7);
    this.bytes[this.pos++] = 0xd8;
    this.bytes[this.pos++] = SHARED_REF_TAG;
    refs.push(this.pos);
    // The number is this object's rank among the shared ones by start, which is below the
    // count of objects met so far: 16 bits hold it while that count does.
    if (this.seen.size <= 0x10000) {
      this.bytes[this.pos] = 0x19;
      this.pos += 3;
    } else {
      this.bytes[this.pos] = 0x1a;
      this.pos += 5;
    }
  }

  /** Numbers the shared objects and inserts tag 28 in front of each first occurrence. */
  protected markShared(): void {
    const starts = [...this.shared.keys()].sort((a, b) => a - b);
    this.ensure(2 * starts.length);
    const b = this.bytes;
    starts.forEach((start, id) => {
      for (const at of this.shared.get(start) ?? []) {
        if (b[at] === 0x19) {
          b[at + 1] = id >> 8;
          b[at + 2] = id & 0xff;
        } else {
          this.view.setUint32(at + 1, id);
        }
      }
    });
    // From the last one back, so each stretch of bytes moves once.
    let end = this.pos;
    let shift = 2 * starts.length;
    for (let i = starts.length - 1; i >= 0; i--) {
      const start = starts[i] as number;
      b.copyWithin(start + shift, start, end);
      shift -= 2;
      b[start + shift] = 0xd8;
      b[start + shift + 1] = SHAREABLE_TAG;
      end = start;
    }
    this.pos += 2 * starts.length;
  }
}

/** Bytes in the head of a length `n` < 2^32. */
function headSize(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}
