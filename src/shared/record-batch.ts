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
import type { CommitRequest, StoredRecord } from './storage.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Bytes of each record's fixed part in a batch (what a batch of N records holds at least). */
export const RECORD_FIXED_BYTES = 8 + 8 + 4 + 4 + 4;
const FIXED = RECORD_FIXED_BYTES;

export function packRecords(records: readonly StoredRecord[]): ArrayBuffer {
  const table = nameTable(records);
  let size = table.bytes;
  for (const r of records) size += FIXED + r.state.byteLength + 8 * r.refs.length;
  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  let at = writeHeader(view, bytes, records.length, table.names);
  records.forEach((r, i) => {
    writeFixed(view, at, r, table.index[i] as number, r.state.byteLength);
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

/** What a record batch says of a record besides its state. */
export interface RecordHead {
  oid: number;
  tid?: number | undefined;
  className: string;
  refs: readonly number[];
}

/** Where `writeRecords` writes a batch: a growing buffer (the page's CBOR encoder in batch mode). */
export interface BatchWriter {
  /** Reserves `n` bytes at the end; their offset in `batchView`. */
  reserve(n: number): number;
  /** The bytes written so far (replaced when the buffer grows: read it after each append). */
  readonly batchView: DataView;
}

/**
 * Writes a record batch into `out`, each record's state appended by `writeState` in its place
 * (it returns the bytes it appended). Returns each record's state size. The caller starts `out`
 * empty and takes the bytes after.
 */
export function writeRecords<R extends RecordHead>(
  out: BatchWriter,
  records: readonly R[],
  writeState: (record: R) => number,
): number[] {
  const table = nameTable(records);
  const head = out.reserve(table.bytes);
  const view = out.batchView;
  writeHeader(view, new Uint8Array(view.buffer), records.length, table.names, head);
  const sizes = new Array<number>(records.length);
  records.forEach((r, i) => {
    const at = out.reserve(FIXED);
    const size = writeState(r);
    sizes[i] = size;
    writeFixed(out.batchView, at, r, table.index[i] as number, size);
    let refAt = out.reserve(8 * r.refs.length);
    const refView = out.batchView;
    for (const ref of r.refs) {
      refView.setFloat64(refAt, ref, true);
      refAt += 8;
    }
  });
  return sizes;
}

/** Each distinct class name once, UTF-8; each record's index into them; the header's size. */
function nameTable(records: readonly RecordHead[]): {
  names: Uint8Array[];
  index: number[];
  bytes: number;
} {
  const nameIndex = new Map<string, number>();
  const names: Uint8Array[] = [];
  let bytes = 8;
  const index = records.map((r) => {
    let i = nameIndex.get(r.className);
    if (i === undefined) {
      i = names.length;
      nameIndex.set(r.className, i);
      const name = encoder.encode(r.className);
      names.push(name);
      bytes += 2 + name.byteLength;
    }
    return i;
  });
  return { names, index, bytes };
}

/** Writes the counts and the class names at `at`; returns where the records start. */
function writeHeader(
  view: DataView,
  bytes: Uint8Array,
  count: number,
  names: Uint8Array[],
  at = 0,
): number {
  view.setUint32(at, count, true);
  view.setUint32(at + 4, names.length, true);
  at += 8;
  for (const name of names) {
    view.setUint16(at, name.byteLength, true);
    bytes.set(name, at + 2);
    at += 2 + name.byteLength;
  }
  return at;
}

function writeFixed(
  view: DataView,
  at: number,
  r: RecordHead,
  nameIndex: number,
  stateBytes: number,
): void {
  view.setFloat64(at, r.oid, true);
  view.setFloat64(at + 8, r.tid ?? NaN, true);
  view.setUint32(at + 16, nameIndex, true);
  view.setUint32(at + 20, stateBytes, true);
  view.setUint32(at + 24, r.refs.length, true);
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
    /**
     * The buffer stays this side's: each crossing sends a copy of its first `kept` bytes (a
     * transfer would detach it). 0: not kept.
     */
    private readonly kept = 0,
  ) {}

  static of<R extends StoredRecord>(records: R[]): RecordBatch<R> {
    return new RecordBatch<R>(undefined, records);
  }

  /** A batch that crossed a link: read (and checked) on first use of `records`. */
  static fromBuffer(buffer: ArrayBuffer): RecordBatch {
    return new RecordBatch(buffer, undefined);
  }

  /**
   * A batch this side wrote and keeps (a commit that may be sent again), in the first `length`
   * bytes of `buffer` (what follows is spare room): read lazily, sent as copies.
   */
  static kept(buffer: ArrayBuffer, length = buffer.byteLength): RecordBatch {
    return new RecordBatch(buffer, undefined, length);
  }

  /** The packed batch, to send: transferred (detached here) unless the batch is `kept`. */
  get buffer(): ArrayBuffer {
    this.packed ??= packRecords(this.unpacked as R[]);
    return this.kept > 0 ? this.packed.slice(0, this.kept) : this.packed;
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

/**
 * A CommitRequest whose records were written straight into a record batch (the page's commit
 * capture: pending-commit.ts), so that crossing a link sends that batch as it is (`encodeArgs`)
 * instead of packing the records again. `records` is an own enumerable property like the others
 * (a storage or wrapper that copies the request, `structuredClone` or JSON, sees them all), read
 * from the batch on first use, as views into it.
 */
export class PackedCommitRequest implements CommitRequest {
  declare baseTid: CommitRequest['baseTid'];
  declare records: StoredRecord[];
  declare readCurrent?: NonNullable<CommitRequest['readCurrent']>;
  declare note?: string;
  declare user?: string;
  declare meta?: Record<string, unknown>;
  declare txnId?: string;
  declare undoes?: NonNullable<CommitRequest['undoes']>;
  readonly #batch: RecordBatch;

  /** `fields`, and the records packed in the first `length` bytes of `buffer`. */
  constructor(
    fields: Omit<CommitRequest, 'records'>,
    buffer: ArrayBuffer,
    length = buffer.byteLength,
  ) {
    Object.assign(this, fields);
    const batch = RecordBatch.kept(buffer, length);
    this.#batch = batch;
    Object.defineProperty(this, 'records', { enumerable: true, get: () => batch.records });
  }

  /** The records, as a batch. */
  get batch(): RecordBatch {
    return this.#batch;
  }

  /** The request's fields but `records`, without unpacking them. */
  fields(): Omit<CommitRequest, 'records'> {
    const fields: Record<string, unknown> = {};
    for (const key of Object.keys(this)) {
      if (key !== 'records') fields[key] = (this as unknown as Record<string, unknown>)[key];
    }
    return fields as unknown as Omit<CommitRequest, 'records'>;
  }
}
