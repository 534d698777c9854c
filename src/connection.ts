/**
 * Connection: one cache and one snapshot of a database, and the transactions made through them.
 *
 * Snapshot: every load reads the revisions as of `snapshot` (MVCC), whatever others commit
 * meanwhile. The snapshot moves only at a boundary: `commit`, `abort`, `sync`, or, with `autoSync`,
 * when an invalidation arrives while the connection is idle (no changed objects, no commit and no
 * `transact` running). Moving it turns the objects others changed into ghosts and fires `'change'`.
 *
 * Invalidations arrive pushed (`receive`, from the Database's storage subscription) and are queued;
 * each carries the tid before it (`prevTid`), so a gap (a missed message) is noticed and answered
 * by pulling `storage.sync(snapshot)`, which is also what `abort` and `sync` always do.
 *
 * Commit: the changed objects and every new object reachable from them are scanned and encoded
 * synchronously (so the transaction captures one instant of the app's objects), then sent as one
 * `storage.commit` call. Conflicts are first-committer-wins per object: each record carries the
 * tid of the revision it was based on.
 */
import {
  ConflictError,
  DatabaseClosedError,
  GhostError,
  ReadConflictError,
  ShelfError,
  UnregisteredClassError,
} from './shared/errors.js';
import type { Invalidation, LoadedRecord, Storage, StoredRecord, Tid } from './shared/storage.js';
import { ROOT_OID } from './shared/storage.js';
import { Cache } from './cache.js';
import { runTransaction } from './transact.js';
import {
  getState,
  ghostify,
  makeGhost,
  metaOf,
  Persistent,
  setState,
  type Jar,
  type Meta,
} from './persistent.js';
import { PersistentDict } from './persistent-dict.js';
import { BrokenObject } from './broken-object.js';
import type { ClassRegistry } from './registry.js';
import type { Serializer } from './serialize.js';

/** What a Connection needs from its Database. */
export interface ConnectionHost {
  readonly storage: Storage;
  readonly registry: ClassRegistry;
  readonly serializer: Serializer;
  readonly cacheSize: number;
  readonly cacheBytes: number;
  /** Fresh oids from the database's pool, synchronously, or undefined if it holds fewer. */
  takeOids(count: number): number[] | undefined;
  /** Refills the pool so that `takeOids(count)` succeeds. */
  reserveOids(count: number): Promise<void>;
  /** A connection closed itself. */
  forget(conn: Connection): void;
  /** A connection's snapshot moved (or appeared). */
  snapshotMoved(): void;
  /** A connection committed a transaction. */
  committed(): void;
}

export interface CommitOptions {
  note?: string;
  user?: string;
  /** JSON-serializable metadata stored with the transaction. */
  meta?: Record<string, unknown>;
}

export interface TransactOptions extends CommitOptions {
  /** How many times a ConflictError makes `fn` run again on the newest snapshot. Default 5. */
  retries?: number;
}

/** Fired when other connections or tabs committed objects this connection holds. */
export class ChangeEvent extends Event {
  constructor(
    /** The snapshot the connection moved to. */
    readonly tid: Tid,
    /** The oids of the objects this connection held that changed (now ghosts unless changed here). */
    readonly oids: number[],
  ) {
    super('change');
  }
}

/** An error of work the app did not call itself (a background sync after a missed message). */
export class ConnectionErrorEvent extends Event {
  constructor(readonly error: unknown) {
    super('error');
  }
}

/** One revision from `history`. */
export interface Revision {
  tid: Tid;
  time: number;
  note: string;
  state: Record<string, unknown>;
}

/** A client-made transaction id: a commit resent after a lost answer is stored once. */
function newTxnId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

const closedError = (): DatabaseClosedError =>
  new DatabaseClosedError(
    'This connection is closed (or its database is). Open a new one with db.open().',
  );

/** How many objects one round trip of `crawl` loads. */
const CRAWL_BATCH = 100;

