/**
 * PendingCommit: one transaction captured by `conn.commit()`, from the instant its objects are
 * encoded until its fate is known.
 *
 * Capture is synchronous, so the transaction is one instant of the app's objects: the changed
 * objects and every new object reachable from them are found (`collectWrites`), the new ones get
 * their oids and the connection, each Blob not recorded yet an oid and a blob record (its bytes
 * were stored before: blob-uploads.ts), every written object becomes 'saved' (a change made after this is
 * a change for the next transaction) and the records are encoded into one `CommitRequest`.
 *
 * Fate, as the storage answers:
 * - a tid: it landed (`landed` gives the written objects their serial and the new ones a place in
 *   the cache);
 * - a definite error (conflict, full disk…): nothing was stored, and `undo` puts every object back
 *   as it was before the commit (new objects lose their oids; changed objects are changed again);
 * - StorageBusyError: not known (README, Busy). The connection keeps this PendingCommit
 *   (the very request: same records, same txnId) and resends it before it commits anything else; a
 *   storage that holds the txnId answers with its tid, so it lands exactly once. Changes the app
 *   makes meanwhile go in a following transaction, never under this txnId: a storage answering
 *   "already landed" for it would drop them silently. While it waits, its objects stay as captured
 *   (the connection does not move its snapshot, shrink its cache or sync).
 * - `forget` (abort() while not known): the connection stops waiting. It may have landed, or may
 *   still land (a frozen owner thawing); the txnId goes with it, so no later commit can reuse it.
 *   Every object it wrote becomes a ghost, so loads at the next snapshot show whichever happened,
 *   and abort() names the held ones among them in its 'change' (landed or not).
 */
import { ShelfError, UnregisteredClassError } from './shared/errors.js';
import { PackedCommitRequest, unpackRecords } from './shared/record-batch.js';
import type { CommitRequest, StoredRecord, Tid } from './shared/storage.js';
import { getState, ghostify, metaOf, type Jar, type Meta, type Persistent } from './persistent.js';
import type { Cache } from './cache.js';
import type { ClassRegistry } from './registry.js';
import type { Serializer } from './serialize.js';
import type { BlobTagFields } from './blob-tag.js';
import { blobRecord, type BlobCatalog } from './blob-uploads.js';

/** What `conn.commit(options)` stores with the transaction. */
export interface CommitOptions {
  /** A note stored with the transaction (`db.transactions()` and `conn.history()` show it). */
  note?: string;
  /** Who committed, as the app names them. */
  user?: string;
  /** JSON-serializable metadata stored with the transaction. */
  meta?: Record<string, unknown>;
}

/** What capturing a transaction needs from its connection. */
export interface CaptureContext {
  readonly jar: Jar;
  readonly registry: ClassRegistry;
  readonly serializer: Serializer;
  /** A new client-made transaction id (see TxnIds). */
  newTxnId(): string;
}

/** An object about to be written by a commit (its state is read from it when the commit is captured). */
export interface Write {
  m: Meta;
  refs: Persistent[];
  /** The Blobs its state holds (stored before capture, recorded at it). */
  blobs: Blob[];
}

/** How an object is named in messages and serialization paths: `Todo 12`, `new Project`. */
export function labelOf(m: Meta, registry: ClassRegistry): string {
  const cls =
    m.className ?? registry.nameOf(m.target.constructor as never) ?? m.target.constructor.name;
  return m.oid === undefined ? `new ${cls}` : `${cls} ${m.oid}`;
}

/**
 * Client-made transaction ids, so a commit resent after a lost answer is stored once: a random
 * prefix drawn once (a UUID: 122 random bits) and a counter, unique across tabs, connections and
 * sessions without a call to the random source per commit (`crypto.randomUUID` cost ~10 µs of a
 * small commit's page time in Chromium).
 */
export class TxnIds {
  private readonly prefix = randomId();
  private count = 0;

