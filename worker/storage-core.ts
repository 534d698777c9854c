/**
 * StorageCore: what every storage of this package does the same way, as the base class of
 * ShelfStorage, IndexedDBStorage and MemoryStorage. It holds the listeners (`subscribe`, and
 * `announce`/`report` for the subclass), the open state (`checkOpen`: DatabaseClosedError after
 * close), pack's checks and join (a second `pack()` while one runs resolves with the running pack's
 * result; the floor taken when it is asked for), and `verify` of the object graph (dangling
 * references, through `load`), never interleaved with a pack.
 *
 * A subclass implements the rest of the contract, `packNow` (one pack, run alone) and `close`
 * (calling `markClosed` first, which says whether this is the first close; it forgets its
 * listeners once nothing it accepted is left to announce).
 */
import { DatabaseClosedError, ReadConflictError } from '../src/shared/errors.js';
import { BLOB_GRACE_MS } from '../src/shared/blob-record.js';
import type {
  BlobInfo,
  CommitRequest,
  Invalidation,
  LoadedRecord,
  PackOptions,
  PackResult,
  Tid,
  VerifyReport,
} from '../src/shared/storage.js';
import { MAX_BATCH, checkLoad, checkTid, packedMessage } from './commit-checks.js';
import { SharedPack } from '../src/shared/shared-pack.js';
import { OpenState } from './open-state.js';
import { PackRun } from './pack-run.js';
import { verifyObjectGraph } from './reachability.js';
import { StorageListeners } from './storage-listeners.js';
import type { BlobStore } from './blob-store.js';
import {
  blobRecordsOf,
  blobRefsOf,
  checkBlobArgument,
  checkBlobHash,
  checkBlobRange,
  checkBlobsStored,
  missingBlobRefs,
  notingBlobRecords,
  verifyBlobs,
  type BlobRecordFound,
} from './blob-guard.js';

/** What `find` answers for an oid whose revision a snapshot needs but pack removed. */
export const PACKED = Symbol('packed');

export abstract class StorageCore {
  protected readonly listeners = new StorageListeners();
  private readonly state = new OpenState();
  /** The pack callers join (see `pack`). */
  private readonly packs = new SharedPack(
    (options) => this.startPack(options),
    (error) => this.listeners.report(error),
  );
  /** The maintenance task running (see `exclusive`), which the next one waits for. */
  private maintenance: Promise<unknown> = Promise.resolve();

  abstract load(oids: number[], atTid?: Tid): Promise<LoadedRecord[]>;

  /** Where the storage keeps its blob files. */
  protected abstract readonly blobs: BlobStore;
  /**
   * How long after it was stored an unreferenced blob file is safe from pack (the storage's
   * `blobGraceMs` option; default BLOB_GRACE_MS, tests 0): its commit may still be on its way.
   */
  protected blobGraceMs = BLOB_GRACE_MS;
  /** The sweep of blob files running after a pack, which commits carrying blob records wait for. */
  private sweeping: Promise<unknown> | undefined;
  /**
   * The hashes of the blob checks running (how many name each): a pack that begins meanwhile
   * keeps them, as the commit may land after its mark.
   */
  private readonly blobsChecked = new Map<string, number>();

  /** How long a pack works before it yields (ShelfOptions.packSliceMs; tests use 0). */
  protected packSliceMs: number | undefined;
  /** The running pack's run (its signal, progress listeners, slices), while one runs. */
  private packRun: PackRun | undefined;

  /**
   * Runs one pack, keeping what a snapshot at `keepTid` reads (undefined: the newest tid). Never
   * called while another pack or maintenance task runs (`exclusive`). It works in `run`'s slices,
   * reports through `run.progress` and stops at `run.pause()` once aborted.
   */
  protected abstract packNow(keepTid: Tid | undefined, run: PackRun): Promise<PackResult>;

  /**
   * The snapshot a pack asked for now keeps, whenever it runs: `keepTid`, else the newest tid now
   * (a snapshot taken meanwhile, as a tab that pinned after the owner read the pins, is at least
   * this one). Undefined: the storage reads its newest tid in the pack's own transaction.
   */
  protected packFloor(keepTid: Tid | undefined): Tid | undefined | Promise<Tid> {
    return keepTid;
  }

  /**
   * Checks the call, then joins the pack that runs, or starts one (SharedPack: each caller has its
   * own signal and progress; the pack stops once every caller waiting for it aborted).
   */
  async pack(options: PackOptions = {}): Promise<PackResult> {
    this.checkOpen();
    if (options.keepTid !== undefined) checkTid('pack', options.keepTid);
    return this.packs.join(options);
  }

