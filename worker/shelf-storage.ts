/**
 * ShelfStorage: the Storage contract as an append-only log of transactions over BlockFiles (OPFS
 * sync access handles in the browser's storage worker, Node files, memory in tests). The byte
 * layout is in shelf-format.ts; the oid index in shelf-index.ts.
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
 */
import {
  CorruptStorageError,
  DatabaseClosedError,
  ReadConflictError,
  StorageFullError,
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
import { checkConflicts, checkOidCount, packedMessage, validateCommit } from './commit-checks.js';
import type { BlockDirectory, BlockFile } from './block-file.js';
import {
  KIND_OIDS,
  KIND_TRANSACTION,
  MANIFEST_SLOTS,
  PREV_PACKED,
  SEGMENT_HEADER_SIZE,
  checkSegmentHeader,
  decodeEntry,
  decodeEntryHeader,
  decodeManifest,
  decodeRecord,
  encodeEntry,
  encodeManifest,
  encodeSegmentHeader,
  indexName,
  offsetOf,
  position,
  recordLength,
  segmentName,
  segmentOf,
  type DecodedRecord,
  type EntryInput,
  type Manifest,
} from './shelf-format.js';
import { ShelfIndex } from './shelf-index.js';
import { readHistory, readTransactions, verifyShelf } from './shelf-reading.js';
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

/** A commit waiting for the group flush. */
interface Pending {
  input: EntryInput;
  oids: number[];
  resolve: (tid: Tid) => void;
  reject: (error: unknown) => void;
}

/** Oids reserved ahead in the log, so a crash never lets an oid be handed out twice. */
const OID_RESERVATION = 4096;
/** Transactions remembered for `sync`. */
const RECENT_LIMIT = 100_000;
/** A commit this soon after the last flush ended joins a group commit (see `commit`). */
const BURST_MS = 0.05;
const now = (): number => (typeof performance === 'undefined' ? Date.now() : performance.now());
/** Relaxed durability flushes this long after a write. */
const RELAXED_FLUSH_MS = 5;

function defaultSchedule(task: () => void): void {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => void }).setImmediate;
  if (immediate) immediate(task);
  else setTimeout(task, 0);
}

function isFullDisk(error: unknown): boolean {
  const e = error as { name?: string; code?: string };
  return e?.name === 'QuotaExceededError' || e?.code === 'ENOSPC' || e?.code === 'EDQUOT';
}

export class ShelfStorage implements Storage {
  /** What opening found damaged. */
  readonly recovery: RecoveryReport = { truncated: [], dropped: [] };
  /** Segment number → open file. */
  readonly segments = new Map<number, BlockFile>();
  readonly index = new ShelfIndex();
  manifest: Manifest = { generation: 0, segments: [], checkpoint: null };
  /** The segment appended to, and where its log ends. */
  active = 0;
  end = 0;
  /** The newest durable tid, and the newest handed to a commit not yet flushed. */
  lastTid = 0;
  private assignedTid = 0;
  /** The next oid to hand out, and the reservation recorded in the log. */
  nextOid = ROOT_OID + 1;
  private reservedOid = ROOT_OID + 1;
  /** Transactions since `recentFloor`, oldest first, for `sync`. */
  private recent: { tid: Tid; oids: number[]; txnId?: string }[] = [];
  /** Client-made ids of the transactions in `recent` → their tids. */
  private readonly txnIds = new Map<string, Tid>();
  private recentFloor = 0;
  /** Committed transactions (kept in the manifest at checkpoints). */
  transactionCount = 0;
  /** Bytes of revisions superseded by newer ones. */
  garbageBytes = 0;
  /** Newest tid per oid among commits not yet flushed (for conflict checks). */
  private readonly pendingTids = new Map<number, Tid>();
  private batch: Pending[] = [];
  private flushScheduled = false;
  /** When the last group flush finished (performance.now()). */
  private lastFlushEnd = -Infinity;
  private relaxedTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<(invalidation: Invalidation) => void>();
  private closing: Promise<void> | undefined;
  private packing: Promise<PackResult> | undefined;
  /** Open manifest slots. */
  private readonly slots: BlockFile[] = [];
  /** The slot holding the current manifest. */
  private slot = 0;
  private readonly durability: 'strict' | 'relaxed';
  private readonly schedule: (task: () => void) => void;
  private readonly checkpointEvery: number;
  readonly kind: StorageKind;