/** An object about to be written by a commit. */
interface Write {
  m: Meta;
  state: Record<string, unknown>;
  refs: Persistent[];
  label: string;
}

export class Connection extends EventTarget implements Jar {
  /**
   * Apply invalidations as soon as they arrive while the connection is idle (no changed objects,
   * no commit or transact running). Otherwise they wait for the next boundary.
   */
  autoSync = true;
  /** The database's services. */
  private readonly host: ConnectionHost;
  /** Objects by oid, loaded and ghosts. */
  private readonly cache: Cache;
  /** The tid this connection reads at; undefined until its first use. */
  private snapshot: Tid | undefined;
  /** Resolves once `snapshot` is known. */
  private starting: Promise<void> | undefined;
  /** Stored objects changed since the last boundary. */
  private dirty = new Set<Persistent>();
  /** Objects pinned by readCurrent, with the serial that must still be current at commit. */
  private readonly pinned = new Map<number, Tid>();
  /** Pushed invalidations not yet applied. */
  private queue: Invalidation[] = [];
  /** The conflict that makes this connection refuse writes until abort(). */
  private conflicted: ConflictError | undefined;
  /** Nesting depth of `transact`. */
  private transacting = 0;
  /** Serializes commit, abort and sync: settles when the last one queued has. */
  private exclusive: Promise<unknown> = Promise.resolve();
  /** How many commit/abort/sync calls are queued or running. */
  private running = 0;
  /** A commit, abort or sync is running. */
  private busy = false;
  private closed = false;

  /** @internal Use `db.open()`. */
  constructor(host: ConnectionHost) {
    super();
    this.host = host;
    this.cache = new Cache(host.cacheSize, host.cacheBytes);
  }

  // ─── reading ──────────────────────────────────────────────────────────────

  /** The root object, a loaded PersistentDict, created by the first connection that asks. */
  async root(): Promise<PersistentDict> {
    for (;;) {
      const root = await this.get(ROOT_OID);
      if (root !== undefined) {
        if (!(root instanceof PersistentDict)) {
          throw new ShelfError(
            `The root object (oid 0) is a ${metaOf(root).className}, not a PersistentDict: this storage was not written by shelfdb's Connection.`,
          );
        }
        return root;
      }
      await this.createRoot();
    }
  }

  /**
   * The object stored under `oid`, loaded; undefined if it was never stored (or packed away).
   * @throws DatabaseClosedError after close.
   */
  async get(oid: number): Promise<Persistent | undefined> {
    if (!Number.isSafeInteger(oid) || oid < 0) {
      throw new RangeError(`conn.get: ${String(oid)} is not an oid (a non-negative integer).`);
    }
    await this.fetch([oid]);
    const obj = this.cache.get(oid);
    return obj !== undefined && metaOf(obj).status !== 'ghost' ? obj : undefined;
  }

  /**
   * Loads ghosts in one round trip and returns them: `load(a)` resolves to `a`, `load(a, b)` to
   * `[a, b]`. Loaded and new objects are returned as they are.
   * @throws ReadConflictError if an object's revision for this snapshot no longer exists.
   */
  load<T extends Persistent>(obj: T): Promise<T>;
  load<T extends Persistent[]>(...objs: T): Promise<T>;
  async load(...objs: Persistent[]): Promise<Persistent | Persistent[]> {
    await this.prefetch(...objs);
    for (const obj of objs) {
      const m = metaOf(obj);
      if (m.status === 'ghost') {
        throw new ReadConflictError(
          [m.oid as number],
          `${m.className} ${m.oid} has no revision at this connection's snapshot (it was packed away). Call conn.abort() to move to the newest snapshot.`,
        );
      }
    }
    return objs.length === 1 ? (objs[0] as Persistent) : objs;
  }

