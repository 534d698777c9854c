/**
 * ForwardingStorage: the Storage methods as calls to somewhere else (the page's storage worker, or
 * the tab that owns the files). Subclasses implement `call` — the transport, which encodes and
 * decodes each call as storage-calls.ts declares it — and `abortPack`.
 *
 * Pack is the one call whose options do not cross as they are: its abort signal and progress
 * listener stay on this side. Every caller here joins one pack (SharedPack), sent as one call that
 * carries a pack call id; the other side sends the pack's progress back by that id
 * (`tellProgress`), and an abort goes after it as a message of its own (`abortPack`).
 */
import type {
  BlobInfo,
  CommitRequest,
  Invalidation,
  LoadedRecord,
  PackOptions,
  PackProgress,
  PackResult,
  RevisionInfo,
  Storage,
  StorageStats,
  SyncResult,
  Tid,
  TransactionInfo,
  VerifyReport,
} from './storage.js';
import type { StorageBusyError } from './errors.js';
import { Listeners } from './listeners.js';
import { SharedPack } from './shared-pack.js';
import { isPackProgressBatch, type AnnouncedCommit, type StorageMethod } from './storage-calls.js';

/** A short random string: with a count after it, ids unique to one end of a link. */
const randomPrefix = (): string => Math.random().toString(36).slice(2, 10);

/**
 * `blob` as structured cloning carries it whole: itself when it is a platform Blob or File, else
 * (a subclass, or a Blob of another realm) a platform Blob of what its `stream()` reads. Not a Blob
 * at all: as it is, for the receiver to refuse.
 */
async function nativeBlob(blob: unknown): Promise<unknown> {
  if (!(blob instanceof Blob)) return blob;
  const proto: unknown = Object.getPrototypeOf(blob);
  if (proto === Blob.prototype || (typeof File === 'function' && proto === File.prototype)) {
    return blob;
  }
  return new Response(blob.stream()).blob();
}

export abstract class ForwardingStorage implements Storage {
  /** The pack every caller on this side joins, sent over the link as one call (`sendPack`). */
  private readonly packs = new SharedPack(
    (options) => this.sendPack(options),
    (error) => this.report(error),
  );
  /** This side's pack calls in flight, by pack call id: their progress listener, their abort. */
  private readonly packCalls = new Map<
    string,
    { onProgress: ((progress: PackProgress) => void) | undefined; aborted: boolean }
  >();
  /** Pack call ids are this prefix and a count: unique to this end of the link. */
  private readonly packIdPrefix = randomPrefix();
  private packCount = 0;
  /** Listeners of invalidations. */
  protected readonly listeners = new Listeners<Invalidation>();
  /** Listeners of failures nobody awaited (background work, stray messages): see subscribeErrors. */
  protected readonly errorListeners = new Listeners<unknown>();
  /** Listeners of calls that failed because the tab holding the database did not answer. */
  protected readonly busyListeners = new Listeners<StorageBusyError>();

  /** Sends one storage call and resolves to its answer. */
  protected abstract call(method: StorageMethod, args: unknown[]): Promise<unknown>;

  abstract close(): Promise<void>;

  load(oids: number[], atTid?: Tid): Promise<LoadedRecord[]> {
    return this.call('load', [oids, atTid]) as Promise<LoadedRecord[]>;
  }

  newOids(count: number): Promise<number[]> {
    return this.call('newOids', [count]) as Promise<number[]>;
  }

  async commit(txn: CommitRequest): Promise<Tid> {
    const answer = (await this.call('commit', [txn])) as Tid | AnnouncedCommit;
    if (typeof answer === 'number') return answer;
    // The answer carries the commit's own announcement (one message, not two): announce it here,
    // each listener apart, as a storage does: a throwing listener fails neither this commit, which
    // landed, nor the other listeners; its error goes to the error listeners. They all run before
    // the caller goes on.
    this.listeners.tellApart(answer.invalidation, this.errorListeners);
    return answer.tid;
  }

  sync(sinceTid: Tid): Promise<SyncResult> {
    return this.call('sync', [sinceTid]) as Promise<SyncResult>;
  }

  /**
   * A second pack while one is in flight joins it (the contract: it resolves with the running
   * pack's result), here already, so it is not sent at all. Aborting a caller's signal rejects it
   * at once; the pack is asked to stop when no caller here waits for it (SharedPack).
   */
  pack(options: PackOptions = {}): Promise<PackResult> {
    return this.packs.join(options);
  }

