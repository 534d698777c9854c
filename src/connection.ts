/**
 * Connection: one cache and one snapshot of a database, and the transactions made through them.
 *
 * Snapshot: every load reads the revisions as of `snapshot` (MVCC), whatever others commit
 * meanwhile. The snapshot moves only at a boundary: `commit`, `abort`, `sync`, or, with `autoSync`,
 * when an invalidation arrives while the connection is idle (no changed objects, no commit and no
 * `transact` running). Moving it turns the objects others changed into ghosts and fires `'change'`.
 * Every commit is a boundary: one that writes moves to its own tid and fires `'commit'`, one that
 * writes nothing to the newest snapshot, as `sync` does, and fires nothing of its own.
 *
 * The Connection is the API and the boundaries (which calls may run when, and when the snapshot
 * may move). It delegates: the tid read at and the invalidations pushed meanwhile (gaps included)
 * to its Snapshot (snapshot.ts); reading to its Loader (loader.ts); writing, and the fate of a
 * commit that failed with StorageBusyError, to its Committer (committer.ts, pending-commit.ts);
 * running one boundary call at a time to its CallQueue (call-queue.ts).
 *
 * Time travel: a connection opened with `db.open({ at })` reads at that tid forever (a fixed
 * Snapshot) and refuses every write (read-only.ts says how).
 */
import { DatabaseClosedError, GhostError, ShelfError } from './shared/errors.js';
import type { Invalidation, Tid } from './shared/storage.js';
import { Cache, type CacheInfo } from './cache.js';
import { runTransaction, splitTransactOptions, type TransactOptions } from './transact.js';
import type { CommitOptions } from './pending-commit.js';
import { Snapshot } from './snapshot.js';
import { Loader, type Revision } from './loader.js';
import { Committer } from './committer.js';
import { CallQueue } from './call-queue.js';
import { ChangeEvent, CommitEvent, ConnectionErrorEvent, StaleEvent } from './events.js';
import { readOnlyError, refuseChange } from './read-only.js';
import { metaOf, Persistent, type Jar } from './persistent.js';
import type { PersistentDict } from './persistent-dict.js';
import type { ConnectionHost } from './connection-host.js';
import { findRoot, noRootError } from './root.js';

const closedError = (): DatabaseClosedError =>
  new DatabaseClosedError(
    'This connection is closed (or its database is). Open a new one with db.open().',
  );

/**
 * A connection to a database: its own cache of objects and its own snapshot (the consistent state
 * as of its last commit, abort or sync), and the transactions made through them. Get one with
 * `db.open()`; open as many as you like. Fires `'change'` (ChangeEvent) when its snapshot moves to
 * include others' commits, `'commit'` (CommitEvent) when a commit of its own wrote objects,
 * `'stale'` (StaleEvent) when others commit objects it holds before it can move, and `'error'`
 * (ConnectionErrorEvent) for work the app did not call itself. Listening to both 'change' and
 * 'commit' hears of every change to the objects it holds, whoever made it.
 * @example
 * const conn = db.open();
 * const root = await conn.root();
 * root.set('greeting', 'hello');
 * await conn.commit({ note: 'greeting' });
 */
export class Connection extends EventTarget implements Jar {
  /**
   * Apply invalidations as soon as they arrive while the connection is idle (no changed objects,
   * no commit or transact running). Otherwise they wait for the next boundary. False, and without
   * effect, on a historical connection (`db.open({ at })`), whose snapshot never moves.
   */
  autoSync = true;
  /** The database's services. */
  private readonly host: ConnectionHost;
  /** Objects by oid, loaded and ghosts. */
  private readonly cache: Cache;
  /** The tid this connection reads at, and the invalidations waiting to be applied. */
  private readonly view: Snapshot;
  /** Loads objects at the snapshot and makes ghosts for references. */
  private readonly loader: Loader;
  /** The changed objects, the pins, and the commits sent (and their fate). */
  private readonly committer: Committer;
  /** A `transact` is running (it cannot nest: transact refuses to start inside another). */
  private transacting = false;
  /** Runs commit, abort and sync one at a time. */
  private readonly calls = new CallQueue(() => this.applyQueued());
  private closed = false;
  /**
   * The tid a historical connection (`db.open({ at })`) reads at, read-only and never moving;
   * undefined for an ordinary connection.
   */
  readonly at: Tid | undefined;