  /** Loads many objects (or oids) in one round trip, without returning them. */
  async prefetch(...objsOrOids: (Persistent | number)[]): Promise<void> {
    const oids: number[] = [];
    for (const x of objsOrOids) {
      if (typeof x === 'number') {
        oids.push(x);
        continue;
      }
      const m = metaOf(x);
      if (m.status !== 'ghost') continue;
      this.checkOwn(m);
      oids.push(m.oid as number);
    }
    await this.fetch(oids);
  }

  /**
   * Every object reachable from `start` (itself included), loaded, in breadth-first order; loads
   * happen in batches of 100 per round trip.
   */
  async *crawl(start: Persistent): AsyncGenerator<Persistent> {
    const seen = new Set<Persistent>([start]);
    const frontier: Persistent[] = [start];
    while (frontier.length > 0) {
      const batch = frontier.splice(0, CRAWL_BATCH);
      await this.prefetch(...batch);
      for (const obj of batch) {
        const m = metaOf(obj);
        if (m.status === 'ghost') continue; // gone at this snapshot
        // A BrokenObject's stored fields sit in its `state`, which this scan covers too.
        const refs = this.host.serializer.scan(getState(m), this.label(m));
        for (const ref of refs) {
          if (!seen.has(ref)) {
            seen.add(ref);
            frontier.push(ref);
          }
        }
        yield obj;
      }
    }
  }

  /** The stored revisions of one object still in the log, newest first. */
  async history(obj: Persistent, limit?: number): Promise<Revision[]> {
    this.checkOpen();
    const m = metaOf(obj);
    if (m.oid === undefined) return [];
    this.checkOwn(m);
    const revisions = await this.host.storage.history(m.oid, limit);
    return revisions.map((r) => ({
      tid: r.tid,
      time: r.time,
      note: r.note,
      state: this.host.serializer.decode(r.record.state, this.resolve),
    }));
  }

  /**
   * Pins an object's current revision: the next commit fails with ReadConflictError if another
   * connection committed a change to it meanwhile. For decisions made on objects not written.
   * @throws GhostError on a ghost (load it first).
   */
  readCurrent(obj: Persistent): void {
    this.checkOpen();
    const m = metaOf(obj);
    if (m.oid === undefined) return; // new: nobody else can have changed it
    this.checkOwn(m);
    if (m.status === 'ghost') throw new GhostError(m.oid, m.className ?? '');
    if (!this.pinned.has(m.oid)) this.pinned.set(m.oid, m.serial as Tid);
  }

  // ─── writing ──────────────────────────────────────────────────────────────

  /**
   * Writes every changed object and every new object reachable from them in one atomic, durable
   * transaction. Resolves to its tid (an empty commit writes nothing and resolves to the snapshot).
   * @throws WriteConflictError / ReadConflictError: nothing stored; call abort() before writing again.
   * @throws SerializationError / UnregisteredClassError naming the path: nothing stored.
   */
  commit(options: CommitOptions = {}): Promise<Tid> {
    if (this.closed) return Promise.reject(closedError());
    return this.serialize(() => this.commitNow(options));
  }

  /**
   * Drops uncommitted changes (changed objects become ghosts) and moves to the newest snapshot.
   */
  abort(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    return this.serialize(async () => {
      this.rollback();
      await this.pull();
      this.cache.shrink();
    });
  }

  /** Moves to the newest snapshot, keeping uncommitted changes. */
  sync(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    if (this.transacting > 0) {
      return Promise.reject(
        new ShelfError(
          'conn.sync() inside transact(): the snapshot of a transaction does not move. Call it outside.',
        ),
      );
    }
    return this.serialize(async () => {
      await this.pull();
      this.cache.shrink();
    });
  }

