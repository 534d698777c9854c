/**
 * ShelfStorage: the Storage contract as an append-only log of transactions over BlockFiles (OPFS
 * sync access handles in the browser's storage worker, Node files, memory in tests). The byte
 * layout is in shelf-format.ts, the files and the rules for changing them in shelf-log.ts, the oid
 * index in shelf-index.ts, the batching of commits into one write in group-commit.ts.
 *
 * Commit: conflicts are checked against the index and the commits not yet flushed, the
 * transaction gets the next tid and is encoded into one buffer; commits that arrive before the
 * scheduled flush runs share one write and one flush (group commit). Only then is the index updated,
 * the promise settled and the invalidation announced, so nobody ever sees a commit a crash could
 * take back. With `durability: 'relaxed'` the promise settles after the write and the flush follows
 * within a few milliseconds.
 *
 * Open: the newest valid manifest names the segments and the index checkpoint; the log after the
 * checkpoint is read and indexed in memory. A torn tail (a crash while writing) is cut off; damage
 * with intact transactions after it is a CorruptStorageError, unless `recover` is set, which
 * replaces each damaged span with a filler entry and reports what it dropped.
 *
 * Failures: a commit is checked whole before it joins a group (validateCommit), so one bad commit
 * never fails its batch-mates. A write or flush that fails is undone (truncate, flushed) and the
 * commit is rejected as not stored (StorageFullError for a full disk); when even the undo fails,
 * nobody can say whether the bytes will be there after a crash: the commit is rejected with
 * StorageBusyError ("not known whether it landed"; a resend with the same txnId is answered
 * exactly) and the storage stops writing until it is reopened, so nothing is built on top of an
 * uncertain log. Checkpoint, pack and close run one at a time (`exclusive`); each publishes its
 * new state by a manifest written only after every file it names is flushed. Failures of work
 * nobody awaits (an automatic checkpoint, a relaxed flush) go to `subscribeErrors` listeners.
 */
import {
  CorruptStorageError,
  DatabaseClosedError,
  ReadConflictError,
  StorageBusyError,
  StorageError,
  WriteConflictError,
} from '../src/shared/errors.js';
import {
  ROOT_OID,
  type CommitRequest,
  type Invalidation,
  type LoadedRecord,
  type PackOptions,
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
  checkLoad,
  checkOid,
  checkOidCount,
  checkTid,
  packedMessage,
  validateCommit,
} from './commit-checks.js';
import type { BlockDirectory, BlockFile } from './block-file.js';
import { ShelfLog, UncertainWrite } from './shelf-log.js';
import { GroupCommit, type Pending } from './group-commit.js';
import {
  KIND_OIDS,
  KIND_TRANSACTION,
  PREV_PACKED,
  SEGMENT_HEADER_SIZE,
  decodeEntry,
  decodeEntryHeader,
  encodeEntry,
  indexName,
  offsetOf,
  position,
  segmentName,
  segmentOf,
  type DecodedRecord,
} from './shelf-format.js';
import { ShelfIndex } from './shelf-index.js';
import { findLanded, readHistory, readTransactions, verifyShelf } from './shelf-reading.js';
import { storageFailure } from './storage-failures.js';
import { RecentTransactions } from './recent-transactions.js';
import { scanSegment } from './shelf-recovery.js';
import { packShelf } from './shelf-pack.js';

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
}

/** Oids reserved ahead in the log, so a crash never lets an oid be handed out twice. */
const OID_RESERVATION = 4096;
/** Transactions remembered for `sync` and resends. */
const RECENT_LIMIT = 100_000;
/** Relaxed durability flushes this long after a write. */
const RELAXED_FLUSH_MS = 5;

function defaultSchedule(task: () => void): void {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => void }).setImmediate;
  if (immediate) immediate(task);
  else setTimeout(task, 0);
}

