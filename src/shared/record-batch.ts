/**
 * Many records in one ArrayBuffer, so a batch crosses postMessage as one transferred buffer
 * instead of thousands of structured-cloned objects (PERFORMANCE.md: a round trip costs as much as
 * ~40 cloned objects; a transfer costs next to nothing).
 *
 * Layout (little-endian):
 *   u32 record count
 *   per record:
 *     f64 oid, f64 tid (NaN: none), u32 class name bytes C, u32 state bytes S, u32 ref count K,
 *     C bytes UTF-8 class name, S bytes state, K × f64 refs
 */
import type { StoredRecord } from './storage.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const FIXED = 8 + 8 + 4 + 4 + 4;

export function packRecords(records: readonly StoredRecord[]): ArrayBuffer {
  const names = records.map((r) => encoder.encode(r.className));
  let size = 4;
  records.forEach((r, i) => {
    size += FIXED + (names[i] as Uint8Array).byteLength + r.state.byteLength + 8 * r.refs.length;
  });
  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  view.setUint32(0, records.length, true);
  let at = 4;
  records.forEach((r, i) => {
    const name = names[i] as Uint8Array;
    view.setFloat64(at, r.oid, true);
    view.setFloat64(at + 8, r.tid ?? NaN, true);
    view.setUint32(at + 16, name.byteLength, true);
    view.setUint32(at + 20, r.state.byteLength, true);
    view.setUint32(at + 24, r.refs.length, true);
    at += FIXED;
    bytes.set(name, at);
    at += name.byteLength;
    bytes.set(r.state, at);
    at += r.state.byteLength;
    for (const ref of r.refs) {
      view.setFloat64(at, ref, true);
      at += 8;
    }
  });
  return buffer;
}

/** The records of a packed buffer; their `state`s are views into it (no copy). */
export function unpackRecords(buffer: ArrayBuffer): StoredRecord[] {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const count = view.getUint32(0, true);
  const out = new Array<StoredRecord>(count);
  let at = 4;
  for (let i = 0; i < count; i++) {
    const oid = view.getFloat64(at, true);
    const tid = view.getFloat64(at + 8, true);
    const nameLength = view.getUint32(at + 16, true);
    const stateLength = view.getUint32(at + 20, true);
    const refCount = view.getUint32(at + 24, true);
    at += FIXED;
    const className = decoder.decode(bytes.subarray(at, at + nameLength));
    at += nameLength;
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
