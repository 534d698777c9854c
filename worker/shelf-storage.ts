/**
 * ShelfStorage: the Storage contract as an append-only log of transactions over BlockFiles (OPFS
 * sync access handles in the browser's storage worker, Node files, memory in tests). Its parts:
 * the byte layout (shelf-format.ts), the files and the rules for changing them safely
 * (shelf-log.ts), reading them back at open (shelf-open.ts, shelf-recovery.ts), the oid index
 * (shelf-index.ts), commits batched into one write and made durable (group-commit.ts), index
 * checkpoints (shelf-checkpoint.ts) and pack (shelf-pack.ts); what every storage does alike
 * (listeners, checkOpen, pack's join, load's frame) comes from StorageCore (storage-core.ts).
 *
 * This class holds them together: it checks each commit whole (validateCommit) and against the
 * newest revisions (first-committer-wins), answers resends by their client txnId (from memory, or
 * from the log after a reopen), indexes and announces what landed, and runs checkpoint, pack and
 * close one at a time (`exclusive`). Failures of work nobody awaits (an automatic checkpoint, a
 * relaxed flush) go to `subscribeErrors` listeners. Once a failed undo left the log uncertain
 * (ShelfLog.broken), every call fails until the database is reopened.
 */
import { DatabaseClosedError, WriteConflictError } from '../src/shared/errors.js';
import {
  ROOT_OID,
  type CommitRequest,
  type LoadedRecord,
  type PackResult,
  type RecoveryReport,
  type RevisionInfo,
  type Storage,
  type StorageKind,
  type StorageStats,
  type SyncResult,
  type Tid,
  type TransactionInfo,
  type VerifyReport,
} from '../src/shared/storage.js';
import {
  checkConflicts,
  checkOid,
  checkOidCount,
  checkTid,
  validateCommit,
} from './commit-checks.js';
import type { BlockDirectory } from './block-file.js';
import { ShelfLog } from './shelf-log.js';
import { commitRestored } from './shelf-restore.js';
import { GroupCommit, type Pending } from './group-commit.js';
import {
  KIND_TRANSACTION,
  PREV_PACKED,
  type DecodedRecord,
  type EncodedEntry,
} from './shelf-format.js';
import { handOutOids } from './shelf-oids.js';
import type { BlobStore } from './blob-store.js';
import { checkGrace } from './blob-guard.js';
import { ShelfIndex } from './shelf-index.js';
import {
  findLanded,
  findTxnIdSince,
  readHistory,
  readTransactions,
  verifyShelf,
} from './shelf-reading.js';
import { storageFailure } from './storage-failures.js';
import { RecentTransactions } from './recent-transactions.js';
import { RevisionMemo } from './revision-memo.js';
import { readShelf } from './shelf-open.js';
import { checkpointShelf } from './shelf-checkpoint.js';
import { packShelf, type PackBarrier } from './shelf-pack.js';
import type { PackRun } from './pack-run.js';
import { PACKED, StorageCore } from './storage-core.js';
import type { ShelfOptions } from './shelf-options.js';
import { shelfStats } from './shelf-stats.js';

export type { ShelfOptions } from './shelf-options.js';

/** Transactions remembered for `sync` and resends. */
const RECENT_LIMIT = 100_000;
/** Transactions of up to this many records are remembered in the RevisionMemo. */
const MEMO_MAX_RECORDS = 1000;