export class ShelfStorage implements Storage {
  /** What opening found damaged. */
  readonly recovery: RecoveryReport = { truncated: [], dropped: [] };
  /** The files. */
  readonly log: ShelfLog;
  /** The oid → position index (pack replaces it with the packed log's). */
  index = new ShelfIndex();
  /** The newest durable tid, and the newest handed to a commit not yet flushed. */
  lastTid = 0;
  /** The next oid to hand out, and the reservation recorded in the log. */
  nextOid = ROOT_OID + 1;
  private reservedOid = ROOT_OID + 1;
  private readonly recent = new RecentTransactions(RECENT_LIMIT);
  /** Commits accepted and not yet settled, by client txnId: a resend joins its first sending. */
  private readonly inFlight = new Map<string, Promise<Tid>>();
  /** Committed transactions (kept in the manifest at checkpoints). */
  transactionCount = 0;
  /** Bytes of revisions superseded by newer ones. */
  garbageBytes = 0;
  /** Commits accepted and not yet written. */
  private readonly group: GroupCommit;
  private relaxedTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<(invalidation: Invalidation) => void>();
  private readonly errorListeners = new Set<(error: unknown) => void>();
  private closing: Promise<void> | undefined;
  private packing: Promise<PackResult> | undefined;
  private checkpointQueued = false;
  /** Checkpoint, pack and close run one after another: the tail of that queue. */
  private maintenance: Promise<unknown> = Promise.resolve();
  private readonly durability: 'strict' | 'relaxed';
  private readonly schedule: (task: () => void) => void;
  private readonly checkpointEvery: number;
  readonly kind: StorageKind;

  private constructor(dir: BlockDirectory, options: ShelfOptions) {
    this.log = new ShelfLog(dir, (error) => this.report(error));
    this.durability = options.durability ?? 'strict';
    this.schedule = options.schedule ?? defaultSchedule;
    this.group = new GroupCommit(this, this.durability, this.schedule);
    this.checkpointEvery = options.checkpointEvery ?? 100_000;
    this.kind = options.kind ?? 'memory';
  }

  /**
   * Opens the database in `dir`, creating it if the directory is empty.
   * @throws CorruptStorageError naming the file and offset of damage, or when the directory holds
   *   something that is not a shelfdb database (left untouched).
   */
  static async open(dir: BlockDirectory, options: ShelfOptions = {}): Promise<ShelfStorage> {
    const storage = new ShelfStorage(dir, options);
    try {
      await storage.openFiles(options.recover ?? false);
    } catch (error) {
      storage.log.close();
      storage.index.close();
      throw storageFailure(error, 'The database was not opened; its files are unchanged.');
    }
    return storage;
  }

  // ─── opening ──────────────────────────────────────────────────────────────

  private async openFiles(recover: boolean): Promise<void> {
    if (!(await this.log.open())) return; // a new database
    const { manifest } = this.log;
    const cp = manifest.checkpoint;
    let scanFrom = position(manifest.segments[0] as number, SEGMENT_HEADER_SIZE);
    if (cp !== null) {
      this.index.attach(await this.log.dir.open(cp.file), cp.file, cp.objects);
      this.lastTid = cp.tid;
      this.nextOid = cp.nextOid;
      this.transactionCount = manifest.checkpointTransactions ?? 0;
      this.garbageBytes = manifest.checkpointGarbage ?? 0;
      scanFrom = cp.end;
      const file = this.log.segments.get(segmentOf(scanFrom));
      if (file === undefined || file.size() < offsetOf(scanFrom)) {
        throw new CorruptStorageError(
          `The manifest's checkpoint covers ${segmentName(segmentOf(scanFrom))} up to byte ${offsetOf(scanFrom)}, but the file is shorter: the log lost bytes it had flushed. Nothing was changed.`,
        );
      }
    }
    this.recent.floor = this.lastTid;
    for (const n of manifest.segments) {
      if (n < segmentOf(scanFrom)) continue;
      const start = n === segmentOf(scanFrom) ? offsetOf(scanFrom) : SEGMENT_HEADER_SIZE;
      this.scan(n, start, recover, n === this.log.active);
    }
    this.log.end = this.log.activeFile.size();
    this.group.assignedTid = this.lastTid;
    this.reservedOid = this.nextOid;
  }

