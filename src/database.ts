/**
 * Database: one storage, its connections, and the services they share (class registry,
 * serializer, the pool of fresh oids, the storage's invalidation stream, the pin that keeps pack
 * from removing what this page's snapshots read, and the 'error' events of work nobody awaited).
 */
import { DatabaseClosedError } from './shared/errors.js';
import type {
  PackResult,
  RecoveryReport,
  Storage,
  StorageStats,
  Tid,
  TransactionInfo,
  VerifyReport,
} from './shared/storage.js';
import { Connection } from './connection.js';
import type { ConnectionHost } from './connection-host.js';
import {
  BusyEvent,
  ConnectionErrorEvent,
  DatabaseErrorEvent,
  PackEvent,
  TransactionEvent,
} from './events.js';
import type { ClassRegistry } from './registry.js';
import { Serializer } from './serialize.js';
import { checkDatabaseOptions, type DatabaseOptions } from './database-options.js';
import { BlobCatalog } from './blob-uploads.js';
import { BlobNamespace } from './blob-namespace.js';
import type { UndoOptions } from './undo.js';
import type { BackupOptions } from './archive/backup.js';
import { lazyStream } from './archive/lazy-stream.js';
import { AutoPack } from './auto-pack.js';
import { SnapshotPins } from './snapshot-pins.js';
import { transactionPages } from './transaction-pages.js';

export { checkDatabaseOptions, type DatabaseOptions } from './database-options.js';

/** Options of `db.open(options)`. */
export interface OpenConnectionOptions {
  /**
   * Opens a read-only connection on the database as it was at this tid (time travel). Undefined:
   * an ordinary connection, reading the newest snapshot and writing.
   */
  at?: Tid;
}

/** Oids asked for at a time; grows with demand up to MAX_OID_BLOCK. */
const MIN_OID_BLOCK = 64;
const MAX_OID_BLOCK = 65_536;

/**
 * @example
 * class Todo extends Persistent {
 *   static _p_name = 'app.Todo';
 *   title = '';
 * }
 * const db = new Database(new MemoryStorage(), { classes: [Todo] });
 * const conn = db.open();
 * const root = await conn.root();
 */
export class Database extends EventTarget implements ConnectionHost {
  /** The storage this database reads and commits through. */
  readonly storage: Storage;
  /** @internal This database's classes (its `classes` option over the global registry). */
  readonly registry: ClassRegistry;
  /** @internal Encodes and decodes object states (Blobs through the database's BlobCatalog). */
  readonly serializer: Serializer;
  /**
   * Named Blobs (KoboldFS's model): `put`, `get`, `delete`, `list` through a connection, part of its
   * next commit; `url` for an object URL revoked when the connection closes.
   * @example
   * await db.blobs.put(conn, 'avatars/ada.png', file);
   * await conn.commit();
   * const avatar = await db.blobs.get(conn, 'avatars/ada.png'); // a StoredFile
   */
  readonly blobs: BlobNamespace;
  /** Each connection's target count of loaded objects (the `cacheSize` option). */
  readonly cacheSize: number;
  /** Each connection's target sum of loaded objects' stored sizes (the `cacheBytes` option). */
  readonly cacheBytes: number;
  /** Open connections. */
  private readonly connections = new Set<Connection>();
  /** Fresh oids not yet given to an object. */
  private oidPool: number[] = [];
  /** Size of the next oid request. */
  private oidBlock = MIN_OID_BLOCK;
  /** The refill in flight, shared by every connection waiting for oids. */
  private refilling: Promise<void> | undefined;
  /** Ends the storage subscription. */
  private readonly unsubscribe: () => void;
  /** Ends the subscription to the storage's background errors. */
  private readonly unsubscribeErrors: () => void;
  private closing: Promise<void> | undefined;
  /** The automatic pack (see DatabaseOptions.autoPack); undefined without the option. */
  private readonly autoPack: AutoPack | undefined;
  /** The storage's pin of this page's oldest snapshot, which pack never packs past. */
  private readonly pins: SnapshotPins;
  /** Removes the page listeners added by the constructor. */
  private detach: () => void = () => undefined;