export class ShelfStorage extends StorageCore implements Storage {
  /** What opening found damaged. */
  readonly recovery: RecoveryReport = { truncated: [], dropped: [] };
  /** The files. */
  readonly log: ShelfLog;
  /** The oid → position index (a checkpoint file and the tail committed after it). */
  readonly index = new ShelfIndex();
  /** @internal The newest durable tid: see `lastTid`. */
  durableTid = 0;
  /** @internal The next oid to hand out. */
  nextOid = ROOT_OID + 1;
  /** @internal The oid reservation recorded in the log: newOids hands out none at or above it. */
  reservedOid = ROOT_OID + 1;
  /** @internal Where restore commits left the next oid (shelf-restore.ts). */
  restoredNext = ROOT_OID + 1;
  private readonly recent = new RecentTransactions(RECENT_LIMIT);
  /** Commits accepted and not yet settled, by client txnId: a resend joins its first sending. */
  private readonly inFlight = new Map<string, Promise<Tid>>();
  /**
   * Transactions in the log, kept in the manifest at checkpoints (pack's publish sets what
   * remains: it removes those it left without records).
   */
  transactionCount = 0;
  /** Bytes of revisions superseded by newer ones (pack's publish sets what remains). */
  garbage = 0;
  /** Tid and size of the revisions written by this process, so a commit need not read them. */
  private readonly revisions = new RevisionMemo();
  /** @internal Commits accepted and not yet written. */
  readonly group: GroupCommit;
  private closing: Promise<void> | undefined;
  /** Background maintenance queued, not yet run (one of each kind at a time). */
  private readonly queued = new Set<'roll' | 'checkpoint'>();
  private readonly checkpointEvery: number;
  /** See ShelfOptions.segmentSize. */
  readonly segmentSize: number;
  /** See ShelfOptions.keepTransactions. */
  readonly keepTransactions: number;
  /** @internal While a pack runs: told each record written, asked what it may remove. */
  packBarrier: PackBarrier | undefined;
  /** True while a pack runs: GroupCommit.add flushes in a task then, never a microtask. */
  packing = false;
  /** What `stats().storage` reports: 'opfs' or 'file' (default 'memory'). */
  readonly kind: StorageKind;

  private constructor(
    dir: BlockDirectory,
    options: ShelfOptions,
    /** The blob files, in the directory's `blobs` folder. */
    protected readonly blobs: BlobStore,
  ) {
    super();
    if (options.blobGraceMs !== undefined) this.blobGraceMs = checkGrace(options.blobGraceMs);
    this.log = new ShelfLog(dir, (error) => this.report(error));
    this.group = new GroupCommit(this, options.durability ?? 'strict', options.schedule);
    this.checkpointEvery = options.checkpointEvery ?? 100_000;
    this.segmentSize = options.segmentSize ?? 8 << 20;
    this.packSliceMs = options.packSliceMs;
    this.keepTransactions = options.keepTransactions ?? 10_000;
    this.kind = options.kind ?? 'memory';
  }

  /**
   * Opens the database in `dir`, creating it if the directory is empty.
   * @throws CorruptStorageError naming the file and offset of damage, or when the directory holds
   *   something that is not a shelfdb database (left untouched).
   */
  static async open(dir: BlockDirectory, options: ShelfOptions = {}): Promise<ShelfStorage> {
    const storage = new ShelfStorage(dir, options, await dir.blobStore());
    try {
      const existed = await storage.log.open();
      // What puts a crash cut short left (never seen by readers; their commits never landed).
      await storage.blobs.clearTemporary();
      if (existed) {
        const recover = options.recover ?? false;
        const state = await readShelf(
          storage.log,
          storage.index,
          storage.recent,
          recover,
          storage.recovery,
        );
        ({ lastTid: storage.durableTid, nextOid: storage.nextOid } = state);
        ({ transactionCount: storage.transactionCount, garbageBytes: storage.garbage } = state);
        storage.group.assignedTid = state.lastTid;
        storage.reservedOid = state.nextOid;
      }
    } catch (error) {
      storage.log.close();
      storage.index.close();
      throw storageFailure(error, 'The database was not opened; its files are unchanged.');
    }
    return storage;
  }

  /** The newest durable tid. */
  get lastTid(): Tid {
    return this.durableTid;
  }

  // ─── Storage ──────────────────────────────────────────────────────────────

