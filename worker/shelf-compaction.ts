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
import type { ShelfIndex } from './shelf-index.js';
import { numbering } from './shelf-numbers.js';

/** A run of old segments compacted. */
export interface CompactedRun {
  /** The old segments, consecutive in log order. */
  inputs: number[];
  /** The new segment (flushed), or none when nothing of the inputs was kept. */
  output: { n: number; file: BlockFile; end: number } | undefined;
  /** What the run changes, decided as it copied (see RunChanges). */
  changes: RunChanges;
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
    const moved = run.changes.moved.get(to);
    if (moved === undefined) relocated.delete(from);
    else relocated.set(from, moved);
  }
  const { moves, relocations, removed, garbageRemoved } = run.changes.settle();
  for (const [from, to] of relocations) relocated.set(from, to);
  s.log.activeFile.flush(); // the checkpoint covers the log up to its end: durable first
  const objects = s.index.write(run.indexFile, s.nextOidReserved, moves, removed);
  const name = indexName(s.log.manifest.generation + 1);
  const oldIndex = s.log.manifest.checkpoint?.file;
  const garbage = Math.max(0, s.garbage - garbageRemoved);
  const transactions = s.transactionCount - run.changes.transactionsDropped;
  const segments = s.log.segmentsReplacing(run.inputs, run.output?.n);
  // The inputs' numbers retire, witnessed by the segments after them in log order: a `prev` (and so
  // a `relocated` key) names an older revision, and pack keeps log order, so only those can name
  // the inputs; the output names none of them either (pack rewrote every prev it copied).
  const at = s.log.manifest.segments.indexOf(run.inputs[0] as number);
  const witnesses = segments.slice(at + (run.output === undefined ? 0 : 1));
  const numbers = numbering(s.log.manifest, relocated, run.output?.n, run.inputs, witnesses);
  const { relocated: _replaced, retired: _was, ...manifest } = s.log.manifest;
  s.log.publish({
    ...manifest,
    segments,
    nextSegment: numbers.nextSegment,
    ...(numbers.retired === undefined ? {} : { retired: numbers.retired }),
    checkpoint: {
      file: name,
      end: position(s.log.active, s.log.end),
      tid: s.lastTid,
      nextOid: s.nextOidReserved,
      objects,
    },
    checkpointTransactions: transactions,
    checkpointGarbage: garbage,
    ...(numbers.relocated.size === 0 ? {} : { relocated: [...numbers.relocated] }),
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
  s.log.relocated = numbers.relocated;
  s.garbage = garbage;
  s.transactionCount = transactions;
  return { removed, oldIndex: oldIndex === name ? undefined : oldIndex };
}

/**
 * What one run changes in the index, decided record by record as the run copies (in its slices,
 * not in the publish, which serves no commit), against the index as it is then. A commit of an
 * object after its record was judged can only make that record older than the newest: `touch`
 * records it, and `settle` (in the publish, after every commit accepted has landed) turns such
 * decisions around.
 */
export class RunChanges {
  /** Old position → new, for every record copied. */
  readonly moved = new Map<number, number>();
  /** Records copied that were their object's newest: oid → new position, and → old position. */
  private readonly newestTo = new Map<number, number>();
  private readonly newestFrom = new Map<number, number>();
  /** Records copied that a newer revision points at: [old position, new position]. */
  private readonly relocations: [number, number][] = [];
  /** Records dropped that were the newest of an unreachable object: oid → old position, size. */
  private readonly removals = new Map<number, { size: number }>();
  /** Bytes of the superseded records dropped (the garbage they were counted as). */
  private garbageRemoved = 0;
  /** Objects committed since the run began. */
  private readonly touched = new Set<number>();
  /** Records dropped, and transaction entries dropped. */
  revisionsDropped = 0;
  transactionsDropped = 0;

  /** The record of `oid` at `from` was copied to `to`. */
  copied(index: ShelfIndex, oid: number, from: number, to: number): void {
    this.moved.set(from, to);
    if (index.get(oid) === from) {
      this.newestTo.set(oid, to);
      this.newestFrom.set(oid, from);
    } else this.relocations.push([from, to]);
  }

  /** The record of `oid` at `from`, `size` bytes, was not copied. */
  dropped(index: ShelfIndex, oid: number, from: number, size: number): void {
    this.revisionsDropped++;
    if (index.get(oid) === from) this.removals.set(oid, { size });
    else this.garbageRemoved += size;
  }

  /** A commit wrote `oid` (the write barrier, while the run is open). */
  touch(oid: number): void {
    this.touched.add(oid);
  }

  /**
   * The decisions as of now: the index's new positions (`moves`: oid → position) and the oids
   * removed, the relocations, and the garbage bytes dropped. Built as the copy went: nothing here
   * walks every record (the publish serves no commit while it runs).
   */
  settle(): {
    moves: ReadonlyMap<number, number>;
    relocations: [number, number][];
    removed: number[];
    garbageRemoved: number;
  } {
    for (const oid of this.touched) {
      const to = this.newestTo.get(oid);
      if (to !== undefined) {
        // Committed since: the copy is an older revision now, which the commit's `prev` names.
        this.newestTo.delete(oid);
        this.relocations.push([this.newestFrom.get(oid) as number, to]);
      }
      const removal = this.removals.get(oid);
      if (removal !== undefined) {
        // Committed since (a reference kept in memory): the object stays; the dropped record is
        // superseded garbage now, counted as such when the commit landed.
        this.removals.delete(oid);
        this.garbageRemoved += removal.size;
      }
    }
    this.touched.clear();
    return {
      moves: this.newestTo,
      relocations: this.relocations,
      removed: [...this.removals.keys()],
      garbageRemoved: this.garbageRemoved,
    };
  }
}
