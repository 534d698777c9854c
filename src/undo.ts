/**
 * Transactional undo (ZODB's `undo`), done with the Storage interface only: a new transaction that
 * writes back, for every object transaction `tid` wrote, the revision it had before `tid`.
 *
 * Steps and invariants:
 * 1. The transaction must exist: `transactions({ before: tid + 1, limit: 1 })` names its oids.
 * 2. Every one of them must still be as `tid` left it: its newest revision is `tid`'s own. One
 *    that a later transaction changed again is a conflict (WriteConflictError naming them all),
 *    whether `tid` changed it or created it; one with no revision at all was removed by pack.
 * 3. Their revisions as of `tid - 1` are loaded. An oid absent there was created by `tid`: it is
 *    left alone, and becomes unreachable garbage once its referrers are restored (pack removes
 *    it). A revision pack removed makes undo impossible (ReadConflictError).
 * 4. The restored records copy those revisions (class name, state bytes, refs) byte for byte, each
 *    based on `tid` (`record.tid`): the storage's per-record first-committer-wins check refuses
 *    the commit if another transaction changed one of them after step 2. The objects `tid` created
 *    are pinned the same way (`readCurrent`), and such a conflict is reported as a write conflict.
 * The commit carries `undoes: tid` (listed by `transactions()`) and a client txnId, so a resend
 * after a tab handover lands it once. Connections see the restored objects through the ordinary
 * invalidations of that commit.
 */
import {
  ConflictError,
  ReadConflictError,
  ShelfError,
  WriteConflictError,
} from './shared/errors.js';
import type { LoadedRecord, Storage, StoredRecord, Tid } from './shared/storage.js';
import { TxnIds } from './pending-commit.js';

/** Options of `db.undo(tid, options)`: what is stored with the undoing transaction. */
export interface UndoOptions {
  /** The note stored with the undoing transaction (default: `undo of transaction <tid>`). */
  note?: string;
  /** Who undid it, as the app names them. */
  user?: string;
  /** JSON-serializable metadata stored with the undoing transaction. */
  meta?: Record<string, unknown>;
}

/**
 * Commits the transaction that undoes `tid` (see the module comment) and resolves to its tid.
 * @throws RangeError when `tid` is not a positive integer.
 * @throws ShelfError when no transaction `tid` exists, or it wrote nothing that existed before it.
 * @throws WriteConflictError (`.oids`) naming the objects a later transaction changed again.
 * @throws ReadConflictError (`.oids`) when pack removed a revision the undo needs.
 */
export async function undoTransaction(
  storage: Storage,
  tid: Tid,
  options: UndoOptions = {},
): Promise<Tid> {
  if (typeof tid !== 'number' || !Number.isSafeInteger(tid) || tid < 1) {
    throw new RangeError(
      `db.undo: ${String(tid)} is not a transaction id (a positive integer). Find one with db.transactions().`,
    );
  }
  const [info] = await storage.transactions({ before: tid + 1, limit: 1 });
  if (info === undefined || info.tid !== tid) {
    throw new ShelfError(
      `db.undo(${tid}): there is no transaction ${tid}${info === undefined ? '' : ` (the newest at or before it is ${info.tid})`}. Find the one to undo with db.transactions().`,
    );
  }
  const oids = info.oids;
  // A transaction entry without records is one whose every revision pack removed (a commit
  // without records stores nothing): its objects were changed again, or became unreachable.
  if (oids.length === 0) throw packedError(tid, []);
  checkUnchangedSince(tid, oids, await storage.load(oids));

  let before: LoadedRecord[];
  try {
    before = await storage.load(oids, tid - 1);
  } catch (error) {
    if (!(error instanceof ReadConflictError)) throw error;
    throw packedError(tid, error.oids, error);
  }
  if (before.length === 0) {
    throw new ShelfError(
      `db.undo(${tid}): transaction ${tid} only created objects (${oids.join(', ')}); there is no earlier revision to restore. Undo a transaction that changed existing objects.`,
    );
  }
  const restored = new Set(before.map((r) => r.oid));
  const records: StoredRecord[] = before.map((r) => ({
    oid: r.oid,
    className: r.className,
    state: r.state,
    refs: r.refs,
    tid, // based on tid's revision: conflicts if anyone changed it since
  }));
  const created = oids.filter((oid) => !restored.has(oid));
  try {
    return await storage.commit({
      baseTid: tid,
      records,
      readCurrent: created.map((oid) => ({ oid, tid })),
      note: options.note ?? `undo of transaction ${tid}`,
      ...(options.user === undefined ? {} : { user: options.user }),
      ...(options.meta === undefined ? {} : { meta: options.meta }),
      undoes: tid,
      txnId: new TxnIds().next(),
    });
  } catch (error) {
    // A pin of an object tid created failed: a later transaction changed it, a write conflict.
    if (error instanceof ReadConflictError && error.oids.every((oid) => created.includes(oid))) {
      throw changedAgainError(tid, error.oids, error);
    }
    if (error instanceof WriteConflictError) throw changedAgainError(tid, error.oids, error);
    throw error;
  }
}

/**
 * Step 2: every oid `tid` wrote must still have `tid`'s revision as its newest.
 * @throws WriteConflictError naming those changed since; ReadConflictError for those pack removed.
 */
function checkUnchangedSince(tid: Tid, oids: number[], newest: LoadedRecord[]): void {
  const found = new Map(newest.map((r) => [r.oid, r.tid]));
  const changed = oids.filter((oid) => (found.get(oid) ?? tid) > tid);
  if (changed.length > 0) throw changedAgainError(tid, changed);
  const gone = oids.filter((oid) => !found.has(oid));
  if (gone.length > 0) throw packedError(tid, gone);
}

function changedAgainError(tid: Tid, oids: number[], cause?: unknown): WriteConflictError {
  const error = new WriteConflictError(
    oids,
    `Cannot undo transaction ${tid}: object ${oids.join(', ')} was changed again by a later transaction. Undo the later transactions first (newest first), or change the objects back by hand. Nothing was stored.`,
  );
  if (cause !== undefined) (error as { cause?: unknown }).cause = cause;
  return error;
}

function packedError(tid: Tid, oids: number[], cause?: unknown): ConflictError {
  const what =
    oids.length === 0
      ? 'every revision it wrote'
      : `the revisions of object ${oids.join(', ')} before it, or the objects themselves`;
  const error = new ReadConflictError(
    oids,
    `Cannot undo transaction ${tid}: pack removed what undo needs (${what}). Transactions older than the last pack can no longer be undone. Nothing was stored.`,
  );
  if (cause !== undefined) (error as { cause?: unknown }).cause = cause;
  return error;
}
