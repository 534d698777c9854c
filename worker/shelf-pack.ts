/**
 * Pack for ShelfStorage, incremental: the storage keeps serving loads and commits during the whole
 * pack, and needs about one segment of extra space, not a copy of the database.
 *
 * 1. Roll: a new active segment takes the commits from now on; every segment before it is old,
 *    and never appended to again.
 * 2. Mark (shelf-mark.ts): from the root over the stored refs, in slices; commits landing
 *    meanwhile are the write barrier.
 * 3. Compact, in log order: a run of consecutive old segments that hold garbage (or are small
 *    enough to merge) is copied, transaction by transaction, into one new segment keeping only the
 *    needed records (tids, times and metadata kept; `prev` positions rewritten). When the new
 *    segment is full or the run ends: flushed, an index checkpoint written with the new positions,
 *    and a manifest published that lists the new segment in the run's place. The run's files are
 *    removed after. A segment without garbage is left as it is.
 *
 * Crash safety: every step before a manifest writes only files no manifest names (leftovers,
 * removed at the next open); the manifest is written after every file it names is flushed; what a
 * published manifest no longer names is removed after it (or at the next open). So a crash at any
 * point opens as the last manifest left it, with every acknowledged commit: those landed during the
 * pack are in the active segment, which pack never rewrites.
 *
 * Reading during the pack: a load is synchronous, as is each publish, so a load sees the segments
 * either before a step or after it. A revision pack moved while a newer one still points at its old
 * place (kept for a snapshot older than the newest) is found through `relocated`, kept in the
 * manifest. Positions in a removed segment lead nowhere: revisions removed (`followPrev` → packed).
 */
import type { PackResult, Tid } from '../src/shared/storage.js';
import type { BlockFile } from './block-file.js';
import { crc32 } from '../src/shared/crc32.js';
import { CorruptStorageError } from '../src/shared/errors.js';
import {
  ENTRY_HEADER_SIZE,
  ENTRY_TRAILER_SIZE,
  getU64,
  setU64,
  KIND_TRANSACTION,
  PREV_PACKED,
  SEGMENT_HEADER_SIZE,
  decodeEntryHeader,
  entryIsValid,
  offsetOf,
  encodeSegmentHeader,
  indexName,
  position,
  recordLength,
  segmentName,
  segmentOf,
} from './shelf-format.js';
import { Marking } from './shelf-mark.js';
import { RunChanges, publishCompaction } from './shelf-compaction.js';
import { segmentNumber } from './shelf-numbers.js';
import type { PackRun } from './pack-run.js';
import type { ShelfStorage } from './shelf-storage.js';

/** Read old segments in chunks of about this size. */
const READ_CHUNK = 1 << 20;
/** Write the new segment in chunks of about this size. */
const WRITE_CHUNK = 256 << 10;

/**
 * What a running pack asks of the commits that land meanwhile: each record written (`written`:
 * its refs are reached, its oid's decisions checked again at publish), and whether the revision at
 * `pos` may be removed by this pack (`mayRemove`: a commit must not reference it then).
 */
export interface PackBarrier {
  written(oid: number, refs: number[]): void;
  /**
   * A commit was accepted (it lands a task later, maybe after a segment was judged): its refs are
   * reached now, so the compaction's next drain marks them before it copies.
   */
  accepted(records: readonly { refs: number[] }[]): void;
  mayRemove(pos: number): boolean;
}

/** What the pack has removed so far (a pack stopped midway has removed that much). */
interface Removed {
  objects: number;
  revisions: number;
}

