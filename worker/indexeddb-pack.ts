/**
 * IndexedDBStorage's pack, run beside loads and commits: mark from the root in short readonly
 * transactions, then delete what is not needed in chunks of short readwrite transactions. No
 * transaction lasts longer than a slice (PackRun), so a commit waits at most for one chunk.
 *
 * Mark (IncrementalMark, reachability.ts): for each reachable object, the refs of every revision
 * a snapshot at or after `keep` can read (its newest at or before `keep`, and all later ones);
 * state is never decoded but a blob record's, whose blob file the pack keeps (PackRun.blobs).
 *
 * Write barrier: the commit stream itself. Every transaction of the pack first reads the
 * transactions stored since the last one it saw (the txns store: every writer's, this storage's
 * or another connection's) and shades the oids they wrote and the refs of those records. A chunk
 * deletes only when, inside its own readwrite transaction (ordered with every commit), the
 * barrier found nothing the mark had not reached: otherwise it writes nothing and the mark goes
 * on first. So an object a commit made reachable again during the pack survives.
 *
 * Sweep: the records store in key order ([oid, tid]), a batch of whole objects per chunk. A
 * revision is deleted when its object is unreachable (all its revisions) or a newer revision at
 * or before `keep` hides it; a revision written after the pack started is never deleted. Each
 * chunk updates the meta with what it deleted (bytes, garbageBytes, objects) and raises the floor
 * in the same transaction, so a database closed, crashed or aborted between chunks is valid and
 * its stats exact; `sync` from before the floor resets and a load of a removed revision raises
 * ReadConflictError, as after any pack.
 */
import type { PackResult, Tid } from '../src/shared/storage.js';
import { FRESH, MAX_TID, type MetaState, type StoredTransaction } from './indexeddb-commit.js';
import { awaitedLater, requested, type StoredValue } from './indexeddb-newest.js';
import { mapError, runWrite } from './indexeddb-writes.js';
import { TRANSACTION_SLICE_MS, type PackRun } from './pack-run.js';
import { IncrementalMark, type RefsFound } from './reachability.js';
import { keptBlobHash } from './blob-guard.js';

/** What the pack needs of its storage. */
export interface PackDatabase {
  /**
   * Starts a transaction over the records, txns and meta stores (the storage's own `begin`: a
   * closed storage or connection throws there, saying so).
   */
  begin(mode: 'readonly' | 'readwrite', durability?: 'strict' | 'relaxed'): IDBTransaction;
  /** The IDBKeyRange of the same IndexedDB implementation. */
  keys: typeof IDBKeyRange;
}

/** Fixed step sizes instead of the defaults: tests pause after a few oids or records. */
export interface PackTuning {
  /** Oids whose revisions one mark step reads at once. */
  markBatch?: number;
  /** Records every sweep chunk reads (fixed: not adapted to how long a chunk takes). */
  chunk?: number;
}

/** Oids whose revisions one mark step reads at once. */
const MARK_BATCH = 128;
/** Records a sweep chunk reads at first; the size then follows how long a chunk took. */
const FIRST_CHUNK = 256;
const MIN_CHUNK = 16;
const MAX_CHUNK = 8192;

/** [oid, tid]: a key of the records store. */
type Key = [number, number];

/** What the sweep deleted so far (the pack's result). */
interface Removed {
  objects: number;
  revisions: number;
  /** Objects removed by chunks not announced yet. */
  oids: number[];
}

/**
 * Packs the database of `db`, keeping what a snapshot at `keepTid` (undefined: the newest tid
 * when the pack starts) or later reads. Rejects with the signal's reason once aborted (at a
 * pause: everything deleted so far is consistent with the stats).
 */
