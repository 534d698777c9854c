/**
 * IndexedDBStorage: the Storage contract over IndexedDB (through idb), for browsers whose workers
 * lack OPFS sync access handles. The IDBFactory is injected: fake-indexeddb in Node tests, the real
 * one in the browser.
 *
 * Stores of database `shelfdb:<name>`:
 *   records  key [oid, tid] → { className, state, refs }   every revision until pack
 *   txns     key tid        → { time, note, user, meta, oids, bytes }
 *   meta     key 'state'    → { lastTid, nextOid, objects, bytes, garbageBytes, lastPack, floor }
 *
 * A commit is one readwrite transaction with `durability: 'strict'` that checks conflicts and
 * writes, so the check and the write are atomic. Loads read each oid's newest revision at or before
 * the snapshot with one cursor request, all requests of a batch in one transaction.
 */
import { wrap, type DBSchema, type IDBPDatabase } from 'idb';
import {
  DatabaseClosedError,
  ReadConflictError,
  ShelfError,
  StorageFullError,
} from '../src/shared/errors.js';
import {
  ROOT_OID,
  type CommitRequest,
  type Invalidation,
  type LoadedRecord,
  type PackOptions,
  type PackResult,
  type RevisionInfo,
  type Storage,
  type StorageStats,
  type SyncResult,
  type Tid,
  type TransactionInfo,
  type VerifyProblem,
  type VerifyReport,
} from '../src/shared/storage.js';
import { verifyGraph } from './verify.js';
import { checkConflicts, checkOidCount, packedMessage, validateCommit } from './commit-checks.js';

interface MetaState {
  lastTid: Tid;
  nextOid: number;
  objects: number;
  bytes: number;
  garbageBytes: number;
  lastPack: number | undefined;
  /** Snapshots older than this tid may miss revisions pack removed; `sync` from before resets. */
  floor: Tid;
}

interface Schema extends DBSchema {
  records: {
    key: [number, number];
    value: { className: string; state: Uint8Array; refs: number[] };
  };
  txns: {
    key: number;
    value: Omit<TransactionInfo, 'tid'> & { txnId?: string };
    indexes: { txnId: string };
  };
  meta: { key: string; value: MetaState };
}

const FRESH: MetaState = {
  lastTid: 0,
  nextOid: ROOT_OID + 1,
  objects: 0,
  bytes: 0,
  garbageBytes: 0,
  lastPack: undefined,
  floor: 0,
};

const MAX_TID = Number.MAX_SAFE_INTEGER;

/** The platform's IndexedDB: `globalThis` in a browser, fake-indexeddb in Node tests. */
export interface IndexedDBPlatform {
  indexedDB: IDBFactory;
  IDBKeyRange: typeof IDBKeyRange;
}

function mapError(error: unknown): unknown {
  if ((error as { name?: string })?.name === 'QuotaExceededError') {
    return new StorageFullError(
      'The browser refused to store more (storage quota exceeded). This commit was not stored; committed data is intact. Free space (db.pack()) or ask for more with db.persist().',
      { cause: error },
    );
  }
  return error;
}

export class IndexedDBStorage implements Storage {
  private readonly listeners = new Set<(invalidation: Invalidation) => void>();
  private closed = false;

  private constructor(
    private readonly db: IDBPDatabase<Schema>,
    private readonly keys: typeof IDBKeyRange,
    /** IndexedDB's own durability hint for commits: 'strict' flushes before completing. */
    private readonly durability: 'strict' | 'relaxed',
  ) {}

