/**
 * The `Storage` contract: the only way the page side reaches stored bytes.
 *
 * Every call is async and batch-shaped, because behind it may sit a worker (one postMessage round
 * trip costs as much as ~40 structured clones) or another tab. Storage never decodes object state:
 * a record carries its class name and its outgoing references (`refs`) beside the opaque `state`
 * bytes, so pack can walk the object graph and tools can show classes without the app's code.
 *
 * Implementations: MemoryStorage, ShelfStorage (a log over block files) and IndexedDBStorage in
 * worker/; StorageClient (src/, the page's link to its storage worker) and TabRouter (worker/, the
 * link to the tab that owns the files) forward to them. All run the same contract checks
 * (test/storage-checks.ts; test/storage-contract.ts runs them under Vitest, e2e/contract.spec.ts in
 * Chromium).
 */

import type { StorageBusyError } from './errors.js';

/**
 * A transaction id. Increasing integers: every commit gets a larger tid than any before it, and the
 * storages in this package hand them out consecutively (1, 2, 3…), which lets a connection tell from
 * a commit's tid alone whether anyone else committed since its snapshot.
 */
export type Tid = number;

/** The oid of the root object (a PersistentDict). Storages never hand it out from `newOids`. */
export const ROOT_OID = 0;

/** One revision of one object as storage keeps it. */
export interface StoredRecord {
  /** Object id: never reused, at most 2^53 − 1. */
  oid: number;
  /** The stored class name (see registerClass), readable without decoding `state`. */
  className: string;
  /** The encoded object state; opaque to storage. */
  state: Uint8Array;
  /** Oids this state references, so pack can mark without decoding. */
  refs: number[];
  /**
   * From `load`: the tid of the transaction that wrote this revision.
   * In `commit`: the tid of the revision this change was based on (the object's `_p_serial`).
   * The commit conflicts if the oid has a newer revision than that. Without it, the record is
   * checked against the request's `baseTid`: it conflicts if the oid has a revision newer than
   * `baseTid` (an oid never stored has no revision).
   */
  tid?: Tid;
}

/** A record returned by `load`: its `tid` is always set. */
export interface LoadedRecord extends StoredRecord {
  /** The tid of the transaction that wrote this revision. */
  tid: Tid;
}

/** What `commit` writes: one atomic transaction. */
export interface CommitRequest {
  /**
   * The committing connection's snapshot: the view the transaction was made from. A record
   * without a `tid` is checked against it (see StoredRecord.tid).
   */
  baseTid: Tid;
  /** The revisions this transaction writes, one per object. */
  records: StoredRecord[];
  /** Objects pinned with `readCurrent`: the commit conflicts if any has a revision newer than `tid`. */
  readCurrent?: {
    /** The pinned object. */
    oid: number;
    /** The revision of it this transaction read. */
    tid: Tid;
  }[];
  /** A note stored with the transaction (`transactions()` and history show it). */
  note?: string;
  /** Who committed, as the app names them. */
  user?: string;
  /** JSON-serializable metadata stored with the transaction. */
  meta?: Record<string, unknown>;
  /**
   * A client-made id for this transaction. A storage that already holds a transaction with this
   * id answers with its tid instead of writing it again: a commit resent after its answer was lost
   * (the owner tab closed mid-commit) lands exactly once.
   */
  txnId?: string;
  /**
   * The tid of the transaction this one undoes (`db.undo`): stored with it, and listed by
   * `transactions()`.
   */
  undoes?: Tid;
  /**
   * The blob records (class `shelfdb.Blob`) its records reference but it does not carry: Blobs
   * recorded by an earlier commit. The storage refuses the commit (StorageError naming them,
   * nothing stored) when one has no current revision, as after a pack removed it while the page
   * still held its Blob: the page then stores the Blob again. Checked where the commit is
   * accepted, so a pack either kept the record (the commit's refs are its write barrier) or had
   * published its removal (refused).
   */
  blobRefs?: number[];
  /**
   * Restore mode (`restoreDatabase`): this transaction is a replay of one from a backup, stored
   * with the tid and time it had there. Only for a storage that is empty or whose newest tid is
   * below `restore.tid` (a gap is allowed: pack may have dropped transactions in between), with
   * records that carry no `tid` and no `readCurrent`. Its records may name oids at or above the
   * storage's next oid (they were handed out by the source): the next oid rises above them, so
   * `newOids` never hands one out again. A restore commit without records is stored all the same
   * (a transaction whose every revision pack removed is still listed by `transactions()`).
   */
  restore?: RestoreMode;
}

