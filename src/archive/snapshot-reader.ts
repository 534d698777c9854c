/**
 * SnapshotReader: records of one database as of one tid, loaded in batches. Export and check walk
 * whole trees of objects through it: one `storage.load` per batch of at most `batchSize` oids,
 * never one round trip per object, and every load at the same tid, so what they read is one
 * consistent snapshot however many commits land meanwhile (the caller keeps the tid pinned).
 */
import { CborDecoder } from '../cbor-decode.js';
import type { LoadedRecord, Storage, Tid } from '../shared/storage.js';

/** The most oids one `storage.load` is asked for. */
export const LOAD_BATCH = 1_000;

/** Reads records at one tid, in batches. */
export interface SnapshotReader {
  /** The storage read from. */
  readonly storage: Storage;
  /** The tid every load reads at. */
  readonly tid: Tid;
  /** The most oids one storage round trip asks for. */
  readonly batchSize: number;
  /** Decodes the states read (one decoder for a whole walk: it caches field names). */
  readonly decoder: CborDecoder;
  /**
   * The records of `oids` as of `tid`, in the order asked; oids with no revision at `tid` are left
   * out. More than `batchSize` oids take several round trips, one after the other.
   * @throws ReadConflictError when pack removed a revision `tid` needs.
   */
  load(oids: readonly number[]): Promise<LoadedRecord[]>;
}

/**
 * A SnapshotReader of `storage` at `tid`.
 * @throws RangeError when `batchSize` is not a positive integer.
 * @example
 * const reader = snapshotReader(db.storage, conn.snapshotTid);
 * const [record] = await reader.load([12]);
 */
export function snapshotReader(
  storage: Storage,
  tid: Tid,
  batchSize: number = LOAD_BATCH,
): SnapshotReader {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`snapshotReader: batchSize must be a positive integer, got ${batchSize}.`);
  }
  return {
    storage,
    tid,
    batchSize,
    decoder: new CborDecoder(),
    async load(oids) {
      if (oids.length <= batchSize) return storage.load([...oids], tid);
      const out: LoadedRecord[] = [];
      for (let at = 0; at < oids.length; at += batchSize) {
        out.push(...(await storage.load(oids.slice(at, at + batchSize), tid)));
      }
      return out;
    },
  };
}
