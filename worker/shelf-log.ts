/**
 * ShelfLog: the files of a ShelfStorage database and the rules for changing them safely (the byte
 * layout is in shelf-format.ts). It owns the segment files, the two manifest slots and the
 * publishing of a new manifest, appends to the log's end, reads records back, and removes files
 * no manifest names. ShelfStorage builds the Storage contract (index, tids, group commit) on it.
 *
 * The safety rules, in one place:
 * - A new state is published by writing the manifest slot not in use, flushed, after every file
 *   it names has been flushed. A publish that fails empties that slot again, so the manifest in
 *   use stays current.
 * - An append that fails is undone: truncated back and flushed, so a crash cannot bring a refused
 *   commit's bytes back.
 * - When an undo fails too, nobody can say what a crash would leave: the log is `broken` and
 *   refuses every further change until the database is reopened (reading what the files hold).
 */
import { CorruptStorageError, StorageError } from '../src/shared/errors.js';
import type { BlockDirectory, BlockFile } from './block-file.js';
import {
  MANIFEST_SLOTS,
  PREV_PACKED,
  RECORD_HEADER_SIZE,
  SEGMENT_HEADER_SIZE,
  checkSegmentHeader,
  decodeManifest,
  decodeRecord,
  encodeManifest,
  encodeSegmentHeader,
  offsetOf,
  recordLength,
  segmentName,
  segmentOf,
  type DecodedRecord,
  type Manifest,
} from './shelf-format.js';
import { storageFailure } from './storage-failures.js';
import { numbering, segmentNumber } from './shelf-numbers.js';

/** An append or publish whose undo failed too: whether its bytes survive a crash is not known. */
export class UncertainWrite extends Error {
  constructor(
    /** The write's failure (the log's `broken`). */
    override readonly cause: unknown,
    /** Why the undo failed. */
    readonly undoError: unknown,
  ) {
    super(
      `A write failed (${describe(cause)}) and undoing it failed too (${describe(undoError)}).`,
    );
  }
}

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

export class ShelfLog {
  /** Segment number → open file. */
  readonly segments = new Map<number, BlockFile>();
  manifest: Manifest = { generation: 0, segments: [], checkpoint: null };
  /** The segment appended to, and where its log ends. */
  active = 0;
  end = 0;
  /** The failure that left the files in a state this process cannot vouch for, if any. */
  broken: unknown;
  /**
   * Old revisions pack moved while a newer revision still points at their old place: old position
   * → new (the manifest's `relocated`; see `followPrev`).
   */
  relocated = new Map<number, number>();
  /** Open manifest slots. */
  private readonly slots: BlockFile[] = [];
  /** The slot holding the current manifest. */
  private slot = 0;

  constructor(
    readonly dir: BlockDirectory,
    /** Where failures of work nobody awaits are reported (a leftover that could not be removed). */
    private readonly report: (error: unknown) => void,
  ) {}

  /**
   * Opens the files: the current manifest's segments (leftovers of an interrupted pack or
   * checkpoint removed), or a new database if the directory is empty.
   * @returns false when it created a new database.
   * @throws CorruptStorageError for a directory that is not a shelfdb database (left untouched).
   */
  async open(): Promise<boolean> {
    const names = await this.dir.list();
    const ours = (n: string): boolean =>
      (MANIFEST_SLOTS as readonly string[]).includes(n) ||
      /^seg-\d{6}\.log$/.test(n) ||
      /^index-\d{6}\.idx$/.test(n);
    const foreign = names.filter((n) => !ours(n));
    if (foreign.length > 0) {
      throw new CorruptStorageError(
        `This directory is not a shelfdb database: it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? '…' : ''}. Nothing was changed. Give the database a directory of its own.`,
      );
    }
    for (const name of MANIFEST_SLOTS) this.slots.push(await this.dir.open(name));
    const best = MANIFEST_SLOTS.map((name, i) => {
      const file = this.slots[i] as BlockFile;
      return { i, m: decodeManifest(file.read(0, file.size()), name) };
    })
      .filter((c): c is { i: number; m: Manifest } => c.m !== undefined)
      .sort((a, b) => b.m.generation - a.m.generation)[0];
    if (best === undefined) {
      for (const name of names.filter((n) => n.startsWith('seg-'))) {
        const file = await this.dir.open(name);
        const size = file.size();
        file.close();
        if (size > SEGMENT_HEADER_SIZE) {
          throw new CorruptStorageError(
            `${name} holds data but no valid manifest names it: the manifest files are damaged. Nothing was changed.`,
          );
        }
      }
      await this.create();
      return false;
    }
    this.manifest = best.m;
    this.slot = best.i;
    this.relocated = new Map(this.manifest.relocated ?? []);
    for (const n of this.manifest.segments) {
      const file = await this.dir.open(segmentName(n));
      this.segments.set(n, file);
      checkSegmentHeader(file.read(0, SEGMENT_HEADER_SIZE), n, segmentName(n));
    }
    // What this process reads may be what one before it wrote and never flushed (it stopped or
    // died with a flush failed): a page cache the disk may never get. Made durable before anything
    // is built on it: the log's tail before a resend of a commit found there is answered as
    // landed, the manifest before the files the one before it names are removed below (a power
    // loss would bring that one back, naming files that are gone).
    for (const file of this.segments.values()) file.flush();
    (this.slots[best.i] as BlockFile).flush();
    const named = new Set<string>([
      ...MANIFEST_SLOTS,
      ...this.manifest.segments.map(segmentName),
      ...(this.manifest.checkpoint ? [this.manifest.checkpoint.file] : []),
    ]);
    for (const name of names) if (!named.has(name)) await this.dir.remove(name);
    this.active = this.manifest.segments.at(-1) as number;
    this.end = (this.segments.get(this.active) as BlockFile).size();
    return true;
  }