/** What `CommitRequest.restore` gives: the restored transaction as the source listed it. */
export interface RestoreMode {
  /** The tid it had: above the storage's newest tid. */
  tid: Tid;
  /** When it committed there, in milliseconds since the epoch. */
  time: number;
  /**
   * The oids the source's `transactions()` listed, when more than the records (a storage that
   * lists the oids of revisions pack removed, as MemoryStorage and IndexedDBStorage do). A superset
   * of the records' oids. Storages that list only the records they hold (ShelfStorage) ignore it.
   */
  oids?: number[];
  /** The bytes the source listed, with `oids` (the records' bytes otherwise). */
  bytes?: number;
}

/** A stored blob's identity, as `putBlob` answers it. */
export interface BlobInfo {
  /** SHA-256 of the bytes, 64 lowercase hexadecimal digits: the blob file's name. */
  hash: string;
  /** Its length in bytes. */
  size: number;
}

/** What `sync` answers: the newest tid, and what changed after the tid asked about. */
export interface SyncResult {
  /** The newest committed tid. */
  tid: Tid;
  /** Oids written by transactions after `sinceTid` up to `tid`, without duplicates. */
  oids: number[];
  /**
   * True when `sinceTid` is older than the storage remembers (it was packed away): `oids` is then
   * incomplete and the caller must drop every cached object.
   */
  reset?: boolean;
}

/** One committed transaction, as `transactions()` lists them. */
export interface TransactionInfo {
  /** The transaction's id. */
  tid: Tid;
  /** Milliseconds since the epoch. */
  time: number;
  /** The note given to `commit({ note })` ('' for none). */
  note: string;
  /** The user given to `commit({ user })` ('' for none). */
  user: string;
  /** The metadata given to `commit({ meta })` ({} for none). */
  meta: Record<string, unknown>;
  /** The oids of the objects it wrote. */
  oids: number[];
  /** Bytes of object state written. */
  bytes: number;
  /** Set on a transaction made by `db.undo(tid)`: the tid it undid. */
  undoes?: Tid;
}

/** One stored revision of one object, for `history`. */
export interface RevisionInfo {
  /** The tid of the transaction that wrote this revision. */
  tid: Tid;
  /** When that transaction committed, in milliseconds since the epoch. */
  time: number;
  /** That transaction's note. */
  note: string;
  /** The revision itself, as storage keeps it. */
  record: LoadedRecord;
}

/** Pushed after every commit, to every listener of the storage (other tabs included). */
export interface Invalidation {
  /** The tid of the commit. */
  tid: Tid;
  /** The tid before this commit: a listener whose snapshot is older missed something and must sync. */
  prevTid: Tid;
  /** The oids it wrote. */
  oids: number[];
  /** The committing client's id for the transaction, when it gave one. */
  txnId?: string;
  /**
   * Set when pack removed `oids` (objects no kept snapshot reaches) rather than a commit wrote
   * them: no snapshot moves (`tid` is the newest tid, `prevTid` the same); a connection drops
   * those it holds unchanged from its cache.
   */
  removed?: true;
}

/** What `pack()` removed. Resolved by `db.pack()`. */
export interface PackResult {
  /** Objects removed because nothing reachable from the root referenced them. */
  objectsRemoved: number;
  /** Old revisions removed (no snapshot could read them any more). */
  revisionsRemoved: number;
  /** Bytes the storage occupied before pack. */
  bytesBefore: number;
  /** Bytes it occupies after pack. */
  bytesAfter: number;
  /** Milliseconds since the epoch when pack finished. */
  time: number;
}

/** One problem `verify` found. */
export interface VerifyProblem {
  /** What kind: 'checksum', 'record', 'index', 'dangling-ref', 'trailer'. */
  kind: string;
  /** What is wrong, where, and what to do, in a sentence. */
  message: string;
  /** The object concerned, for problems of records and references. */
  oid?: number;
  /** Byte offset in the log, for problems of the files. */
  offset?: number;
}

