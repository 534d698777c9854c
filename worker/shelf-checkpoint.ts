/**
 * An index checkpoint of ShelfStorage: the whole oid → position index written into a new file,
 * published by a new manifest that says up to where the log is in it. The next open reads only
 * the log after that point.
 *
 * Order, so that a crash or a failure at any step leaves a database that opens as it was or as
 * checkpointed: the log is flushed first (a checkpoint never covers bytes a crash could still take
 * back), then the index file (flushed), then the manifest; the old index file is removed last.
 * A failure before the manifest closes and removes the new file and changes nothing.
 */
import type { Tid } from '../src/shared/storage.js';
import { indexName, position } from './shelf-format.js';
import type { ShelfIndex } from './shelf-index.js';
import type { ShelfLog } from './shelf-log.js';

/** What a checkpoint (and pack's publish, shelf-compaction.ts) needs of the storage. */
export interface ShelfCounters {
  readonly log: ShelfLog;
  readonly index: ShelfIndex;
  readonly lastTid: Tid;
  /** The oid reservation recorded in the log (the index table's size). */
  readonly nextOidReserved: number;
  /** Transactions in the log (pack's publish sets what remains). */
  transactionCount: number;
  /** Bytes of revisions superseded by newer ones. */
  garbage: number;
}

/**
 * Writes and publishes a checkpoint of `s`'s index, as of the moment it is written.
 * @throws StorageError (mapped: see ShelfLog.failure), the database as it was.
 */
export async function checkpointShelf(s: ShelfCounters): Promise<void> {
  if (s.log.broken !== undefined || s.log.segments.size === 0) return;
  try {
    await writeCheckpoint(s.log, s.index, () => ({
      lastTid: s.lastTid,
      reservedOid: s.nextOidReserved,
      transactionCount: s.transactionCount,
      garbageBytes: s.garbage,
    }));
  } catch (error) {
    throw s.log.failure(
      error,
      'The database is as it was; the index checkpoint is tried again later.',
      'writing an index checkpoint',
    );
  }
}

/** What the manifest records beside the checkpoint, as of now. */
export interface CheckpointCounters {
  lastTid: Tid;
  /** The oid reservation recorded in the log (the index table's size). */
  reservedOid: number;
  transactionCount: number;
  garbageBytes: number;
}

/**
 * Writes and publishes a checkpoint of `index`. Synchronous from the file's opening to the
 * manifest, so no commit lands in between.
 * @throws the platform's error (or UncertainWrite, see ShelfLog.publish); the caller maps it.
 */
export async function writeCheckpoint(
  log: ShelfLog,
  index: ShelfIndex,
  counters: () => CheckpointCounters,
): Promise<void> {
  const name = indexName(log.manifest.generation + 1);
  const old = log.manifest.checkpoint?.file;
  const file = await log.dir.open(name);
  let published = false;
  try {
    const c = counters(); // after the await: as of the moment the checkpoint is written
    log.activeFile.flush();
    const objects = index.write(file, c.reservedOid);
    log.publish({
      ...log.manifest,
      checkpoint: {
        file: name,
        end: position(log.active, log.end),
        tid: c.lastTid,
        nextOid: c.reservedOid,
        objects,
      },
      checkpointTransactions: c.transactionCount,
      checkpointGarbage: c.garbageBytes,
    });
    published = true;
    index.adopt(file, name, objects);
  } catch (error) {
    if (!published) await log.discard(file, name);
    throw error;
  }
  if (old !== undefined && old !== name) await log.removeLeftover(old);
}