  async load(oids: number[], atTid?: Tid): Promise<LoadedRecord[]> {
    return this.loadEach(oids, atTid, this.lastTid, (oid, at) => {
      // Back along the revisions of `oid` to the newest at `at`.
      let pos = this.index.get(oid);
      while (pos > PREV_PACKED) {
        const { className, state, refs, tid, prev } = this.readRecord(pos, oid);
        if (tid <= at) return { oid, className, state, refs, tid };
        pos = this.log.followPrev(prev);
      }
      // Past the oldest revision kept: none is older (created after `at`), or pack removed them.
      return pos === PREV_PACKED ? PACKED : undefined;
    });
  }

  async newOids(count: number): Promise<number[]> {
    this.checkOpen();
    checkOidCount(count);
    return handOutOids(this, count);
  }

  /** The tid of the sending of `txn` (`txnId`) that landed or is landing, if one did. */
  private landedTid(txn: CommitRequest, txnId: string): Tid | Promise<Tid> | undefined {
    return (
      this.recent.tidOf(txnId) ??
      this.inFlight.get(txnId) ??
      // Based on a snapshot older than what is remembered (a reopen, or 100,000 commits since):
      // the log says whether it landed. A conflict would not always tell: pack may have removed
      // every object it wrote, and a changed readCurrent pin fails before any write conflict.
      (txn.baseTid < this.recent.floor ? findTxnIdSince(this, txnId, txn.baseTid) : undefined)
    );
  }

  async commit(txn: CommitRequest): Promise<Tid> {
    this.checkOpen(txn.txnId);
    const metadataJson = validateCommit(txn, this.nextOid, this.lastTid);
    // A commit without blob records goes on in this turn; a resend landed before is answered.
    const blobsChecked = this.checkBlobRecords(txn, (id) => this.landedTid(txn, id));
    const resent = blobsChecked === undefined ? undefined : await blobsChecked;
    if (resent !== undefined) return resent;
    if (txn.txnId !== undefined) {
      // A resend (the answer to the first sending was lost): answer it, never write it twice.
      const landed = this.landedTid(txn, txn.txnId);
      if (landed !== undefined) return landed;
    }
    // Checked, and a running pack told its refs, in the turn it is accepted (see PackBarrier).
    this.checkBlobRefs(
      txn,
      (oid, pos = this.index.get(oid)) =>
        this.group.pendingTid(oid) !== undefined ||
        (pos !== 0 && this.packBarrier?.mayRemove(pos) !== true),
    );
    this.packBarrier?.accepted(txn.records);
    // Each oid's position, looked up once: for the conflict check and as the record's `prev`.
    const positions = new Map<number, number>();
    try {
      checkConflicts(txn, (oid) => this.latestTid(oid, positions));
    } catch (error) {
      const landed =
        error instanceof WriteConflictError && txn.txnId !== undefined
          ? findLanded(this, txn, error.oids)
          : undefined;
      if (landed !== undefined) return landed;
      throw error;
    }
    if (txn.restore !== undefined) {
      return commitRestored(this, txn, metadataJson, () => this.checkOpen());
    }
    if (txn.records.length === 0) {
      await this.group.settled();
      return this.lastTid;
    }
    const oids = txn.records.map((r) => r.oid);
    const promise = this.group.add(
      {
        kind: KIND_TRANSACTION,
        time: Date.now(),
        nextOid: this.reservedOid,
        metadataJson,
        records: txn.records.map((r) => ({
          oid: r.oid,
          className: r.className,
          state: r.state,
          refs: r.refs,
          prev: positions.get(r.oid) ?? this.index.get(r.oid),
        })),
      },
      oids,
      txn.txnId,
    );
    const txnId = txn.txnId;
    if (txnId !== undefined) {
      this.inFlight.set(txnId, promise);
      const forget = (): void => void this.inFlight.delete(txnId);
      promise.then(forget, forget);
    }
    return promise;
  }