/** What `db.verify()` resolves to: healthy when `problems` is empty. */
export interface VerifyReport {
  /** True when no problem was found. */
  ok: boolean;
  /** Every problem found, in the order found. */
  problems: VerifyProblem[];
}

/** Options of `Storage.pack`. */
export interface PackOptions {
  /**
   * The oldest snapshot tid still read by an open connection: pack keeps every revision such a
   * snapshot can ask for. Undefined: only the newest revisions are needed.
   */
  keepTid?: Tid;
  /**
   * Stops the pack at its next step: it rejects with the signal's reason and leaves a valid
   * database (what it already compacted stays compacted). Only where the pack runs in this
   * thread; the links forward an abort as a call of their own.
   */
  signal?: AbortSignal;
  /** Called as the pack goes (every few milliseconds of work at most, and once per phase). */
  onProgress?: (progress: PackProgress) => void;
}

/** How far a running pack is: `done` of `total` units of its current phase. */
export interface PackProgress {
  /** 'mark': walking the objects from the root; 'copy': compacting; 'done': finished. */
  phase: 'mark' | 'copy' | 'done';
  /** Units done in this phase (objects marked, bytes compacted). */
  done: number;
  /** Units this phase has, as far as known now (marking learns of objects as it goes). */
  total: number;
}

/** Which storage a database runs on, as `stats().storage` reports it. */
export type StorageKind = 'opfs' | 'indexeddb' | 'memory' | 'file';

/** A span of bytes in one file of a log storage. */
export interface LogSpan {
  /** The file's name in the database's directory. */
  file: string;
  /** Where the span starts, in bytes from the file's start. */
  offset: number;
  /** Its length in bytes. */
  length: number;
}

/** What opening a log storage found damaged and dropped (see `openDatabase(name, { recover })`). */
export interface RecoveryReport {
  /** Bytes cut off the end of the log: a transaction torn by a crash, never acknowledged. */
  truncated: LogSpan[];
  /** Damaged spans inside the log, replaced by filler (only with `recover: true`). */
  dropped: LogSpan[];
}

/** What `db.stats()` resolves to: the size and state of the storage. */
export interface StorageStats {
  /** Which storage this is. */
  storage: StorageKind;
  /** Objects with a current revision. */
  objects: number;
  /** Bytes the storage occupies: at least the object state of every revision kept. */
  bytes: number;
  /** Bytes held by revisions superseded by newer ones (what pack could reclaim, at most). */
  garbageBytes: number;
  /** Committed transactions in the storage. */
  transactions: number;
  /** Milliseconds since the epoch of the last pack, undefined before the first. */
  lastPack: number | undefined;
  /** Blob files stored (distinct contents: the same bytes stored twice count once). */
  blobs: number;
  /** Bytes of those blob files. */
  blobBytes: number;
  /**
   * Messages from other tabs, or to the storage worker, that did not parse or came from another
   * protocol version, and were ignored (where messages cross a channel).
   */
  ignoredMessages?: number;
}

/**
 * Where a database's records live: the narrow, async, batch-shaped interface the page side reaches
 * storage through (one round trip loads many records; one commits a transaction). Implement it to
 * put a database somewhere new, and give it to `new Database(storage)`. Implementations must pass
 * shelfdb's contract checks: atomic and durable commits, first-committer-wins conflicts, tids that
 * increase, oids never reused, and pack keeping what open snapshots read.
 * @example
 * const db = new Database(new MemoryStorage()); // MemoryStorage implements Storage
 */
export interface Storage {
  /**
   * Loads the revisions of many objects in one round trip: for each oid, the newest revision with
   * `tid <= atTid` (default: the newest). Oids never stored, or created after `atTid`, are left out
   * of the answer; answers come in the order asked.
   * @throws ReadConflictError when the revision `atTid` needs was removed by pack.
   */
  load(oids: number[], atTid?: Tid): Promise<LoadedRecord[]>;

  /** Hands out `count` fresh oids, never handed out before and never 0 (the root). */
  newOids(count: number): Promise<number[]>;