  /**
   * Starts a pack. It reads its floor now, when asked for (a read started now is ordered before
   * later commits), not when the maintenance queue reaches it; the floor's outcome waits as a
   * thunk, so a failure is not a rejection left unheard in the queue: the pack raises it.
   */
  private startPack(options: PackOptions): Promise<PackResult> {
    const floor = Promise.resolve(this.packFloor(options.keepTid)).then(
      (tid) => () => tid,
      (error: unknown) => (): never => {
        throw error;
      },
    );
    const run = new PackRun({
      signal: options.signal,
      onProgress: options.onProgress,
      onListenerError: (error) => this.listeners.report(error),
      sliceMs: this.packSliceMs,
      removed: (tid, oids) => this.listeners.announceRemoved(tid, oids),
    });
    this.packRun = run;
    for (const hash of this.blobsChecked.keys()) run.keepBlob(hash);
    return this.exclusive(async () => {
      try {
        run.check();
        // A blob stored from here on is not swept by this pack, referenced or not.
        const started = Date.now();
        const result = await this.packNow((await floor)(), run);
        await this.sweepBlobs(run.blobs, started - this.blobGraceMs);
        run.progress('done', 1, 1, true);
        return result;
      } finally {
        if (this.packRun === run) this.packRun = undefined;
      }
    });
  }

  /**
   * After the pack published: removes the blob files not in `keep` stored before `before`. A
   * failure is reported (subscribeErrors), not thrown: the pack's result stands, and the files
   * left are removed by the next pack.
   */
  private async sweepBlobs(keep: ReadonlySet<string>, before: number): Promise<void> {
    const sweep = this.blobs.sweep(keep, before);
    this.sweeping = sweep;
    try {
      await sweep;
    } catch (error) {
      this.listeners.report(error);
    } finally {
      this.sweeping = undefined;
    }
  }

  /**
   * The check of the blob records `txn` carries (call it after validateCommit): each must decode
   * (ShelfError naming the oid, thrown at once) and name a blob file stored with its size
   * (StorageError naming the hash). Undefined when it carries none, so such a commit goes on in
   * the same turn; else a promise the commit awaits before it checks conflicts and writes.
   *
   * The check waits for a running sweep (which may be removing a file it would find). A pack
   * that runs at any time during the check keeps its hashes, as the commit may land after the
   * pack's mark: so a file the check found is never swept before the commit lands. The caller
   * accepts the commit (queues it, or begins its transaction) in the turn the promise resolves
   * in, so no pack starts unseen in between.
   *
   * A resend (`txn.txnId`) of a commit that landed before its blob file went (a pack since) is not
   * refused: the promise then resolves to the tid `landed` gives it, which the caller answers.
   * Its `blobRefs` are checked for form here (ShelfError naming the bad value, thrown at once);
   * whether they are stored, by `checkBlobRefs`.
   */
  protected checkBlobRecords(
    txn: CommitRequest,
    landed: (txnId: string) => Tid | undefined | Promise<Tid | undefined>,
  ): Promise<Tid | undefined> | undefined {
    blobRefsOf(txn, MAX_BATCH);
    const found = blobRecordsOf(txn.records);
    if (found.length === 0) return undefined;
    return this.blobsStored(found).then(
      () => undefined,
      async (error: unknown) => {
        const tid = txn.txnId === undefined ? undefined : await landed(txn.txnId);
        if (tid === undefined) throw error;
        return tid;
      },
    );
  }

  /**
   * The check of the blob records `txn` references without carrying them (`blobRefs`): each must
   * have a current revision (`hasRevision`). Call it after the resend lookup (a commit that landed
   * is answered with its tid) and in the turn the commit is accepted, with nothing awaited in
   * between: a pack that removes one then either published its removal before (refused here) or
   * runs after the commit landed, whose refs are its write barrier (the record stays, and so does
   * its blob file, which the mark keeps with it).
   * @throws StorageError naming the oids with no revision: nothing is stored; store the Blob again.
   */
  protected checkBlobRefs(txn: CommitRequest, hasRevision: (oid: number) => boolean): void {
    const error = missingBlobRefs(blobRefsOf(txn, MAX_BATCH), hasRevision);
    if (error !== undefined) throw error;
  }