  private async create(): Promise<void> {
    const file = await this.dir.open(segmentName(1));
    this.segments.set(1, file);
    file.truncate(0);
    file.write(0, encodeSegmentHeader(1));
    file.flush();
    this.active = 1;
    this.end = SEGMENT_HEADER_SIZE;
    this.manifest = { generation: 0, segments: [1], checkpoint: null };
    this.slot = 1;
    this.publish(this.manifest);
  }

  /** The error every change gets once the log is broken. */
  brokenError(): StorageError {
    return new StorageError(
      'This database stopped writing after a disk failure it could not undo. Nothing was stored by this call. Close and reopen the database (reload the page); it opens as the log holds it.',
      { cause: this.broken },
    );
  }

  /**
   * The error for a failed write: once an undo failed too (UncertainWrite), the broken error
   * (every call fails until reopened); else the platform failure mapped (storageFailure).
   */
  failure(error: unknown, outcome: string, doing?: string): Error {
    if (error instanceof UncertainWrite) return this.brokenError();
    return storageFailure(error, outcome, doing);
  }

  /** The active segment's file. */
  get activeFile(): BlockFile {
    return this.segments.get(this.active) as BlockFile;
  }

  /**
   * Writes `manifest` with the next generation into the slot not in use, flushed: it becomes
   * current. On failure the slot is emptied again and the error rethrown; if that fails too,
   * UncertainWrite (the log is broken: a reopen may find either manifest).
   */
  publish(manifest: Manifest): void {
    const next = { ...manifest, generation: this.manifest.generation + 1 };
    const slot = 1 - this.slot;
    const file = this.slots[slot] as BlockFile;
    const bytes = encodeManifest(next);
    try {
      file.truncate(0);
      file.write(0, bytes);
      file.flush();
    } catch (error) {
      try {
        file.truncate(0);
        file.flush();
      } catch (undoError) {
        this.broken = error;
        throw new UncertainWrite(error, undoError);
      }
      throw error;
    }
    this.manifest = next;
    this.slot = slot;
  }

  /**
   * Appends bytes at the end of the active segment (flushed, if `flush`). On failure the append
   * is undone and the error rethrown; when the undo fails too, UncertainWrite (the log is broken).
   */
  append(bytes: Uint8Array, flush: boolean): void {
    const file = this.activeFile;
    const start = this.end;
    try {
      file.write(start, bytes);
      if (flush) file.flush();
    } catch (error) {
      try {
        file.truncate(start);
        file.flush();
      } catch (undoError) {
        this.broken = error;
        throw new UncertainWrite(error, undoError);
      }
      throw error;
    }
    this.end = start + bytes.byteLength;
  }

  /** Reads the record at `pos` (one read for records up to 512 bytes), checking its oid. */
  readRecord(pos: number, oid: number): DecodedRecord {
    const n = segmentOf(pos);
    const file = this.segments.get(n);
    if (file === undefined)
      throw new CorruptStorageError(
        `The index points to segment ${n}, which the manifest does not list.`,
      );
    const off = offsetOf(pos);
    let bytes = file.read(off, 512);
    const length = bytes.byteLength >= 4 ? recordLength(bytes) : 0;
    if (length > bytes.byteLength) bytes = file.read(off, length);
    if (length < RECORD_HEADER_SIZE || bytes.byteLength < length) {
      throw new CorruptStorageError(
        `${segmentName(n)} byte ${off}: the index points past the end of the log or into damage (oid ${oid}). Run db.verify(); reopen with { recover: true } if it reports damage.`,
      );
    }
    let record: DecodedRecord;
    try {
      record = decodeRecord(bytes);
    } catch (error) {
      throw new CorruptStorageError(
        `${segmentName(n)} byte ${off}: the record of oid ${oid} is damaged (${(error as Error).message}). Run db.verify().`,
        { cause: error },
      );
    }
    if (record.oid !== oid) {
      throw new CorruptStorageError(
        `${segmentName(n)} byte ${off}: the index points to a record of oid ${record.oid} for oid ${oid}. Run db.verify().`,
      );
    }
    return record;
  }

