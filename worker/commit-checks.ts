/**
 * The checks every storage makes on its arguments, in one place so every backend refuses the same
 * malformed input with the same words: a commit request whole (`validateCommit`, before it joins a
 * group), the ids of `load`, `sync`, `history`, `newOids` and the rest, and first-committer-wins
 * conflicts (`checkConflicts`) with the messages of the conflict errors. Calls that crossed a
 * channel are checked first, per method, by call-checks.ts, which builds on these.
 */
import { ReadConflictError, ShelfError, WriteConflictError } from '../src/shared/errors.js';
import { MAX_ID_LENGTH, isId } from '../src/shared/protocol.js';
import { ROOT_OID, type CommitRequest, type Tid } from '../src/shared/storage.js';

/** The most oids one load or one commit may name (a bound on what a message can ask for). */
export const MAX_BATCH = 1 << 22;
/** An entry's length is a u32: a transaction stays below this many bytes (with headroom). */
const MAX_TRANSACTION_BYTES = 2 ** 32 - 2 ** 20;
/** Class names are stored with a u16 length (UTF-8 bytes). */
const MAX_CLASS_NAME_BYTES = 2 ** 16 - 1;
const utf8 = new TextEncoder();

const isOid = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isTid = isOid;

/**
 * Checks everything about a commit request that could make storing it fail later: ids, shapes,
 * sizes, and metadata that JSON cannot hold (a BigInt, a cycle). Every storage calls it before it
 * queues or writes anything, so a bad commit fails alone and at once, and never inside a group
 * commit where it would take innocent commits of other tabs down with it.
 * @param nextOid every oid below it has been handed out by newOids().
 * @param newestTid the newest tid a client can have seen: no base may be newer.
 * @returns the transaction metadata as JSON text (what the log stores).
 * @throws ShelfError naming the record or field and what is wrong with it; nothing is stored.
 */
