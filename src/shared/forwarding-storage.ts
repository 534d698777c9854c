/**
 * ForwardingStorage: the Storage methods as calls to somewhere else (the page's storage worker, or
 * the tab that owns the files). Subclasses implement `call` — the transport, which encodes and
 * decodes each call as storage-calls.ts declares it.
 */
import type {
  CommitRequest,
  Invalidation,
  LoadedRecord,
  PackOptions,
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
import type { AnnouncedCommit, StorageMethod } from './storage-calls.js';

export abstract class ForwardingStorage implements Storage {
  /** The pack call in flight, which a second pack joins. */
  private packing: Promise<PackResult> | undefined;
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
   * pack's result), here already, so it is not sent at all.
   */
  pack(options: PackOptions = {}): Promise<PackResult> {
    // Only what crosses: the signal and the progress listener stay on this side.
    const sent = options.keepTid === undefined ? {} : { keepTid: options.keepTid };
    this.packing ??= (this.call('pack', [sent]) as Promise<PackResult>).finally(() => {
      this.packing = undefined;
    });
    return this.packing;
  }

  stats(): Promise<StorageStats> {
    return this.call('stats', []) as Promise<StorageStats>;
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
