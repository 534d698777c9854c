/** The options of ShelfStorage (worker/shelf-storage.ts). */
import type { StorageKind } from '../src/shared/storage.js';

/** Options of `ShelfStorage.open(dir, options)`. */
export interface ShelfOptions {
  /** 'strict' (default): settle a commit after flush. 'relaxed': after the write. */
  durability?: 'strict' | 'relaxed';
  /** Keep every readable transaction of a damaged log instead of refusing to open it. */
  recover?: boolean;
  /** What `stats().storage` says. */
  kind?: StorageKind;
  /** Runs the group-commit flush as a task after those already queued (default: a macrotask). */
  schedule?: (task: () => void) => void;
  /** Entries committed after the checkpoint that trigger a new one (default 100,000). */
  checkpointEvery?: number;
  /**
   * Bytes after which the log goes on in a new segment file (default 8 MiB): pack compacts
   * segment by segment, so this is about the extra space a pack needs.
   */
  segmentSize?: number;
  /**
   * Milliseconds a pack works before it lets loads and commits run (default 4). Tests use 0 to
   * interleave calls at every step of a pack.
   */
  packSliceMs?: number;
  /**
   * Pack keeps the entries (time, note, txnId) of at least this many newest transactions even when
   * it removed every record they wrote (default 10,000), so a commit resent after its answer was
   * lost is still recognized, and `transactions()` lists them. Older such entries go.
   */
  keepTransactions?: number;
  /**
   * How long after it was stored a blob file no kept record names is safe from pack, in
   * milliseconds (default BLOB_GRACE_MS, an hour: its commit may still be on its way). Tests use 0.
   */
  blobGraceMs?: number;
}