  /**
   * @throws RangeError for a cacheSize or cacheBytes that is not a positive integer; TypeError for
   *   a class in `classes` that cannot be registered (see `registerClass`).
   */
  constructor(storage: Storage, options: DatabaseOptions = {}) {
    super();
    const checked = checkDatabaseOptions(options);
    this.cacheSize = checked.cacheSize;
    this.cacheBytes = checked.cacheBytes;
    this.storage = storage;
    this.registry = checked.registry;
    this.serializer = new Serializer(new BlobCatalog(storage));
    this.blobs = new BlobNamespace((conn) => this.connections.has(conn));
    const isClosing = (): boolean => this.closing !== undefined;
    const failed = (error: unknown): void => void this.dispatchEvent(new DatabaseErrorEvent(error));
    this.pins = new SnapshotPins({ storage, connections: this.connections, isClosing, failed });
    if (checked.autoPack !== undefined) {
      this.autoPack = new AutoPack(checked.autoPack, {
        isClosing,
        stats: () => this.storage.stats(),
        pack: () => this.pack(),
        failed,
      });
    }
    this.unsubscribe = storage.subscribe((invalidation) => {
      this.pins.heard(invalidation.tid);
      if (invalidation.removed === true) {
        // Pack removed them: no snapshot moves; connections drop what they hold of them unchanged.
        for (const conn of this.connections) conn.forgetRemoved(invalidation.oids);
        this.serializer.blobs?.removed(invalidation.oids);
      } else {
        for (const conn of this.connections) conn.receive(invalidation);
        this.dispatchEvent(new TransactionEvent(invalidation.tid, invalidation.oids));
      }
    });
    const errors = storage.subscribeErrors?.((error) =>
      this.dispatchEvent(new DatabaseErrorEvent(error)),
    );
    const busy = storage.subscribeBusy?.((error) => this.dispatchEvent(new BusyEvent(error)));
    this.unsubscribeErrors = () => {
      errors?.();
      busy?.();
    };
    // A tab that was hidden, frozen or restored from the back/forward cache may have missed
    // invalidations: its connections catch up (a no-op for those that did not).
    const doc = (globalThis as { document?: Document }).document;
    const win = globalThis as {
      addEventListener?: Window['addEventListener'];
      removeEventListener?: Window['removeEventListener'];
    };
    if (doc !== undefined && win.addEventListener !== undefined) {
      const onVisible = (): void => {
        if (doc.visibilityState === 'visible') this.resync();
      };
      const onShow = (event: Event): void => {
        if ((event as PageTransitionEvent).persisted) this.resync();
      };
      doc.addEventListener('visibilitychange', onVisible);
      win.addEventListener('pageshow', onShow);
      this.detach = () => {
        doc.removeEventListener('visibilitychange', onVisible);
        win.removeEventListener?.('pageshow', onShow);
      };
    }
  }

  /**
   * Asks every idle connection with autoSync to catch up with the storage (sync), as after the tab
   * may have missed messages. Connections with changes, or with a commit whose fate is not known,
   * catch up at their next boundary anyway.
   */
  resync(): void {
    for (const conn of this.connections) {
      const idle = conn.cacheInfo().changed === 0 && !conn.hasUncertainCommit;
      if (conn.autoSync && idle && !conn.isClosed) {
        conn.sync().catch((error: unknown) => conn.dispatchEvent(new ConnectionErrorEvent(error)));
      }
    }
  }

  /**
   * What opening the storage found damaged and dropped: a torn last transaction cut off, or (with
   * `recover: true`) damaged transactions inside the log. Undefined for storages without a log.
   */
  get recovery(): RecoveryReport | undefined {
    return this.storage.recovery;
  }