  /**
   * Runs `fn`, commits, and returns what `fn` returned. When `fn` touches a ghost, its changes are
   * rolled back, the missing objects loaded in one round trip, and `fn` runs again; on a conflict
   * the connection aborts and `fn` runs again on the newest snapshot, up to `retries` times.
   * `fn` must have no side effects outside the database.
   * @throws ShelfError if the connection has uncommitted changes when transact starts.
   * @example
   * await conn.transact(() => { root.get('counter').value += 1; });
   */
  async transact<T>(fn: () => T | Promise<T>, options: TransactOptions = {}): Promise<T> {
    this.checkOpen();
    const { retries = 5, ...commitOptions } = options;
    if (!Number.isInteger(retries) || retries < 0) {
      throw new RangeError(`transact: retries must be a non-negative integer, got ${retries}.`);
    }
    if (this.transacting > 0) {
      throw new ShelfError(
        'conn.transact() was called inside another transact() of the same connection.',
      );
    }
    if (this.dirty.size > 0) {
      throw new ShelfError(
        `conn.transact() started with ${this.dirty.size} uncommitted change(s) on this connection. Commit or abort them first.`,
      );
    }
    this.transacting++;
    try {
      return await runTransaction(
        {
          commit: (o) => this.commit(o),
          rollback: () => this.rollback(),
          fetch: (oids) => this.fetch(oids),
          abortAndReload: () => this.abortAndReload(),
        },
        fn,
        retries,
        commitOptions,
      );
    } finally {
      this.transacting--;
      this.applyQueued();
    }
  }

  /** Closes this connection: its objects become unusable for writes. Harmless twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dirty.clear();
    this.queue = [];
    this.cache.clear();
    this.host.forget(this);
  }

  // ─── state for apps and tests ─────────────────────────────────────────────

  /** The tid this connection reads at (undefined before its first use). */
  get snapshotTid(): Tid | undefined {
    return this.snapshot;
  }

  /** Numbers of loaded objects and their stored bytes, and of uncommitted changed objects. */
  cacheInfo(): { loaded: number; bytes: number; known: number; changed: number } {
    return {
      loaded: this.cache.loadedCount,
      bytes: this.cache.bytes,
      known: this.cache.knownCount,
      changed: this.dirty.size,
    };
  }

  /** Ghosts least recently used clean objects down to the cache targets. Returns how many. */
  shrinkCache(): number {
    return this.cache.shrink();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ─── Jar: called by persistent objects ───────────────────────────────────

  /** @internal */
  noteChanged(obj: Persistent): void {
    this.checkOpen();
    this.dirty.add(obj);
  }

  /** @internal Called by the Database for every commit the storage announces. */
  receive(invalidation: Invalidation): void {
    if (this.closed) return;
    this.queue.push(invalidation);
    this.applyQueued();
  }

  // ─── internals ────────────────────────────────────────────────────────────

  private checkOpen(): void {
    if (this.closed) throw closedError();
  }

  private checkOwn(m: Meta): void {
    if (m.jar !== undefined && m.jar !== this) {
      throw new ShelfError(
        `${m.className} ${m.oid} belongs to another connection. Objects cannot be shared between connections: get it through this connection (conn.get(${m.oid})).`,
      );
    }
  }

  private label(m: Meta): string {
    const cls =
      m.className ??
      this.host.registry.nameOf(m.target.constructor as never) ??
      m.target.constructor.name;
    return m.oid === undefined ? `new ${cls}` : `${cls} ${m.oid}`;
  }

  private get idle(): boolean {
    return this.dirty.size === 0 && this.transacting === 0 && !this.busy;
  }

  /**
   * Runs `op` after every earlier commit/abort/sync of this connection has settled. When none is
   * running, `op` starts synchronously, so a commit captures the objects as they are at the call.
   */
  private serialize<T>(op: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.checkOpen();
      if (this.snapshot === undefined) await this.start();
      this.busy = true;
      try {
        return await op();
      } finally {
        this.busy = false;
      }
    };
    const result = this.running === 0 ? run() : this.exclusive.then(run, run);
    this.running++;
    const done = (): void => {
      this.running--;
      this.applyQueued();
    };
    this.exclusive = result.then(done, done);
    return result;
  }

