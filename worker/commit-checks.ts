/**
 * The checks every storage makes on a commit request before looking at conflicts: one place, so
 * every backend refuses the same malformed input with the same words.
 */
import { ReadConflictError, ShelfError, WriteConflictError } from '../src/shared/errors.js';
import { ROOT_OID, type CommitRequest, type Tid } from '../src/shared/storage.js';

/**
 * @param nextOid every oid below it has been handed out by newOids().
 * @throws ShelfError naming the record and what is wrong with it; nothing is stored.
 */
export function validateCommit(txn: CommitRequest, nextOid: number): void {
  const seen = new Set<number>();
  for (const record of txn.records) {
    const { oid } = record;
    if (!Number.isSafeInteger(oid) || oid < 0) {
      throw new ShelfError(`commit: record oid ${String(oid)} is not a non-negative integer.`);
    }
    if (oid !== ROOT_OID && oid >= nextOid) {
      throw new ShelfError(
        `commit: oid ${oid} was never handed out by newOids(); nothing was stored.`,
      );
    }
    if (seen.has(oid)) throw new ShelfError(`commit: oid ${oid} appears twice in one transaction.`);
    seen.add(oid);
    if (typeof record.className !== 'string' || record.className === '') {
      throw new ShelfError(`commit: record ${oid} has no class name.`);
    }
    if (!(record.state instanceof Uint8Array)) {
      throw new ShelfError(`commit: record ${oid} has no state bytes (a Uint8Array).`);
    }
    if (
      !Array.isArray(record.refs) ||
      !record.refs.every((r) => Number.isSafeInteger(r) && r >= 0)
    ) {
      throw new ShelfError(`commit: record ${oid} has malformed refs (non-negative integers).`);
    }
  }
}

/** @throws RangeError unless `count` (for newOids) is a non-negative integer. */
export function checkOidCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`newOids: count must be a non-negative integer, got ${count}.`);
  }
}

/** The message of a ReadConflictError for pinned objects that changed. */
export const readCurrentMessage = (oids: number[]): string =>
  `Read conflict on oid ${oids.join(', ')}: pinned with readCurrent, changed by another connection since. Nothing was stored. Call conn.abort() and redo the transaction.`;

/** The message of a ReadConflictError for a revision pack removed. */
export const packedMessage = (oids: number[], at: number): string =>
  `Object ${oids.join(', ')} has no revision as of tid ${at} any more: pack removed it. Call conn.abort() to move to the newest snapshot.`;

/**
 * First-committer-wins: a record conflicts when its oid has a revision newer than the one it was
 * based on (or, for a new object, any revision); a readCurrent pin when its object changed since.
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
      record.tid === undefined ? latest !== undefined : latest === undefined || latest > record.tid;
    if (stale) conflicts.push(record.oid);
  }
  if (conflicts.length > 0) throw new WriteConflictError(conflicts);
  const pinned = (txn.readCurrent ?? [])
    .filter(({ oid, tid }) => (latestTid(oid) ?? Infinity) > tid)
    .map(({ oid }) => oid);
  if (pinned.length > 0) throw new ReadConflictError(pinned, readCurrentMessage(pinned));
}
