/**
 * How IndexedDBStorage writes: every readwrite transaction runs through `runWrite`, which aborts it
 * on any failure so nothing of it is stored, and every failure of IndexedDB is mapped into the
 * error tree (`mapError`).
 */
import { ShelfError } from '../src/shared/errors.js';
import { storageFailure } from './storage-failures.js';

/**
 * Maps a failure of IndexedDB to the error tree: a full disk (`QuotaExceededError`) becomes
 * StorageFullError, any other DOMException a StorageError, the original kept as `cause`. Errors
 * of our own (ShelfError, a caller's bad input) pass unchanged.
 * @param doing what failed, as "while …" completes it.
 * @param outcome what is stored after the failure.
 */
export function mapError(error: unknown, doing: string, outcome: string): unknown {
  if (error instanceof ShelfError || !(error instanceof DOMException)) return error;
  return storageFailure(error, outcome, doing);
}

/** What `runWrite` needs of a readwrite transaction (idb's wrapper). */
interface WriteTransaction {
  abort(): void;
  readonly done: Promise<void>;
}

/**
 * Runs `work` in the readwrite transaction `tx` and resolves once `tx` has committed. `work` pushes
 * every write it issues as a promise (idb's) without awaiting into `writes`, so none rejects
 * unheard; a write issued as a raw IDBRequest without handlers needs no entry: when it fails, the
 * transaction aborts and its error is the one `tx.done` reports.
 *
 * Invariant: whatever fails — a throw of `work` (before, between or after its writes), a request,
 * the commit itself — the transaction is aborted, so nothing of it is stored, and the failure is
 * rethrown (mapped by `mapError`). `work` must await nothing but requests of `tx`: otherwise the
 * transaction could commit on its own before a later throw, and an abort would come too late.
 */
export async function runWrite<T>(
  tx: WriteTransaction,
  work: (writes: Promise<unknown>[]) => Promise<T>,
  doing: string,
  outcome: string,
): Promise<T> {
  const writes: Promise<unknown>[] = [];
  // Observed from the start: the transaction may abort (and `done` reject) while `work` still
  // awaits, or while some of its writes are still pending.
  const finished = tx.done.then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  try {
    const result = await work(writes);
    // A failed write aborts the transaction; `finished` then holds the transaction's error (the
    // quota error, not the AbortError of the requests that were cut off).
    await Promise.allSettled(writes);
    const failure = await finished;
    if (failure !== undefined) throw failure.error;
    return result;
  } catch (error) {
    try {
      tx.abort();
    } catch {
      // InvalidStateError: the failure itself already aborted the transaction.
    }
    await Promise.allSettled(writes);
    const ended = await finished; // aborted now
    // A request cut off by an abort reports AbortError; the transaction's own error says why.
    const cause =
      error instanceof DOMException && error.name === 'AbortError' && ended !== undefined
        ? ended.error
        : error;
    throw mapError(cause, doing, outcome);
  }
}