  /** The next id. */
  next(): string {
    return `${this.prefix}.${(this.count++).toString(36)}`;
  }
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Finds what a commit writes: the changed objects, and new objects reachable from them (scanned
 * breadth-first; each state scanned once). Validates everything before anything is written.
 * @throws ShelfError for a reference to another connection's object; UnregisteredClassError.
 */
export function collectWrites(ctx: CaptureContext, dirty: Iterable<Persistent>): Write[] {
  const writes: Write[] = [];
  const queued = new Set<Persistent>();
  const pending: Persistent[] = [];
  for (const obj of dirty) {
    queued.add(obj);
    pending.push(obj);
  }
  const { registry, serializer } = ctx;
  for (let i = 0; i < pending.length; i++) {
    const m = metaOf(pending[i] as Persistent);
    // Labels and paths are for error messages only: made when one is thrown.
    const label = (): string => labelOf(m, registry);
    const blobs: Blob[] = [];
    const refs = serializer.scanFields(m.target, label, blobs);
    for (const ref of refs) {
      if (queued.has(ref)) continue;
      const rm = metaOf(ref);
      if (rm.jar !== undefined && rm.jar !== ctx.jar) {
        throw new ShelfError(
          `${serializer.pathTo(getState(m), label(), ref)} references ${rm.className} ${rm.oid} of another connection. Objects cannot be shared between connections: get it through this one (conn.get(${rm.oid})).`,
        );
      }
      if (rm.oid === undefined) {
        const ctor = rm.target.constructor as never;
        if (registry.nameOf(ctor) === undefined) {
          throw new UnregisteredClassError(
            (ctor as { name: string }).name,
            serializer.pathTo(getState(m), label(), ref),
          );
        }
        queued.add(ref);
        pending.push(ref);
      }
    }
    writes.push({ m, refs, blobs });
  }
  return writes;
}

export class PendingCommit {
  /** What is sent, and resent unchanged while its fate is not known. */
  readonly request: CommitRequest;
  /** The oids of the objects it writes (new ones included), in the order of its records. */
  readonly oids: number[];
  /** The size of each record's state, in the same order. */
  private readonly sizes: number[];
  /** The objects written, in the order of `request.records`. */
  private readonly written: Meta[];
  /** The objects this transaction gave their first oid. */
  private readonly fresh: Meta[];
  /** The readCurrent pins it carries (taken from the connection; given back by `undo`). */
  private readonly pins: Map<number, Tid>;
  /** Records written as they are, after the objects' (importCopy's copy; given back by `undo`). */
  private readonly carried: readonly StoredRecord[];
  /** The Blobs it records, with their tags (their oids are among `oids`). */
  readonly newBlobs: ReadonlyMap<Blob, Readonly<BlobTagFields>>;
  /** The blob records its records reference without carrying them (`CommitRequest.blobRefs`). */
  private readonly blobRefs: number[];
  /** The database's Blobs (a Serializer without a catalog never lets a Blob reach capture). */
  private readonly catalog: BlobCatalog;
  /**
   * The tid it landed under, when an invalidation carrying its txnId said so before an answer did
   * (the answer was lost, the broadcast was not): then it is known without resending.
   */
  landedAt: Tid | undefined;