  /** @internal Use `db.open()` (or `db.open({ at })`). */
  constructor(host: ConnectionHost, at?: Tid) {
    super();
    this.host = host;
    this.at = at;
    if (at !== undefined) this.autoSync = false; // its snapshot never moves
    this.cache = new Cache(host.cacheSize, host.cacheBytes);
    this.view = new Snapshot(
      {
        storage: host.storage,
        cache: this.cache,
        hold: () => host.holdSnapshot(this),
        moved: () => host.snapshotMoved(),
        changed: (tid, oids) => {
          if (!this.closed) this.dispatchEvent(new ChangeEvent(tid, oids));
        },
        stale: (tid, oids) => this.dispatchEvent(new StaleEvent(tid, oids)),
        // After a load's pause (Snapshot.pause), in a task of its own: the code after `await
        // load()` reads what was loaded before autoSync makes it a ghost, as after any load.
        resumed: () => void setTimeout(() => this.applyQueued(), 0),
        // Missed a message: ask the storage (sync applies the queue as it goes).
        missed: () => this.sync().catch((error: unknown) => this.reportError(error)),
        checkOpen: () => this.checkOpen(),
      },
      at,
    );
    const parts = {
      storage: host.storage,
      registry: host.registry,
      serializer: host.serializer,
      cache: this.cache,
      view: this.view,
      jar: this,
    };
    this.loader = new Loader({ ...parts, checkOpen: () => this.checkOpen() });
    this.committer = new Committer({
      ...parts,
      takeOids: (count) => host.takeOids(count),
      reserveOids: (count) => host.reserveOids(count),
      committed: (tid, oids) => {
        // A commit sent before close() may land after it: it resolves, but a closed connection
        // fires nothing (what listened has been torn down with it).
        if (!this.closed) this.dispatchEvent(new CommitEvent(tid, oids));
        host.committed();
      },
      moveFailed: (error) => this.reportError(error),
    });
  }

  // ─── reading ──────────────────────────────────────────────────────────────

  /** The root object, a loaded PersistentDict, created by the first connection that asks. */
  root(): Promise<PersistentDict> {
    return findRoot({ get: (oid) => this.get(oid), create: () => this.createRoot() });
  }

  /**
   * The object stored under `oid`, loaded; undefined if it was never stored (or packed away).
   * @throws DatabaseClosedError after close.
   */
  async get(oid: number): Promise<Persistent | undefined> {
    if (!Number.isSafeInteger(oid) || oid < 0) {
      throw new RangeError(`conn.get: ${String(oid)} is not an oid (a non-negative integer).`);
    }
    await this.loader.fetch([oid]);
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
    await this.loader.load(objs);
    return objs.length === 1 ? (objs[0] as Persistent) : objs;
  }

  /** Loads many objects (or oids) in one round trip, without returning them. */
  prefetch(...objsOrOids: (Persistent | number)[]): Promise<void> {
    return this.loader.prefetch(objsOrOids);
  }

  /**
   * Every object reachable from `start` (itself included), loaded, in breadth-first order; loads
   * happen in batches of 100 per round trip.
   */
  crawl(start: Persistent): AsyncGenerator<Persistent> {
    return this.loader.crawl(start);
  }

  /** Stored bytes of the revision `obj` holds; undefined for a ghost or an object never stored. */
  storedSize(obj: Persistent): number | undefined {
    const m = metaOf(obj);
    return m.status === 'ghost' || m.serial === undefined ? undefined : m.size;
  }

  /** The stored revisions of one object still in the log, newest first. */
  history(obj: Persistent, limit?: number): Promise<Revision[]> {
    return this.loader.history(obj, limit);
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
    this.loader.checkOwn(m);
    if (m.status === 'ghost') throw new GhostError(m.oid, m.className ?? '');
    this.committer.pin(m.oid, m.serial as Tid);
  }