  /**
   * Where a record's `prev` leads now: to where pack moved that revision (`relocated`), or
   * PREV_PACKED when pack removed it (its segment is gone: segment numbers are never reused).
   */
  followPrev(prev: number): number {
    if (prev <= PREV_PACKED) return prev;
    const pos = this.relocated.get(prev) ?? prev;
    return this.segments.has(segmentOf(pos)) ? pos : PREV_PACKED;
  }

  /** Bytes of the segment files. */
  bytes(): number {
    let bytes = 0;
    for (const file of this.segments.values()) bytes += file.size();
    return bytes;
  }

  /** The stored length of the record at `pos`, or 0 if it cannot be read. */
  recordSize(pos: number): number {
    const head = this.segments.get(segmentOf(pos))?.read(offsetOf(pos), 4);
    return head !== undefined && head.byteLength === 4 ? recordLength(head) : 0;
  }

  /** Closes and removes a file a failed step made; what cannot be removed now goes at next open. */
  async discard(file: BlockFile, name: string): Promise<void> {
    file.close();
    if (this.broken === undefined) await this.removeLeftover(name);
  }

  /** Removes a file no manifest names; a failure is reported, not thrown (open removes it later). */
  async removeLeftover(name: string): Promise<void> {
    try {
      await this.dir.remove(name);
    } catch (error) {
      this.report(
        storageFailure(
          error,
          `${name} is left over; it is removed when the database next opens.`,
          `removing ${name}`,
        ),
      );
    }
  }

  /**
   * Starts a new active segment: its file made (header flushed), then a manifest naming it. What
   * was appended so far stays where it is, never appended to again (pack compacts such segments).
   * A failure before the manifest removes the new file and leaves the log as it was.
   */
  async roll(): Promise<void> {
    const n = segmentNumber(this.manifest);
    const name = segmentName(n);
    const file = await this.dir.open(name);
    let published = false;
    try {
      file.truncate(0);
      file.write(0, encodeSegmentHeader(n));
      file.flush();
      // The segment ending here is flushed too: the next open reads it as a whole segment.
      this.activeFile.flush();
      const { relocated, ...numbers } = numbering(this.manifest, this.relocated, n);
      const { relocated: _replaced, retired: _was, ...manifest } = this.manifest;
      this.publish({
        ...manifest,
        segments: [...this.manifest.segments, n],
        ...numbers,
        ...(relocated.size === 0 ? {} : { relocated: [...relocated] }),
      });
      this.relocated = relocated;
      published = true;
    } finally {
      if (!published) await this.discard(file, name);
    }
    this.segments.set(n, file);
    this.active = n;
    this.end = SEGMENT_HEADER_SIZE;
  }

  /**
   * After a manifest replaced the segments `old` (consecutive, in log order) by `made` (or by
   * nothing): use it, close the old files. Their removal is the caller's (`removeLeftover`).
   */
  replaced(old: readonly number[], made: { n: number; file: BlockFile } | undefined): void {
    for (const n of old) {
      this.segments.get(n)?.close();
      this.segments.delete(n);
    }
    if (made !== undefined) this.segments.set(made.n, made.file);
  }

  /**
   * The manifest's segment list with the consecutive run `old` replaced by `made` (or dropped).
   * @throws Error when `old` is not a consecutive run of it (a bug, never a state of the files).
   */
  segmentsReplacing(old: readonly number[], made: number | undefined): number[] {
    const list = this.manifest.segments;
    const at = list.indexOf(old[0] as number);
    if (at < 0 || old.some((n, i) => list[at + i] !== n) || old.includes(this.active)) {
      throw new Error(`shelfdb: segments ${old.join(',')} are not an old run of ${list.join(',')}`);
    }
    return [
      ...list.slice(0, at),
      ...(made === undefined ? [] : [made]),
      ...list.slice(at + old.length),
    ];
  }

  /** Closes every file (the index's checkpoint file is the index's). */
  close(): void {
    for (const file of this.segments.values()) file.close();
    this.segments.clear();
    for (const file of this.slots) file.close();
    this.slots.length = 0;
  }
}
