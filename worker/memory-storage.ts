/**
 * MemoryStorage: the Storage contract held in memory, for tests, Node tools and pages that want a
 * scratch database. Nothing survives the process.
 *
 * It keeps every revision of every object (MVCC: `load(oids, atTid)` finds the revision a snapshot
 * needs) until pack, checks first-committer-wins at commit, hands out oids that are never reused,
 * and keeps each transaction's metadata for `transactions()`, `history()` and `sync()`. Client txnIds
 * are kept as long as the storage lives (pack never forgets them), so a resent commit lands once.
 */
import type {
  CommitRequest,
  LoadedRecord,
  PackResult,
  RevisionInfo,
  Storage,
  StorageStats,
  SyncResult,
  Tid,
  TransactionInfo,
} from '../src/shared/storage.js';
import { ROOT_OID } from '../src/shared/storage.js';
import {
  checkConflicts,
  checkOidCount,
  checkOid,
  checkRestoreOids,
  checkTid,
  nextOidAfterRestore,
  validateCommit,
} from './commit-checks.js';
import { MemoryBlobStore } from './memory-blob-store.js';
import { keptBlobHash } from './blob-guard.js';
import { markFromRoot } from './reachability.js';
import { RecentTransactions } from './recent-transactions.js';
import type { PackRun } from './pack-run.js';
import { PACKED, StorageCore } from './storage-core.js';
import { transactionInfo } from './transaction-info.js';
import { checkGrace } from './blob-guard.js';

/** Options of `new MemoryStorage(options)`. */
export interface MemoryStorageOptions {
  /**
   * How long after it was stored a blob file no kept record names is safe from pack, in
   * milliseconds (default BLOB_GRACE_MS, an hour; tests use 0).
   */
  blobGraceMs?: number;
}

/** The revisions of one object, oldest first. */
interface ObjectRevisions {
  revisions: LoadedRecord[];
  /** Pack removed older revisions: a snapshot before the first one cannot read this object. */
  truncated: boolean;
}

export class MemoryStorage extends StorageCore implements Storage {
  /** oid → revisions. */
  private readonly objects = new Map<number, ObjectRevisions>();
  /** Every committed transaction, oldest first (tids ascending). */
  private readonly txns: TransactionInfo[] = [];
  private lastTid: Tid = 0;
  private nextOid = ROOT_OID + 1;
  /** Where restore commits left `nextOid` (see checkRestoreOids). */
  private restoredNext = ROOT_OID + 1;
  private lastPack: number | undefined;
  /** What `sync` answers and the client txnIds of committed transactions, never forgotten. */
  private readonly recent = new RecentTransactions(Infinity);
  /** The blob files. */
  protected readonly blobs = new MemoryBlobStore();

  constructor(options: MemoryStorageOptions = {}) {
    super();
    if (options.blobGraceMs !== undefined) this.blobGraceMs = checkGrace(options.blobGraceMs);
  }

  async load(oids: number[], atTid?: Tid): Promise<LoadedRecord[]> {
    return this.loadEach(oids, atTid, this.lastTid, (oid, at) => {
      const entry = this.objects.get(oid);
      if (entry === undefined) return undefined;
      // None at `at`: created after it, or its revision then was packed away.
      return newestAtOrBefore(entry.revisions, at) ?? (entry.truncated ? PACKED : undefined);
    });
  }

  async newOids(count: number): Promise<number[]> {
    this.checkOpen();
    checkOidCount(count);
    const oids = new Array<number>(count);
    for (let i = 0; i < count; i++) oids[i] = this.nextOid++;
    return oids;
  }

  /**
   * Two phases, so a commit is stored whole or not at all: first everything that can throw
   * (validation, the resend and conflict checks, copying the records, the metadata), touching no
   * field; then the changes, which cannot throw.
   */
  async commit(txn: CommitRequest): Promise<Tid> {
    this.checkOpen();
    const json = validateCommit(txn, this.nextOid, this.lastTid);
    // Blob files are looked up first (a commit without blob records goes on in this turn).
    const blobsChecked = this.checkBlobRecords(txn, (id) => this.recent.tidOf(id));
    const resent = blobsChecked === undefined ? undefined : await blobsChecked;
    if (resent !== undefined) return resent; // landed before its blob file went
    const landed = txn.txnId === undefined ? undefined : this.recent.tidOf(txn.txnId);
    if (landed !== undefined) return landed; // a resent commit: it is stored already
    // In the turn it is written: a pack (which runs in one go) ran wholly before or after it.
    this.checkBlobRefs(txn, (oid) => this.objects.has(oid));
    checkConflicts(txn, (oid) => this.objects.get(oid)?.revisions.at(-1)?.tid);
    // A restored transaction is stored even without records (see CommitRequest.restore).
    if (txn.records.length === 0 && txn.restore === undefined) return this.lastTid;

    const prevTid = this.lastTid;
    const tid = txn.restore?.tid ?? prevTid + 1;
    if (txn.restore !== undefined) checkRestoreOids(this.nextOid, this.restoredNext);
    const nextOid =
      txn.restore === undefined ? this.nextOid : nextOidAfterRestore(txn, this.nextOid);
    const stored = txn.records.map((record): LoadedRecord => ({
      oid: record.oid,
      className: record.className,
      state: new Uint8Array(record.state), // a copy the caller cannot change
      refs: [...record.refs],
      tid,
    }));
    const info: TransactionInfo = { tid, ...transactionInfo(txn, json) };

    this.lastTid = tid;
    this.nextOid = nextOid;
    if (txn.restore !== undefined) this.restoredNext = nextOid;
    for (const record of stored) {
      const entry = this.objects.get(record.oid);
      if (entry === undefined)
        this.objects.set(record.oid, { revisions: [record], truncated: false });
      else entry.revisions.push(record);
    }
    this.txns.push(info);
    this.recent.remember(tid, info.oids, txn.txnId);
    this.listeners.announce(tid, prevTid, info.oids, txn.txnId);
    return tid;
  }