export async function packShelf(s: ShelfStorage, keep: Tid, run: PackRun): Promise<PackResult> {
  const bytesBefore = s.log.bytes();
  s.flushNow();
  if (s.log.end > SEGMENT_HEADER_SIZE) await s.rollSegment();
  const old = s.log.manifest.segments.filter((n) => n !== s.log.active);
  const marking = new Marking(keep, new Set(old));
  const removed: Removed = { objects: 0, revisions: 0 };
  // Created now: commits from here on reach the compaction's decisions too (RunChanges.touch).
  let compaction: Compaction | undefined;
  s.packBarrier = {
    written(oid, refs) {
      marking.reached(refs);
      compaction?.touch(oid);
    },
    accepted(records) {
      for (const r of records) marking.reached(r.refs);
    },
    // A revision in a segment whose records were judged already and found not needed: marking
    // it now would come too late (it is not copied), so a commit must not link it (blobRefs).
    mayRemove: (pos) => compaction?.judged(pos) === true && !marking.isKept(pos),
  };
  s.index.holdTable(true); // every object is looked up: one read of the checkpoint, not one each
  try {
    await marking.drain(s, run);
    // A transaction left without records goes if no kept snapshot is older and it is not among
    // the newest `keepTransactions`.
    const dropUpTo = Math.min(keep, s.lastTid - s.keepTransactions);
    compaction = new Compaction(s, marking, dropUpTo, run, removed);
    await compaction.compact(old);
  } finally {
    s.packBarrier = undefined;
    s.index.holdTable(false);
  }
  const time = Date.now();
  s.log.publish({ ...s.log.manifest, lastPack: time });
  return {
    objectsRemoved: removed.objects,
    revisionsRemoved: removed.revisions,
    bytesBefore,
    bytesAfter: s.log.bytes(),
    time,
  };
}

/** The new segment being written, and what it replaces. */
interface Output {
  n: number;
  file: BlockFile;
  end: number;
  /** Bytes encoded and not yet written, from `written` on. */
  chunk: Uint8Array[];
  chunkSize: number;
  written: number;
}

class Compaction {
  /** Old segments copied into the output so far (consecutive, in log order). */
  private inputs: number[] = [];
  /** Old segments whose records were judged (scanned): what they do not keep goes. */
  private readonly scanned = new Set<number>();
  private output: Output | undefined;
  /** What the run changes in the index, decided as it copies. */
  private changes = new RunChanges();
  /** Bytes of the old segments scanned or copied (progress). */
  private done = 0;
  private total = 0;

  constructor(
    private readonly s: ShelfStorage,
    private readonly marking: Marking,
    /** A transaction up to this tid left without records goes (see packShelf). */
    private readonly dropUpTo: Tid,
    private readonly run: PackRun,
    private readonly removed: Removed,
  ) {}

  /** Whether the revision at `pos` is in a segment whose records were judged already. */
  judged(pos: number): boolean {
    return this.scanned.has(segmentOf(pos));
  }

  /** A commit wrote `oid`: the decisions of the run open about it are checked again at publish. */
  touch(oid: number): void {
    this.changes.touch(oid);
  }

  async compact(old: number[]): Promise<void> {
    const sizes = old.map((n) => (this.s.log.segments.get(n) as BlockFile).size());
    for (const size of sizes) this.total += 2 * size; // scanned, then copied (or skipped)
    try {
      for (const [i, n] of old.entries()) {
        const size = sizes[i] as number;
        // Objects a commit made reachable since: marked before this segment's records are judged.
        await this.marking.drain(this.s, this.run);
        this.scanned.add(n);
        const garbage = await this.scan(n, size);
        const small = size < this.s.segmentSize / 2;
        if (garbage === 0 && (!small || this.inputs.length === 0)) {
          // Nothing to gain: the run (if any) ends before it, and it stays as it is.
          await this.publish();
          this.done += size;
          continue;
        }
        // And those linked again while it was scanned: marked before its records are copied.
        await this.marking.drain(this.s, this.run);
        await this.copy(n, size);
        if (this.output !== undefined && this.output.end >= this.s.segmentSize)
          await this.publish();
      }
      await this.publish();
    } catch (error) {
      await this.discardOutput();
      throw error;
    }
  }

  /** Bytes of records in segment `n` that are not needed. */
  private async scan(n: number, size: number): Promise<number> {
    let garbage = 0;
    for await (const { bytes, pos } of this.entries(n, size)) {
      this.done += bytes.byteLength;
      // Copied under a new checksum, a damaged entry would read as sound: pack stops at it.
      if (!entryIsValid(bytes, pos)) throw damaged(n, offsetOf(pos));
      if (bytes[4] !== KIND_TRANSACTION) {
        garbage += bytes.byteLength; // reservations and fillers are not copied
        continue;
      }
      // Only where each record starts and how long it is: nothing of it decoded.
      const { recordCount, metaLength } = decodeEntryHeader(bytes);
      let offset = ENTRY_HEADER_SIZE + metaLength;
      for (let i = 0; i < recordCount; i++) {
        const length = recordLength(bytes.subarray(offset));
        if (!this.marking.isKept(pos + offset)) garbage += length;
        offset += length;
      }
    }
    return garbage;
  }

