/**
 * Many records in one ArrayBuffer, so a batch crosses postMessage as one transferred buffer
 * instead of thousands of structured-cloned objects (measured in Chromium: a round trip costs as much as
 * ~40 cloned objects; a transfer costs next to nothing).
 *
 * Layout (little-endian):
 *   u32 record count R, u32 class name count C
 *   C × (u16 byte length, UTF-8 class name)         each distinct name once
 *   R × (f64 oid, f64 tid (NaN: none), u32 class name index, u32 state bytes S, u32 ref count K,
 *        S bytes state, K × f64 refs)
 */
import { ShelfError } from './errors.js';
import type { StoredRecord } from './storage.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Bytes of each record's fixed part in a batch (what a batch of N records holds at least). */
export const RECORD_FIXED_BYTES = 8 + 8 + 4 + 4 + 4;
const FIXED = RECORD_FIXED_BYTES;

export function packRecords(records: readonly StoredRecord[]): ArrayBuffer {
  const nameIndex = new Map<string, number>();
  const names: Uint8Array[] = [];
  let size = 8;
  const index = records.map((r) => {
    let i = nameIndex.get(r.className);
    if (i === undefined) {
      i = names.length;
      nameIndex.set(r.className, i);
      const bytes = encoder.encode(r.className);
      names.push(bytes);
      size += 2 + bytes.byteLength;
    }
    size += FIXED + r.state.byteLength + 8 * r.refs.length;
    return i;
  });
  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  view.setUint32(0, records.length, true);
  view.setUint32(4, names.length, true);
  let at = 8;
  for (const name of names) {
    view.setUint16(at, name.byteLength, true);
    bytes.set(name, at + 2);
    at += 2 + name.byteLength;
  }
  records.forEach((r, i) => {
    view.setFloat64(at, r.oid, true);
    view.setFloat64(at + 8, r.tid ?? NaN, true);
    view.setUint32(at + 16, index[i] as number, true);
    view.setUint32(at + 20, r.state.byteLength, true);
    view.setUint32(at + 24, r.refs.length, true);
    at += FIXED;
    bytes.set(r.state, at);
    at += r.state.byteLength;
    for (const ref of r.refs) {
      view.setFloat64(at, ref, true);
      at += 8;
    }
  });
  return buffer;
}

/**
 * The records of a packed buffer; their `state`s are views into it (no copy).
 * @throws RangeError for a buffer that is not a whole record batch (counts or lengths past its
 *   end), before allocating anything its header claims.
 */
export function unpackRecords(buffer: ArrayBuffer): StoredRecord[] {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  if (buffer.byteLength < 8) throw new RangeError('a record batch is at least 8 bytes');
  const count = view.getUint32(0, true);
  const nameCount = view.getUint32(4, true);
  if (count * FIXED + nameCount * 2 > buffer.byteLength - 8) {
    throw new RangeError(
      `a record batch of ${buffer.byteLength} bytes cannot hold ${count} records`,
    );
  }
  const names = new Array<string>(nameCount);
  let at = 8;
  for (let i = 0; i < nameCount; i++) {
    const length = view.getUint16(at, true);
    names[i] = decoder.decode(bytes.subarray(at + 2, at + 2 + length));
    at += 2 + length;
  }
  if (at > buffer.byteLength) throw new RangeError('record batch: class names past its end');
  const out = new Array<StoredRecord>(count);
  for (let i = 0; i < count; i++) {
    const oid = view.getFloat64(at, true);
    const tid = view.getFloat64(at + 8, true);
    const className = names[view.getUint32(at + 16, true)];
    if (className === undefined) throw new RangeError('record batch: no such class name');
    const stateLength = view.getUint32(at + 20, true);
    const refCount = view.getUint32(at + 24, true);
    at += FIXED;
    if (at + stateLength + 8 * refCount > buffer.byteLength) {
      throw new RangeError('record batch: a record runs past its end');
    }
    const state = bytes.subarray(at, at + stateLength);
    at += stateLength;
    const refs = new Array<number>(refCount);
    for (let k = 0; k < refCount; k++) {
      refs[k] = view.getFloat64(at, true);
      at += 8;
    }
    const record: StoredRecord = { oid, className, state, refs };
    if (!Number.isNaN(tid)) record.tid = tid;
    out[i] = record;
  }
  return out;
}

/**
 * Records as they cross a link: packed into one ArrayBuffer that is transferred, not cloned
 * (the Comlink transfer handler in link.ts; a tab channel sends `buffer`). Packed or unpacked on
 * first use, so a batch that arrives is only decoded where its receiver checks it.
 */
export class RecordBatch<R extends StoredRecord = StoredRecord> {
  private constructor(
    private packed: ArrayBuffer | undefined,
    private unpacked: R[] | undefined,
  ) {}

  static of<R extends StoredRecord>(records: R[]): RecordBatch<R> {
    return new RecordBatch<R>(undefined, records);
  }

  /** A batch that crossed a link: read (and checked) on first use of `records`. */
  static fromBuffer(buffer: ArrayBuffer): RecordBatch {
    return new RecordBatch(buffer, undefined);
  }

  get buffer(): ArrayBuffer {
    this.packed ??= packRecords(this.unpacked as R[]);
    return this.packed;
  }

  /** @throws ShelfError for a buffer that is not a record batch. */
  get records(): R[] {
    if (this.unpacked === undefined) {
      try {
        this.unpacked = unpackRecords(this.packed as ArrayBuffer) as R[];
      } catch (error) {
        throw new ShelfError(
          `A record batch that crossed a link is malformed: ${(error as Error).message}.`,
          {
            cause: error,
          },
        );
      }
    }
    return this.unpacked;
  }
}