  async sync(sinceTid: Tid): Promise<SyncResult> {
    this.checkOpen();
    checkTid('sync', sinceTid);
    return this.recent.since(sinceTid, this.lastTid);
  }

  /** Runs in one go: a second pack joins it only when called in the same turn (StorageCore). */
  protected override packFloor(keepTid: Tid | undefined): Tid {
    return keepTid ?? this.lastTid;
  }

  protected async packNow(keepTid: Tid | undefined, run: PackRun): Promise<PackResult> {
    run.check(); // in one go: an abort is noticed only before it starts
    const keep = keepTid ?? this.lastTid;
    const bytesBefore = this.totalBytes();
    // Revisions still needed: for each object, the one a snapshot at `keep` reads, and all later.
    const needed = (entry: ObjectRevisions): LoadedRecord[] => {
      const revs = entry.revisions;
      let first = revs.length - 1;
      while (first > 0 && (revs[first] as LoadedRecord).tid > keep) first--;
      return revs.slice(first);
    };
    const { live } = markFromRoot((oids) => {
      const found = new Map<number, number[]>();
      for (const oid of oids) {
        const entry = this.objects.get(oid);
        if (entry === undefined) continue;
        const kept = needed(entry);
        for (const r of kept) run.keepBlob(keptBlobHash(oid, r));
        found.set(
          oid,
          kept.flatMap((r) => r.refs),
        );
      }
      return found;
    });
    const total = this.objects.size;
    const removed: number[] = [];
    let revisionsRemoved = 0;
    for (const [oid, entry] of this.objects) {
      if (!live.has(oid)) {
        this.objects.delete(oid);
        removed.push(oid);
        revisionsRemoved += entry.revisions.length;
        continue;
      }
      const kept = needed(entry);
      if (kept.length < entry.revisions.length) {
        revisionsRemoved += entry.revisions.length - kept.length;
        entry.revisions = kept;
        entry.truncated = true;
      }
    }
    // One report per phase, forced, once both are done: a listener may commit (synchronously,
    // without blob records), and a commit landing between the mark and the removals would lose
    // what it links again (an object, a blob record).
    run.progress('mark', live.size, live.size, true);
    run.progress('copy', total, total, true);
    run.removed(this.lastTid, removed);
    this.lastPack = Date.now();
    return {
      objectsRemoved: removed.length,
      revisionsRemoved,
      bytesBefore,
      bytesAfter: this.totalBytes(),
      time: this.lastPack,
    };
  }

  async stats(): Promise<StorageStats> {
    this.checkOpen();
    const bytes = this.totalBytes();
    let current = 0;
    for (const entry of this.objects.values())
      current += (entry.revisions.at(-1) as LoadedRecord).state.byteLength;
    return {
      storage: 'memory',
      objects: this.objects.size,
      bytes,
      garbageBytes: bytes - current,
      transactions: this.txns.length,
      lastPack: this.lastPack,
      ...(await this.blobStats()),
    };
  }

  async transactions(options: { limit?: number; before?: Tid } = {}): Promise<TransactionInfo[]> {
    this.checkOpen();
    const { limit = Infinity, before = Infinity } = options;
    if (before !== Infinity) checkTid('transactions', before);
    const out: TransactionInfo[] = [];
    for (let i = this.txns.length - 1; i >= 0 && out.length < limit; i--) {
      const txn = this.txns[i] as TransactionInfo;
      if (txn.tid < before)
        out.push({ ...txn, oids: [...txn.oids], meta: structuredClone(txn.meta) });
    }
    return out;
  }

  async history(oid: number, limit = Infinity): Promise<RevisionInfo[]> {
    this.checkOpen();
    checkOid('history', oid);
    const revisions = this.objects.get(oid)?.revisions ?? [];
    const out: RevisionInfo[] = [];
    for (let i = revisions.length - 1; i >= 0 && out.length < limit; i--) {
      const record = revisions[i] as LoadedRecord;
      const txn = this.txnAt(record.tid);
      out.push({ tid: record.tid, time: txn?.time ?? 0, note: txn?.note ?? '', record });
    }
    return out;
  }

  async close(): Promise<void> {
    this.markClosed();
    this.listeners.clear();
  }

  private txnAt(tid: Tid): TransactionInfo | undefined {
    let lo = 0;
    let hi = this.txns.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const t = this.txns[mid] as TransactionInfo;
      if (t.tid === tid) return t;
      if (t.tid < tid) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  private totalBytes(): number {
    let bytes = 0;
    for (const entry of this.objects.values())
      for (const r of entry.revisions) bytes += r.state.byteLength;
    return bytes;
  }
}

/** The newest revision with tid ≤ at (revisions ascending by tid), by binary search. */
function newestAtOrBefore(revisions: LoadedRecord[], at: Tid): LoadedRecord | undefined {
  let lo = 0;
  let hi = revisions.length - 1;
  let found: LoadedRecord | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = revisions[mid] as LoadedRecord;
    if (r.tid <= at) {
      found = r;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