export function validateCommit(txn: CommitRequest, nextOid: number, newestTid: Tid): string {
  if (typeof txn !== 'object' || txn === null || !Array.isArray(txn.records)) {
    throw new ShelfError('commit: the request has no records array; nothing was stored.');
  }
  if (txn.records.length > MAX_BATCH) {
    throw new ShelfError(
      `commit: ${txn.records.length} records in one transaction; at most ${MAX_BATCH}. Commit in smaller transactions.`,
    );
  }
  if (!isTid(txn.baseTid)) {
    throw new ShelfError(`commit: baseTid ${String(txn.baseTid)} is not a non-negative integer.`);
  }
  // A snapshot or a revision nobody has seen yet: a record based on it would conflict with nothing,
  // not even with a commit of the same object still waiting to be written.
  if (txn.baseTid > newestTid) {
    throw new ShelfError(
      `commit: baseTid ${txn.baseTid} is newer than the newest tid ${newestTid}; nothing was stored. Base a commit on a tid the storage gave (commit, sync or load).`,
    );
  }
  const restore = txn.restore;
  if (restore !== undefined) checkRestore(txn, newestTid);
  const seen = new Set<number>();
  let bytes = 0;
  for (const record of txn.records) {
    if (typeof record !== 'object' || record === null) {
      throw new ShelfError('commit: a record is not an object; nothing was stored.');
    }
    const { oid } = record;
    if (!isOid(oid)) {
      throw new ShelfError(`commit: record oid ${String(oid)} is not a non-negative integer.`);
    }
    // A restored record keeps the oid the source handed out: the storage's next oid rises to it.
    if (oid !== ROOT_OID && oid >= nextOid && restore === undefined) {
      throw new ShelfError(
        `commit: oid ${oid} was never handed out by newOids(); nothing was stored.`,
      );
    }
    if (seen.has(oid)) throw new ShelfError(`commit: oid ${oid} appears twice in one transaction.`);
    seen.add(oid);
    if (record.tid !== undefined && !isTid(record.tid)) {
      throw new ShelfError(
        `commit: record ${oid} is based on tid ${String(record.tid)}, which is not a non-negative integer.`,
      );
    }
    if (record.tid !== undefined && record.tid > newestTid) {
      throw new ShelfError(
        `commit: record ${oid} is based on tid ${record.tid}, newer than the newest tid ${newestTid}; nothing was stored.`,
      );
    }
    if (typeof record.className !== 'string' || record.className === '') {
      throw new ShelfError(`commit: record ${oid} has no class name.`);
    }
    const nameBytes =
      record.className.length * 3 <= MAX_CLASS_NAME_BYTES
        ? record.className.length * 3
        : utf8.encode(record.className).byteLength;
    if (nameBytes > MAX_CLASS_NAME_BYTES) {
      throw new ShelfError(
        `commit: record ${oid} has a class name of ${nameBytes} bytes (${record.className.slice(0, 40)}…); at most ${MAX_CLASS_NAME_BYTES}. Register the class under a shorter name.`,
      );
    }
    if (!(record.state instanceof Uint8Array)) {
      throw new ShelfError(`commit: record ${oid} has no state bytes (a Uint8Array).`);
    }
    if (!Array.isArray(record.refs) || !record.refs.every(isOid)) {
      throw new ShelfError(`commit: record ${oid} has malformed refs (non-negative integers).`);
    }
    bytes += 64 + nameBytes + record.state.byteLength + 8 * record.refs.length;
  }
  if (txn.readCurrent !== undefined) {
    if (
      !Array.isArray(txn.readCurrent) ||
      txn.readCurrent.length > MAX_BATCH ||
      !txn.readCurrent.every(
        (p) => typeof p === 'object' && p !== null && isOid(p.oid) && isTid(p.tid),
      )
    ) {
      throw new ShelfError('commit: readCurrent must be a list of { oid, tid } with integer ids.');
    }
  }
  for (const field of ['note', 'user', 'txnId'] as const) {
    const value = txn[field];
    if (value !== undefined && typeof value !== 'string') {
      throw new ShelfError(`commit: ${field} must be a string, got ${typeof value}.`);
    }
  }
  if (txn.txnId !== undefined && !isId(txn.txnId)) {
    throw new ShelfError(
      `commit: txnId must be a non-empty string of at most ${MAX_ID_LENGTH} characters.`,
    );
  }
  // An undo names the transaction it undoes: one that exists (tid 1 is the first ever committed).
  // A restored undo may name a transaction pack dropped from the source: any tid before its own.
  const newestUndone = restore === undefined ? newestTid : restore.tid - 1;
  if (
    txn.undoes !== undefined &&
    (!isTid(txn.undoes) || txn.undoes < 1 || txn.undoes > newestUndone)
  ) {
    throw new ShelfError(
      `commit: undoes ${String(txn.undoes)} is not the tid of a committed transaction (an integer from 1 to the newest tid, ${newestUndone}); nothing was stored.`,
    );
  }
  if (
    txn.meta !== undefined &&
    (typeof txn.meta !== 'object' || txn.meta === null || Array.isArray(txn.meta))
  ) {
    throw new ShelfError('commit: meta must be a plain object of JSON values.');
  }
  let json: string;
  try {
    json = JSON.stringify(
      {
        note: txn.note ?? '',
        user: txn.user ?? '',
        meta: txn.meta ?? {},
        ...(txn.txnId === undefined ? {} : { txnId: txn.txnId }),
        ...(txn.undoes === undefined ? {} : { undoes: txn.undoes }),
      },
      (key, value: unknown) => {
        // JSON would drop these silently (and a worker link cannot even send them): refuse them.
        if (typeof value === 'function' || typeof value === 'symbol') {
          throw new TypeError(
            `${key === '' ? 'meta' : `meta key "${key}"`} holds a ${typeof value}`,
          );
        }
        return value;
      },
    );
  } catch (error) {
    throw new ShelfError(
      `commit: the transaction's meta cannot be stored as JSON (${(error as Error).message}). Use plain JSON values: no BigInt, functions or symbols, no cycles. Nothing was stored.`,
      { cause: error },
    );
  }
  bytes += 2 * json.length;
  if (bytes > MAX_TRANSACTION_BYTES) {
    throw new ShelfError(
      `commit: the transaction holds about ${Math.round(bytes / 2 ** 20)} MiB; one transaction holds less than 4 GiB. Commit in smaller transactions. Nothing was stored.`,
    );
  }
  return json;
}

