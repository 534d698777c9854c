/**
 * GroupCommit: the commits ShelfStorage has accepted and not yet written, and how they reach the
 * log. Commits that arrive before the scheduled flush runs share one write and one flush; each
 * gets its final tid only then, consecutive after the newest durable one, so a commit that fails
 * leaves no gap. Only after the write (and, with strict durability, the flush) does the host index,
 * settle and announce a commit (`landed`), so nobody ever sees a commit a crash could take back.
 *
 * Failures: a commit that cannot be encoded fails alone (validateCommit should have refused it);
 * a batch whose write fails and is undone is written again one commit at a time, so one commit too
 * large for the disk's room does not fail its batch-mates; a write whose undo fails too leaves
 * each of its commits uncertain (StorageBusyError: "not known whether it landed") and the log
 * broken, after which every commit is refused until the database is reopened.
 */
import { yieldToTasks } from './pack-run.js';
import { StorageBusyError } from '../src/shared/errors.js';
import type { Tid } from '../src/shared/storage.js';
import { encodeEntry, position, type EncodedEntry, type EntryInput } from './shelf-format.js';
import { UncertainWrite, type ShelfLog } from './shelf-log.js';
import { storageFailure } from './storage-failures.js';

/** A commit waiting for the group flush. */
export interface Pending {
  input: EntryInput;
  oids: number[];
  /** The client's id for the transaction, if it gave one. */
  txnId: string | undefined;
  resolve: (tid: Tid) => void;
  reject: (error: unknown) => void;
}

/** What the group commit needs of its storage. */
export interface GroupCommitHost {
  readonly log: ShelfLog;
  /** The newest durable tid. */
  readonly lastTid: Tid;
  /** A commit's entry is in the log at `pos`: index it, settle it, announce it. */
  landed(p: Pending, pos: number, entry: EncodedEntry): void;
  /** After each batch written (relaxed flush, automatic checkpoint). */
  afterWrite(): void;
  /** Where a failure nobody awaits is reported (a relaxed flush after acknowledgement). */
  report(error: unknown): void;
  /** True while a pack runs (or waits to start). */
  readonly packing: boolean;
}

/** A commit this soon after the last flush ended joins a group commit (see `add`). */
const BURST_MS = 0.05;
/** What a commit that failed and was undone left. */
const NOT_STORED = 'This commit was not stored; committed data is intact.';
/** Relaxed durability flushes this long after a write. */
const RELAXED_FLUSH_MS = 5;

/** Runs a task after those already queued: a macrotask. */
function defaultSchedule(task: () => void): void {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => void }).setImmediate;
  if (immediate) immediate(task);
  else setTimeout(task, 0);
}

/**
 * The client a transaction id came from: shelfdb's connections number their transactions
 * `<prefix>.<counter>` with one random prefix each (src/pending-commit.ts TxnIds); any other id
 * stands for itself.
 */
function originOf(txnId: string | undefined): string | undefined {
  if (txnId === undefined) return undefined;
  const dot = txnId.lastIndexOf('.');
  return dot > 0 ? txnId.slice(0, dot) : txnId;
}

const now = (): number => (typeof performance === 'undefined' ? Date.now() : performance.now());