  /**
   * Writes one transaction atomically and durably (the promise settles after the storage has
   * flushed), checks first-committer-wins, and returns its tid. An empty `records` writes nothing
   * and resolves to the newest tid.
   * @throws WriteConflictError (`.oids`) if a record's oid has a revision newer than its base (its
   *   `tid`, else the request's `baseTid`), or a record with a `tid` names an oid that has no
   *   revision (pack removed it); ReadConflictError for `readCurrent` oids. Nothing is written
   *   then.
   */
  commit(txn: CommitRequest): Promise<Tid>;

  /**
   * The newest tid, and the oids committed after `sinceTid`. A `sinceTid` at or past the newest
   * tid answers with no oids: the cheap way to learn the newest tid.
   */
  sync(sinceTid: Tid): Promise<SyncResult>;

  /**
   * Stores the bytes of `blob` as a blob file named by their SHA-256, durably (flushed) before it
   * resolves, streamed (never whole in memory, in storages that keep files). The same bytes stored
   * twice are kept once. A commit references the blob by a blob record (BLOB_CLASS, blob-record.ts)
   * naming its hash; a blob file no kept record names is removed by pack, though never one stored
   * during the pack or less than BLOB_GRACE_MS before it (its commit may be on its way).
   * @throws StorageFullError when it does not fit: nothing of it is kept.
   */
  putBlob(blob: Blob): Promise<BlobInfo>;

  /**
   * Bytes `[start, end)` of a stored blob (clamped to its size).
   * @throws StorageError when no blob file has this hash (pack removed it, or it was never stored).
   */
  readBlob(hash: string, start: number, end: number): Promise<Uint8Array>;

  /**
   * A stored blob as a platform `Blob` whose bytes are read when used: a `File` of OPFS or of the
   * Node file system where the storage keeps files (nothing is read now), the bytes themselves
   * otherwise. Its `type` is ''.
   * @throws StorageError when no blob file has this hash.
   */
  blobFile(hash: string): Promise<Blob>;

  /** Removes objects unreachable from the root and revisions no snapshot can read. */
  pack(options?: PackOptions): Promise<PackResult>;

  /** The size and state of the storage: objects, bytes, garbage, transactions, last pack. */
  stats(): Promise<StorageStats>;

  /**
   * Walks the whole storage: every checksum, every record, the index, and every reference of the
   * objects reachable from the root. Reports every problem found (none: `ok`).
   */
  verify(): Promise<VerifyReport>;

  /** Committed transactions, newest first; `before` is exclusive. */
  transactions(options?: { limit?: number; before?: Tid }): Promise<TransactionInfo[]>;

  /** The stored revisions of one object, newest first. */
  history(oid: number, limit?: number): Promise<RevisionInfo[]>;

  /**
   * Registers a listener for invalidations (every commit, this client's included). Returns the
   * function that removes it.
   */
  subscribe(listener: (invalidation: Invalidation) => void): () => void;

  /**
   * Optional, for storages shared by pages (tabs): `holder` (a page's database) reads no snapshot
   * older than `tid` (null: it reads none), and pack keeps what such snapshots need.
   */
  pin?(holder: string, tid: Tid | null): Promise<void>;

  /**
   * Optional: registers a listener for failures of work nobody awaited (an automatic checkpoint
   * or a relaxed-durability flush that failed after its commit was acknowledged). Such errors are
   * never swallowed: the Database re-fires them as an 'error' event. Returns the remover.
   */
  subscribeErrors?(listener: (error: unknown) => void): () => void;

  /**
   * Optional, for storages behind other tabs: registers a listener for calls that failed with
   * StorageBusyError because the tab holding the database did not answer in time. The Database
   * re-fires them as a 'busy' event. Returns the remover.
   */
  subscribeBusy?(listener: (error: StorageBusyError) => void): () => void;

  /**
   * What opening found damaged and cut or dropped (log storages; undefined when nothing was).
   * `db.recovery` reports it.
   */
  readonly recovery?: RecoveryReport | undefined;

  /** Releases files and handles. Further calls reject with DatabaseClosedError; twice is harmless. */
  close(): Promise<void>;
}
