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
 * Commit: the changed objects and every new object reachable from them are captured synchronously
 * (a PendingCommit: one instant of the app's objects), then sent as one `storage.commit` call.
 * Conflicts are first-committer-wins per object: each record carries the tid of the revision it was
 * based on. Every commit is a boundary: one that writes moves the snapshot to its own tid (pulling
 * what others committed before it, if any); one that writes nothing moves to the newest snapshot
 * the way `sync` does. A commit that failed with StorageBusyError may have landed: it is kept and
 * resent first by the next commit (see pending-commit.ts); until then the snapshot stays put.
 */
import {
  ConflictError,
  DatabaseClosedError,
  GhostError,
  ReadConflictError,
  ShelfError,
  StorageBusyError,
} from './shared/errors.js';
import type { Invalidation, LoadedRecord, Storage, StoredRecord, Tid } from './shared/storage.js';
import { ROOT_OID } from './shared/storage.js';
import { Cache } from './cache.js';
import { runTransaction } from './transact.js';
import { collectWrites, labelOf, PendingCommit } from './pending-commit.js';
import { Snapshot } from './snapshot.js';
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
  /** Before a connection learns its first snapshot: pins a tid at or below it (see Database). */
  holdSnapshot(conn: Connection): Promise<void>;
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
  /**
   * How many times a ConflictError makes `fn` run again on the newest snapshot, and, counted
   * apart, how many times a commit that failed with StorageBusyError is resent. Default 5.
   */
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

const closedError = (): DatabaseClosedError =>
  new DatabaseClosedError(
    'This connection is closed (or its database is). Open a new one with db.open().',
  );

/** How many objects one round trip of `crawl` loads. */
const CRAWL_BATCH = 100;

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
  /** The tid this connection reads at, and the invalidations waiting to be applied. */
  private readonly view: Snapshot;
  /** Stored objects changed since the last boundary. */
  private dirty = new Set<Persistent>();
  /** Objects pinned by readCurrent, with the serial that must still be current at commit. */
  private readonly pinned = new Map<number, Tid>();
  /** The conflict that makes this connection refuse writes until abort(). */
  private conflicted: ConflictError | undefined;
  /**
   * A transaction whose commit failed with StorageBusyError: it may have landed. The next commit
   * resends it (same request, same txnId) before anything else; abort() forgets it.
   */
  private uncertain: PendingCommit | undefined;
  /** The transaction whose commit call is in flight. */
  private sending: PendingCommit | undefined;
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
    this.view = new Snapshot({
      storage: host.storage,
      cache: this.cache,
      hold: () => host.holdSnapshot(this),
      moved: () => host.snapshotMoved(),
      changed: (tid, oids) => this.dispatchEvent(new ChangeEvent(tid, oids)),
      // Missed a message: ask the storage (sync applies the queue as it goes).
      missed: () => this.sync().catch((error: unknown) => this.reportError(error)),
      checkOpen: () => this.checkOpen(),
    });
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
        const refs = this.host.serializer.scan(getState(m), labelOf(m, this.host.registry));
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
   * transaction. Resolves to its tid. Like every commit, an empty one (nothing changed) is a
   * boundary: it writes nothing, moves to the newest snapshot and resolves to that tid.
   *
   * After a commit failed with StorageBusyError (not known whether it landed), the next commit
   * first resends that very transaction, which lands it exactly once; changes made since then are
   * committed after it as a transaction of their own (with these options), and the commit resolves
   * to the last tid.
   * @throws WriteConflictError / ReadConflictError: nothing stored; call abort() before writing again.
   * @throws SerializationError / UnregisteredClassError naming the path: nothing stored.
   * @throws StorageBusyError: not known whether it landed; commit() again resends it, abort() drops
   *   it (see `abort`).
   */
  commit(options: CommitOptions = {}): Promise<Tid> {
    if (this.closed) return Promise.reject(closedError());
    return this.serialize(() => this.commitNow(options));
  }

  /**
   * Drops uncommitted changes (changed objects become ghosts) and moves to the newest snapshot.
   *
   * After a commit failed with StorageBusyError, abort does not resend it and cannot unsend it: it
   * may have landed, or may still land. The connection stops waiting for it and forgets its txnId
   * (no later commit can reuse it); every object it wrote becomes a ghost, so what loads at the
   * new snapshot shows whether it landed.
   */
  abort(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    return this.serialize(async () => {
      this.uncertain?.forget(this.cache);
      this.uncertain = undefined;
      this.rollback();
      await this.view.pull();
      this.cache.shrink();
    });
  }

  /**
   * Moves to the newest snapshot, keeping uncommitted changes.
   * @throws ShelfError inside transact, or while a commit's fate is not known (StorageBusyError):
   *   call commit() to resend it or abort() to drop it first.
   */
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
      this.checkSettled('conn.sync()');
      await this.view.pull();
      this.cache.shrink();
    });
  }

  /**
   * Runs `fn`, commits, and returns what `fn` returned. When `fn` touches a ghost, its changes are
   * rolled back, the missing objects loaded in one round trip, and `fn` runs again; on a conflict
   * the connection aborts and `fn` runs again on the newest snapshot, up to `retries` times.
   * `fn` must have no side effects outside the database. When the commit fails with
   * StorageBusyError, it is resent (not run again: fn's changes are in it) up to `retries` times.
   * @throws ShelfError if the connection has uncommitted changes when transact starts, or a commit
   *   whose fate is not known (commit() or abort() it first).
   * @throws StorageBusyError when the storage stayed busy through every resend: not known whether
   *   it landed; commit() resends it once more, abort() drops it.
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
    // Running fn again while its last run may have landed would apply it twice.
    this.checkSettled('conn.transact()');
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
    this.uncertain = undefined;
    this.view.clear();
    this.cache.clear();
    this.host.forget(this);
  }

  // ─── state for apps and tests ─────────────────────────────────────────────

  /** The tid this connection reads at (undefined before its first use). */
  get snapshotTid(): Tid | undefined {
    return this.view.tid;
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

  /**
   * Ghosts least recently used clean objects down to the cache targets. Returns how many. Does
   * nothing while a commit's fate is not known: its objects must stay as it wrote them.
   */
  shrinkCache(): number {
    return this.uncertain === undefined ? this.cache.shrink() : 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * True after a commit failed with StorageBusyError (not known whether it landed), until commit()
   * resends it or abort() drops it. Meanwhile the snapshot does not move and sync() refuses.
   */
  get hasUncertainCommit(): boolean {
    return this.uncertain !== undefined;
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
    // A broadcast of our own transaction proves it landed, whatever happens to the answer.
    const txnId = invalidation.txnId;
    for (const pending of [this.sending, this.uncertain]) {
      if (txnId !== undefined && pending?.request.txnId === txnId) {
        pending.landedAt = invalidation.tid;
      }
    }
    this.view.receive(invalidation);
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

  /** @throws ShelfError while a commit's fate is not known. */
  private checkSettled(what: string): void {
    if (this.uncertain === undefined) return;
    throw new ShelfError(
      `${what}: the last commit of this connection failed with StorageBusyError and may have landed. Call conn.commit() to resend it (it lands once) or conn.abort() to drop it first.`,
    );
  }

  private get idle(): boolean {
    return (
      this.dirty.size === 0 && this.transacting === 0 && !this.busy && this.uncertain === undefined
    );
  }

  /**
   * Runs `op` after every earlier commit/abort/sync of this connection has settled. When none is
   * running, `op` starts synchronously, so a commit captures the objects as they are at the call.
   */
  private serialize<T>(op: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.checkOpen();
      if (this.view.tid === undefined) await this.view.start();
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
    await this.view.start();
    for (;;) {
      const wanted = [...new Set(oids.filter((oid) => this.isUnloaded(oid)))];
      if (wanted.length === 0) return;
      const at = this.view.tid as Tid;
      const records = await this.host.storage.load(wanted, at);
      this.checkOpen();
      if (this.view.tid !== at) continue; // moved while loading: those revisions may be stale
      for (const record of records) this.install(record);
      return;
    }
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
          baseTid: this.view.tid as Tid,
          records: [record],
          note: 'root',
        });
        await this.view.advance(tid);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        await this.view.pull(); // someone else made it first
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
    if (this.uncertain !== undefined) {
      // Its fate first: the very same request, whatever changed since.
      const tid = await this.send(this.uncertain);
      if (this.dirty.size === 0 && this.pinned.size === 0) {
        this.cache.shrink();
        return tid;
      }
    }
    const ctx = { jar: this, registry: this.host.registry, serializer: this.host.serializer };
    let writes = collectWrites(ctx, this.dirty);
    let fresh = writes.filter((w) => w.m.oid === undefined).length;
    let oids = this.host.takeOids(fresh);
    while (oids === undefined) {
      await this.host.reserveOids(fresh);
      // The app may have changed objects during the wait: collect again.
      writes = collectWrites(ctx, this.dirty);
      fresh = writes.filter((w) => w.m.oid === undefined).length;
      oids = this.host.takeOids(fresh);
    }
    if (writes.length === 0 && this.pinned.size === 0) {
      // Nothing to write, still a boundary: to the newest snapshot, as sync does.
      await this.view.pull();
      this.cache.shrink();
      return this.view.tid as Tid;
    }
    const pending = new PendingCommit(
      ctx,
      writes,
      oids,
      this.pinned,
      this.view.tid as Tid,
      options,
    );
    // From here on a change to a written object is a change for the next commit.
    this.dirty = new Set();
    this.pinned.clear();
    const tid = await this.send(pending);
    this.cache.shrink();
    return tid;
  }

  /**
   * Sends a captured transaction and settles what its fate means for the connection: landed, it
   * moves the snapshot (`advance`, or `pull` for one that wrote nothing); failed, everything is put
   * back; StorageBusyError, it is kept as `uncertain` for the next commit to resend.
   */
  private async send(pending: PendingCommit): Promise<Tid> {
    let tid = pending.landedAt;
    if (tid === undefined) {
      this.sending = pending;
      try {
        tid = await this.host.storage.commit(pending.request);
      } catch (error) {
        tid = pending.landedAt; // its broadcast may have come before the error
        if (tid === undefined && error instanceof StorageBusyError && !pending.isEmpty) {
          this.uncertain = pending;
          throw error;
        }
        if (tid === undefined) {
          // Nothing was stored (an empty one stores nothing anyway): as before the commit.
          this.uncertain = undefined;
          pending.undo(this.dirty, this.pinned);
          if (error instanceof ConflictError) this.conflicted = error;
          throw error;
        }
      } finally {
        this.sending = undefined;
      }
    }
    this.uncertain = undefined;
    if (pending.isEmpty) {
      // The answer is just the newest tid, not a transaction of ours: move like sync.
      await this.view.pull();
      return this.view.tid as Tid;
    }
    pending.landed(tid, this.cache);
    await this.view.advance(tid);
    this.host.committed();
    return tid;
  }

  /**
   * abort(), then loads the objects it turned into ghosts at the new snapshot in one round trip, so
   * a retried transaction does not have to meet each of them as a ghost first.
   */
  private abortAndReload(): Promise<void> {
    return this.serialize(async () => {
      const oids = this.rollback();
      await this.view.pull();
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

  /**
   * Applies queued invalidations that follow the snapshot, if the connection is idle and autoSync
   * is on; else only drops those it already includes (see Snapshot.applyQueued).
   */
  private applyQueued(): void {
    if (this.closed) return;
    if (this.view.applyQueued(this.autoSync && this.idle)) this.cache.shrink();
  }

  /** Errors of work the app did not call (background sync) are surfaced as an 'error' event. */
  private reportError(error: unknown): void {
    if (error instanceof DatabaseClosedError) return; // closing: nothing to sync any more
    this.dispatchEvent(new ConnectionErrorEvent(error));
  }
}
