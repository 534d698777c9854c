/**
 * RecordWriter: an archive entry's state JSON → the StoredRecord commit and import write (design15
 * "Writing records"). The JSON becomes a value again (`jsonToState`: Maps, Sets, Dates, bigints,
 * typed arrays, shared parts and cycles), its `$ref`/`$ext` markers become RecordRefs through the
 * caller's resolver, and the state is encoded with shelfdb's own CBOR encoder, whose `refOf`
 * writes a RecordRef as the reference `[oid, className]` a loaded object would have been written
 * as. The record's `refs` are the oids the encoder met, each once.
 */
import { CborEncoder } from '../cbor-encode.js';
import { BLOB_TAG } from '../cbor-tags.js';
import { JsonBlob } from './blob-json.js';
import { CorruptStorageError, SerializationError } from '../shared/errors.js';
import type { StoredRecord, Tid } from '../shared/storage.js';
import {
  jsonToState,
  jsonToValue,
  type Json,
  type JsonObject,
  type RefMarker,
} from './json-value.js';

/** A reference as written: the target's oid and stored class name. */
export class RecordRef {
  constructor(
    /** The referenced object's oid. */
    readonly oid: number,
    /** Its stored class name. */
    readonly className: string,
  ) {}
}

/**
 * Turns a marker met at `path` (a JSON path such as `.items[2]`) into what is written for it.
 * @throws an error naming what is wrong (the caller's: an unknown id, an unresolved oid).
 */
export type RefResolver = (marker: RefMarker, path: string) => RecordRef;

/** Bytes of the slabs small states are copied into (see RecordWriter.keep). */
const SLAB_BYTES = 256 * 1024;
/** States larger than this keep their own buffer. */
const SLAB_AT_MOST = 4 * 1024;

/** Writes records from JSON states; one per commit or import (it reuses one encoder). */
export class RecordWriter {
  /** The slab small states are copied into, and how much of it is used. */
  private slab = new Uint8Array(0);
  private used = 0;
  /** The oids the encoding under way references. */
  private met = new Set<number>();
  private readonly encoder = new CborEncoder(
    (value) => {
      if (!(value instanceof RecordRef)) return undefined;
      this.met.add(value.oid);
      return [value.oid, value.className];
    },
    // A Blob: its tag, naming its blob record, which the record's refs list (pack keeps it).
    (value) => {
      if (!(value instanceof JsonBlob) || !(value.record instanceof RecordRef)) return undefined;
      this.met.add(value.record.oid);
      return { tag: BLOB_TAG, items: value.tagItems(value.record.oid) };
    },
  );

  constructor(private readonly resolve: RefResolver) {}

  /**
   * The value of an entry's JSON (a page's key or value), references resolved.
   * @throws CorruptStorageError naming `where` and the JSON path for a malformed marker.
   */
  value(json: Json, where: string): unknown {
    return jsonToValue(json, (m, path) => this.resolve(m, path), { where });
  }

  /**
   * The record of object `oid` (class `className`) with the fields of `state`, based on revision
   * `tid` (undefined for a new object).
   * @throws CorruptStorageError naming `where` and the JSON path for a malformed marker.
   */
  record(
    oid: number,
    className: string,
    state: JsonObject,
    tid: Tid | undefined,
    where: string,
  ): StoredRecord {
    const fields = jsonToState(state, (m, path) => this.resolve(m, path), { where });
    return this.encode(oid, className, fields, tid, where);
  }

  /**
   * The record of `fields`, values already made (a BTree node, a tree with its new root): RecordRefs
   * inside are written as references.
   */
  encode(
    oid: number,
    className: string,
    fields: Record<string, unknown>,
    tid: Tid | undefined,
    where: string,
  ): StoredRecord {
    this.met = new Set();
    let state: Uint8Array;
    try {
      state = this.encoder.encode(fields);
    } catch (error) {
      if (!(error instanceof SerializationError)) throw error;
      throw new CorruptStorageError(`${where}: its state cannot be stored: ${error.message}`, {
        cause: error,
      });
    }
    const record: StoredRecord = { oid, className, state: this.keep(state), refs: [...this.met] };
    if (tid !== undefined) record.tid = tid;
    return record;
  }

  /**
   * `state` as it is held until the commit: a small one copied into a shared slab. An import holds
   * every record it writes at once, and a buffer of its own costs a state an ArrayBuffer object
   * (~90 bytes of heap) besides its bytes; records from storage share buffers the same way.
   */
  private keep(state: Uint8Array): Uint8Array {
    if (state.byteLength > SLAB_AT_MOST) return state;
    if (this.used + state.byteLength > this.slab.byteLength) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.used = 0;
    }
    const view = this.slab.subarray(this.used, this.used + state.byteLength);
    view.set(state);
    this.used += state.byteLength;
    return view;
  }
}