  async sync(sinceTid: Tid): Promise<SyncResult> {
    this.checkOpen();
    checkTid('sync', sinceTid);
    return this.recent.since(sinceTid, this.lastTid);
  }

  protected override packFloor(keepTid: Tid | undefined): Tid {
    return keepTid ?? this.lastTid;
  }

  /**
   * After the checkpoints and commits before it, with no other maintenance running (`exclusive`);
   * loads and commits go on meanwhile (see shelf-pack.ts).
   */
  protected async packNow(floor: Tid | undefined, run: PackRun): Promise<PackResult> {
    this.packing = true;
    try {
      // No waiting for the log to be quiet (commits may never stop): packShelf writes what was
      // accepted so far, and what comes after lands in the segment it starts.
      this.checkOpen();
      run.check();
      return await packShelf(this, floor ?? this.lastTid, run);
    } catch (error) {
      if (error === run.signal?.reason || error instanceof DatabaseClosedError) throw error;
      throw this.log.failure(
        error,
        'The pack stopped; what it had compacted stays compacted, and the database is valid.',
        'packing',
      );
    } finally {
      this.packing = false;
      this.revisions.clear(); // positions moved, and a segment number may be taken again
    }
  }

  /** Every entry's checksum and records, the index against the log, and the object graph. */
  override async verify(): Promise<VerifyReport> {
    this.checkOpen();
    // In the maintenance queue: a pack between the graph walk's loads would make removals dangle.
    return this.exclusive(async () => {
      await this.group.settled();
      this.checkOpen();
      const { log, index } = this;
      const readRecord = (pos: number, oid: number): DecodedRecord => this.readRecord(pos, oid);
      return this.verifyWithBlobs((load) => verifyShelf({ log, index, readRecord, load }));
    });
  }

  async stats(): Promise<StorageStats> {
    this.checkOpen();
    return shelfStats(this, await this.blobStats());
  }

  async transactions(options: { limit?: number; before?: Tid } = {}): Promise<TransactionInfo[]> {
    this.checkOpen();
    return readTransactions(this, options);
  }

  async history(oid: number, limit = Infinity): Promise<RevisionInfo[]> {
    this.checkOpen();
    checkOid('history', oid);
    return readHistory(this, oid, limit);
  }

  /**
   * Writes what is pending, folds the index into a checkpoint and releases the files (and the
   * directory's lock), whatever fails on the way. A failure to flush or checkpoint is reported by
   * rejecting, after everything is released: the log holds every acknowledged commit either way
   * (the next open reads the tail the checkpoint would have covered).
   */
  close(): Promise<void> {
    this.markClosed();
    this.closing ??= this.exclusive(async () => {
      let failure: unknown;
      try {
        await this.group.settled();
        this.group.stop();
        if (this.log.broken === undefined && this.log.segments.size > 0) {
          this.log.activeFile.flush();
          if (this.index.tailSize > 0) await this.checkpointNow();
        }
      } catch (error) {
        failure = storageFailure(
          error,
          'Every commit is in the log; the next open reads the part the checkpoint would have covered.',
          'writing the index checkpoint at close',
        );
      }
      this.listeners.clear();
      try {
        this.log.close();
        this.index.close();
      } finally {
        await this.log.dir.close?.(); // the directory's lock goes whatever closing the files did
      }
      if (failure !== undefined) throw failure;
    });
    return this.closing;
  }

  // ─── checkpoint, manifest ─────────────────────────────────────────────────

  /** Folds the tail into a new index checkpoint and publishes it. */
  async checkpoint(): Promise<void> {
    this.checkOpen();
    return this.exclusive(() => this.checkpointNow());
  }

  private checkpointNow(): Promise<void> {
    return checkpointShelf(this);
  }

  // ─── internals ────────────────────────────────────────────────────────────