  /** Reads and indexes one segment from `start`; a damaged log is handled by scanSegment. */
  private scan(n: number, start: number, recover: boolean, last: boolean): void {
    const file = this.log.segments.get(n) as BlockFile;
    scanSegment(
      file,
      n,
      segmentName(n),
      start,
      { recover, last },
      (bytes, off) => this.apply(bytes, position(n, off)),
      this.recovery,
    );
  }

  /** Indexes one valid entry found at `pos`. */
  private apply(bytes: Uint8Array, pos: number): void {
    const header = decodeEntryHeader(bytes);
    if (header.nextOid > this.nextOid) this.nextOid = header.nextOid;
    if (header.kind !== KIND_TRANSACTION) return;
    const { records, metadata } = decodeEntry(bytes);
    const oids: number[] = [];
    for (const r of records) {
      this.index.set(r.oid, pos + r.offset, this.supersede(r.oid));
      oids.push(r.oid);
    }
    this.lastTid = header.tid;
    this.transactionCount++;
    this.recent.remember(header.tid, oids, metadata.txnId);
  }

  // ─── Storage ──────────────────────────────────────────────────────────────

  async load(oids: number[], atTid?: Tid): Promise<LoadedRecord[]> {
    this.checkOpen();
    checkLoad(oids, atTid);
    const at = atTid ?? this.lastTid;
    const out: LoadedRecord[] = [];
    for (const oid of oids) {
      let pos = this.index.get(oid);
      while (pos > PREV_PACKED) {
        const record = this.readRecord(pos, oid);
        if (record.tid <= at) {
          out.push({
            oid,
            className: record.className,
            state: record.state,
            refs: record.refs,
            tid: record.tid,
          });
          break;
        }
        pos = record.prev;
      }
      if (pos === PREV_PACKED) {
        throw new ReadConflictError([oid], packedMessage([oid], at));
      }
    }
    return out;
  }

  async newOids(count: number): Promise<number[]> {
    this.checkOpen();
    checkOidCount(count);
    const first = this.nextOid;
    if (first + count > this.reservedOid) {
      const reserved = first + count + OID_RESERVATION;
      const { bytes } = encodeEntry(
        { kind: KIND_OIDS, tid: 0, time: Date.now(), nextOid: reserved, records: [] },
        position(this.log.active, this.log.end),
      );
      try {
        this.log.append(bytes, true);
      } catch (error) {
        throw this.appendFailure(error, 'No oids were handed out; committed data is intact.');
      }
      this.reservedOid = reserved;
    }
    this.nextOid += count;
    const oids = new Array<number>(count);
    for (let i = 0; i < count; i++) oids[i] = first + i;
    return oids;
  }

