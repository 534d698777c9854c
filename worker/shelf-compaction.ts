/**
 * One step of ShelfStorage's pack made current (see shelf-pack.ts): a new segment holding the
 * needed records of a run of old segments takes their place in the log, with an index checkpoint
 * that has the records' new positions and no longer has the objects pack removed.
 *
 * Synchronous from reading the index to publishing the manifest, so no commit lands in between;
 * the caller has written every commit accepted before (`flushNow`), so their `prev` positions and
 * the index are final. Memory (the index, the segment files, `relocated`, the garbage count)
 * follows only once the manifest is published: a failure before changes nothing.
 */
import type { BlockFile } from './block-file.js';
import { indexName, position, segmentOf } from './shelf-format.js';
import type { ShelfCounters } from './shelf-checkpoint.js';

/** A run of old segments compacted. */
export interface CompactedRun {
  /** The old segments, consecutive in log order. */
  inputs: number[];
  /** The new segment (flushed), or none when nothing of the inputs was kept. */
  output: { n: number; file: BlockFile; end: number } | undefined;
  /** Old position → where the record is now, for every record copied. */
  moved: ReadonlyMap<number, { oid: number; to: number }>;
  /** Records of the inputs not copied: oid and old position. */
  dropped: readonly [number, number][];
  /** Transaction entries of the inputs not copied. */
  transactionsDropped: number;
  /** The new checkpoint's file (opened, empty). */
  indexFile: BlockFile;
}

/**
 * Publishes `run` as described above.
 * @returns the oids removed (unreachable objects whose newest revision was dropped) and the
 *   checkpoint file the new one replaced (for the caller to remove).
 * @throws the platform's error (or UncertainWrite, see ShelfLog.publish) with nothing changed.
 */
export function publishCompaction(
  s: ShelfCounters,
  run: CompactedRun,
): { removed: number[]; oldIndex: string | undefined } {
  const inputs = new Set(run.inputs);
  const relocated = new Map(s.log.relocated);
  // Earlier relocations into the run: to where their records went now, or gone with them.
  for (const [from, to] of relocated) {
    if (!inputs.has(segmentOf(to))) continue;
    const moved = run.moved.get(to);
    if (moved === undefined) relocated.delete(from);
    else relocated.set(from, moved.to);
  }
  const overlay = new Map<number, number>();
  for (const [from, { oid, to }] of run.moved) {
    if (s.index.get(oid) === from) overlay.set(oid, to);
    else relocated.set(from, to); // kept for a snapshot: a newer revision points at it
  }
  const removed: number[] = [];
  let garbageRemoved = 0;
  for (const [oid, from] of run.dropped) {
    if (s.index.get(oid) === from) {
      overlay.set(oid, 0); // the newest revision of an unreachable object: the object goes
      removed.push(oid);
    } else garbageRemoved += s.log.recordSize(from);
  }
  s.log.activeFile.flush(); // the checkpoint covers the log up to its end: durable first
  const objects = s.index.write(run.indexFile, s.nextOidReserved, overlay);
  const name = indexName(s.log.manifest.generation + 1);
  const oldIndex = s.log.manifest.checkpoint?.file;
  const garbage = Math.max(0, s.garbage - garbageRemoved);
  const transactions = s.transactionCount - run.transactionsDropped;
  const { relocated: _replaced, ...manifest } = s.log.manifest;
  s.log.publish({
    ...manifest,
    segments: s.log.segmentsReplacing(run.inputs, run.output?.n),
    nextSegment: Math.max(s.log.nextSegment, (run.output?.n ?? 0) + 1),
    checkpoint: {
      file: name,
      end: position(s.log.active, s.log.end),
      tid: s.lastTid,
      nextOid: s.nextOidReserved,
      objects,
    },
    checkpointTransactions: transactions,
    checkpointGarbage: garbage,
    ...(relocated.size === 0 ? {} : { relocated: [...relocated] }),
  });
  // Published: memory follows the files. Should that fail (reading the new checkpoint's header,
  // closing an old segment), memory no longer matches the manifest in use, which names the new
  // segment and checkpoint: the log stops (`broken`), so nobody removes those files as an unpublished
  // step's (ShelfLog.discard) or builds on the old memory; a reopen reads the files as published.
  try {
    s.index.adopt(run.indexFile, name, objects);
    s.log.replaced(run.inputs, run.output);
  } catch (error) {
    s.log.broken = error;
    throw error;
  }
  s.log.relocated = relocated;
  s.garbage = garbage;
  s.transactionCount = transactions;
  return { removed, oldIndex: oldIndex === name ? undefined : oldIndex };
}