  /**
   * Captures a transaction: gives the new objects among `writes` the `oids` (one each, in order)
   * and the connection, marks every written object saved, and encodes the records, each state
   * read from its object straight into one record batch, then the `carried` records as they are
   * (new objects that no object of the connection stands for yet: importCopy's copy), then a blob
   * record for each of `blobs` (stored, not recorded yet: they take the `oids` after the new
   * objects'). Synchronous.
   */
  constructor(
    ctx: CaptureContext,
    writes: Write[],
    oids: number[],
    pins: Map<number, Tid>,
    baseTid: Tid,
    options: CommitOptions,
    carried: readonly StoredRecord[] = [],
    blobs: readonly Blob[] = [],
  ) {
    const fresh: Meta[] = [];
    for (const w of writes) {
      const m = w.m;
      if (m.oid !== undefined) continue;
      m.oid = oids[fresh.length];
      m.className = ctx.registry.nameOf(m.target.constructor as never);
      m.jar = ctx.jar;
      fresh.push(m);
    }
    const isFresh = new Set(fresh);
    // Blobs reach capture only through a catalog (planBlobs refuses them without one).
    const catalog = ctx.serializer.blobs as BlobCatalog;
    const newBlobs = new Map<Blob, Readonly<BlobTagFields>>();
    blobs.forEach((blob, i) => {
      newBlobs.set(blob, catalog.newFields(blob, oids[fresh.length + i] as number));
    });
    // The blob records referenced and not carried (recorded by earlier commits): the storage
    // checks they are still there (pack may have removed one while the app held its Blob).
    const blobRefs = new Set<number>();
    const blobOid = (b: Blob): number => {
      const carried = newBlobs.get(b);
      if (carried !== undefined) return carried.oid;
      const { oid } = catalog.fieldsOf(b) as BlobTagFields;
      blobRefs.add(oid);
      return oid;
    };
    const sources = writes.map((w) => ({
      oid: w.m.oid as number,
      // A new object's serial is of no revision (it may have been stored and ghosted before).
      tid: isFresh.has(w.m) ? undefined : w.m.serial,
      className: w.m.className as string,
      fields: w.m.target,
      refs: w.refs.map((r) => metaOf(r).oid as number).concat([...new Set(w.blobs.map(blobOid))]),
    }));
    let packed: ReturnType<Serializer['packCommit']>;
    try {
      packed = ctx.serializer.packCommit(sources, newBlobs);
    } catch (error) {
      // Nothing is sent: the new objects get back to having no oid. Left with one, the next
      // commit would take them for stored objects and not write them (the encoder reads the
      // fields again after the scan, so a getter can fail it where the scan did not).
      for (const m of fresh) {
        m.oid = undefined;
        m.className = undefined;
        m.jar = undefined;
      }
      throw error;
    }
    const { buffer, length, stateSizes } = packed;
    this.oids = sources.map((r) => r.oid);
    const records = carried.concat([...newBlobs.values()].map(blobRecord));
    for (const r of records) this.oids.push(r.oid);
    this.carried = carried;
    this.newBlobs = newBlobs;
    this.blobRefs = [...blobRefs];
    this.catalog = catalog;
    this.sizes = stateSizes;
    this.written = writes.map((w) => w.m);
    for (const m of this.written) m.status = 'saved';
    this.fresh = fresh;
    this.pins = new Map(pins);
    const fields = {
      baseTid,
      readCurrent: [...pins].map(([oid, tid]) => ({ oid, tid })),
      ...options,
      ...(this.blobRefs.length > 0 ? { blobRefs: this.blobRefs } : {}),
      // Only a transaction that writes needs an identity: an empty one stores nothing to repeat.
      ...(this.oids.length > 0 ? { txnId: ctx.newTxnId() } : {}),
    };
    // Carried and blob records are bytes already: a plain request holds both kinds (a commit that
    // records new Blobs, or importCopy's).
    this.request =
      records.length === 0
        ? new PackedCommitRequest(fields, buffer, length)
        : { ...fields, records: unpackRecords(buffer.slice(0, length)).concat(records) };
  }

  /** Writes nothing (only readCurrent pins): its fate never needs to be known. */
  get isEmpty(): boolean {
    return this.oids.length === 0;
  }

  /** It landed as `tid`: the written objects are now that revision (a later change stays one). */
  landed(tid: Tid, cache: Cache): void {
    // From now on, committing one of these Blobs again references its record.
    if (this.newBlobs.size > 0) this.catalog.landed(this.newBlobs);
    for (const m of this.fresh) cache.add(m.self);
    this.written.forEach((m, i) => {
      m.serial = tid;
      m.size = this.sizes[i] as number;
      cache.noteLoaded(m.self);
    });
  }

  /**
   * Nothing was stored: puts every object back as it was before the commit (new objects unsaved
   * without oid or connection, changed objects changed again in `dirty`), and gives back the pins
   * to `pinned` (where a newer pin of the same object wins) and the carried records to `carried`.
   */
  undo(dirty: Set<Persistent>, pinned: Map<number, Tid>, carried: StoredRecord[] = []): void {
    const isFresh = new Set(this.fresh);
    for (const m of this.written) {
      if (isFresh.has(m)) {
        m.oid = undefined;
        m.jar = undefined;
        m.className = undefined;
        m.status = 'unsaved';
        dirty.delete(m.self);
      } else if (m.status === 'saved') {
        m.status = 'unsaved';
        dirty.add(m.self);
      }
    }
    for (const [oid, tid] of this.pins) if (!pinned.has(oid)) pinned.set(oid, tid);
    for (const r of this.carried) carried.push(r);
    // Refused: perhaps because pack removed a blob record it referenced (the next commit asks).
    if (this.blobRefs.length > 0) this.catalog.doubt(this.blobRefs);
  }

  /**
   * The connection stops waiting for its fate (abort): every object it wrote that is unchanged
   * since becomes a ghost, and the new ones join the cache by their oids, so they load as stored
   * if it landed. Objects changed since are left to the caller's rollback (they are in `dirty`).
   * Returns the oids it turned into ghosts: what shows them must hear of it even when the
   * transaction did not land (then nobody else names them, and a draft would stay on screen).
   */
  forget(cache: Cache): number[] {
    for (const m of this.fresh) cache.add(m.self);
    const ghosted: number[] = [];
    for (const m of this.written) {
      if (m.status !== 'saved') continue;
      cache.noteGhost(m.self);
      ghostify(m);
      ghosted.push(m.oid as number);
    }
    return ghosted;
  }
}
