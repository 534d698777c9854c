/**
 * A stored record as the CLI shows it (`show`, `history`, `dump`): its class, oid and tid, its
 * fields decoded from the state bytes with shelfdb's own CBOR decoder — without the app's classes,
 * references staying oids (json-value.ts) — and its references as the record lists them.
 */
import { CborDecoder } from '../src/cbor-decode.js';
import type { LoadedRecord } from '../src/shared/storage.js';
import { fieldsToJson, StoredRef, type Json } from './json-value.js';

/** A record as JSON. */
export interface RecordJson {
  /** The object's oid. */
  oid: number;
  /** Its stored class name. */
  class: string;
  /** The transaction that wrote this revision. */
  tid: number;
  /** The decoded fields (json-value.ts shows the markers). */
  fields: { [key: string]: Json };
  /** The oids this revision references, with their class where the state names it. */
  refs: { oid: number; class: string | null }[];
  /** Set instead of `fields` when the state cannot be decoded: what is wrong with it. */
  damaged?: string;
}

/** Decodes records; one per command (the decoder keeps a cache of field names). */
export class RecordReader {
  private readonly decoder = new CborDecoder();

  /** `record` as JSON. A state that does not decode is reported in `damaged`, not thrown. */
  toJson(record: LoadedRecord): RecordJson {
    const classes = new Map<number, string>();
    const resolve = (oid: number, className: string): StoredRef => {
      classes.set(oid, className);
      return new StoredRef(oid, className);
    };
    let fields: { [key: string]: Json } = {};
    let damaged: string | undefined;
    try {
      fields = fieldsToJson(this.decoder.decode(record.state, resolve));
    } catch (error) {
      // One damaged record must not stop a dump: it is shown with what is wrong, and the command
      // exits 1 (see the callers).
      damaged = error instanceof Error ? error.message : String(error);
    }
    return {
      oid: record.oid,
      class: record.className,
      tid: record.tid,
      fields,
      refs: record.refs.map((oid) => ({ oid, class: classes.get(oid) ?? null })),
      ...(damaged === undefined ? {} : { damaged }),
    };
  }
}
