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

  /** After pack published `segment` as the whole log: use it, close the old segment files. */
  adoptPackedSegment(segment: number, file: BlockFile, end: number): void {
    for (const old of this.segments.values()) old.close();
    this.segments.clear();
    this.segments.set(segment, file);
    this.active = segment;
    this.end = end;
  }

  /** Closes every file (the index's checkpoint file is the index's). */
  close(): void {
    for (const file of this.segments.values()) file.close();
    this.segments.clear();
    for (const file of this.slots) file.close();
    this.slots.length = 0;
  }
}
