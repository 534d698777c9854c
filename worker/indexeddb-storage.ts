/**
 * IndexedDBStorage: the Storage contract over IndexedDB (through idb), for browsers whose workers
 * lack OPFS sync access handles. The IDBFactory is injected: fake-indexeddb in Node tests, the real
 * one in the browser.
 *
 * Stores of database `shelfdb:<name>`:
 *   records  key [oid, tid] → { className, state, refs }   every revision until pack
 *   txns     key tid        → { time, note, user, meta, oids, bytes }
 *   meta     key 'state'    → { lastTid, nextOid, objects, bytes, garbageBytes, lastPack, floor }
 *   blobChunks, blobFiles   the blob files (IndexedDBBlobStore; added by schema version 2)
 *
 * A commit is one readwrite transaction (durability 'strict' unless opened 'relaxed') that checks conflicts and
 * writes, so the check and the write are atomic. Any failure inside it — a bad request, a throw
 * while building what to store, a write the browser refuses — aborts that transaction, so a commit
 * is stored whole or not at all, and the next commit gets the next tid (`runWrite`). Its body is
 * indexeddb-commit.ts: when this storage knows the tid its last commit left, the writes travel
 * with the reads, and the reads settle that bet before the transaction can commit. Loads and the
 * conflict check find each oid's newest revision at or before the snapshot with few requests, all
 * issued at once in one transaction: ranges over runs of consecutive oids, a cursor for a lone oid
 * (indexeddb-newest.ts). The stored form is the one earlier versions wrote.
 *
 * Pack runs beside loads and commits (indexeddb-pack.ts): a mark in short readonly transactions,
 * then deletions in chunks of short readwrite ones, each keeping the meta exact.
 *
 * A commit's client-made `txnId` is stored with its transaction and indexed, and pack never removes
 * transactions: a resent commit is answered with its first tid however late it arrives, after any
 * pack or reopen.
 */
import { unwrap, wrap, type DBSchema, type IDBPDatabase } from 'idb';
import { ReadConflictError, StorageError } from '../src/shared/errors.js';
import { indexedDBName } from '../src/shared/storage-names.js';
import type {
  CommitRequest,
  LoadedRecord,
  PackResult,
  RevisionInfo,
  Storage,
  StorageStats,
  SyncResult,
  Tid,
  TransactionInfo,
} from '../src/shared/storage.js';
import { ROOT_OID } from '../src/shared/storage.js';
import { newestRevisions, requested, type StoredValue } from './indexeddb-newest.js';
import {
  FRESH,
  Landed,
  MAX_TID,
  StaleGuess,
  commitIn,
  type CommitDone,
  type Guess,
  type MetaState,
  type StoredTransaction,
} from './indexeddb-commit.js';
import { packIncrementally } from './indexeddb-pack.js';
import { mapError, runWrite } from './indexeddb-writes.js';
import type { PackRun } from './pack-run.js';
import { StorageCore } from './storage-core.js';
import { checkLoad, checkOidCount, checkOid, checkTid, packedMessage } from './commit-checks.js';
import type { BlobStore } from './blob-store.js';
import { checkGrace } from './blob-guard.js';
import { checkBlobRefsIn } from './indexeddb-blob-refs.js';
import { IndexedDBBlobStore, upgradeBlobStores } from './indexeddb-blob-store.js';

/** The schema's version: 2 added the blob stores (an older database is upgraded at open). */
export const SCHEMA_VERSION = 2;

/** Options of `IndexedDBStorage.open`. */
export interface IndexedDBOptions {
  /**
   * How long after it was stored a blob file no kept record names is safe from pack, in
   * milliseconds (default BLOB_GRACE_MS, an hour). Tests use 0.
   */
  blobGraceMs?: number;
}

interface Schema extends DBSchema {
  records: {
    key: [number, number];
    value: StoredValue;
  };
  txns: {
    key: number;
    value: StoredTransaction;
    indexes: { txnId: string };
  };
  meta: { key: string; value: MetaState };
}

/** The platform's IndexedDB: `globalThis` in a browser, fake-indexeddb in Node tests. */
export interface IndexedDBPlatform {
  /** The IDBFactory to open databases with (`globalThis.indexedDB`, or fake-indexeddb's). */
  indexedDB: IDBFactory;
  /** The IDBKeyRange constructor of the same implementation. */
  IDBKeyRange: typeof IDBKeyRange;
}