  /** Learns the newest tid on first use. */
  private start(): Promise<void> {
    this.starting ??= (async () => {
      // A sinceTid past the newest answers with just the newest tid.
      const { tid } = await this.host.storage.sync(Number.MAX_SAFE_INTEGER);
      this.moveSnapshot(tid);
      this.queue = this.queue.filter((inv) => inv.tid > tid);
    })();
    return this.starting;
  }

  /** The object for a stored reference: the one this connection has, or a new ghost. */
  private readonly resolve = (oid: number, className: string): Persistent => {
    const known = this.cache.get(oid);
    if (known !== undefined) return known;
    const cls = this.host.registry.classOf(className);
    const ghost =
      cls === undefined
        ? makeGhost(BrokenObject, oid, className, this, true)
        : makeGhost(cls, oid, className, this);
    this.cache.add(ghost);
    return ghost;
  };

  /** Loads the ghosts among `oids` at the snapshot, in one round trip (again if it moved). */
  private async fetch(oids: number[]): Promise<void> {
    this.checkOpen();
    await this.start();
    for (;;) {
      const wanted = [...new Set(oids.filter((oid) => this.isUnloaded(oid)))];
      if (wanted.length === 0) return;
      const at = this.snapshot as Tid;
      const records = await this.host.storage.load(wanted, at);
      this.checkOpen();
      if (this.snapshot !== at) continue; // moved while loading: those revisions may be stale
      for (const record of records) this.install(record);
      return;
    }
  }

  /** Sets the snapshot and tells the database (which pins the oldest one against pack). */
  private moveSnapshot(tid: Tid): void {
    this.snapshot = tid;
    this.host.snapshotMoved();
  }

  private isUnloaded(oid: number): boolean {
    const obj = this.cache.get(oid);
    return obj === undefined || metaOf(obj).status === 'ghost';
  }

  /** Fills the ghost (making it first if needed) for a loaded record. */
  private install(record: LoadedRecord): void {
    const obj = this.resolve(record.oid, record.className);
    const m = metaOf(obj);
    if (m.status !== 'ghost') return;
    let state = this.host.serializer.decode(record.state, this.resolve);
    if (m.readonly) {
      state = { state };
    } else {
      const upgrade = (m.target as { _p_upgrade?: unknown })._p_upgrade;
      if (typeof upgrade === 'function') {
        state = upgrade.call(obj, state) as Record<string, unknown>;
        if (typeof state !== 'object' || state === null) {
          throw new ShelfError(
            `${m.className}._p_upgrade must return the fields to use (an object).`,
          );
        }
      }
    }
    setState(m, state, record.tid, record.state.byteLength);
    this.cache.noteLoaded(obj);
  }

  /** Makes the root PersistentDict (oid 0) if nobody has; losing the race is fine. */
  private async createRoot(): Promise<void> {
    await this.serialize(async () => {
      const serializer = this.host.serializer;
      const record: StoredRecord = {
        oid: ROOT_OID,
        className: this.host.registry.nameOf(PersistentDict) as string,
        state: serializer.encode(getState(metaOf(new PersistentDict()))),
        refs: [],
      };
      try {
        const tid = await this.host.storage.commit({
          baseTid: this.snapshot as Tid,
          records: [record],
          note: 'root',
        });
        await this.advance(tid);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        await this.pull(); // someone else made it first
      }
    });
  }