  private async blobsStored(found: BlobRecordFound[]): Promise<void> {
    while (this.sweeping !== undefined) await this.sweeping.catch(() => undefined); // sweepBlobs reports it
    const hashes = found.map(({ blob }) => blob.hash);
    for (const hash of hashes) {
      this.blobsChecked.set(hash, (this.blobsChecked.get(hash) ?? 0) + 1);
      this.packRun?.keepBlob(hash);
    }
    try {
      await checkBlobsStored(found, this.blobs);
    } finally {
      for (const hash of hashes) {
        const n = this.blobsChecked.get(hash) ?? 1;
        if (n > 1) this.blobsChecked.set(hash, n - 1);
        else this.blobsChecked.delete(hash);
        this.packRun?.keepBlob(hash); // a pack that began during the check keeps it too
      }
    }
    this.checkOpen();
  }

  async putBlob(blob: Blob): Promise<BlobInfo> {
    this.checkOpen();
    checkBlobArgument(blob);
    return this.blobs.put(blob);
  }

  async readBlob(hash: string, start: number, end: number): Promise<Uint8Array> {
    this.checkOpen();
    checkBlobHash('readBlob', hash);
    checkBlobRange(start, end);
    return this.blobs.read(hash, start, end);
  }

  async blobFile(hash: string): Promise<Blob> {
    this.checkOpen();
    checkBlobHash('blobFile', hash);
    return this.blobs.file(hash);
  }

  /** How many blob files, and their bytes (the blob part of `stats`). */
  protected blobStats(): Promise<{ blobs: number; blobBytes: number }> {
    return this.blobs.stats();
  }

  /**
   * References to objects that have no revision among the objects reachable from the root, and
   * blob records whose file is missing or damaged.
   */
  async verify(): Promise<VerifyReport> {
    this.checkOpen();
    return this.exclusive(() =>
      this.verifyWithBlobs((load) => verifyObjectGraph({ load: (oids) => load(oids) })),
    );
  }

  /**
   * Runs `walk` (a verify that walks the graph through the `load` it is given), then adds a
   * 'blob' problem for each live blob record it loaded whose file is missing or damaged.
   */
  protected async verifyWithBlobs(
    walk: (load: (oids: number[]) => Promise<LoadedRecord[]>) => Promise<VerifyReport>,
  ): Promise<VerifyReport> {
    const seen = new Map<number, Uint8Array>();
    const { problems } = await walk(notingBlobRecords((oids) => this.load(oids), seen));
    await verifyBlobs(this.blobs, seen, problems);
    return { ok: problems.length === 0, problems };
  }

  /**
   * Runs `task` after every maintenance task queued before it has settled: pack, verify's walk (a
   * pack between its load batches would make what it removed look dangling), and a subclass's own
   * (ShelfStorage's checkpoints and close).
   */
  protected exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.maintenance.then(task);
    this.maintenance = run.catch(() => undefined); // each caller hears its own task's failure
    return run;
  }

  subscribe(listener: (invalidation: Invalidation) => void): () => void {
    return this.listeners.subscribe(listener);
  }

  /**
   * Failures nobody awaits: a listener that threw, and (ShelfStorage) a background checkpoint or
   * relaxed flush that failed after its commit was acknowledged.
   */
  subscribeErrors(listener: (error: unknown) => void): () => void {
    return this.listeners.subscribeErrors(listener);
  }

  /**
   * The body of a synchronous `load`: checks the call, then asks `find` for each oid's newest
   * revision at the snapshot (undefined: never stored, or created after it; PACKED: removed by
   * pack). Answers in the order asked.
   * @param newestTid the snapshot when the caller names none.
   * @throws ReadConflictError for the first oid whose revision pack removed.
   */
  protected loadEach(
    oids: number[],
    atTid: Tid | undefined,
    newestTid: Tid,
    find: (oid: number, at: Tid) => LoadedRecord | undefined | typeof PACKED,
  ): LoadedRecord[] {
    this.checkOpen();
    checkLoad(oids, atTid);
    const at = atTid ?? newestTid;
    const out: LoadedRecord[] = [];
    for (const oid of oids) {
      const found = find(oid, at);
      if (found === PACKED) throw new ReadConflictError([oid], packedMessage([oid], at));
      if (found !== undefined) out.push(found);
    }
    return out;
  }

  /** @throws DatabaseClosedError once `close` was called. */
  protected checkOpen(): void {
    this.state.check();
  }

  /**
   * Marks the storage closed: every later call fails in `checkOpen`, and a running pack stops at
   * its next pause (it is what close would wait for). True the first time.
   */
  protected markClosed(): boolean {
    const first = this.state.close();
    if (first) this.packRun?.stop(closedWhilePacking());
    return first;
  }
}

const closedWhilePacking = (): DatabaseClosedError =>
  new DatabaseClosedError(
    'The database was closed while it packed: the pack stopped; what it had compacted stays compacted, and the database is valid. Pack again after reopening.',
  );