  /** @internal A commit's entry is in the log at `pos`: index it, settle it, announce it. */
  landed(p: Pending, pos: number, entry: EncodedEntry): void {
    const tid = p.input.tid;
    // The memo serves the next small commits of the same objects; a bulk import's records are
    // not remembered (filling it cost more than the reads it saves: the first update of each reads).
    const remember = p.input.records.length <= MEMO_MAX_RECORDS;
    p.input.records.forEach((r, i) => {
      const at = pos + (entry.recordOffsets[i] as number);
      this.garbage += this.index.supersede(r.oid, at, this.sizeAt);
      if (remember) this.revisions.remember(r.oid, at, tid, entry.recordSizes[i] as number);
      this.packBarrier?.written(r.oid, r.refs);
    });
    const prevTid = this.lastTid;
    this.durableTid = tid;
    this.transactionCount++;
    this.recent.remember(tid, p.oids, p.txnId);
    p.resolve(tid);
    this.listeners.announce(tid, prevTid, p.oids, p.txnId);
  }

  /**
   * @internal After each batch written: a new segment once this one is full, and the automatic
   * checkpoint when the tail is long.
   */
  afterWrite(): void {
    if (this.log.end >= this.segmentSize) {
      this.queueOnce('roll', async () => {
        if (this.log.end >= this.segmentSize && this.closing === undefined)
          await this.rollSegment();
      });
    }
    if (this.index.tailSize >= this.checkpointEvery) {
      this.queueOnce('checkpoint', () => this.checkpointNow());
    }
  }

  /** Runs `task` after the maintenance queued, unless one of its kind waits; failures reported. */
  private queueOnce(kind: 'roll' | 'checkpoint', task: () => Promise<void>): void {
    if (this.queued.has(kind)) return;
    this.queued.add(kind);
    this.exclusive(task).then(
      () => this.queued.delete(kind),
      (error: unknown) => {
        this.queued.delete(kind);
        this.report(error);
      },
    );
  }

  /** @internal Tells the error listeners about a failure of work nobody awaits. */
  report(error: unknown): void {
    this.listeners.report(error);
  }

  /** The newest tid of `oid`, counting commits not yet flushed; undefined if it has none. */
  private latestTid(oid: number, positions: Map<number, number>): Tid | undefined {
    const pending = this.group.pendingTid(oid);
    if (pending !== undefined) return pending;
    const pos = this.index.get(oid);
    positions.set(oid, pos);
    if (pos === 0) return undefined;
    return this.revisions.tidAt(oid, pos) ?? this.readRecord(pos, oid).tid;
  }

  /** Reads the record at `pos`, checking its oid (see ShelfLog.readRecord). */
  readRecord(pos: number, oid: number): DecodedRecord {
    return this.log.readRecord(pos, oid);
  }

  /** The stored size of the record at `pos` (for garbage accounting). */
  private readonly sizeAt = (pos: number, oid: number): number =>
    this.revisions.sizeAt(oid, pos) ?? this.log.recordSize(pos);

  /** Writes the commits waiting for the group flush now (pack needs a quiet log). */
  flushNow(): void {
    this.group.flush();
    if (this.log.broken !== undefined) throw this.log.brokenError();
  }

  /** The oid reservation recorded in the log: every oid below it may have been handed out. */
  get nextOidReserved(): number {
    return this.reservedOid;
  }

  // ─── for pack (shelf-pack.ts) ─────────────────────────────────────────────

  /** Goes on in a new segment (see ShelfLog.roll). */
  async rollSegment(): Promise<void> {
    try {
      this.flushNow();
      await this.log.roll();
    } catch (error) {
      throw this.log.failure(
        error,
        'The log goes on in the segment it was in; nothing was lost.',
        'starting a new segment',
      );
    }
  }

  /** @throws DatabaseClosedError once closing; StorageError once stopped after a failure. */
  protected override checkOpen(txnId?: string): void {
    super.checkOpen();
    if (this.log.broken === undefined) return;
    throw txnId !== undefined && this.group.isUncertain(txnId)
      ? this.group.stillUncertainError()
      : this.log.brokenError();
  }
}