export class IndexedDBStorage extends StorageCore implements Storage {
  private constructor(
    /** The IndexedDB database's name, for messages. */
    private readonly dbName: string,
    private readonly db: IDBPDatabase<Schema>,
    private readonly keys: typeof IDBKeyRange,
    /** IndexedDB's own durability hint for commits: 'strict' flushes before completing. */
    private readonly durability: 'strict' | 'relaxed',
    /** The blob files, in the same IndexedDB database. */
    protected readonly blobs: BlobStore,
  ) {
    super();
  }

  /**
   * The meta's lastTid and nextOid as this storage's commits and newOids left them, on which the
   * next commit bets (indexeddb-commit.ts); undefined until the first commit, and after a failed
   * one. A wrong guess costs a second attempt, never a wrong answer.
   */
  private guess: Guess | undefined;
  /** Where this storage's restore commits left the meta's nextOid (see checkRestoreOids). */
  private restoredNext = ROOT_OID + 1;

  /**
   * Opens (creating, or upgrading to SCHEMA_VERSION) the IndexedDB database `shelfdb:<name>` of
   * `platform`, and removes what interrupted blob puts left.
   */
  static async open(
    name: string,
    platform: IndexedDBPlatform,
    durability: 'strict' | 'relaxed' = 'strict',
    options: IndexedDBOptions = {},
  ): Promise<IndexedDBStorage> {
    const grace = options.blobGraceMs === undefined ? undefined : checkGrace(options.blobGraceMs);
    const request = platform.indexedDB.open(indexedDBName(name), SCHEMA_VERSION);
    let blobStoresNew = false; // made now: no interrupted put can have left chunks in them
    request.onupgradeneeded = (event) => {
      const db = request.result;
      upgradeBlobStores(db, event.oldVersion);
      blobStoresNew = true;
      for (const store of ['records', 'txns', 'meta']) {
        if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
      }
      const txns = request.transaction?.objectStore('txns');
      if (txns !== undefined && !txns.indexNames.contains('txnId'))
        txns.createIndex('txnId', 'txnId');
    };
    try {
      const db = (await wrap(request)) as unknown as IDBPDatabase<Schema>;
      const blobs = new IndexedDBBlobStore(unwrap(db), platform.IDBKeyRange);
      const storage = new IndexedDBStorage(
        indexedDBName(name),
        db,
        platform.IDBKeyRange,
        durability,
        blobs,
      );
      if (grace !== undefined) storage.blobGraceMs = grace;
      try {
        if (!blobStoresNew) await blobs.clearTemporary(); // chunks of puts cut short
      } catch (error) {
        db.close();
        throw error;
      }
      return storage;
    } catch (error) {
      throw mapError(
        error,
        `opening the IndexedDB database shelfdb:${name}`,
        'The database was not opened; what it held is unchanged.',
      );
    }
  }

  /** Every revision of `oid` with a tid up to `to`. */
  private range(oid: number, to = MAX_TID): IDBKeyRange {
    return this.keys.bound([oid, 0], [oid, to]);
  }

  async load(oids: number[], atTid?: Tid): Promise<LoadedRecord[]> {
    this.checkOpen();
    checkLoad(oids, atTid);
    const tx = unwrap(this.begin((db) => db.transaction(['records', 'meta'], 'readonly')));
    const metaRead = requested<MetaState | undefined>(tx.objectStore('meta').get('state'));
    const store = tx.objectStore('records');
    // Without atTid, the newest revision of all is the one at the snapshot: the records store
    // holds no tid past meta.lastTid in this transaction (a commit writes both at once).
    const reads = newestRevisions(store, this.keys, oids, atTid ?? MAX_TID);
    const [stored, found] = await Promise.all([metaRead, reads]);
    const meta = stored ?? FRESH;
    const at = atTid ?? meta.lastTid;
    const out: LoadedRecord[] = [];
    const missing: number[] = [];
    for (const oid of oids) {
      const revision = found.get(oid);
      if (revision === undefined) {
        missing.push(oid);
        continue;
      }
      const { className, state, refs } = revision.value;
      out.push({ oid, className, state, refs, tid: revision.tid });
    }
    if (at < meta.floor && missing.length > 0) {
      const later = await Promise.all(
        missing.map((oid) => requested(store.getKey(this.range(oid)))),
      );
      const packed = missing.filter((_, i) => later[i] !== undefined);
      if (packed.length > 0) {
        throw new ReadConflictError(packed, packedMessage(packed, at));
      }
    }
    return out;
  }