  private constructor(
    readonly dir: BlockDirectory,
    options: ShelfOptions,
  ) {
    this.durability = options.durability ?? 'strict';
    this.schedule = options.schedule ?? defaultSchedule;
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
      storage.closeFiles();
      throw error;
    }
    return storage;
  }

  // ─── opening ──────────────────────────────────────────────────────────────

  private async openFiles(recover: boolean): Promise<void> {
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
    const candidates = MANIFEST_SLOTS.map((name, i) => ({
      i,
      m: decodeManifest(
        (this.slots[i] as BlockFile).read(0, (this.slots[i] as BlockFile).size()),
        name,
      ),
    }));
    const best = candidates
      .filter((c): c is { i: number; m: Manifest } => c.m !== undefined)
      .sort((a, b) => b.m.generation - a.m.generation)[0];
    if (best === undefined) {
      const logs = names.filter((n) => n.startsWith('seg-'));
      for (const name of logs) {
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
      return;
    }
    this.manifest = best.m;
    this.slot = best.i;
    // Files no manifest names are leftovers of an interrupted pack or checkpoint.
    const named = new Set<string>([
      ...MANIFEST_SLOTS,
      ...this.manifest.segments.map(segmentName),
      ...(this.manifest.checkpoint ? [this.manifest.checkpoint.file] : []),
    ]);
    for (const name of names) if (!named.has(name)) await this.dir.remove(name);

    for (const n of this.manifest.segments) {
      const file = await this.dir.open(segmentName(n));
      checkSegmentHeader(file.read(0, SEGMENT_HEADER_SIZE), n, segmentName(n));
      this.segments.set(n, file);
    }
    this.active = this.manifest.segments.at(-1) as number;
    const cp = this.manifest.checkpoint;
    let scanFrom = position(this.manifest.segments[0] as number, SEGMENT_HEADER_SIZE);
    if (cp !== null) {
      this.index.attach(await this.dir.open(cp.file), cp.file, cp.objects);
      this.lastTid = cp.tid;
      this.nextOid = cp.nextOid;
      this.transactionCount = this.manifest.checkpointTransactions ?? 0;
      this.garbageBytes = this.manifest.checkpointGarbage ?? 0;
      scanFrom = cp.end;
    }
    this.recentFloor = this.lastTid;
    for (const n of this.manifest.segments) {
      if (n < segmentOf(scanFrom)) continue;
      const start = n === segmentOf(scanFrom) ? offsetOf(scanFrom) : SEGMENT_HEADER_SIZE;
      this.scan(n, start, recover, n === this.active);
    }
    this.end = (this.segments.get(this.active) as BlockFile).size();
    this.assignedTid = this.lastTid;
    this.reservedOid = this.nextOid;
  }

  private async create(): Promise<void> {
    const file = await this.dir.open(segmentName(1));
    file.truncate(0);
    file.write(0, encodeSegmentHeader(1));
    file.flush();
    this.segments.set(1, file);
    this.active = 1;
    this.end = SEGMENT_HEADER_SIZE;
    this.manifest = { generation: 0, segments: [1], checkpoint: null };
    this.slot = 1;
    this.publish(this.manifest);
  }
  /** Reads and indexes one segment from `start`; a damaged log is handled by scanSegment. */
  private scan(n: number, start: number, recover: boolean, last: boolean): void {
    const file = this.segments.get(n) as BlockFile;
    scanSegment(
      file,
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
    this.remember(header.tid, oids, metadata.txnId);
  }

  // ─── Storage ──────────────────────────────────────────────────────────────

  async load(oids: number[], atTid?: Tid): Promise<LoadedRecord[]> {
    this.checkOpen();
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
      const { bytes } = encodeEntry({
        kind: KIND_OIDS,
        tid: 0,
        time: Date.now(),
        nextOid: reserved,
        records: [],
      });
      this.append(bytes, true);
      this.reservedOid = reserved;
    }
    this.nextOid += count;
    const oids = new Array<number>(count);
    for (let i = 0; i < count; i++) oids[i] = first + i;
    return oids;
  }

  async commit(txn: CommitRequest): Promise<Tid> {
    this.checkOpen();
    validateCommit(txn, this.nextOid);
    const landed = txn.txnId === undefined ? undefined : this.txnIds.get(txn.txnId);
    if (landed !== undefined) return landed; // a resent commit: it is stored already
    // Each oid's position, looked up once: for the conflict check and as the record's `prev`.
    const positions = new Map<number, number>();
    checkConflicts(txn, (oid) => this.latestTid(oid, positions));
    if (txn.records.length === 0) {
      await this.settled();
      return this.lastTid;
    }
    const tid = ++this.assignedTid;
    const oids = txn.records.map((r) => r.oid);
    for (const oid of oids) this.pendingTids.set(oid, tid);
    const input: EntryInput = {
      kind: KIND_TRANSACTION,
      tid,
      time: Date.now(),
      nextOid: this.reservedOid,
      metadata: {
        note: txn.note ?? '',
        user: txn.user ?? '',
        meta: txn.meta ?? {},
        ...(txn.txnId === undefined ? {} : { txnId: txn.txnId }),
      },
      records: txn.records.map((r) => ({
        oid: r.oid,
        className: r.className,
        state: r.state,
        refs: r.refs,
        prev: positions.get(r.oid) ?? this.index.get(r.oid),
      })),
    };
    return new Promise<Tid>((resolve, reject) => {
      this.batch.push({ input, oids, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Adaptive group commit: a commit that arrives right after a flush was most likely queued
        // during it, with others behind it: wait one task so they join this flush. A commit that
        // arrives on its own is flushed at once (the task hop costs ~100 µs in a worker).
        const burst = now() - this.lastFlushEnd < BURST_MS;
        if (burst) this.schedule(() => this.flushBatch());
        else queueMicrotask(() => this.flushBatch());
      }
    });
  }

  async sync(sinceTid: Tid): Promise<SyncResult> {
    this.checkOpen();
    if (sinceTid >= this.lastTid) return { tid: this.lastTid, oids: [] };
    if (sinceTid < this.recentFloor) return { tid: this.lastTid, oids: [], reset: true };
    const oids = new Set<number>();
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const txn = this.recent[i] as { tid: Tid; oids: number[] };
      if (txn.tid <= sinceTid) break;
      for (const oid of txn.oids) oids.add(oid);
    }
    return { tid: this.lastTid, oids: [...oids] };
  }

  pack(options: PackOptions = {}): Promise<PackResult> {
    this.checkOpen();
    this.packing ??= (async () => {
      try {
        await this.settled();
        return await packShelf(this, options.keepTid ?? this.lastTid);
      } finally {
        this.packing = undefined;
      }
    })();
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
    for (const file of this.segments.values()) bytes += file.size();
    return {
      storage: this.kind,
      objects: this.index.objects,
      bytes,
      garbageBytes: this.garbageBytes,
      transactions: this.transactionCount,
      lastPack: this.manifest.lastPack,
    };
  }

  async transactions(options: { limit?: number; before?: Tid } = {}): Promise<TransactionInfo[]> {
    this.checkOpen();
    return readTransactions(this, options);
  }

  async history(oid: number, limit = Infinity): Promise<RevisionInfo[]> {
    this.checkOpen();
    return readHistory(this, oid, limit);
  }

  subscribe(listener: (invalidation: Invalidation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.settled();
      if (this.relaxedTimer !== undefined) clearTimeout(this.relaxedTimer);
      (this.segments.get(this.active) as BlockFile | undefined)?.flush();
      if (this.index.tailSize > 0) await this.checkpoint();
      this.listeners.clear();
      this.closeFiles();
    })();
    return this.closing;
  }

  // ─── checkpoint, manifest ─────────────────────────────────────────────────

  /** Folds the tail into a new index checkpoint and publishes it. */
  async checkpoint(): Promise<void> {
    const generation = this.manifest.generation + 1;
    const name = indexName(generation);
    const old = this.manifest.checkpoint?.file;
    const file = await this.dir.open(name);
    // From here on synchronous, so no commit lands between the index and the manifest.
    this.index.writeTo(file, name, this.reservedOid);
    this.publish({
      ...this.manifest,
      checkpoint: {
        file: name,
        end: position(this.active, this.end),
        tid: this.lastTid,
        nextOid: this.reservedOid,
        objects: this.index.objects,
      },
      checkpointTransactions: this.transactionCount,
      checkpointGarbage: this.garbageBytes,
    });
    this.recentFloor = Math.min(this.recentFloor, this.lastTid);
    if (old !== undefined && old !== name) await this.dir.remove(old);
  }

  /** Writes `manifest` with the next generation into the slot not in use, flushed. */
  publish(manifest: Manifest): void {
    const next = { ...manifest, generation: this.manifest.generation + 1 };
    const slot = 1 - this.slot;
    const file = this.slots[slot] as BlockFile;
    const bytes = encodeManifest(next);
    file.truncate(0);
    file.write(0, bytes);
    file.flush();
    this.manifest = next;
    this.slot = slot;
  }

  // ─── internals ────────────────────────────────────────────────────────────

  /** Writes the batch in one write and one flush, then makes it visible. */
  private flushBatch(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    this.number(batch);
    const encoded = batch.map((p) => encodeEntry(p.input));
    const total = encoded.reduce((n, e) => n + e.bytes.byteLength, 0);
    const buffer = new Uint8Array(total);
    let at = 0;
    for (const e of encoded) {
      buffer.set(e.bytes, at);
      at += e.bytes.byteLength;
    }
    const start = this.end;
    try {
      this.append(buffer, this.durability === 'strict');
    } catch (error) {
      this.retryOneByOne(batch, error);
      return;
    }
    at = start;
    batch.forEach((p, i) => {
      const e = encoded[i] as ReturnType<typeof encodeEntry>;
      this.landed(p, position(this.active, at), e.recordOffsets);
      at += e.bytes.byteLength;
    });
    this.afterWrite();
  }

  /**
   * Gives the batch its final tids, consecutive after the newest durable one. (The tids handed
   * out at `commit` only mark pending oids for conflict checks; a failed commit may leave a gap.)
   */
  private number(batch: Pending[]): void {
    let tid = this.lastTid;
    for (const p of batch) {
      const provisional = p.input.tid;
      p.input.tid = ++tid;
      for (const oid of p.oids)
        if (this.pendingTids.get(oid) === provisional) this.pendingTids.set(oid, tid);
    }
    if (this.assignedTid < tid) this.assignedTid = tid;
  }

  /**
   * A batch write failed (a full disk, most likely): the log is back as it was. Write the commits
   * one at a time, renumbered so tids stay consecutive; those that fail are rejected.
   */
  private retryOneByOne(batch: Pending[], firstError: unknown): void {
    if (batch.length === 1) {
      this.failed(batch, firstError);
      return;
    }
    for (const p of batch) {
      this.number([p]);
      const e = encodeEntry(p.input);
      const start = this.end;
      try {
        this.append(e.bytes, this.durability === 'strict');
      } catch (error) {
        this.failed([p], error);
        continue;
      }
      this.landed(p, position(this.active, start), e.recordOffsets);
    }
    this.afterWrite();
  }

  private failed(batch: Pending[], error: unknown): void {
    for (const p of batch) {
      for (const oid of p.oids)
        if (this.pendingTids.get(oid) === p.input.tid) this.pendingTids.delete(oid);
      p.reject(
        isFullDisk(error)
          ? new StorageFullError(
              'The browser refused to store more (storage quota exceeded). This commit was not stored; committed data is intact. Free space (db.pack(), fewer or smaller objects) or ask for more with db.persist().',
              { cause: error },
            )
          : error,
      );
    }
  }

  /** A commit's entry is in the log at `pos`: index it, settle it, announce it. */
  private landed(p: Pending, pos: number, recordOffsets: number[]): void {
    const tid = p.input.tid;
    p.input.records.forEach((r, i) => {
      this.index.set(r.oid, pos + (recordOffsets[i] as number), this.supersede(r.oid));
      if (this.pendingTids.get(r.oid) === tid) this.pendingTids.delete(r.oid);
    });
    const prevTid = this.lastTid;
    this.lastTid = tid;
    this.transactionCount++;
    this.remember(tid, p.oids, p.input.metadata?.txnId);
    p.resolve(tid);
    const txnId = p.input.metadata?.txnId;
    const invalidation: Invalidation =
      txnId === undefined ? { tid, prevTid, oids: p.oids } : { tid, prevTid, oids: p.oids, txnId };
    for (const listener of this.listeners) {
      queueMicrotask(() => listener(invalidation));
    }
  }

  private afterWrite(): void {
    this.lastFlushEnd = now();
    if (this.durability === 'relaxed' && this.relaxedTimer === undefined) {
      this.relaxedTimer = setTimeout(() => {
        this.relaxedTimer = undefined;
        if (this.closing === undefined || this.segments.size > 0)
          (this.segments.get(this.active) as BlockFile | undefined)?.flush();
      }, RELAXED_FLUSH_MS);
    }
    if (this.index.tailSize >= this.checkpointEvery && this.packing === undefined) {
      void this.checkpoint().catch(() => undefined);
    }
  }

  /** Appends bytes at the end of the active segment; on failure restores the end and rethrows. */
  private append(bytes: Uint8Array, flush: boolean): void {
    const file = this.segments.get(this.active) as BlockFile;
    const start = this.end;
    try {
      file.write(start, bytes);
      if (flush) file.flush();
    } catch (error) {
      try {
        file.truncate(start);
      } catch {
        // The partial bytes past `start` are overwritten by the next append, or cut off as a torn
        // tail when the database is next opened; the failure reported is the write's.
      }
      throw error;
    }
    this.end = start + bytes.byteLength;
  }

  /** Resolves once every commit accepted so far has been written. */
  private async settled(): Promise<void> {
    while (this.batch.length > 0 || this.flushScheduled) {
      await new Promise<void>((resolve) => this.schedule(resolve));
    }
  }

  /** The newest tid of `oid`, counting commits not yet flushed; undefined if it has none. */
  private latestTid(oid: number, positions: Map<number, number>): Tid | undefined {
    const pending = this.pendingTids.get(oid);
    if (pending !== undefined) return pending;
    const pos = this.index.get(oid);
    positions.set(oid, pos);
    return pos === 0 ? undefined : this.readRecord(pos, oid).tid;
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
    const record = decodeRecord(bytes);
    if (record.oid !== oid) {
      throw new CorruptStorageError(
        `${segmentName(n)} byte ${off}: the index points to a record of oid ${record.oid} for oid ${oid}. Run db.verify().`,
      );
    }
    return record;
  }
  /**
   * The revision now current for `oid` is about to be superseded: count it as garbage. Returns its
   * position (0: none), for the index update that follows.
   */
  private supersede(oid: number): number {
    const pos = this.index.get(oid);
    if (pos <= PREV_PACKED) return pos;
    const head = this.segments.get(segmentOf(pos))?.read(offsetOf(pos), 4);
    if (head !== undefined && head.byteLength === 4) this.garbageBytes += recordLength(head);
    return pos;
  }

  private remember(tid: Tid, oids: number[], txnId: string | undefined): void {
    this.recent.push(txnId === undefined ? { tid, oids } : { tid, oids, txnId });
    if (txnId !== undefined) this.txnIds.set(txnId, tid);
    if (this.recent.length > RECENT_LIMIT) {
      const dropped = this.recent.splice(0, this.recent.length - RECENT_LIMIT);
      for (const d of dropped) if (d.txnId !== undefined) this.txnIds.delete(d.txnId);
      this.recentFloor = (dropped.at(-1) as { tid: Tid }).tid;
    }
  }

  /** Writes the commits waiting for the group flush now (pack needs a quiet log). */
  flushNow(): void {
    this.flushBatch();
  }

  /** The oid reservation recorded in the log: every oid below it may have been handed out. */
  get nextOidReserved(): number {
    return this.reservedOid;
  }

  /** After pack published `segment` as the whole log: use it, close the old segment files. */
  adoptPackedSegment(segment: number, file: BlockFile, end: number): void {
    for (const old of this.segments.values()) old.close();
    this.segments.clear();
    this.segments.set(segment, file);
    this.active = segment;
    this.end = end;
    this.garbageBytes = 0;
  }

  private checkOpen(): void {
    if (this.closing !== undefined) throw new DatabaseClosedError('This storage is closed.');
  }

  private closeFiles(): void {
    for (const file of this.segments.values()) file.close();
    this.segments.clear();
    for (const file of this.slots) file.close();
    this.slots.length = 0;
    this.index.close();
  }
}
