/**
 * One commit of IndexedDBStorage inside its readwrite transaction: validation, the resend check
 * (txnId), first-committer-wins, then the writes, with every read issued at once.
 *
 * Writes ride with the reads when the storage can guess the tid: `Guess` is the lastTid and
 * nextOid its previous commit left. The commit's record and transaction puts are then issued
 * together with the reads (one round trip to the IndexedDB backend instead of two; the meta put
 * follows the reads, in the same transaction), and the reads settle the bet before the
 * transaction can commit: when the stored meta says otherwise (another writer, a commit that
 * failed), `StaleGuess` is thrown, the transaction aborts with everything it wrote, and the
 * caller commits again without a guess. A resend found by its txnId aborts likewise (`Landed`).
 * Nothing of a lost bet is ever stored: the check and the writes are one transaction.
 */
import type { CommitRequest, Tid, TransactionInfo } from '../src/shared/storage.js';
import { ROOT_OID } from '../src/shared/storage.js';
import {
  checkConflicts,
  checkRestoreOids,
  nextOidAfterRestore,
  validateCommit,
} from './commit-checks.js';
import {
  awaitedLater,
  newestRevisions,
  requested,
  type Revision,
  type StoredValue,
} from './indexeddb-newest.js';
import { transactionInfo } from './transaction-info.js';

/** The meta store's one value, under key 'state'. */
export interface MetaState {
  lastTid: Tid;
  nextOid: number;
  objects: number;
  bytes: number;
  garbageBytes: number;
  lastPack: number | undefined;
  /** Snapshots older than this tid may miss revisions pack removed; `sync` from before resets. */
  floor: Tid;
}

/** The meta of a database nothing was stored in yet. */
export const FRESH: MetaState = {
  lastTid: 0,
  nextOid: ROOT_OID + 1,
  objects: 0,
  bytes: 0,
  garbageBytes: 0,
  lastPack: undefined,
  floor: 0,
};

/** The newest tid, as a range's upper bound. */
export const MAX_TID = Number.MAX_SAFE_INTEGER;

/** A transaction as the txns store holds it, under its tid. */
export type StoredTransaction = Omit<TransactionInfo, 'tid'> & { txnId?: string };

/** What the storage expects the meta to hold when a commit begins: its own last commit's. */
export interface Guess {
  lastTid: Tid;
  nextOid: number;
}

/** What a commit did: its tid, and for a new one what to announce and the meta it left. */
export interface CommitDone {
  tid: Tid;
  announce?: { prevTid: Tid; oids: number[] };
  left?: Guess;
}

/** Thrown to abort a commit whose guess was wrong: nothing of it is stored; commit again. */
export class StaleGuess extends Error {
  override name = 'StaleGuess';
}

/** Thrown to abort a commit found stored already (its txnId): answer with `tid`. */
export class Landed extends Error {
  override name = 'Landed';
  constructor(readonly tid: Tid) {
    super(`the commit landed before as tid ${tid}`);
  }
}

/**
 * Runs `txn` in `tx` (records, txns and meta, readwrite). Every value to store is built before
 * the first write is issued (so a throw while building finds nothing written; a later one is
 * undone by the caller's abort: runWrite). Writes are raw requests without handlers: a failed
 * one aborts the transaction, whose error the caller reports.
 * @param guess the meta's lastTid and nextOid expected (undefined: read them first).
 * @param restoredNext where this storage's restore commits left nextOid (see checkRestoreOids).
 * @throws StaleGuess or Landed, after which the caller aborts `tx` (see the module comment);
 *   ShelfError for a malformed request, WriteConflictError or ReadConflictError.
 */
