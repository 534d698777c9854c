/**
 * What a storage remembers of its recent transactions: the oids each wrote (so `sync` can tell
 * a tab what changed since its snapshot without reading the log) and the client-made txnId of each
 * (so a commit resent after its answer was lost is answered with its tid, not written twice).
 *
 * Memory is bounded (`limit` transactions, a tenth more between trims); `floor` is the newest tid
 * forgotten: a `sync` from before it must reset. ShelfStorage remembers the last 100,000: a resend
 * whose txnId has been forgotten (or was never seen by this process, after a reopen) it recognises
 * from the log itself. MemoryStorage remembers every transaction (`limit` Infinity). IndexedDBStorage
 * keeps both in its stores instead, since they must outlive the page.
 */
import type { SyncResult, Tid } from '../src/shared/storage.js';

interface Remembered {
  tid: Tid;
  oids: number[];
  txnId?: string;
}

export class RecentTransactions {
  /** Oldest first. */
  private readonly list: Remembered[] = [];
  /** Client txnIds of the transactions in `list` → their tids. */
  private readonly txnIds = new Map<string, Tid>();
  /** The newest tid not remembered: `sync` from before it cannot list what changed. */
  floor = 0;

  constructor(private readonly limit: number) {}

  remember(tid: Tid, oids: number[], txnId: string | undefined): void {
    this.list.push(txnId === undefined ? { tid, oids } : { tid, oids, txnId });
    if (txnId !== undefined) this.txnIds.set(txnId, tid);
    // Forget in slices of a tenth: dropping one at a time would move the whole list per commit.
    if (this.list.length > this.limit + Math.ceil(this.limit / 10)) {
      const dropped = this.list.splice(0, this.list.length - this.limit);
      for (const d of dropped) if (d.txnId !== undefined) this.txnIds.delete(d.txnId);
      this.floor = (dropped.at(-1) as Remembered).tid;
    }
  }

  /** The tid of the transaction committed with `txnId`, if remembered. */
  tidOf(txnId: string): Tid | undefined {
    return this.txnIds.get(txnId);
  }

  /** What `sync(sinceTid)` answers when the newest tid is `lastTid`. */
  since(sinceTid: Tid, lastTid: Tid): SyncResult {
    if (sinceTid >= lastTid) return { tid: lastTid, oids: [] };
    if (sinceTid < this.floor) return { tid: lastTid, oids: [], reset: true };
    const oids = new Set<number>();
    for (let i = this.list.length - 1; i >= 0; i--) {
      const txn = this.list[i] as Remembered;
      if (txn.tid <= sinceTid) break;
      for (const oid of txn.oids) oids.add(oid);
    }
    return { tid: lastTid, oids: [...oids] };
  }
}