  /** Copies the needed records of segment `n` into the output, entry by entry. */
  private async copy(n: number, size: number): Promise<void> {
    const out = await this.openOutput();
    this.inputs.push(n);
    for await (const { bytes, pos } of this.entries(n, size)) {
      this.done += bytes.byteLength;
      if (bytes[4] !== KIND_TRANSACTION) continue; // the checkpoint keeps the oid reservation
      await this.copyEntry(bytes, pos, out);
    }
  }

  /**
   * Copies the needed records of one transaction entry into the output, byte for byte but for
   * each record's offset in its entry and its `prev`, with the entry's checksum computed as the
   * bytes go: nothing is decoded, and a large entry (a bulk import's) is copied across slices.
   */
  private async copyEntry(bytes: Uint8Array, pos: number, out: Output): Promise<void> {
    const { tid, recordCount, metaLength } = decodeEntryHeader(bytes);
    const headEnd = ENTRY_HEADER_SIZE + metaLength;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Which records stay, and so the new entry's length: a walk over record lengths only.
    const kept: number[] = [];
    let length = headEnd + ENTRY_TRAILER_SIZE;
    for (let i = 0, offset = headEnd; i < recordCount; i++) {
      const size = view.getUint32(offset, true);
      if (this.marking.isKept(pos + offset)) {
        kept.push(offset);
        length += size;
      } else this.changes.dropped(this.s.index, getU64(view, offset + 8), pos + offset, size);
      offset += size;
    }
    if (kept.length === 0 && tid <= this.dropUpTo) {
      // Nothing of it is left to read, no kept snapshot is older, and it is not among the
      // newest transactions a lost answer's resend may ask about: its entry goes too.
      this.changes.transactionsDropped++;
      return;
    }
    const at = position(out.n, out.end);
    const head = bytes.slice(0, headEnd);
    const headView = new DataView(head.buffer);
    headView.setUint32(0, length, true);
    headView.setUint32(24, kept.length, true);
    const where = new DataView(new ArrayBuffer(8));
    setU64(where, 0, at);
    let crc = crc32(head, 0, headEnd, crc32(new Uint8Array(where.buffer)));
    this.append(out, head);
    let to = headEnd;
    for (const from of kept) {
      const record = bytes.slice(from, from + view.getUint32(from, true));
      const recordView = new DataView(record.buffer);
      recordView.setUint32(4, to, true);
      setU64(recordView, 24, this.prevOf(getU64(recordView, 24)));
      crc = crc32(record, 0, record.byteLength, crc);
      this.append(out, record);
      this.changes.copied(this.s.index, getU64(recordView, 8), pos + from, at + to);
      to += record.byteLength;
      if (this.run.sliceOver) {
        this.run.progress('copy', this.done, this.total);
        await this.run.pause();
      }
    }
    const trailer = new DataView(new ArrayBuffer(ENTRY_TRAILER_SIZE));
    trailer.setUint32(0, crc, true);
    trailer.setUint32(4, length, true);
    this.append(out, new Uint8Array(trailer.buffer));
  }

  /** Appends bytes to the output's chunk; a full chunk is written. */
  private append(out: Output, bytes: Uint8Array): void {
    out.chunk.push(bytes);
    out.chunkSize += bytes.byteLength;
    out.end += bytes.byteLength;
    if (out.chunkSize >= WRITE_CHUNK) this.writeChunk(out);
  }

  /** Where a copied record's `prev` leads in the packed log. */
  private prevOf(prev: number): number {
    if (prev <= PREV_PACKED) return prev;
    const moved = this.changes.moved.get(prev);
    if (moved !== undefined) return moved;
    // In the run and not copied: removed. Else wherever it leads now (moved by an earlier pack,
    // or in a segment removed since).
    if (this.inputs.includes(segmentOf(prev))) return PREV_PACKED;
    return this.s.log.followPrev(prev);
  }