export async function packIncrementally(
  db: PackDatabase,
  keepTid: Tid | undefined,
  run: PackRun,
  tuning: PackTuning = {},
): Promise<PackResult> {
  run.check();
  const pack = new Pack(db, run, tuning);
  try {
    const start = await pack.begin();
    const keep = Math.min(keepTid ?? start.lastTid, start.lastTid);
    await pack.mark(keep);
    const removed = await pack.sweep(keep);
    return await pack.finish(keep, start.bytes, removed);
  } catch (error) {
    // The signal's reason as it is (an abort() without one gives a DOMException, not a failure).
    if (run.signal?.aborted === true && error === run.signal.reason) throw error;
    throw mapError(
      error,
      'packing the database',
      'The pack stopped; what it deleted before is consistent with the stats, and the database is valid. Pack again to finish.',
    );
  }
}

class Pack {
  private readonly marking = new IncrementalMark();
  /** The newest tid whose transaction the barrier has shaded. */
  private seenTid = 0;
  /** The newest tid when the pack began: no revision after it is ever deleted. */
  private startTid = 0;
  /** Records in the store when the sweep began: the 'copy' phase's total. */
  private records = 0;

  constructor(
    private readonly db: PackDatabase,
    private readonly run: PackRun,
    private readonly tuning: PackTuning,
  ) {}

  /** Reads the meta the pack starts from and how many records there are. */
  async begin(): Promise<MetaState> {
    const tx = this.db.begin('readonly');
    const [meta, count] = await Promise.all([
      requested<MetaState | undefined>(tx.objectStore('meta').get('state')),
      requested(tx.objectStore('records').count()),
    ]);
    const state = meta ?? { ...FRESH };
    this.startTid = state.lastTid;
    this.seenTid = state.lastTid;
    this.records = count;
    return state;
  }

  /** Marks until every object reachable through what was shaded is live, a slice at a time. */
  async mark(keep: Tid): Promise<void> {
    for (;;) {
      const tx = this.db.begin('readonly');
      await this.barrier(tx);
      // At least one batch per transaction: each slice moves the mark on.
      for (let first = true; !this.marking.done && (first || !this.run.sliceOver); first = false) {
        const oids = this.marking.take(this.tuning.markBatch ?? MARK_BATCH);
        const refs = await keptRefs(tx, this.db.keys, oids, keep, (oid, value) =>
          this.run.keepBlob(keptBlobHash(oid, value)),
        );
        this.marking.found(oids, refs);
      }
      this.run.progress('mark', this.marking.marked, this.marking.known, this.marking.done);
      if (this.marking.done) return;
      await this.run.pause();
    }
  }

  /**
   * Shades what every transaction stored since `seenTid` wrote: its oids and its records' refs.
   * @returns whether that left the mark with work to do.
   */
  private async barrier(tx: IDBTransaction): Promise<boolean> {
    const meta = await requested<MetaState | undefined>(tx.objectStore('meta').get('state'));
    const lastTid = (meta ?? FRESH).lastTid;
    if (lastTid <= this.seenTid) return false;
    const since = this.db.keys.lowerBound(this.seenTid, true);
    const txns = tx.objectStore('txns');
    const [tids, infos] = await Promise.all([
      requested(txns.getAllKeys(since)),
      requested(txns.getAll(since)),
    ]);
    const records = tx.objectStore('records');
    const reads: Promise<StoredValue | undefined>[] = [];
    tids.forEach((tid, i) => {
      const { oids } = infos[i] as StoredTransaction;
      this.marking.shade(oids);
      for (const oid of oids) reads.push(requested(records.get([oid, tid as number])));
    });
    for (const value of await Promise.all(reads))
      if (value !== undefined) this.marking.shade(value.refs);
    this.seenTid = lastTid;
    return !this.marking.done;
  }

  /** Deletes what is not needed, chunk by chunk; marks again first when a commit shaded more. */
  async sweep(keep: Tid): Promise<Removed> {
    const removed: Removed = { objects: 0, revisions: 0, oids: [] };
    let from = 0; // the next chunk starts at this oid
    let size = this.tuning.chunk ?? FIRST_CHUNK;
    let visited = 0;
    for (;;) {
      const began = performance.now();
      const step = await this.chunk(from, size, keep, removed);
      if (step === 'remark') {
        await this.mark(keep);
        continue;
      }
      visited += step.visited;
      this.run.removed(this.seenTid, removed.oids.splice(0)); // the chunk is stored
      this.run.progress('copy', visited, Math.max(visited, this.records), step.next === undefined);
      if (step.next === undefined) return removed;
      from = step.next;
      // A chunk is a commit's wait: keep it within a slice.
      if (this.tuning.chunk === undefined) size = resized(size, performance.now() - began);
      await this.run.pause();
    }
  }