  /**
   * Sends the one pack call every caller here joined. The signal and the progress listener stay on
   * this side: the call carries a pack call id, by which the other side sends the progress back
   * (`tellProgress`) and this side asks it to stop when the signal aborts (`abortPack`).
   */
  protected async sendPack(options: PackOptions): Promise<PackResult> {
    const { signal } = options;
    // Abandoned while it waited for an earlier pack to stop: not sent at all.
    signal?.throwIfAborted();
    const packId = `${this.packIdPrefix}:${++this.packCount}`;
    const packCall = { onProgress: options.onProgress, aborted: false };
    this.packCalls.set(packId, packCall);
    const abort = (): void => {
      packCall.aborted = true;
      this.abortPack(packId);
    };
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const sent =
        options.keepTid === undefined ? { packId } : { keepTid: options.keepTid, packId };
      return (await this.call('pack', [sent])) as PackResult;
    } finally {
      signal?.removeEventListener('abort', abort);
      this.packCalls.delete(packId);
    }
  }

  /**
   * Asks the other side to stop the pack call `packId`: its caller no longer waits for it. The
   * transport's own message, answered by nothing: the pack call itself still settles (with the
   * pack's AbortError, or its result when it finished first).
   */
  protected abstract abortPack(packId: string): void;

  /** The ids of this side's pack calls in flight that were aborted (to ask a new owner again). */
  protected abortedPacks(): string[] {
    return [...this.packCalls].filter(([, call]) => call.aborted).map(([packId]) => packId);
  }

  /**
   * Hands progress that crossed the link to the listeners of its pack call; progress for a call
   * that has ended (late, after an abort) is dropped.
   * @returns false when the message is malformed: nothing of it is used, the caller counts it.
   */
  protected tellProgress(packId: unknown, progress: unknown): boolean {
    if (!isPackProgressBatch(packId, progress)) return false;
    const listener = this.packCalls.get(packId as string)?.onProgress;
    if (listener !== undefined) for (const report of progress) listener(report);
    return true;
  }

  stats(): Promise<StorageStats> {
    return this.call('stats', []) as Promise<StorageStats>;
  }

  /**
   * One call whatever the blob's size: the Blob crosses by structured clone, a handle to the same
   * bytes (not a copy of them), and the side holding the files streams it. Content-addressed, so a
   * resend (to a new owning tab) stores nothing twice. A JS subclass of Blob is sent as the bytes
   * its own `stream()` gives, which an in-process storage would read: cloned, it would be the
   * native Blob beneath it, empty for shelfdb's StoredBlob.
   */
  async putBlob(blob: Blob): Promise<BlobInfo> {
    return (await this.call('putBlob', [await nativeBlob(blob)])) as BlobInfo;
  }

  readBlob(hash: string, start: number, end: number): Promise<Uint8Array> {
    return this.call('readBlob', [hash, start, end]) as Promise<Uint8Array>;
  }

  blobFile(hash: string): Promise<Blob> {
    return this.call('blobFile', [hash]) as Promise<Blob>;
  }

  verify(): Promise<VerifyReport> {
    return this.call('verify', []) as Promise<VerifyReport>;
  }

  transactions(options: { limit?: number; before?: Tid } = {}): Promise<TransactionInfo[]> {
    return this.call('transactions', [options]) as Promise<TransactionInfo[]>;
  }

  history(oid: number, limit?: number): Promise<RevisionInfo[]> {
    return this.call('history', [oid, limit]) as Promise<RevisionInfo[]>;
  }

  async pin(holder: string, tid: Tid | null): Promise<void> {
    await this.call('pin', [holder, tid]);
  }

  subscribe(listener: (invalidation: Invalidation) => void): () => void {
    return this.listeners.add(listener);
  }

  /**
   * Failures of work nobody awaited, from the storage behind the transport (a background
   * checkpoint or flush, in whichever tab owns the files) or from the transport itself (another
   * tab speaking another protocol version).
   */
  subscribeErrors(listener: (error: unknown) => void): () => void {
    return this.errorListeners.add(listener);
  }

  /**
   * Calls that failed with StorageBusyError because the tab holding the database did not answer
   * within busyTimeout. Returns the remover.
   */
  subscribeBusy(listener: (error: StorageBusyError) => void): () => void {
    return this.busyListeners.add(listener);
  }

  /** Tells every busy listener. */
  protected reportBusy(error: StorageBusyError): void {
    this.busyListeners.tell(error);
  }

  /** Tells every error listener. */
  protected report(error: unknown): void {
    this.errorListeners.tell(error);
  }
}
