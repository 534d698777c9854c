/**
 * The mark phase of ShelfStorage's pack: which revisions in the old segments are still needed,
 * found by walking from the root over the stored `refs` (state is never decoded), in slices
 * between which the storage serves loads and commits. The walk is reachability.ts's
 * IncrementalMark; this module says what it reads of each object in the log.
 *
 * What is needed: for every object reachable from the root in any snapshot at or after `keep`,
 * its revisions newer than `keep` and the newest at or below it (what such a snapshot reads). The
 * walk follows the refs of every one of those revisions, so an object some kept snapshot can reach
 * is marked even if the newest root no longer reaches it. The blob records among them name the
 * blob files the pack keeps (PackRun.blobs).
 *
 * Commits are the write barrier: while a pack runs, ShelfStorage hands the refs of every record
 * it writes to `reached` (their own revisions are in the active segment, which this pack never
 * touches). A client can only link objects it reached in some snapshot, and every snapshot from
 * `keep` on is covered by the walk; the barrier also saves an object linked again from a reference
 * the app kept in memory since an older snapshot, as long as its segment is not compacted yet
 * (ZODB has the same window; after it, the link dangles and `verify` reports it). The walk reads
 * each object's revisions when it visits it, from the index as it is then; a commit that lands
 * after the visit only adds revisions to the active segment.
 */
import type { Tid } from '../src/shared/storage.js';
import { PREV_PACKED, offsetOf, segmentOf, type DecodedRecord } from './shelf-format.js';
import type { PackRun } from './pack-run.js';
import { IncrementalMark } from './reachability.js';
import { keptBlobHash } from './blob-guard.js';

/** What marking needs of the storage. */
export interface MarkSource {
  /** The oid index: the position of the newest revision of an oid (0: none). */
  readonly index: { get(oid: number): number };
  /** The record at `pos`. */
  readRecord(pos: number, oid: number): DecodedRecord;
  /** The log: where a record's `prev` leads now (pack moved or removed revisions). */
  readonly log: { followPrev(prev: number): number };
}

export class Marking {
  /** The walk itself (reachability.ts): gray oids, the write barrier, what is live. */
  private readonly mark = new IncrementalMark();
  /**
   * The needed revisions that lie in the segments being packed: segment → offsets (small integers,
   * which a Set holds without a heap number each, unlike whole positions).
   */
  private readonly kept = new Map<number, Set<number>>();

  constructor(
    /** The oldest snapshot kept. */
    private readonly keep: Tid,
    /** The segments being packed: only their positions are recorded as kept. */
    private readonly old: ReadonlySet<number>,
  ) {}

  /** Oids referenced by something live: the write barrier's entry. */
  reached(refs: Iterable<number>): void {
    this.mark.shade(refs);
  }

  /** Whether the revision at `pos` (in a segment being packed) is needed. */
  isKept(pos: number): boolean {
    return this.kept.get(segmentOf(pos))?.has(offsetOf(pos)) ?? false;
  }

  /**
   * Visits reached objects until none is left, pausing whenever the slice is used up (commits
   * landing meanwhile add to what is reached).
   * @throws the abort reason, from `run.pause()`.
   */
  async drain(source: MarkSource, run: PackRun): Promise<void> {
    const refsOf = (oids: number[]): Map<number, number[]> => this.visit(source, oids, run);
    while (!this.mark.step(refsOf, () => run.sliceOver, 64)) {
      run.progress('mark', this.mark.marked, this.mark.known);
      await run.pause();
    }
    run.progress('mark', this.mark.marked, this.mark.known, true);
  }

  /**
   * Marks the revisions of `oids` that a kept snapshot can read; answers the refs of those
   * revisions for each oid that has any. The blob files those revisions name are kept (`run`).
   */
  private visit(source: MarkSource, oids: number[], run: PackRun): Map<number, number[]> {
    const found = new Map<number, number[]>();
    for (const oid of oids) {
      let pos = source.index.get(oid);
      if (pos === 0) continue;
      const refs: number[] = [];
      found.set(oid, refs);
      while (pos > PREV_PACKED) {
        const record = source.readRecord(pos, oid);
        const n = segmentOf(pos);
        if (this.old.has(n)) {
          let offsets = this.kept.get(n);
          if (offsets === undefined) this.kept.set(n, (offsets = new Set()));
          offsets.add(offsetOf(pos));
        }
        for (const ref of record.refs) refs.push(ref);
        run.keepBlob(keptBlobHash(oid, record));
        if (record.tid <= this.keep) break;
        pos = source.log.followPrev(record.prev);
      }
    }
    return found;
  }
}