  /**
   * Keeps `obj` in memory, loaded, until the returned function is called: the cache does not turn
   * it into a ghost to meet its size targets, and `'change'` names it whenever others commit it,
   * even while it is a ghost (abort() ghosts what a commit of unknown fate wrote). For objects the
   * app shows (shelfdb/react's hooks hold what they render): 'change' names only the objects a
   * connection has loaded or holds, so an object evicted from the cache while on screen would not
   * be named when another tab changes it. Holds are counted per object; each release function
   * works once. Holding a ghost keeps it once loaded. After `close()` holding does nothing.
   * @throws ShelfError if `obj` belongs to another connection.
   * @example
   * const release = conn.hold(todo);
   * // … while todo is on screen, 'change' and 'commit' name it whenever it changes …
   * release();
   */
  hold(obj: Persistent): () => void {
    this.loader.checkOwn(metaOf(obj));
    if (this.closed) return () => undefined;
    return this.cache.hold(obj);
  }

  // ─── writing ──────────────────────────────────────────────────────────────

  /**
   * Writes every changed object and every new object reachable from them in one atomic, durable
   * transaction. Resolves to its tid, after firing `'commit'` (CommitEvent) naming the objects
   * written. Once it landed it resolves, also when moving the snapshot past others' commits fails
   * (that error is fired as `'error'`, ConnectionErrorEvent, and the next boundary moves it). Like every commit, an empty one (nothing changed) is a boundary: it writes nothing,
   * fires no 'commit', moves to the newest snapshot and resolves to that tid.
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
    if (this.at !== undefined) return Promise.reject(readOnlyError(this.at, 'conn.commit()'));
    return this.serialize(() => this.committer.commit(options));
  }

  /**
   * Drops uncommitted changes (changed objects become ghosts) and moves to the newest snapshot.
   * Its `'change'` names, besides what others committed, the objects held with `hold` whose
   * changes it dropped: what shows them must show the stored state again.
   *
   * After a commit failed with StorageBusyError, abort does not resend it and cannot unsend it: it
   * may have landed, or may still land. The connection stops waiting for it and forgets its txnId
   * (no later commit can reuse it); every object it wrote becomes a ghost, so what loads at the
   * new snapshot shows whether it landed, and 'change' names the held ones among them either way.
   */
  abort(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    return this.serialize(async () => {
      const forgotten = this.committer.dropUncertain();
      const dropped = this.committer.rollback();
      // Held objects (what the app shows) whose changes were dropped are named in 'change', those
      // of a commit whose fate was not known too: if it did not land, nobody else names them.
      await this.view.pull([...forgotten, ...dropped]);
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
    if (this.transacting) {
      return Promise.reject(
        new ShelfError(
          'conn.sync() inside transact(): the snapshot of a transaction does not move. Call it outside.',
        ),
      );
    }
    return this.serialize(async () => {
      this.committer.checkSettled('conn.sync()');
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
   * Whenever fn's changes are dropped (fn threw, or runs again), `'change'` names the objects held
   * with `hold` among them, at the same tid if the snapshot stays: what shows them may have
   * rendered the changes while fn awaited.
   * @throws ShelfError if the connection has uncommitted changes when transact starts, or a commit
   *   whose fate is not known (commit() or abort() it first).
   * @throws StorageBusyError when the storage stayed busy through every resend: not known whether
   *   it landed; commit() resends it once more, abort() drops it.
   * @example
   * await conn.transact(() => { root.get('counter').value += 1; });
   */
  async transact<T>(fn: () => T | Promise<T>, options: TransactOptions = {}): Promise<T> {
    this.checkOpen();
    if (this.at !== undefined) throw readOnlyError(this.at, 'conn.transact()');
    const { retries, commitOptions } = splitTransactOptions(options);
    if (this.transacting) {
      throw new ShelfError(
        'conn.transact() was called inside another transact() of the same connection.',
      );
    }
    if (this.committer.changedCount > 0) {
      throw new ShelfError(
        `conn.transact() started with ${this.committer.changedCount} uncommitted change(s) on this connection. Commit or abort them first.`,
      );
    }
    // Running fn again while its last run may have landed would apply it twice.
    this.committer.checkSettled('conn.transact()');
    this.transacting = true;
    try {
      return await runTransaction(
        {
          commit: (o) => this.commit(o),
          rollback: () => this.rollbackChanges(),
          fetch: (oids) => this.loader.fetch(oids),
          abortAndReload: () => this.abortAndReload(),
        },
        fn,
        retries,
        commitOptions,
      );
    } finally {
      this.transacting = false;
      this.applyQueued();
    }
  }

  /**
   * Closes this connection: its objects become unusable for writes. Harmless twice. It fires no
   * event after this, not even for a commit sent before that lands after it (that commit still
   * resolves to its tid).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.committer.clear();
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
  cacheInfo(): CacheInfo {
    return {
      loaded: this.cache.loadedCount,
      bytes: this.cache.bytes,
      known: this.cache.knownCount,
      changed: this.committer.changedCount,
      held: this.cache.heldCount,
    };
  }

  /**
   * Ghosts least recently used clean objects down to the cache targets. Returns how many. Does
   * nothing while a commit's fate is not known: its objects must stay as it wrote them.
   */
  shrinkCache(): number {
    return this.committer.isUncertain ? 0 : this.cache.shrink();
  }

  /** True after `close()` (or the database's close). */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * True after a commit failed with StorageBusyError (not known whether it landed), until commit()
   * resends it or abort() drops it. Meanwhile the snapshot does not move and sync() refuses.
   */
  get hasUncertainCommit(): boolean {
    return this.committer.isUncertain;
  }

  /** @internal src/archive's record-level work: the database's services, and Committer.carry. */
  get archiveAccess(): { host: ConnectionHost; carry: Committer['carry'] } {
    return { host: this.host, carry: (records, oid, c) => this.committer.carry(records, oid, c) };
  }

  // ─── Jar: called by persistent objects ───────────────────────────────────

  /** @internal */
  noteChanged(obj: Persistent, applied: boolean): void {
    this.checkOpen();
    if (this.at !== undefined) refuseChange(obj, applied, this.at, this.cache);
    this.committer.noteChanged(obj);
    this.view.warnWaiting(); // no longer idle: what a load's pause kept waiting is stale now
  }

  /**
   * @internal Pack removed `oids` (no kept snapshot reaches them): the cache lets go of those it
   * holds loaded and unchanged, as its shrinking would (a changed or held one stays; committing its
   * change fails with WriteConflictError, as the object has no revision any more).
   */
  forgetRemoved(oids: readonly number[]): void {
    if (this.closed) return;
    for (const oid of oids) this.cache.evict(oid);
  }

  /** @internal Called by the Database for every commit the storage announces. */
  receive(invalidation: Invalidation): void {
    if (this.closed || this.at !== undefined) return; // a historical connection never moves
    const ours = this.committer.noteBroadcast(invalidation);
    this.view.receive(invalidation, ours || (this.autoSync && this.idle), ours);
    this.applyQueued();
  }

  // ─── internals ────────────────────────────────────────────────────────────

  private checkOpen(): void {
    if (this.closed) throw closedError();
  }

  private get idle(): boolean {
    return (
      this.committer.changedCount === 0 &&
      !this.transacting &&
      !this.calls.busy &&
      !this.committer.isUncertain
    );
  }

  /**
   * Runs `op` after every earlier commit/abort/sync of this connection has settled (see CallQueue),
   * once the connection has its first snapshot.
   */
  private serialize<T>(op: () => Promise<T>): Promise<T> {
    return this.calls.run(async () => {
      this.checkOpen();
      if (this.view.tid === undefined) await this.view.start();
      return op();
    });
  }

  /** Makes the root PersistentDict (oid 0) if nobody has; losing the race is fine. */
  private createRoot(): Promise<void> {
    if (this.at !== undefined) return Promise.reject(noRootError(this.at));
    return this.serialize(() => this.committer.createRoot());
  }

  /**
   * abort(), then loads the objects it turned into ghosts at the new snapshot in one round trip, so
   * a retried transaction does not have to meet each of them as a ghost first.
   */
  private abortAndReload(): Promise<void> {
    return this.serialize(async () => {
      const oids = this.committer.rollback();
      await this.view.pull(oids); // names the held ones, as abort() does
      await this.loader.fetch(oids);
    });
  }

  /**
   * transact's rollback (its function threw, or met a ghost and runs again): the changed objects
   * become ghosts and the snapshot stays; 'change' names the held ones, since what shows them may
   * have rendered the changes dropped. Returns the oids rolled back.
   */
  private rollbackChanges(): number[] {
    const oids = this.committer.rollback();
    this.view.dropped(oids);
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
