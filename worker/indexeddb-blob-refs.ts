/**
 * IndexedDBStorage's check of the blob records a commit references without carrying them
 * (`CommitRequest.blobRefs`: each must still have a revision), in the commit's own readwrite
 * transaction. Pack deletes in chunks, each a readwrite transaction that first reads the commits
 * since (its write barrier): IndexedDB runs the two one after the other, so either the chunk
 * deleted a record before this lookup (which then finds it missing: the commit is refused) or the
 * chunk's barrier reads this commit's refs (the record stays, and the blob file the mark keeps
 * with it). A lookup in a transaction of its own would leave a chunk room in between.
 */
import type { CommitRequest, Tid } from '../src/shared/storage.js';
import { blobRefsOf, missingBlobRefs } from './blob-guard.js';
import { MAX_BATCH } from './commit-checks.js';
import { Landed, MAX_TID } from './indexeddb-commit.js';
import { requested } from './indexeddb-newest.js';

/**
 * Looks up `txn.blobRefs` in `tx` (records and txns stores) with every request issued at once;
 * nothing when it has none.
 * @throws Landed when the commit landed before (a resend: the caller answers its tid, the resend
 *   lookup coming first as in every storage); StorageError naming the referenced blob records that
 *   have no revision (nothing stored: store the Blob again); ShelfError when `blobRefs` is
 *   malformed.
 */
export async function checkBlobRefsIn(
  tx: IDBTransaction,
  keys: typeof IDBKeyRange,
  txn: CommitRequest,
): Promise<void> {
  const refs = blobRefsOf(txn, MAX_BATCH);
  if (refs.length === 0) return;
  const records = tx.objectStore('records');
  const found = Promise.all(
    refs.map((oid) => requested(records.getKey(keys.bound([oid, 0], [oid, MAX_TID])))),
  );
  const landed =
    typeof txn.txnId === 'string'
      ? requested(tx.objectStore('txns').index('txnId').getKey(txn.txnId))
      : undefined;
  const [keysFound, tid] = await Promise.all([found, landed]);
  if (tid !== undefined) throw new Landed(tid as Tid);
  const stored = new Set(refs.filter((_, i) => keysFound[i] !== undefined));
  const error = missingBlobRefs(refs, (oid) => stored.has(oid));
  if (error !== undefined) throw error;
}
