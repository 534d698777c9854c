/**
 * The oid → position index of ShelfStorage (Durus's ShelfStorage idea): a checkpoint file on disk,
 * read in place with one 8-byte read per lookup and never loaded whole, plus an in-memory map of
 * what was committed after it (the tail). Opening costs time and memory in proportion to the tail,
 * not to the database. A new checkpoint (at close, after large tails, and by pack, with the positions
 * it moved and the objects it removed as an overlay) folds the tail in.
 */
import type { BlockFile } from './block-file.js';
import {
  INDEX_HEADER_SIZE,
  PREV_PACKED,
  checkIndexHeader,
  encodeIndexHeader,
  getU64,
  setU64,
} from './shelf-format.js';
import { CorruptStorageError } from '../src/shared/errors.js';

export class ShelfIndex {
  /** The checkpoint file, if any. */
  private checkpoint: BlockFile | undefined;
  /** Its name, for messages. */
  private checkpointName = '';
  /** Number of oid slots in the checkpoint. */
  private checkpointCount = 0;
  /** Positions of revisions committed after the checkpoint. */
  private readonly tail = new Map<number, number>();
  /** Oids with a revision. */
  objects = 0;
  /**
   * The checkpoint's table, read whole, while `holdTable` is on (a pack looks up every object:
   * one read, not one per lookup).
   */
  private table: DataView | undefined;
  private tableHeld = false;

  /** Uses `file` as the checkpoint; `objects` is the count it was written with. */
  attach(file: BlockFile, name: string, objects: number): void {
    this.checkpointCount = checkIndexHeader(file.read(0, INDEX_HEADER_SIZE), name);
    if (file.size() < INDEX_HEADER_SIZE + 8 * this.checkpointCount) {
      throw new CorruptStorageError(`${name} is shorter than its ${this.checkpointCount} entries.`);
    }
    this.checkpoint = file;
    this.checkpointName = name;
    this.objects = objects;
    this.tail.clear();
    this.table = this.tableHeld ? this.readTable() : undefined;
  }

  /** Holds the checkpoint's table in memory (8 bytes per oid) until called with false. */
  holdTable(on: boolean): void {
    this.tableHeld = on;
    this.table = on ? this.readTable() : undefined;
  }

  private readTable(): DataView | undefined {
    if (this.checkpoint === undefined) return undefined;
    const bytes = this.checkpoint.read(INDEX_HEADER_SIZE, 8 * this.checkpointCount);
    if (bytes.byteLength !== 8 * this.checkpointCount)
      throw new CorruptStorageError(`${this.checkpointName} is shorter than its entries.`);
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Position of the newest revision of `oid`, or 0 when it has none. */
  get(oid: number): number {
    const pos = this.tail.get(oid);
    if (pos !== undefined) return pos;
    if (this.checkpoint === undefined || oid >= this.checkpointCount) return 0;
    if (this.table !== undefined) return getU64(this.table, 8 * oid);
    const at = INDEX_HEADER_SIZE + 8 * oid;
    const bytes = this.checkpoint.read(at, 8);
    if (bytes.byteLength !== 8)
      throw new CorruptStorageError(`${this.checkpointName} is truncated at byte ${at}.`);
    return getU64(new DataView(bytes.buffer, bytes.byteOffset, 8), 0);
  }

  /**
   * Makes `pos` the newest revision of `oid`. Returns the stored size of the revision it
   * supersedes (0 if `oid` had none, or only a packed-away one), as `sizeAt` reads it: the garbage
   * this revision makes.
   */
  supersede(oid: number, pos: number, sizeAt: (pos: number, oid: number) => number): number {
    const previous = this.get(oid);
    if (previous === 0) this.objects++;
    this.tail.set(oid, pos);
    return previous > PREV_PACKED ? sizeAt(previous, oid) : 0;
  }

  /** Entries committed since the checkpoint. */
  get tailSize(): number {
    return this.tail.size;
  }

  /**
   * Writes a checkpoint holding every entry into `file`, flushed, and returns how many objects it
   * holds. `slots` is the table size: the next oid to hand out. Synchronous, so nothing lands
   * meanwhile. The index goes on using its current checkpoint until `adopt` (after the manifest
   * naming the new one is published: a failure in between changes nothing).
   */
  write(
    file: BlockFile,
    slots: number,
    moves: ReadonlyMap<number, number> = new Map(),
    removed: Iterable<number> = [],
  ): number {
    const bytes = new Uint8Array(INDEX_HEADER_SIZE + 8 * slots);
    bytes.set(encodeIndexHeader(slots), 0);
    const view = new DataView(bytes.buffer);
    // The checkpoint's table as it is (one copy), then the tail, pack's moves and removals over it.
    const table = this.table ?? this.readTable();
    const count = Math.min(this.checkpointCount, slots);
    if (table !== undefined && count > 0) {
      bytes.set(new Uint8Array(table.buffer, table.byteOffset, 8 * count), INDEX_HEADER_SIZE);
    }
    for (const changes of [this.tail, moves]) {
      for (const [oid, pos] of changes) {
        if (oid >= slots) {
          if (pos === 0) continue;
          throw new Error(`shelfdb: oid ${oid} is past the next oid ${slots}`);
        }
        setU64(view, INDEX_HEADER_SIZE + 8 * oid, pos);
      }
    }
    for (const oid of removed) if (oid < slots) setU64(view, INDEX_HEADER_SIZE + 8 * oid, 0);
    // Objects: the entries that are not 0 (a u64 is 0 when both its halves are).
    const words = new Uint32Array(bytes.buffer, INDEX_HEADER_SIZE, 2 * slots);
    let objects = 0;
    for (let i = 0; i < words.length; i += 2)
      if ((words[i] as number) !== 0 || (words[i + 1] as number) !== 0) objects++;
    file.truncate(0);
    file.write(0, bytes);
    file.flush();
    return objects;
  }

  /** Uses `file`, just written by `write`, as the checkpoint, and closes the one before. */
  adopt(file: BlockFile, name: string, objects: number): void {
    const previous = this.checkpoint;
    this.attach(file, name, objects);
    if (previous !== file) previous?.close();
  }

  close(): void {
    this.checkpoint?.close();
    this.checkpoint = undefined;
    this.table = undefined;
  }
}
