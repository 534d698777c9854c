/**
 * A Storage behind a transport that loses things on commit, for the StorageBusyError contract
 * ("not known whether it landed"). Each queued fault applies to the next commit call:
 * - 'request': lost on the way; nothing lands; the caller gets StorageBusyError.
 * - 'answer': it lands, the answer is lost (StorageBusyError); the broadcast arrives first.
 * - 'answer-broadcast-later': it lands, the answer is lost; the broadcast is held until
 *   `deliverHeld()` (it arrives after the error).
 * - 'answer-and-broadcast': it lands and both its answer and its invalidation are lost, so only
 *   a resend can tell.
 */
import { MemoryStorage, StorageBusyError, type CommitRequest, type Storage } from '../src/index.js';

export type CommitFault = 'request' | 'answer' | 'answer-broadcast-later' | 'answer-and-broadcast';

export interface FlakyStorage {
  storage: Storage;
  inner: MemoryStorage;
  /** Faults for the next commit calls, first first. */
  faults: CommitFault[];
  /** Every commit request sent, as sent (copied). */
  sent: CommitRequest[];
  /** Delivers the broadcasts held by 'answer-broadcast-later'. */
  deliverHeld(): void;
}

const busy = (): StorageBusyError =>
  new StorageBusyError('The flaky test transport lost this commit or its answer. Try again.');

export function flakyStorage(inner = new MemoryStorage()): FlakyStorage {
  const faults: CommitFault[] = [];
  const sent: CommitRequest[] = [];
  const unheard = new Set<string>();
  const late = new Set<string>();
  const held: (() => void)[] = [];
  const storage = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'commit') {
        return async (txn: CommitRequest) => {
          sent.push(structuredClone(txn));
          const fault = faults.shift();
          if (fault === 'request') throw busy();
          if (fault === 'answer-and-broadcast' && txn.txnId !== undefined) unheard.add(txn.txnId);
          if (fault === 'answer-broadcast-later' && txn.txnId !== undefined) late.add(txn.txnId);
          const tid = await target.commit(txn);
          if (fault !== undefined) throw busy();
          return tid;
        };
      }
      if (prop === 'subscribe') {
        return (listener: Parameters<Storage['subscribe']>[0]) =>
          target.subscribe((inv) => {
            if (inv.txnId !== undefined && unheard.has(inv.txnId)) return;
            if (inv.txnId !== undefined && late.has(inv.txnId)) held.push(() => listener(inv));
            else listener(inv);
          });
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  const deliverHeld = (): void => {
    for (const deliver of held.splice(0)) deliver();
  };
  return { storage, inner, faults, sent, deliverHeld };
}
