/**
 * ShelfStorage's restore-mode commit (CommitRequest.restore): written alone, at once, with the
 * tid and time it had in its source. Every commit accepted before it is written first, so the
 * log's tids still rise; the group numbers it `lastTid + 1`, which is why lastTid steps to just
 * below its tid for that (a gap: pack may have dropped transactions of the source) and back if it
 * failed. Its oids raise the next oid at once (a concurrent newOids hands out none of them); the
 * entry records a reservation above them, so a reopened log never hands them out either. Oids
 * newOids handed out during the restore refuse it (checkRestoreOids).
 */
import { ShelfError } from '../src/shared/errors.js';
import type { CommitRequest, Tid } from '../src/shared/storage.js';
import { checkRestoreOids, nextOidAfterRestore } from './commit-checks.js';
import type { GroupCommit } from './group-commit.js';
import { KIND_TRANSACTION } from './shelf-format.js';
import type { ShelfIndex } from './shelf-index.js';

/** What the restore commit reads and sets of its ShelfStorage. */
export interface RestoreTarget {
  readonly group: GroupCommit;
  readonly index: ShelfIndex;
  durableTid: Tid;
  nextOid: number;
  reservedOid: number;
  /** Where restore commits left `nextOid` (see checkRestoreOids). */
  restoredNext: number;
  flushNow(): void;
}

export async function commitRestored(
  s: RestoreTarget,
  txn: CommitRequest,
  metadataJson: string,
  checkOpen: () => void,
): Promise<Tid> {
  const restore = txn.restore as NonNullable<CommitRequest['restore']>;
  await s.group.settled();
  checkOpen();
  s.flushNow(); // what was queued since settled: written now, before this one is numbered
  if (restore.tid <= s.durableTid) {
    throw new ShelfError(
      `commit: restore.tid ${restore.tid} is not above the newest tid ${s.durableTid} (a commit landed meanwhile); nothing was stored.`,
    );
  }
  checkRestoreOids(s.nextOid, s.restoredNext);
  s.nextOid = nextOidAfterRestore(txn, s.nextOid);
  const reserved = Math.max(s.reservedOid, s.nextOid);
  const before = s.durableTid;
  s.durableTid = restore.tid - 1;
  const promise = s.group.add(
    {
      kind: KIND_TRANSACTION,
      time: restore.time,
      nextOid: reserved,
      metadataJson,
      records: txn.records.map((r) => ({
        oid: r.oid,
        className: r.className,
        state: r.state,
        refs: r.refs,
        prev: s.index.get(r.oid),
      })),
    },
    txn.records.map((r) => r.oid),
    txn.txnId,
  );
  try {
    s.group.flush(); // synchronous: numbered, written and landed (or failed) here
  } finally {
    if (s.durableTid !== restore.tid) {
      s.durableTid = before; // it did not land
    } else {
      s.reservedOid = reserved;
      s.restoredNext = s.nextOid;
    }
  }
  return promise;
}