export async function commitIn(
  tx: IDBTransaction,
  keys: typeof IDBKeyRange,
  txn: CommitRequest,
  guess: Guess | undefined,
  restoredNext = ROOT_OID + 1,
): Promise<CommitDone> {
  const metaRead = awaitedLater(
    requested<MetaState | undefined>(tx.objectStore('meta').get('state')),
  );
  // Ids that IndexedDB cannot take as keys would throw here: such a request waits for
  // validateCommit below to say what is wrong with it.
  const wellFormed = wellFormedIds(txn);
  // The bet: valid as against the guessed meta, the writes go with the reads.
  // A restore commit (its own tid, oids above nextOid) never bets: it reads the meta first.
  const betJson =
    guess !== undefined && wellFormed && txn.records.length > 0 && txn.restore === undefined
      ? validAgainst(txn, guess)
      : undefined;
  // Issued before the bet's puts, and bounded by the guessed tid: the reads never see them.
  const early = wellFormed
    ? awaitedLater(
        commitReads(tx, keys, txn, betJson === undefined ? MAX_TID : (guess as Guess).lastTid),
      )
    : undefined;
  const bet =
    betJson === undefined
      ? undefined
      : { json: betJson, info: write(tx, txn, betJson, (guess as Guess).lastTid + 1) };
  const meta = (await metaRead) ?? { ...FRESH };
  if (bet !== undefined && (meta.lastTid !== guess?.lastTid || meta.nextOid !== guess.nextOid)) {
    throw new StaleGuess(`the meta holds tid ${meta.lastTid}, not ${String(guess?.lastTid)}`);
  }
  const json = bet?.json ?? validateCommit(txn, meta.nextOid, meta.lastTid);
  const { landed, newest } = await (early ?? commitReads(tx, keys, txn, MAX_TID));
  if (landed !== undefined) {
    if (bet !== undefined) throw new Landed(landed);
    return { tid: landed }; // a resent commit: it is stored already
  }
  checkConflicts(txn, (oid) => newest.get(oid)?.tid);
  // A restored transaction is stored even without records (see CommitRequest.restore).
  if (txn.records.length === 0 && txn.restore === undefined) return { tid: meta.lastTid };

  const prevTid = meta.lastTid;
  const tid = txn.restore?.tid ?? prevTid + 1;
  if (txn.restore !== undefined) {
    checkRestoreOids(meta.nextOid, restoredNext);
    meta.nextOid = nextOidAfterRestore(txn, meta.nextOid);
  }
  const info = bet?.info ?? write(tx, txn, json, tid);
  for (const r of txn.records) {
    const before = newest.get(r.oid);
    if (before === undefined) meta.objects++;
    else meta.garbageBytes += before.value.state.byteLength;
  }
  meta.lastTid = tid;
  // The bytes stored (a restored transaction may list the source's bytes: RestoreMode.bytes).
  for (const r of txn.records) meta.bytes += r.state.byteLength;
  tx.objectStore('meta').put(meta, 'state');
  return {
    tid,
    announce: { prevTid, oids: info.oids },
    left: { lastTid: tid, nextOid: meta.nextOid },
  };
}

/** The JSON of `txn`'s metadata if it is valid against `guess`, else undefined. */
function validAgainst(txn: CommitRequest, guess: Guess): string | undefined {
  try {
    return validateCommit(txn, guess.nextOid, guess.lastTid);
  } catch {
    // Checked again against the stored meta, which says what is wrong, if anything.
    return undefined;
  }
}

/** Issues the puts of `txn`'s records and transaction as `tid`; returns the transaction. */
function write(tx: IDBTransaction, txn: CommitRequest, json: string, tid: Tid): StoredTransaction {
  const values = txn.records.map((r): StoredValue => ({
    className: r.className,
    // Copies: the state's own bytes (it may be a view into a larger buffer, a packed batch,
    // which put's clone would store whole) and the refs (put clones them at once anyway, but
    // a throw while taking them in must come before the first write).
    state: r.state.slice(),
    refs: [...r.refs],
  }));
  const info: StoredTransaction = {
    ...transactionInfo(txn, json),
    ...(txn.txnId === undefined ? {} : { txnId: txn.txnId }),
  };
  const records = tx.objectStore('records');
  // By the records' own oids: a restored transaction may list more (see RestoreMode.oids).
  const oids = txn.records.map((r) => r.oid);
  for (let i = 0; i < values.length; i++) records.put(values[i], [oids[i] as number, tid]);
  tx.objectStore('txns').put(info, tid);
  return info;
}

/**
 * The reads of a commit: the tid of its txnId if it landed before, the newest revisions up to
 * `at` (all stored ones: a newer tid is the commit's own).
 */
async function commitReads(
  tx: IDBTransaction,
  keys: typeof IDBKeyRange,
  txn: CommitRequest,
  at: Tid,
): Promise<{ landed: Tid | undefined; newest: Map<number, Revision> }> {
  const txnIds = tx.objectStore('txns').index('txnId');
  const landed = txn.txnId === undefined ? undefined : requested(txnIds.getKey(txn.txnId));
  const oids = txn.records.map((r) => r.oid);
  for (const pin of txn.readCurrent ?? []) oids.push(pin.oid);
  const [tid, newest] = await Promise.all([
    landed,
    newestRevisions(tx.objectStore('records'), keys, oids, at),
  ]);
  return { landed: tid as Tid | undefined, newest };
}

const isId = (x: unknown): boolean => Number.isSafeInteger(x) && (x as number) >= 0;

/**
 * Whether every oid of `txn` (records and pins) and its txnId can be asked of IndexedDB as keys,
 * so that the commit's reads can be issued before validateCommit has checked it whole.
 */
function wellFormedIds(txn: CommitRequest): boolean {
  if (typeof txn !== 'object' || txn === null || !Array.isArray(txn.records)) return false;
  if (txn.txnId !== undefined && typeof txn.txnId !== 'string') return false;
  for (const r of txn.records as unknown[]) {
    if (typeof r !== 'object' || r === null || !isId((r as { oid: unknown }).oid)) return false;
  }
  const pins: unknown = txn.readCurrent;
  if (pins === undefined) return true;
  return (
    Array.isArray(pins) &&
    pins.every(
      (p: unknown) => typeof p === 'object' && p !== null && isId((p as { oid: unknown }).oid),
    )
  );
}