  async newOids(count: number): Promise<number[]> {
    this.checkOpen();
    checkOidCount(count);
    const tx = this.begin((db) => db.transaction('meta', 'readwrite', { durability: 'strict' }));
    const first = await runWrite(
      tx,
      async (writes) => {
        const meta = (await tx.store.get('state')) ?? { ...FRESH };
        const first = meta.nextOid;
        meta.nextOid += count;
        writes.push(tx.store.put(meta, 'state'));
        return first;
      },
      `handing out ${count} oids`,
      'No oids were handed out.',
    );
    if (this.guess !== undefined && this.guess.nextOid === first) {
      this.guess = { ...this.guess, nextOid: first + count };
    }
    return Array.from({ length: count }, (_, i) => first + i);
  }

  async commit(txn: CommitRequest): Promise<Tid> {
    this.checkOpen();
    // Blob files are looked up first (commitIn validates the rest); without blob records this
    // turn. Checked once: the transactions below are begun in the turn the check ends in.
    // A resend that landed before its blob file went (a pack since) is answered with its tid.
    const blobsChecked = Array.isArray(txn?.records)
      ? this.checkBlobRecords(txn, (id) => this.landedTid(id))
      : undefined;
    const resent = blobsChecked === undefined ? undefined : await blobsChecked;
    if (resent !== undefined) return resent;
    let done: CommitDone;
    try {
      done = await this.commitOnce(txn, this.guess);
    } catch (error) {
      this.guess = undefined; // the next commit reads the meta first
      if (error instanceof Landed) return error.tid;
      if (!(error instanceof StaleGuess)) throw error;
      // Another writer, or a commit of this storage that failed: nothing was stored, again.
      done = await this.commitOnce(txn, undefined);
    }
    if (done.left !== undefined) this.guess = done.left;
    if (txn.restore !== undefined && done.left !== undefined) this.restoredNext = done.left.nextOid;
    const { announce } = done;
    if (announce !== undefined)
      this.listeners.announce(done.tid, announce.prevTid, announce.oids, txn.txnId);
    return done.tid;
  }

  /** The tid of the stored transaction of `txnId`, undefined when none landed. */
  private async landedTid(txnId: string): Promise<Tid | undefined> {
    if (typeof txnId !== 'string') return undefined;
    const key = await this.db.getKeyFromIndex('txns', 'txnId', txnId);
    return key as Tid | undefined;
  }

  /** One attempt at `txn` in a transaction of its own (indexeddb-commit.ts). */
  private commitOnce(txn: CommitRequest, guess: Guess | undefined): Promise<CommitDone> {
    const tx = this.begin((db) =>
      db.transaction(['records', 'txns', 'meta'], 'readwrite', { durability: this.durability }),
    );
    if (guess !== undefined && Array.isArray(txn.records) && txn.records.length > 0) {
      // The commit begun next runs after this one (IndexedDB orders them): it bets on this tid.
      this.guess = { lastTid: guess.lastTid + 1, nextOid: guess.nextOid };
    }
    return runWrite(
      tx,
      async () => {
        // In this transaction: a pack's chunk deletes before it, or its barrier sees this commit.
        if (txn.blobRefs !== undefined) await checkBlobRefsIn(unwrap(tx), this.keys, txn);
        return commitIn(unwrap(tx), this.keys, txn, guess, this.restoredNext);
      },
      'committing a transaction',
      'This commit was not stored; committed data is intact.',
    );
  }

  async sync(sinceTid: Tid): Promise<SyncResult> {
    this.checkOpen();
    checkTid('sync', sinceTid);
    const tx = this.begin((db) => db.transaction(['txns', 'meta'], 'readonly'));
    const meta = (await tx.objectStore('meta').get('state')) ?? FRESH;
    if (sinceTid >= meta.lastTid) return { tid: meta.lastTid, oids: [] };
    const txns = await tx.objectStore('txns').getAll(this.keys.lowerBound(sinceTid, true));
    const oids = new Set<number>();
    for (const t of txns) for (const oid of t.oids) oids.add(oid);
    return {
      tid: meta.lastTid,
      oids: [...oids],
      ...(sinceTid < meta.floor ? { reset: true } : {}),
    };
  }