export class GroupCommit {
  /** The newest tid handed to a commit not yet written (provisional: see `number`). */
  assignedTid = 0;
  /** Newest provisional tid per oid among commits not yet written (for conflict checks). */
  private readonly pendingTids = new Map<number, Tid>();
  /** Client txnIds of commits whose outcome a failed undo left unknown. */
  private readonly uncertain = new Set<string>();
  private batch: Pending[] = [];
  private flushScheduled = false;
  /** When the last group flush finished (performance.now()). */
  private lastFlushEnd = -Infinity;
  /** The clients (see originOf) whose commits the last flush wrote. */
  private lastOrigins = new Set<string>();
  /** With relaxed durability: the flush that follows a write. */
  private relaxedTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly host: GroupCommitHost,
    private readonly durability: 'strict' | 'relaxed',
    /** Runs a task after those already queued (the default: a macrotask). */
    private readonly schedule: (task: () => void) => void = defaultSchedule,
  ) {}

  /** No more relaxed flushes (closing: the caller flushes). */
  stop(): void {
    if (this.relaxedTimer !== undefined) clearTimeout(this.relaxedTimer);
    this.relaxedTimer = undefined;
  }

  /** The provisional tid of the newest commit of `oid` not yet written, if any. */
  pendingTid(oid: number): Tid | undefined {
    return this.pendingTids.get(oid);
  }

  /** True when a failed undo left the commit sent with `txnId` neither known stored nor not. */
  isUncertain(txnId: string): boolean {
    return this.uncertain.has(txnId);
  }

  /** The error for a commit sent again while it is still uncertain and the log still broken. */
  stillUncertainError(): StorageBusyError {
    return new StorageBusyError(
      'It is still not known whether this commit was stored: the database stopped writing after a disk failure. Reopen it (reload the page) and commit again.',
      { cause: this.host.log.broken },
    );
  }

  /** Queues a commit (its `input.tid` provisional) and resolves when it is written. */
  add(input: Omit<EntryInput, 'tid'>, oids: number[], txnId: string | undefined): Promise<Tid> {
    const tid = ++this.assignedTid;
    for (const oid of oids) this.pendingTids.set(oid, tid);
    return new Promise<Tid>((resolve, reject) => {
      this.batch.push({ input: { ...input, tid }, oids, txnId, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Adaptive group commit. A commit from a client that was in the last flush is that
        // client's next one (it waited for its answer): flushed at once. One from another client
        // (another tab, another connection) was most likely queued during that flush with others
        // behind it: wait one task so they join this flush (the task hop costs ~100 µs in a
        // worker). Without a client id, arriving right after a flush says the same.
        const origin = originOf(txnId);
        const queued =
          origin === undefined
            ? now() - this.lastFlushEnd < BURST_MS
            : !this.lastOrigins.has(origin);
        // While a pack runs, never at once but in the next task (unclamped: see yieldToTasks): a
        // client committing back to back in this thread (Node's 'file' storage) would keep the
        // pack, which waits for a task between its slices, from ever going on.
        if (queued) this.schedule(() => this.flush());
        else if (this.host.packing) void yieldToTasks().then(() => this.flush());
        else queueMicrotask(() => this.flush());
      }
    });
  }

  /** Resolves once every commit accepted so far has been written (or has failed). */
  async settled(): Promise<void> {
    while (this.batch.length > 0 || this.flushScheduled) {
      await new Promise<void>((resolve) => this.schedule(resolve));
    }
  }

  /** Writes the batch in one write and one flush, then makes it visible. */
  flush(): void {
    this.flushScheduled = false;
    let batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    const { log } = this.host;
    if (log.broken !== undefined) {
      this.failed(batch, this.host.log.brokenError());
      return;
    }
    this.lastOrigins = new Set();
    for (const p of batch) {
      const origin = originOf(p.txnId);
      if (origin !== undefined) this.lastOrigins.add(origin);
    }
    const start = log.end;
    let encoded: EncodedEntry[];
    for (;;) {
      this.number(batch);
      encoded = [];
      let at = start;
      let bad: Pending | undefined;
      for (const p of batch) {
        try {
          encoded.push(encodeEntry(p.input, position(log.active, at)));
        } catch (error) {
          // validateCommit refuses what cannot be encoded; should one slip through, it fails
          // alone and the rest of the batch is numbered and encoded again without it.
          bad = p;
          this.failed([p], error);
          break;
        }
        at += (encoded.at(-1) as EncodedEntry).bytes.byteLength;
      }
      if (bad === undefined) break;
      batch = batch.filter((p) => p !== bad);
      if (batch.length === 0) return;
    }
    const offsets: number[] = [];
    let size = 0;
    for (const e of encoded) {
      offsets.push(size);
      size += e.bytes.byteLength;
    }
    // One entry (a lone commit, or one large one) is written as encoded, without a copy.
    let buffer = (encoded[0] as EncodedEntry).bytes;
    if (encoded.length > 1) {
      buffer = new Uint8Array(size);
      encoded.forEach((e, i) => buffer.set(e.bytes, offsets[i]));
    }
    try {
      log.append(buffer, this.durability === 'strict');
    } catch (error) {
      if (error instanceof UncertainWrite) this.failed(batch, this.uncertainError(batch, error));
      else this.retryOneByOne(batch, error);
      return;
    }
    batch.forEach((p, i) => {
      const e = encoded[i] as EncodedEntry;
      this.settle(p, position(log.active, start + (offsets[i] as number)), e);
    });
    this.afterWrite();
  }

  /**
   * Gives the batch its final tids, consecutive after the newest durable one. (The tids handed
   * out by `add` only mark pending oids for conflict checks; a failed commit may leave a gap.)
   */
  private number(batch: Pending[]): void {
    let tid = this.host.lastTid;
    for (const p of batch) {
      const provisional = p.input.tid;
      p.input.tid = ++tid;
      for (const oid of p.oids)
        if (this.pendingTids.get(oid) === provisional) this.pendingTids.set(oid, tid);
    }
    if (this.assignedTid < tid) this.assignedTid = tid;
  }

  /**
   * A batch write failed and was undone (a full disk, most likely): the log is as it was. Write
   * the commits one at a time, renumbered so tids stay consecutive; those that fail are rejected.
   */
  private retryOneByOne(batch: Pending[], firstError: unknown): void {
    if (batch.length === 1) {
      this.failed(batch, storageFailure(firstError, NOT_STORED));
      return;
    }
    const { log } = this.host;
    for (const [i, p] of batch.entries()) {
      if (log.broken !== undefined) {
        this.failed(batch.slice(i), this.host.log.brokenError());
        break;
      }
      this.number([p]);
      const start = log.end;
      const e = encodeEntry(p.input, position(log.active, start));
      try {
        log.append(e.bytes, this.durability === 'strict');
      } catch (error) {
        this.failed(
          [p],
          error instanceof UncertainWrite
            ? this.uncertainError([p], error)
            : storageFailure(error, NOT_STORED),
        );
        continue;
      }
      this.settle(p, position(log.active, start), e);
    }
    this.afterWrite();
  }

  private settle(p: Pending, pos: number, entry: EncodedEntry): void {
    for (const oid of p.oids)
      if (this.pendingTids.get(oid) === p.input.tid) this.pendingTids.delete(oid);
    this.host.landed(p, pos, entry);
  }

  private afterWrite(): void {
    this.lastFlushEnd = now();
    if (this.durability === 'relaxed' && this.relaxedTimer === undefined) {
      this.relaxedTimer = setTimeout(() => this.relaxedFlush(), RELAXED_FLUSH_MS);
    }
    this.host.afterWrite();
  }

  /** Makes the relaxed writes durable; a failure is reported (their commits were acknowledged). */
  private relaxedFlush(): void {
    this.relaxedTimer = undefined;
    const { log } = this.host;
    if (log.segments.size === 0 || log.broken !== undefined) return;
    try {
      log.activeFile.flush();
    } catch (error) {
      this.host.report(
        storageFailure(
          error,
          'Commits acknowledged in the last moments (relaxed durability) may not survive a crash until a later flush succeeds.',
          'flushing the log',
        ),
      );
    }
  }

  private failed(batch: Pending[], error: unknown): void {
    for (const p of batch) {
      for (const oid of p.oids)
        if (this.pendingTids.get(oid) === p.input.tid) this.pendingTids.delete(oid);
      p.reject(error);
    }
  }

  /** The commits of `batch` may or may not be in the log: say so, and remember their txnIds. */
  private uncertainError(batch: Pending[], error: UncertainWrite): StorageBusyError {
    for (const p of batch) if (p.txnId !== undefined) this.uncertain.add(p.txnId);
    return new StorageBusyError(
      `The disk failed while this commit was written, and undoing the partial write failed too (${error.message}): it is not known whether the commit was stored. The database stopped writing to keep its log consistent. Close and reopen it (reload the page), then commit again: a commit resent after reopening lands exactly once.`,
      { cause: error.cause },
    );
  }
}