/**
 * Checks a restore-mode commit (CommitRequest.restore): a tid above the newest, a time, records
 * without a base and no pins, and listed oids (if any) that include every record's.
 * @throws ShelfError naming what is wrong; nothing is stored.
 */
function checkRestore(txn: CommitRequest, newestTid: Tid): void {
  const restore = txn.restore as NonNullable<CommitRequest['restore']>;
  if (typeof restore !== 'object' || restore === null || !isTid(restore.tid) || restore.tid < 1) {
    throw new ShelfError(
      `commit: restore.tid ${String((restore as { tid?: unknown } | null)?.tid)} is not a positive integer; nothing was stored.`,
    );
  }
  if (restore.tid <= newestTid) {
    throw new ShelfError(
      `commit: restore.tid ${restore.tid} is not above the newest tid ${newestTid}: a restore replays into an empty database, oldest transaction first. Nothing was stored.`,
    );
  }
  if (typeof restore.time !== 'number' || !Number.isFinite(restore.time) || restore.time < 0) {
    throw new ShelfError(
      `commit: restore.time ${String(restore.time)} of transaction ${restore.tid} is not a time in milliseconds; nothing was stored.`,
    );
  }
  if (txn.readCurrent !== undefined && txn.readCurrent.length > 0) {
    throw new ShelfError('commit: a restore commit pins nothing (no readCurrent).');
  }
  for (const record of txn.records) {
    if (typeof record === 'object' && record !== null && record.tid !== undefined) {
      throw new ShelfError(
        `commit: restored record ${String(record.oid)} has a base tid; a restored record has none. Nothing was stored.`,
      );
    }
  }
  if (restore.oids !== undefined) {
    if (!Array.isArray(restore.oids) || restore.oids.length > MAX_BATCH) {
      throw new ShelfError('commit: restore.oids must be an array of oids.');
    }
    const listed = new Set<unknown>(restore.oids);
    if (listed.size !== restore.oids.length || !restore.oids.every(isOid)) {
      throw new ShelfError('commit: restore.oids must list distinct non-negative integers.');
    }
    const unlisted = txn.records.find((r) => !listed.has(r?.oid));
    if (unlisted !== undefined) {
      throw new ShelfError(
        `commit: restored record ${String(unlisted.oid)} is not among restore.oids; nothing was stored.`,
      );
    }
  }
  if (restore.bytes !== undefined && !isOid(restore.bytes)) {
    throw new ShelfError(`commit: restore.bytes ${String(restore.bytes)} is not a byte count.`);
  }
}

/**
 * A restore commit needs the oids to itself: the storage's next oid must be where its earlier
 * restore commits left it (`restoredNext`: ROOT_OID + 1 before the first). Past it, newOids has
 * handed out oids meanwhile (another tab or connection opened the database): a restored object
 * could take one of them, and that client's commit of a "new" object would then replace it.
 */
export function checkRestoreOids(nextOid: number, restoredNext: number): void {
  if (nextOid === restoredNext) return;
  throw new ShelfError(
    `commit: oids up to ${nextOid - 1} were handed out by newOids during the restore (another tab or connection uses this database), and restored objects may take them; a restore needs the database to itself. Nothing was stored.`,
  );
}

/**
 * The next oid a storage holds after the restore commit `txn`: above every oid it names (records
 * and listed oids), and never below `nextOid`.
 */