  /**
   * The newest tid as pack is asked for: a read started now runs after the commits begun before it
   * and before any begun later (IndexedDB orders them), whenever the pack itself runs.
   */
  protected override packFloor(keepTid: Tid | undefined): Tid | Promise<Tid> {
    if (keepTid !== undefined) return keepTid;
    const tx = this.begin((db) => db.transaction('meta', 'readonly'));
    return tx
      .objectStore('meta')
      .get('state')
      .then((meta) => (meta ?? FRESH).lastTid);
  }

  /** Marks, then deletes in chunks, beside loads and commits (indexeddb-pack.ts). */
  protected packNow(keepTid: Tid | undefined, run: PackRun): Promise<PackResult> {
    return packIncrementally(
      {
        begin: (mode, durability = 'strict') => {
          const tx = this.begin((db) =>
            db.transaction(['records', 'txns', 'meta'], mode, { durability }),
          );
          // idb made a `done` promise for it that nobody awaits: the pack watches the raw
          // transaction's end itself (a failure reaches the pack from there, not from this one).
          tx.done.catch(() => undefined); // reported by the pack's own `finished`
          return unwrap(tx);
        },
        keys: this.keys,
      },
      keepTid,
      run,
    );
  }

  async stats(): Promise<StorageStats> {
    this.checkOpen();
    const tx = this.begin((db) => db.transaction(['meta', 'txns'], 'readonly'));
    const meta = (await tx.objectStore('meta').get('state')) ?? FRESH;
    const transactions = await tx.objectStore('txns').count();
    return {
      storage: 'indexeddb',
      objects: meta.objects,
      bytes: meta.bytes,
      garbageBytes: meta.garbageBytes,
      transactions,
      lastPack: meta.lastPack,
      ...(await this.blobStats()),
    };
  }

  async transactions(options: { limit?: number; before?: Tid } = {}): Promise<TransactionInfo[]> {
    this.checkOpen();
    const { limit = Infinity, before } = options;
    if (before !== undefined) checkTid('transactions', before);
    const out: TransactionInfo[] = [];
    const query = before === undefined ? null : this.keys.upperBound(before, true);
    const tx = this.begin((db) => db.transaction('txns'));
    for (
      let c = await tx.store.openCursor(query, 'prev');
      c !== null && out.length < limit;
      c = await c.continue()
    ) {
      const { txnId: _txnId, ...info } = c.value;
      out.push({ tid: c.key, ...info });
    }
    return out;
  }

  async history(oid: number, limit = Infinity): Promise<RevisionInfo[]> {
    this.checkOpen();
    checkOid('history', oid);
    const tx = this.begin((db) => db.transaction(['records', 'txns'], 'readonly'));
    const out: RevisionInfo[] = [];
    for (
      let c = await tx.objectStore('records').openCursor(this.range(oid), 'prev');
      c !== null && out.length < limit;
      c = await c.continue()
    ) {
      const tid = c.key[1];
      const t = await tx.objectStore('txns').get(tid);
      out.push({
        tid,
        time: t?.time ?? 0,
        note: t?.note ?? '',
        record: {
          oid,
          className: c.value.className,
          state: c.value.state,
          refs: c.value.refs,
          tid,
        },
      });
    }
    return out;
  }

  async close(): Promise<void> {
    if (!this.markClosed()) return;
    this.listeners.clear();
    this.db.close();
  }

  /**
   * Starts a transaction. Once the browser has closed the connection under this storage (site
   * data cleared, its IndexedDB backend failed: a 'close' event), every start throws
   * InvalidStateError, and nothing of this call has run: say so, and what to do.
   */
  private begin<T>(start: (db: IDBPDatabase<Schema>) => T): T {
    this.checkOpen(); // this page closed it: DatabaseClosedError, not the browser's doing
    try {
      return start(this.db);
    } catch (error) {
      if (error instanceof DOMException && error.name === 'InvalidStateError') {
        throw new StorageError(
          `The browser closed the IndexedDB database ${this.dbName} under this page (site data cleared, or its storage failed): ${error.message} Nothing was read or stored by this call. Reload the page to open the database again.`,
          { cause: error },
        );
      }
      throw mapError(
        error,
        `starting a transaction of ${this.dbName}`,
        'Nothing was read or stored by this call.',
      );
    }
  }
}