  /**
   * A new connection: its own cache and its own snapshot. With `at`, a read-only connection on the
   * database as it was at that tid (time travel): every object, BTree and container reads as of
   * then, its snapshot never moves (no autoSync, `sync()` keeps it, no 'change'), and changing a
   * loaded object or committing throws ShelfError. Its snapshot is pinned like any other, so pack
   * keeps what it reads.
   * @throws RangeError when `at` is not a non-negative integer. A tid newer than the newest
   *   transaction rejects the connection's first load with RangeError; a tid older than what pack
   *   kept rejects loads with ReadConflictError.
   * @example
   * const then = db.open({ at: 42 });
   * const root = await then.root(); // as it was after transaction 42
   */
  open(options: OpenConnectionOptions = {}): Connection {
    this.checkOpen();
    const { at } = options;
    if (at !== undefined && (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0)) {
      throw new RangeError(
        `db.open({ at }): ${String(at)} is not a transaction id (a non-negative integer). Find one with db.transactions().`,
      );
    }
    const conn = new Connection(this, at);
    this.connections.add(conn);
    // A historical snapshot is known at once: pin it now, before its first load.
    if (at !== undefined) this.pins.moved();
    return conn;
  }

  /**
   * Undoes transaction `tid` (ZODB's transactional undo): commits a new transaction that restores,
   * for every object `tid` wrote, the revision it had before `tid`; objects `tid` created are left
   * alone and become unreachable garbage once their referrers are restored. Open connections see
   * the restored objects through the ordinary invalidations ('change'). Undoing an undo redoes.
   * `transactions()` lists the new transaction with `undoes: tid`. Resolves to its tid.
   * @throws RangeError when `tid` is not a positive integer.
   * @throws ShelfError when there is no transaction `tid`, or it only created objects.
   * @throws WriteConflictError (`.oids`) naming the objects a later transaction changed again:
   *   nothing is stored.
   * @throws ReadConflictError (`.oids`) when pack removed a revision the undo needs.
   * @example
   * const [last] = await db.storage.transactions({ limit: 1 });
   * const tid = await db.undo(last.tid, { note: 'revert the import' });
   */
  async undo(tid: Tid, options: UndoOptions = {}): Promise<Tid> {
    this.checkOpen();
    // Loaded when first used: most pages never undo, and need not download it to open.
    const { undoTransaction } = await import('./undo.js');
    const undone = await undoTransaction(this.storage, tid, options);
    this.committed();
    return undone;
  }

  /**
   * The whole database as an archive stream: every transaction the storage lists, with its tid,
   * time, note, user, meta, undo link and every revision of it still stored, byte for byte (see
   * src/archive/backup.ts). It reads as of the newest snapshot at this call, pinned for the whole
   * read (commits go on meanwhile; pack keeps what it reads). `restoreDatabase` makes a database
   * of it. Pull-based: it reads the database as the stream is read.
   * @example
   * const bytes = await new Response(db.backup({ gzip: true })).arrayBuffer();
   * const copy = await restoreDatabase('copy', new Uint8Array(bytes), { storage: 'memory' });
   */
  backup(options: BackupOptions = {}): ReadableStream<Uint8Array> {
    this.checkOpen();
    const conn = this.open(); // now: the snapshot is the newest as of this call
    // Loaded when first used: most pages never back up, and need not download it to open.
    const source = import('./archive/backup.js').then(
      ({ backupStream }) => backupStream(this, conn, options),
      (error: unknown) => {
        conn.close(); // no backup will read through it
        throw error;
      },
    );
    return lazyStream(source);
  }

  /** Closes every connection and the storage. Harmless twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.unsubscribe();
      this.detach();
      this.pins.stop();
      this.autoPack?.stop();
      for (const conn of [...this.connections]) conn.close();
      try {
        await this.storage.close();
      } finally {
        // Only now: a failure while closing (a last flush) is still reported.
        this.unsubscribeErrors();
      }
    })();
    return this.closing;
  }

  /** True once `close()` was called: every call then fails with DatabaseClosedError. */
  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * `{ storage, objects, bytes, garbageBytes, transactions, lastPack, blobs, blobBytes }`: `blobs`
   * counts distinct blob files (the same bytes stored twice count once), `blobBytes` their bytes.
   */
  async stats(): Promise<StorageStats> {
    this.checkOpen();
    return this.storage.stats();
  }

  /**
   * Walks the whole storage — every checksum, every record, the index, every reference of the
   * objects reachable from the root — and reports every problem found (empty when healthy).
   * @example
   * const { ok, problems } = await db.verify();
   */
  async verify(): Promise<VerifyReport> {
    this.checkOpen();
    return this.storage.verify();
  }