  async commit(txn: CommitRequest): Promise<Tid> {
    this.checkOpen(txn.txnId);
    const metadataJson = validateCommit(txn, this.nextOid);
    if (txn.txnId !== undefined) {
      // A resend (the answer to the first sending was lost): answer it, never write it twice.
      const landed = this.recent.tidOf(txn.txnId) ?? this.inFlight.get(txn.txnId);
      if (landed !== undefined) return landed;
    }
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
    if (txn.records.length === 0) {
      await this.settled();
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

  pack(options: PackOptions = {}): Promise<PackResult> {
    try {
      this.checkOpen();
      if (options.keepTid !== undefined) checkTid('pack', options.keepTid);
    } catch (error) {
      return Promise.reject(error);
    }
    this.packing ??= this.exclusive(async () => {
      try {
        await this.settled();
        this.checkOpen();
        return await packShelf(this, options.keepTid ?? this.lastTid);
      } catch (error) {
        if (error instanceof UncertainWrite) throw this.brokenError();
        throw storageFailure(
          error,
          'The pack was abandoned; the database is as it was.',
          'packing',
        );
      } finally {
        this.packing = undefined;
      }
    });
    return this.packing;
  }
  /** Every entry's checksum and records, the index against the log, and the object graph. */
  async verify(): Promise<VerifyReport> {
    this.checkOpen();
    await this.settled();
    return verifyShelf(this);
  }

  async stats(): Promise<StorageStats> {
    this.checkOpen();
    let bytes = 0;
    for (const file of this.log.segments.values()) bytes += file.size();
    return {
      storage: this.kind,
      objects: this.index.objects,
      bytes,
      garbageBytes: this.garbageBytes,
      transactions: this.transactionCount,
      lastPack: this.log.manifest.lastPack,
    };
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

  subscribe(listener: (invalidation: Invalidation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  subscribeErrors(listener: (error: unknown) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /**
   * Writes what is pending, folds the index into a checkpoint and releases the files (and the
   * directory's lock), whatever fails on the way. A failure to flush or checkpoint is reported by
   * rejecting, after everything is released: the log holds every acknowledged commit either way
   * (the next open reads the tail the checkpoint would have covered).
   */
  close(): Promise<void> {
    this.closing ??= this.exclusive(async () => {
      let failure: unknown;
      try {
        await this.settled();
        if (this.relaxedTimer !== undefined) clearTimeout(this.relaxedTimer);
        this.relaxedTimer = undefined;
        if (this.log.broken === undefined && this.log.segments.size > 0) {
          (this.log.segments.get(this.log.active) as BlockFile).flush();
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
      this.errorListeners.clear();
      try {
        this.closeFiles();
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

  private async checkpointNow(): Promise<void> {
    if (this.log.broken !== undefined || this.log.segments.size === 0) return;
    const name = indexName(this.log.manifest.generation + 1);
    const old = this.log.manifest.checkpoint?.file;
    const file = await this.log.dir.open(name);
    let published = false;
    try {
      // From here on synchronous, so no commit lands between the index and the manifest. The log
      // is flushed first: a checkpoint never covers bytes a crash could still take back.
      (this.log.segments.get(this.log.active) as BlockFile).flush();
      const objects = this.index.write(file, this.reservedOid);
      this.log.publish({
        ...this.log.manifest,
        checkpoint: {
          file: name,
          end: position(this.log.active, this.log.end),
          tid: this.lastTid,
          nextOid: this.reservedOid,
          objects,
        },
        checkpointTransactions: this.transactionCount,
        checkpointGarbage: this.garbageBytes,
      });
      published = true;
      this.index.adopt(file, name, objects);
      this.recent.floor = Math.min(this.recent.floor, this.lastTid);
    } catch (error) {
      if (!published) await this.log.discard(file, name);
      if (error instanceof UncertainWrite) throw this.brokenError();
      throw storageFailure(
        error,
        'The database is as it was; the index checkpoint is tried again later.',
        'writing an index checkpoint',
      );
    }
    if (old !== undefined && old !== name) await this.log.removeLeftover(old);
  }

  // ─── internals ────────────────────────────────────────────────────────────

  /** Runs `task` after every checkpoint, pack and close queued before it has settled. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.maintenance.then(task);
    this.maintenance = result.catch(() => undefined); // the caller of `task` gets the error
    return result;
  }

  /** Tells the error listeners about a failure of work nobody awaits. */
  private report(error: unknown): void {
    for (const listener of this.errorListeners) listener(error);
  }

  /** @internal The error every call gets once the storage stopped after an uncertain write. */
  brokenError(): StorageError {
    return new StorageError(
      'This database stopped writing after a disk failure it could not undo. Nothing was stored by this call. Close and reopen the database (reload the page); it opens as the log holds it.',
      { cause: this.log.broken },
    );
  }

  /** @internal A commit's entry is in the log at `pos`: index it, settle it, announce it. */
  landed(p: Pending, pos: number, recordOffsets: number[]): void {
    const tid = p.input.tid;
    p.input.records.forEach((r, i) => {
      this.index.set(r.oid, pos + (recordOffsets[i] as number), this.supersede(r.oid));
    });
    const prevTid = this.lastTid;
    this.lastTid = tid;
    this.transactionCount++;
    const txnId = p.txnId;
    this.recent.remember(tid, p.oids, txnId);
    p.resolve(tid);
    const invalidation: Invalidation =
      txnId === undefined ? { tid, prevTid, oids: p.oids } : { tid, prevTid, oids: p.oids, txnId };
    for (const listener of this.listeners) {
      queueMicrotask(() => listener(invalidation));
    }
  }

  /** @internal After each batch written: the relaxed flush and the automatic checkpoint. */
  afterWrite(): void {
    if (this.durability === 'relaxed' && this.relaxedTimer === undefined) {
      this.relaxedTimer = setTimeout(() => {
        this.relaxedTimer = undefined;
        const file = this.log.segments.get(this.log.active);
        if (file === undefined || this.log.broken !== undefined) return;
        try {
          file.flush();
        } catch (error) {
          // Acknowledged commits may not survive a power cut until a later flush succeeds.
          this.report(
            storageFailure(
              error,
              'Commits acknowledged in the last moments (relaxed durability) may not survive a crash until a later flush succeeds.',
              'flushing the log',
            ),
          );
        }
      }, RELAXED_FLUSH_MS);
    }
    if (this.index.tailSize >= this.checkpointEvery && !this.checkpointQueued) {
      this.checkpointQueued = true;
      this.exclusive(() => this.checkpointNow()).then(
        () => (this.checkpointQueued = false),
        (error: unknown) => {
          this.checkpointQueued = false;
          this.report(error);
        },
      );
    }
  }

  /** The error for a failed append outside commits (newOids). */
  private appendFailure(error: unknown, what: string): Error {
    if (error instanceof UncertainWrite) return this.brokenError();
    return storageFailure(error, what);
  }

  /** Resolves once every commit accepted so far has been written. */
  private settled(): Promise<void> {
    return this.group.settled();
  }

  /** The newest tid of `oid`, counting commits not yet flushed; undefined if it has none. */
  private latestTid(oid: number, positions: Map<number, number>): Tid | undefined {
    const pending = this.group.pendingTid(oid);
    if (pending !== undefined) return pending;
    const pos = this.index.get(oid);
    positions.set(oid, pos);
    return pos === 0 ? undefined : this.readRecord(pos, oid).tid;
  }

  /** Reads the record at `pos`, checking its oid (see ShelfLog.readRecord). */
  readRecord(pos: number, oid: number): DecodedRecord {
    return this.log.readRecord(pos, oid);
  }

  /**
   * The revision now current for `oid` is about to be superseded: count it as garbage. Returns its
   * position (0: none), for the index update that follows.
   */
  private supersede(oid: number): number {
    const pos = this.index.get(oid);
    if (pos <= PREV_PACKED) return pos;
    this.garbageBytes += this.log.recordSize(pos);
    return pos;
  }

  /** Writes the commits waiting for the group flush now (pack needs a quiet log). */
  flushNow(): void {
    this.group.flush();
    if (this.log.broken !== undefined) throw this.brokenError();
  }

  /** The oid reservation recorded in the log: every oid below it may have been handed out. */
  get nextOidReserved(): number {
    return this.reservedOid;
  }

  /** After pack published `segment` as the whole log, with `index` for it: use them. */
  adoptPackedSegment(segment: number, file: BlockFile, end: number, index: ShelfIndex): void {
    this.log.adoptPackedSegment(segment, file, end);
    this.garbageBytes = 0;
    this.index.close();
    this.index = index;
  }

  /** @throws DatabaseClosedError once closing; StorageError once stopped after a failure. */
  private checkOpen(txnId?: string): void {
    if (this.closing !== undefined) throw new DatabaseClosedError('This storage is closed.');
    if (this.log.broken === undefined) return;
    if (txnId !== undefined && this.group.isUncertain(txnId)) {
      throw new StorageBusyError(
        'It is still not known whether this commit was stored: the database stopped writing after a disk failure. Reopen it (reload the page) and commit again.',
        { cause: this.log.broken },
      );
    }
    throw this.brokenError();
  }

  private closeFiles(): void {
    this.log.close();
    this.index.close();
  }
}