  private async commitNow(options: CommitOptions): Promise<Tid> {
    if (this.conflicted !== undefined) {
      throw new ShelfError(
        'This connection had a conflict and cannot write until conn.abort() is called.',
        { cause: this.conflicted },
      );
    }
    let writes = this.collectWrites();
    let fresh = writes.filter((w) => w.m.oid === undefined);
    let oids = this.host.takeOids(fresh.length);
    while (oids === undefined) {
      await this.host.reserveOids(fresh.length);
      // The app may have changed objects during the wait: collect again.
      writes = this.collectWrites();
      fresh = writes.filter((w) => w.m.oid === undefined);
      oids = this.host.takeOids(fresh.length);
    }
    if (writes.length === 0 && this.pinned.size === 0) {
      this.cache.shrink(); // still a boundary: the cache may shrink
      return this.snapshot as Tid;
    }

    // Give new objects their oids and this connection, then encode: all synchronous.
    const isFresh = new Set(fresh);
    fresh.forEach((w, i) => {
      w.m.oid = oids[i];
      w.m.className = this.host.registry.nameOf(w.m.target.constructor as never);
      w.m.jar = this;
    });
    const records: StoredRecord[] = writes.map((w) => {
      const record: StoredRecord = {
        oid: w.m.oid as number,
        className: w.m.className as string,
        state: this.host.serializer.encode(w.state),
        refs: w.refs.map((r) => metaOf(r).oid as number),
      };
      if (w.m.serial !== undefined && !isFresh.has(w)) record.tid = w.m.serial;
      return record;
    });
    // From here on a change to a written object is a change for the next commit.
    const written = writes.map((w) => w.m);
    for (const m of written) m.status = 'saved';
    this.dirty = new Set();
    const pinned = [...this.pinned].map(([oid, tid]) => ({ oid, tid }));

    let tid: Tid;
    try {
      tid = await this.host.storage.commit({
        baseTid: this.snapshot as Tid,
        records,
        readCurrent: pinned,
        ...options,
        txnId: newTxnId(),
      });
    } catch (error) {
      // Nothing was stored: put everything back as it was before the commit.
      for (const w of writes) {
        if (isFresh.has(w)) {
          w.m.oid = undefined;
          w.m.jar = undefined;
          w.m.className = undefined;
          w.m.status = 'unsaved';
          this.dirty.delete(w.m.self);
        } else if (w.m.status === 'saved') {
          w.m.status = 'unsaved';
          this.dirty.add(w.m.self);
        }
      }
      if (error instanceof ConflictError) this.conflicted = error;
      throw error;
    }
    this.pinned.clear();
    for (const w of fresh) this.cache.add(w.m.self);
    records.forEach((record, i) => {
      const m = written[i] as Meta;
      m.serial = tid;
      m.size = record.state.byteLength;
      this.cache.noteLoaded(m.self);
    });
    await this.advance(tid);
    this.cache.shrink();
    this.host.committed();
    return tid;
  }

  /**
   * Finds what a commit writes: the changed objects, and new objects reachable from them (scanned
   * breadth-first; each state scanned once). Validates everything before anything is written.
   */
  private collectWrites(): Write[] {
    const writes: Write[] = [];
    const queued = new Set<Persistent>();
    const pending: Persistent[] = [];
    for (const obj of this.dirty) {
      queued.add(obj);
      pending.push(obj);
    }
    const registry = this.host.registry;
    for (let i = 0; i < pending.length; i++) {
      const m = metaOf(pending[i] as Persistent);
      const label = this.label(m);
      const state = getState(m);
      const refs = this.host.serializer.scan(state, label);
      for (const ref of refs) {
        if (queued.has(ref)) continue;
        const rm = metaOf(ref);
        if (rm.jar !== undefined && rm.jar !== this) {
          throw new ShelfError(
            `${this.host.serializer.pathTo(state, label, ref)} references ${rm.className} ${rm.oid} of another connection. Objects cannot be shared between connections: get it through this one (conn.get(${rm.oid})).`,
          );
        }
        if (rm.oid === undefined) {
          const ctor = rm.target.constructor as never;
          if (registry.nameOf(ctor) === undefined) {
            throw new UnregisteredClassError(
              (ctor as { name: string }).name,
              this.host.serializer.pathTo(state, label, ref),
            );
          }
          queued.add(ref);
          pending.push(ref);
        }
      }
      writes.push({ m, state, refs, label });
    }
    return writes;
  }

