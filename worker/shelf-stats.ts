/**
 * What ShelfStorage's `stats` answers, from its counters: the objects in the index, the bytes of
 * the log's files, the garbage and transactions counted as commits land and packs publish, the
 * last pack's time, and the blob files' count and bytes (StorageCore's blobStats).
 */
import type { StorageStats, StorageKind } from '../src/shared/storage.js';

/** The counters of a ShelfStorage that `stats` reads. */
export interface ShelfCountersView {
  /** 'opfs', 'file' or 'memory'. */
  readonly kind: StorageKind;
  /** The oid index: how many objects have a revision. */
  readonly index: { readonly objects: number };
  /** The log: its files' bytes, and the manifest with the last pack's time. */
  readonly log: { bytes(): number; readonly manifest: { readonly lastPack?: number | undefined } };
  /** Bytes of revisions superseded by newer ones. */
  readonly garbage: number;
  /** Transactions in the log. */
  readonly transactionCount: number;
}

/** The stats of `s`, with its blob files' `blobs`. */
export function shelfStats(
  s: ShelfCountersView,
  blobs: { blobs: number; blobBytes: number },
): StorageStats {
  return {
    storage: s.kind,
    objects: s.index.objects,
    bytes: s.log.bytes(),
    garbageBytes: s.garbage,
    transactions: s.transactionCount,
    lastPack: s.log.manifest.lastPack,
    ...blobs,
  };
}