export function nextOidAfterRestore(txn: CommitRequest, nextOid: number): number {
  let next = nextOid;
  for (const record of txn.records) if (record.oid >= next) next = record.oid + 1;
  for (const oid of txn.restore?.oids ?? []) if (oid >= next) next = oid + 1;
  return next;
}

/**
 * Checks the arguments of `load`: every oid a non-negative integer, a bounded count, and `atTid`
 * (if given) a non-negative integer. Arguments may come from another tab; nothing else reaches
 * the index.
 * @throws ShelfError naming the bad argument.
 */
export function checkLoad(oids: unknown, atTid?: unknown): void {
  if (!Array.isArray(oids) || oids.length > MAX_BATCH) {
    throw new ShelfError(`load: oids must be an array of at most ${MAX_BATCH} oids.`);
  }
  for (const oid of oids) {
    if (!isOid(oid))
      throw new ShelfError(`load: oid ${String(oid)} is not a non-negative integer.`);
  }
  if (atTid !== undefined) checkTid('load', atTid);
}

/** @throws ShelfError unless `oid` (an argument of `method`) is a non-negative integer. */
export function checkOid(method: string, oid: unknown): void {
  if (!isOid(oid)) {
    throw new ShelfError(`${method}: oid ${String(oid)} is not a non-negative integer.`);
  }
}

/** @throws ShelfError unless `tid` (an argument of `method`) is a non-negative integer. */
export function checkTid(method: string, tid: unknown): void {
  if (!isTid(tid)) {
    throw new ShelfError(`${method}: tid ${String(tid)} is not a non-negative integer.`);
  }
}

/** @throws RangeError unless `count` (for newOids) is a non-negative integer. */
export function checkOidCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0 || count > MAX_BATCH) {
    throw new RangeError(
      `newOids: count must be an integer from 0 to ${MAX_BATCH}, got ${String(count)}.`,
    );
  }
}

/** The message of a ReadConflictError for pinned objects that changed. */
export const readCurrentMessage = (oids: number[]): string =>
  `Read conflict on oid ${oids.join(', ')}: pinned with readCurrent, changed by another connection since. Nothing was stored. Call conn.abort() and redo the transaction.`;

/** The message of a ReadConflictError for a revision pack removed. */
export const packedMessage = (oids: number[], at: number): string =>
  `Object ${oids.join(', ')} has no revision as of tid ${at} any more: pack removed it. Call conn.abort() to move to the newest snapshot.`;

/**
 * First-committer-wins, per record (the `Storage.commit` contract, src/shared/storage.ts):
 * - a record with a `tid` was based on that revision: it conflicts when its oid has a newer one,
 *   or has none at all (the revision it was based on is gone: pack removed the object);
 * - a record without `tid` (a new object, or a raw commit of a tool or test) is checked against
 *   the request's `baseTid`: it conflicts when its oid has a revision newer than `baseTid`. An oid
 *   that was never stored has no revision, so a new object never conflicts.
 * A readCurrent pin conflicts when its object changed since the pinned tid.
 * @param latestTid the newest tid of an oid, undefined when it has none.
 * @throws WriteConflictError naming every conflicting oid, else ReadConflictError for stale pins.
 */
export function checkConflicts(
  txn: CommitRequest,
  latestTid: (oid: number) => Tid | undefined,
): void {
  const conflicts: number[] = [];
  for (const record of txn.records) {
    const latest = latestTid(record.oid);
    const stale =
      record.tid === undefined
        ? latest !== undefined && latest > txn.baseTid
        : latest === undefined || latest > record.tid;
    if (stale) conflicts.push(record.oid);
  }
  if (conflicts.length > 0) throw new WriteConflictError(conflicts);
  const pinned = (txn.readCurrent ?? [])
    .filter(({ oid, tid }) => (latestTid(oid) ?? Infinity) > tid)
    .map(({ oid }) => oid);
  if (pinned.length > 0) throw new ReadConflictError(pinned, readCurrentMessage(pinned));
}