  /**
   * Every entry of segment `n` from its header to `size`, read in large chunks; pauses between
   * slices (an abort throws there).
   */
  private async *entries(
    n: number,
    size: number,
  ): AsyncGenerator<{ bytes: Uint8Array; pos: number }> {
    const file = this.s.log.segments.get(n) as BlockFile;
    let buffer: Uint8Array = new Uint8Array(0);
    let bufferAt = SEGMENT_HEADER_SIZE;
    let off = SEGMENT_HEADER_SIZE;
    while (off < size) {
      if (off + 4 > bufferAt + buffer.byteLength) {
        buffer = file.read(off, Math.min(READ_CHUNK, size - off));
        bufferAt = off;
      }
      const length = recordLength(buffer.subarray(off - bufferAt));
      if (length < ENTRY_HEADER_SIZE + ENTRY_TRAILER_SIZE || off + length > size) {
        throw damaged(n, off);
      }
      if (off + length > bufferAt + buffer.byteLength) {
        buffer = file.read(off, Math.max(length, Math.min(READ_CHUNK, size - off)));
        bufferAt = off;
      }
      const bytes = buffer.subarray(off - bufferAt, off - bufferAt + length);
      yield { bytes, pos: position(n, off) };
      off += length;
      if (this.run.sliceOver) {
        this.run.progress('copy', this.done, this.total);
        await this.run.pause();
      }
    }
  }

  private async openOutput(): Promise<Output> {
    if (this.output !== undefined) return this.output;
    const n = segmentNumber(this.s.log.manifest);
    const file = await this.s.log.dir.open(segmentName(n));
    // Owned from here: a failure of the first write is discarded with the rest.
    this.output = { n, file, end: SEGMENT_HEADER_SIZE, chunk: [], chunkSize: 0, written: 0 };
    file.truncate(0);
    this.output.chunk.push(encodeSegmentHeader(n));
    this.output.chunkSize = SEGMENT_HEADER_SIZE;
    return this.output;
  }

  private writeChunk(out: Output): void {
    if (out.chunkSize === 0) return;
    const buffer = new Uint8Array(out.chunkSize);
    let o = 0;
    for (const part of out.chunk) {
      buffer.set(part, o);
      o += part.byteLength;
    }
    out.file.write(out.written, buffer);
    // Flushed chunk by chunk, each in its own slice: one flush of the whole segment at publish
    // would hold the thread for as long as the disk takes to take it all.
    out.file.flush();
    out.written += out.chunkSize;
    out.chunk = [];
    out.chunkSize = 0;
  }

  /**
   * Makes the output the log in place of its inputs: flushed, an index checkpoint with the new
   * positions, the manifest. Synchronous from the index file's opening on, so no commit lands
   * between reading the index and publishing it.
   */
  private async publish(): Promise<void> {
    if (this.inputs.length === 0) {
      await this.discardOutput(); // opened for a segment that turned out to need nothing copied
      return;
    }
    const s = this.s;
    const indexFileName = indexName(s.log.manifest.generation + 1);
    const indexFile = await s.log.dir.open(indexFileName);
    const out = this.output;
    const inputs = this.inputs;
    let published: { removed: number[]; oldIndex: string | undefined };
    try {
      s.flushNow(); // commits accepted: their `prev` and the index are final before it is read
      if (out !== undefined) {
        this.writeChunk(out);
        out.file.flush();
      }
      published = publishCompaction(s, {
        inputs,
        output: out === undefined ? undefined : { n: out.n, file: out.file, end: out.end },
        changes: this.changes,
        indexFile,
      });
    } catch (error) {
      await s.log.discard(indexFile, indexFileName);
      throw error;
    }
    this.removed.objects += published.removed.length;
    this.run.removed(s.lastTid, published.removed);
    this.removed.revisions += this.changes.revisionsDropped;
    this.inputs = [];
    this.output = undefined;
    this.changes = new RunChanges();
    for (const n of inputs) await s.log.removeLeftover(segmentName(n));
    if (published.oldIndex !== undefined) await s.log.removeLeftover(published.oldIndex);
    this.run.progress('copy', this.done, this.total, true);
  }

  /** Removes the output of a run not published (an abort, a failure). */
  private async discardOutput(): Promise<void> {
    const out = this.output;
    this.output = undefined;
    this.inputs = [];
    this.changes = new RunChanges();
    if (out !== undefined) await this.s.log.discard(out.file, segmentName(out.n));
  }
}

/** The error of a pack that found damage in the log (verify reports it too). */
function damaged(n: number, offset: number): CorruptStorageError {
  return new CorruptStorageError(
    `${segmentName(n)} byte ${offset}: the entry is damaged (its length or checksum is wrong). The pack stopped there; the database is as valid as before it. Reopen it with { recover: true } (the command line: shelfdb recover) to drop the damaged transaction, then pack again.`,
  );
}