  /**
   * abort(), then loads the objects it turned into ghosts at the new snapshot in one round trip, so
   * a retried transaction does not have to meet each of them as a ghost first.
   */
  private abortAndReload(): Promise<void> {
    return this.serialize(async () => {
      const oids = this.rollback();
      await this.pull();
      await this.fetch(oids);
    });
  }

  /** Ghosts every changed object and forgets pins and conflicts. Returns the oids ghosted. */
  private rollback(): number[] {
    const oids: number[] = [];
    for (const obj of this.dirty) {
      const m = metaOf(obj);
      this.cache.noteGhost(obj);
      ghostify(m);
      oids.push(m.oid as number);
    }
    this.dirty.clear();
    this.pinned.clear();
    this.conflicted = undefined;
    return oids;
  }

  /** After our own commit `tid`: move the snapshot there, invalidating what others wrote between. */
  private async advance(tid: Tid): Promise<void> {
    if (tid === (this.snapshot as Tid) + 1) {
      this.moveSnapshot(tid);
      this.applyQueued(true);
      return;
    }
    await this.pull();
  }

  /** Asks the storage what changed since the snapshot and moves to the newest. */
  private async pull(): Promise<void> {
    const since = this.snapshot as Tid;
    const result = await this.host.storage.sync(since);
    if (result.tid < (this.snapshot as Tid)) return; // an answer older than what we know
    if (result.reset) {
      const held: number[] = [];
      for (const obj of [...this.cache.loadedObjects()]) {
        const m = metaOf(obj);
        if (m.status !== 'saved') continue;
        this.cache.noteGhost(obj);
        ghostify(m);
        held.push(m.oid as number);
      }
      this.moveSnapshot(result.tid);
      this.announce(result.tid, held);
    } else {
      this.moveTo(result.tid, result.oids);
    }
    this.queue = this.queue.filter((inv) => inv.tid > result.tid);
  }

  /** Moves the snapshot to `tid`, ghosting the clean objects among `oids`, and fires 'change'. */
  private moveTo(tid: Tid, oids: Iterable<number>): void {
    const held: number[] = [];
    for (const oid of oids) {
      const obj = this.cache.get(oid);
      if (obj === undefined) continue;
      const m = metaOf(obj);
      if (m.status === 'ghost') continue;
      if (m.status === 'saved') {
        this.cache.noteGhost(obj);
        ghostify(m);
      }
      held.push(oid);
    }
    this.moveSnapshot(tid);
    this.announce(tid, held);
  }

  private announce(tid: Tid, oids: number[]): void {
    if (oids.length > 0) this.dispatchEvent(new ChangeEvent(tid, oids));
  }

  /**
   * Applies queued invalidations that follow the snapshot without a gap, if the connection is idle
   * and autoSync is on (or `force`, right after our own commit, when only older ones are dropped).
   * A gap means a message was missed: pull instead.
   */
  private applyQueued(force = false): void {
    if (this.closed || this.snapshot === undefined) return;
    this.queue = this.queue.filter((inv) => inv.tid > (this.snapshot as Tid));
    if (force || this.queue.length === 0 || !this.autoSync || !this.idle) return;
    this.queue.sort((a, b) => a.tid - b.tid);
    while (this.queue.length > 0) {
      const inv = this.queue[0] as Invalidation;
      if (inv.prevTid !== this.snapshot) {
        // Missed one: ask the storage (sync applies the queue as it goes).
        this.sync().catch((error: unknown) => this.reportError(error));
        return;
      }
      this.queue.shift();
      this.moveTo(inv.tid, inv.oids);
    }
    this.cache.shrink();
  }

  /** Errors of work the app did not call (background sync) are surfaced as an 'error' event. */
  private reportError(error: unknown): void {
    if (error instanceof DatabaseClosedError) return; // closing: nothing to sync any more
    this.dispatchEvent(new ConnectionErrorEvent(error));
  }
}