  /**
   * One chunk in one readwrite transaction: the barrier, then the whole objects among the next
   * `size` records from oid `from` on, their unneeded revisions deleted and the meta updated.
   * @returns 'remark' when a commit shaded what the mark had not reached (nothing was written);
   *   else the records visited and the oid the next chunk starts at (undefined: the last chunk).
   */
  private chunk(
    from: number,
    size: number,
    keep: Tid,
    removed: Removed,
  ): Promise<'remark' | { visited: number; next: number | undefined }> {
    // Relaxed: a chunk lost to a crash is only garbage the next pack deletes (the chunk's
    // deletions, stats and floor are one transaction, stored whole or not at all).
    const tx = this.db.begin('readwrite', 'relaxed');
    return runWrite(
      { abort: () => tx.abort(), done: finished(tx) },
      async () => {
        if (await this.barrier(tx)) return 'remark';
        const store = tx.objectStore('records');
        const range = this.db.keys.lowerBound([from, 0]);
        const metaRead = awaitedLater(
          requested<MetaState | undefined>(tx.objectStore('meta').get('state')),
        );
        let [keys, values] = await readRange(store, range, size);
        let end = keys.length;
        let next: number | undefined;
        if (keys.length === size) {
          // The last object may go on past the count: it is the next chunk's first, whole.
          const lastOid = (keys[end - 1] as Key)[0];
          while (end > 0 && (keys[end - 1] as Key)[0] === lastOid) end--;
          next = lastOid;
          if (end === 0) {
            // One object filled the count (it has that many revisions): all of it, in this chunk.
            [keys, values] = await readRange(
              store,
              this.db.keys.bound([lastOid, 0], [lastOid, MAX_TID]),
            );
            end = keys.length;
            next = lastOid + 1;
          }
        }
        const meta = await metaRead;
        const state = meta ?? { ...FRESH };
        let deleted = 0;
        for (let i = 0; i < end;) {
          let j = i;
          while (j < end && (keys[j] as Key)[0] === (keys[i] as Key)[0]) j++;
          deleted += this.sweepObject(store, keys, values, i, j, keep, state, removed);
          i = j;
        }
        if (deleted > 0) {
          // Raised with the first deletion, in its transaction: a snapshot older than `keep`
          // from now on hears ReadConflictError, a sync from before it resets.
          state.floor = Math.max(state.floor, keep);
          tx.objectStore('meta').put(state, 'state');
        }
        return { visited: end, next };
      },
      'packing the database (deleting unneeded revisions)',
      'This chunk of the pack was undone; what earlier chunks deleted stays deleted, and the stats match what is stored.',
    );
  }

  /**
   * Deletes the unneeded revisions of one object (keys[i..j), ascending tids) and takes them off
   * `meta`; returns how many.
   */
  private sweepObject(
    store: IDBObjectStore,
    keys: Key[],
    values: StoredValue[],
    i: number,
    j: number,
    keep: Tid,
    meta: MetaState,
    removed: Removed,
  ): number {
    const oid = (keys[i] as Key)[0];
    const newest = j - 1;
    // Unreachable: every revision goes (none is newer than the pack: the barrier made any
    // object a commit wrote since live). Reachable: those older than its newest at or before
    // `keep`.
    const dead = !this.marking.live.has(oid) && (keys[newest] as Key)[1] <= this.startTid;
    let keepFrom = i;
    if (!dead) {
      while (keepFrom + 1 < j && (keys[keepFrom + 1] as Key)[1] <= keep) keepFrom++;
    }
    const until = dead ? j : keepFrom;
    let garbage = 0;
    let bytes = 0;
    for (let k = i; k < until; k++) {
      const size = (values[k] as StoredValue).state.byteLength;
      bytes += size;
      if (k !== newest) garbage += size; // the newest revision's bytes are not garbage
      store.delete(keys[k] as Key);
    }
    if (until === i) return 0;
    meta.bytes -= bytes;
    // Never below zero: a pack of an earlier version zeroed garbageBytes while it kept the
    // revisions older snapshots read, which are garbage now.
    meta.garbageBytes = Math.max(0, meta.garbageBytes - garbage);
    if (dead) {
      meta.objects = Math.max(0, meta.objects - 1);
      removed.objects++;
      removed.oids.push(oid);
    }
    removed.revisions += until - i;
    return until - i;
  }