  /** Opens (creating) the IndexedDB database `shelfdb:<name>` of `platform`. */
  static async open(
    name: string,
    platform: IndexedDBPlatform,
    durability: 'strict' | 'relaxed' = 'strict',
  ): Promise<IndexedDBStorage> {
    const request = platform.indexedDB.open(`shelfdb:${name}`, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const store of ['records', 'txns', 'meta']) {
        if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
      }
      const txns = request.transaction?.objectStore('txns');
      if (txns !== undefined && !txns.indexNames.contains('txnId'))
        txns.createIndex('txnId', 'txnId');
    };
    const db = (await wrap(request)) as unknown as IDBPDatabase<Schema>;
    return new IndexedDBStorage(db, platform.IDBKeyRange, durability);
  }

  /** Every revision of `oid` with a tid up to `to`. */
  private range(oid: number, to = MAX_TID): IDBKeyRange {
    return this.keys.bound([oid, 0], [oid, to]);
  }

  async load(oids: number[], atTid?: Tid): Promise<LoadedRecord[]> {
    this.checkOpen();
    const tx = this.db.transaction(['records', 'meta'], 'readonly');
    const meta = (await tx.objectStore('meta').get('state')) ?? FRESH;
    const at = atTid ?? meta.lastTid;
    const store = tx.objectStore('records');
    const found = await Promise.all(
      oids.map((oid) => store.openCursor(this.range(oid, at), 'prev')),
    );
    const missing = oids.filter((_, i) => found[i] === null);
    const out: LoadedRecord[] = [];
    found.forEach((cursor, i) => {
      if (cursor === null) return;
      const oid = oids[i] as number;
      const v = cursor.value;
      out.push({ oid, className: v.className, state: v.state, refs: v.refs, tid: cursor.key[1] });
    });
    if (at < meta.floor && missing.length > 0) {
      const later = await Promise.all(missing.map((oid) => store.getKey(this.range(oid))));
      const packed = missing.filter((_, i) => later[i] !== undefined);
      if (packed.length > 0) {
        throw new ReadConflictError(packed, packedMessage(packed, at));
      }
    }
    await tx.done;
    return out;
  }

  async newOids(count: number): Promise<number[]> {
    this.checkOpen();
    checkOidCount(count);
    const tx = this.db.transaction('meta', 'readwrite', { durability: 'strict' });
    const meta = (await tx.store.get('state')) ?? { ...FRESH };
    const first = meta.nextOid;
    meta.nextOid += count;
    await tx.store.put(meta, 'state');
    await tx.done;
    return Array.from({ length: count }, (_, i) => first + i);
  }

  async commit(txn: CommitRequest): Promise<Tid> {
    this.checkOpen();
    const tx = this.db.transaction(['records', 'txns', 'meta'], 'readwrite', {
      durability: this.durability,
    });
    let tid: Tid;
    let prevTid: Tid;
    try {
      const meta = (await tx.objectStore('meta').get('state')) ?? { ...FRESH };
      validateCommit(txn, meta.nextOid);
      if (txn.txnId !== undefined) {
        const landed = await tx.objectStore('txns').index('txnId').getKey(txn.txnId);
        if (landed !== undefined) {
          tx.abort();
          await tx.done.catch(() => undefined); // the abort we asked for
          return landed; // a resent commit: it is stored already
        }
      }
      const records = tx.objectStore('records');
      const latest = await Promise.all(
        txn.records.map((r) => records.openCursor(this.range(r.oid), 'prev')),
      );
      const pinned = await Promise.all(
        (txn.readCurrent ?? []).map((p) => records.openCursor(this.range(p.oid), 'prev')),
      );
      const newest = new Map<number, Tid>();
      [...txn.records, ...(txn.readCurrent ?? [])].forEach((r, i) => {
        const tid = (i < txn.records.length ? latest[i] : pinned[i - txn.records.length])?.key[1];
        if (tid !== undefined) newest.set(r.oid, tid);
      });
      checkConflicts(txn, (oid) => newest.get(oid));
      if (txn.records.length === 0) {
        tx.abort();
        await tx.done.catch(() => undefined); // the abort we asked for
        return meta.lastTid;
      }
      prevTid = meta.lastTid;
      tid = meta.lastTid + 1;
      let bytes = 0;
      txn.records.forEach((r, i) => {
        const before = latest[i];
        if (before === null || before === undefined) meta.objects++;
        else meta.garbageBytes += before.value.state.byteLength;
        bytes += r.state.byteLength;
        void records.put(
          { className: r.className, state: new Uint8Array(r.state), refs: [...r.refs] },
          [r.oid, tid],
        );
      });
      void tx.objectStore('txns').put(
        {
          time: Date.now(),
          note: txn.note ?? '',
          user: txn.user ?? '',
          meta: structuredClone(txn.meta ?? {}),
          oids: txn.records.map((r) => r.oid),
          bytes,
          ...(txn.txnId === undefined ? {} : { txnId: txn.txnId }),
        },
        tid,
      );
      meta.lastTid = tid;
      meta.bytes += bytes;
      void tx.objectStore('meta').put(meta, 'state');
      await tx.done;
    } catch (error) {
      if (!(error instanceof ShelfError) && !(error instanceof RangeError)) throw mapError(error);
      try {
        tx.abort();
      } catch {
        // already finished by the failure itself
      }
      await tx.done.catch(() => undefined); // the failure is the one reported
      throw error;
    }
    const oids = txn.records.map((r) => r.oid);
    const invalidation: Invalidation =
      txn.txnId === undefined ? { tid, prevTid, oids } : { tid, prevTid, oids, txnId: txn.txnId };
    for (const listener of this.listeners) queueMicrotask(() => listener(invalidation));
    return tid;
  }

  async sync(sinceTid: Tid): Promise<SyncResult> {
    this.checkOpen();
    const tx = this.db.transaction(['txns', 'meta'], 'readonly');
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

  async pack(options: PackOptions = {}): Promise<PackResult> {
    this.checkOpen();
    const tx = this.db.transaction(['records', 'meta'], 'readwrite', { durability: 'strict' });
    const meta = (await tx.objectStore('meta').get('state')) ?? { ...FRESH };
    const keep = options.keepTid ?? meta.lastTid;
    const records = tx.objectStore('records');
    const bytesBefore = meta.bytes;
    // Mark: the revisions each reachable object still needs, from the root over their refs.
    const needed = new Set<string>();
    const live = new Set<number>();
    const stack = [ROOT_OID];
    while (stack.length > 0) {
      const oid = stack.pop() as number;
      if (live.has(oid)) continue;
      let cursor = await records.openCursor(this.range(oid), 'prev');
      if (cursor === null) continue;
      live.add(oid);
      while (cursor !== null) {
        needed.add(`${oid}:${cursor.key[1]}`);
        for (const ref of cursor.value.refs) if (!live.has(ref)) stack.push(ref);
        if (cursor.key[1] <= keep) break;
        cursor = await cursor.continue();
      }
    }
    // Sweep every revision not needed.
    let revisionsRemoved = 0;
    let bytes = 0;
    const removedOids = new Set<number>();
    for (
      let cursor = await records.openCursor();
      cursor !== null;
      cursor = await cursor.continue()
    ) {
      const [oid, tid] = cursor.key;
      if (needed.has(`${oid}:${tid}`)) {
        bytes += cursor.value.state.byteLength;
        continue;
      }
      if (!live.has(oid)) removedOids.add(oid);
      revisionsRemoved++;
      await cursor.delete();
    }
    const time = Date.now();
    Object.assign(meta, {
      bytes,
      garbageBytes: 0,
      objects: live.size,
      lastPack: time,
      floor: keep,
    });
    await tx.objectStore('meta').put(meta, 'state');
    await tx.done;
    return {
      objectsRemoved: removedOids.size,
      revisionsRemoved,
      bytesBefore,
      bytesAfter: bytes,
      time,
    };
  }

  async verify(): Promise<VerifyReport> {
    this.checkOpen();
    const problems: VerifyProblem[] = [];
    await verifyGraph(this, problems);
    return { ok: problems.length === 0, problems };
  }

  async stats(): Promise<StorageStats> {
    this.checkOpen();
    const meta = (await this.db.get('meta', 'state')) ?? FRESH;
    return {
      storage: 'indexeddb',
      objects: meta.objects,
      bytes: meta.bytes,
      garbageBytes: meta.garbageBytes,
      transactions: await this.db.count('txns'),
      lastPack: meta.lastPack,
    };
  }

  async transactions(options: { limit?: number; before?: Tid } = {}): Promise<TransactionInfo[]> {
    this.checkOpen();
    const { limit = Infinity, before } = options;
    const out: TransactionInfo[] = [];
    const query = before === undefined ? null : this.keys.upperBound(before, true);
    for (
      let c = await this.db.transaction('txns').store.openCursor(query, 'prev');
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
    const tx = this.db.transaction(['records', 'txns'], 'readonly');
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

  subscribe(listener: (invalidation: Invalidation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.db.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new DatabaseClosedError('This storage is closed.');
  }
}