  /**
   * Removes every object not reachable from the root and every revision no open connection's
   * snapshot can read, while reads and commits go on. Fires 'pack' events (PackEvent) as it goes.
   * Aborting `signal` stops it at its next step: it rejects with the signal's reason and leaves a
   * valid database.
   * @example
   * const controller = new AbortController();
   * db.addEventListener('pack', (e) => console.log((e as PackEvent).phase));
   * const { bytesBefore, bytesAfter } = await db.pack({ signal: controller.signal });
   */
  async pack(options: { signal?: AbortSignal } = {}): Promise<PackResult> {
    this.checkOpen();
    // The storage packs no further than the oldest pin of every page: this page's is made current
    // first (a raise may wait for its timer), or a pack right after a commit would keep the
    // revisions that commit superseded.
    await this.pins.flush();
    const keepTid = this.pins.oldest();
    return this.storage.pack({
      ...(keepTid === undefined ? {} : { keepTid }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onProgress: ({ phase, done, total }) => this.dispatchEvent(new PackEvent(phase, done, total)),
    });
  }

  /** Committed transactions, newest first; `before` is exclusive. Fetched in pages of `limit`. */
  async *transactions(
    options: { limit?: number; before?: Tid } = {},
  ): AsyncGenerator<TransactionInfo> {
    this.checkOpen();
    yield* transactionPages(this.storage, options);
  }

  /** Asks the browser to keep this origin's storage. Resolves to whether it will. */
  async persist(): Promise<boolean> {
    const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
    return storage?.persist ? storage.persist() : false;
  }

  /** `{ usage, quota, persisted }` of this origin, where the platform tells. */
  async quota(): Promise<{
    /** Bytes this origin stores (all its databases and other storage), if the browser says. */
    usage: number | undefined;
    /** Bytes this origin may store, if the browser says. */
    quota: number | undefined;
    /** True when the browser will not evict this origin's storage silently (see `persist()`). */
    persisted: boolean;
  }> {
    const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
    if (!storage?.estimate) return { usage: undefined, quota: undefined, persisted: false };
    const estimate = await storage.estimate();
    const persisted = storage.persisted ? await storage.persisted() : false;
    return { usage: estimate.usage, quota: estimate.quota, persisted };
  }

  // ─── ConnectionHost ───────────────────────────────────────────────────────

  /** @internal */
  takeOids(count: number): number[] | undefined {
    if (count === 0) return [];
    if (this.oidPool.length < count) return undefined;
    return this.oidPool.splice(0, count);
  }

  /** @internal */
  async reserveOids(count: number): Promise<void> {
    while (this.oidPool.length < count) {
      this.refilling ??= (async () => {
        try {
          const want = Math.max(this.oidBlock, count - this.oidPool.length);
          this.oidBlock = Math.min(this.oidBlock * 2, MAX_OID_BLOCK);
          const oids = await this.storage.newOids(want);
          this.oidPool = this.oidPool.concat(oids);
        } finally {
          this.refilling = undefined;
        }
      })();
      await this.refilling;
    }
  }

  /** @internal After a commit: with autoPack, look at the garbage soon (once per interval). */
  committed(): void {
    this.autoPack?.committed();
  }

  /** @internal */
  forget(conn: Connection): void {
    this.connections.delete(conn);
    this.blobs.closed(conn); // its object URLs are revoked
    this.pins.forget(conn);
  }

  /**
   * @internal Called by a connection before it asks for the newest tid (its first snapshot): pins
   * a tid no newer than any answer for it first, and resolves once the pin has reached the storage
   * (see SnapshotPins.hold).
   */
  holdSnapshot(conn: Connection): Promise<void> {
    return this.pins.hold(conn);
  }

  /**
   * @internal Keeps the storage's pin of this page's oldest snapshot, which pack (run from any tab)
   * never packs past: sent at once when it must go down, at most once a second when it may go up
   * (see SnapshotPins).
   */
  snapshotMoved(): void {
    this.pins.moved();
  }

  private checkOpen(): void {
    if (this.closing !== undefined) throw new DatabaseClosedError();
  }
}