  /** Records the pack's time and floor in the meta (the last transaction); its result. */
  finish(keep: Tid, bytesBefore: number, removed: Removed): Promise<PackResult> {
    const tx = this.db.begin('readwrite', 'strict');
    return runWrite(
      { abort: () => tx.abort(), done: finished(tx) },
      async () => {
        const meta = (await requested<MetaState | undefined>(
          tx.objectStore('meta').get('state'),
        )) ?? {
          ...FRESH,
        };
        const time = Date.now();
        meta.lastPack = time;
        // The floor never goes down: an earlier pack may have removed revisions older than
        // this `keep` (a pin that came late asks to keep more than is left).
        meta.floor = Math.max(meta.floor, keep);
        tx.objectStore('meta').put(meta, 'state');
        return {
          objectsRemoved: removed.objects,
          revisionsRemoved: removed.revisions,
          bytesBefore,
          bytesAfter: meta.bytes,
          time,
        };
      },
      'packing the database (recording the pack)',
      'The pack deleted what it had to; only its time was not recorded.',
    );
  }
}

/**
 * For each of `oids` that has a revision: the refs of the revisions a snapshot at `keep` or later
 * reads (newest first, down to the newest at or before `keep`), each revision also handed to
 * `kept` (pack keeps the blob files of blob records). One cursor per oid, all at once.
 */
async function keptRefs(
  tx: IDBTransaction,
  keys: typeof IDBKeyRange,
  oids: number[],
  keep: Tid,
  kept: (oid: number, value: StoredValue) => void,
): Promise<RefsFound> {
  const store = tx.objectStore('records');
  const found = new Map<number, number[]>();
  await Promise.all(
    oids.map(
      (oid) =>
        new Promise<void>((resolve, reject) => {
          const request = store.openCursor(keys.bound([oid, 0], [oid, MAX_TID]), 'prev');
          request.onerror = () => reject(request.error ?? new DOMException('cursor failed'));
          request.onsuccess = () => {
            const cursor = request.result;
            if (cursor === null) return resolve();
            const refs = found.get(oid) ?? [];
            found.set(oid, refs);
            refs.push(...(cursor.value as StoredValue).refs);
            try {
              kept(oid, cursor.value as StoredValue);
            } catch (error) {
              return reject(error); // thrown in an event handler it would reach nobody
            }
            if ((cursor.key as Key)[1] <= keep) return resolve();
            cursor.continue();
          };
        }),
    ),
  );
  return found;
}

/** The next chunk's size after one of `size` records took `took` ms: about a slice. */
function resized(size: number, took: number): number {
  if (took > 2 * TRANSACTION_SLICE_MS) return Math.max(MIN_CHUNK, size >> 1);
  if (took < TRANSACTION_SLICE_MS / 2) return Math.min(MAX_CHUNK, size * 2);
  return size;
}

/** The keys and values in `range` of the records store, up to `count`. */
function readRange(
  store: IDBObjectStore,
  range: IDBKeyRange,
  count?: number,
): Promise<[Key[], StoredValue[]]> {
  return Promise.all([
    requested(store.getAllKeys(range, count)) as Promise<Key[]>,
    requested(store.getAll(range, count)) as Promise<StoredValue[]>,
  ]);
}

/** Settles when `tx` completes; rejects with its error when it aborts. */
function finished(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.addEventListener('complete', () => resolve());
    tx.addEventListener('abort', () =>
      reject(tx.error ?? new DOMException('The pack transaction was aborted.', 'AbortError')),
    );
  });
}
