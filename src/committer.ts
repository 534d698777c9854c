/**
 * Committer: the writing side of a connection. It holds what the next commit writes (the objects
 * changed since the last boundary, the pins of readCurrent) and the fate of the transactions sent.
 *
 * Commit: the Blobs in the states to write whose bytes are not stored yet are stored first
 * (blob-uploads.ts); then the changed objects and every new object reachable from them are
 * captured synchronously (a PendingCommit), then sent as one `storage.commit` call. A transaction that landed moves the
 * snapshot to its own tid (`advance`) and tells the owner the oids it wrote (`committed`); one that
 * wrote nothing moves to the newest (`pull`).
 *
 * Invariants:
 * - `sending` is the transaction whose commit call is in flight; `uncertain` the one whose call
 *   failed with StorageBusyError (it may have landed). A broadcast naming either's txnId proves it
 *   landed (`noteBroadcast`), whatever the answer says.
 * - While `uncertain` is set, the next commit resends it first (same request, same txnId), so it
 *   lands exactly once; changes made since go in a transaction of their own after it.
 * - After a ConflictError (`conflicted`) nothing is written until `rollback` (abort).
 *
 * The Connection serializes calls (one commit, abort or sync at a time); the Committer relies on it.
 */
import { ConflictError, ShelfError, StorageBusyError } from './shared/errors.js';
import type { Invalidation, Storage, StoredRecord, Tid } from './shared/storage.js';
import { ROOT_OID } from './shared/storage.js';
import type { Cache } from './cache.js';
import type { Snapshot } from './snapshot.js';
import {
  collectWrites,
  PendingCommit,
  TxnIds,
  type CommitOptions,
  type Write,
} from './pending-commit.js';
import { planBlobs, type BlobPlan } from './blob-uploads.js';
import { getState, ghostify, metaOf, type Jar, type Persistent } from './persistent.js';
import { cachedOrGhost } from './loader.js';
import { PersistentDict } from './persistent-dict.js';
import type { ClassRegistry } from './registry.js';
import type { Serializer } from './serialize.js';

/** What a committer needs from its connection (and, through it, the database). */
export interface CommitterOwner {
  readonly storage: Storage;
  readonly registry: ClassRegistry;
  readonly serializer: Serializer;
  readonly cache: Cache;
  /** The snapshot commits are based on, moved by each one that lands. */
  readonly view: Snapshot;
  /** The connection: new objects written become its. */
  readonly jar: Jar;
  /** Fresh oids from the database's pool, synchronously, or undefined if it holds fewer. */
  takeOids(count: number): number[] | undefined;
  /** Refills the pool so that `takeOids(count)` succeeds. */
  reserveOids(count: number): Promise<void>;
  /**
   * The connection's own transaction landed as `tid`, writing `oids` (the records sent, new objects
   * included). Called once per transaction, after the snapshot moved to it (or failed to: it landed
   * all the same, and what shows the objects written must hear of it).
   */
  committed(tid: Tid, oids: number[]): void;
  /**
   * The connection's own transaction landed, but moving the snapshot past the commits others made
   * before it failed (the storage's sync). The commit still resolves to its tid; the snapshot stays
   * where it was, and the next move catches up from there. The owner reports `error`.
   */
  moveFailed(error: unknown): void;
}

export class Committer {
  /** Stored objects changed since the last boundary. */
  private dirty = new Set<Persistent>();
  /** Objects pinned by readCurrent, with the serial that must still be current at commit. */
  private readonly pinned = new Map<number, Tid>();
  /** The conflict that makes the connection refuse writes until abort(). */
  private conflicted: ConflictError | undefined;
  /**
   * A transaction whose commit failed with StorageBusyError: it may have landed. The next commit
   * resends it (same request, same txnId) before anything else; abort() forgets it.
   */
  private uncertain: PendingCommit | undefined;
  /** The transaction whose commit call is in flight. */
  private sending: PendingCommit | undefined;
  private readonly txnIds = new TxnIds();
  /** Records of new objects the next commit writes as they are (importCopy's copy). */
  private carried: StoredRecord[] = [];

  constructor(private readonly owner: CommitterOwner) {}

  /** How many stored objects changed since the last boundary. */
  get changedCount(): number {
    return this.dirty.size;
  }

  /** A commit failed with StorageBusyError and is neither resent nor dropped yet. */
  get isUncertain(): boolean {
    return this.uncertain !== undefined;
  }

  noteChanged(obj: Persistent): void {
    this.dirty.add(obj);
  }

  /** Pins `oid` at `serial` for the next commit, unless it is pinned already. */
  pin(oid: number, serial: Tid): void {
    if (!this.pinned.has(oid)) this.pinned.set(oid, serial);
  }

  /**
   * importCopy (src/archive/import-copy.ts): the next commit also writes `records`, new objects
   * with fresh oids, as they are; abort() drops them. Returns a ghost of `oid` (one of them, of
   * class `className`) to store in this connection's objects: it loads once the commit landed.
   */
  carry(records: readonly StoredRecord[], oid: number, className: string): Persistent {
    for (const r of records) this.carried.push(r);
    return cachedOrGhost(this.owner, oid, className);
  }

  /** @throws ShelfError while a commit's fate is not known. */
  checkSettled(what: string): void {
    if (this.uncertain === undefined) return;
    throw new ShelfError(
      `${what}: the last commit of this connection failed with StorageBusyError and may have landed. Call conn.commit() to resend it (it lands once) or conn.abort() to drop it first.`,
    );
  }

  /**
   * A broadcast of our own transaction proves it landed, whatever happens to the answer. Returns
   * whether the broadcast is of our own transaction in flight or of unknown fate.
   */
  noteBroadcast(invalidation: Invalidation): boolean {
    const txnId = invalidation.txnId;
    let ours = false;
    for (const pending of [this.sending, this.uncertain]) {
      if (txnId !== undefined && pending?.request.txnId === txnId) {
        pending.landedAt = invalidation.tid;
        ours = true;
      }
    }
    return ours;
  }

  /**
   * abort(): stops waiting for a commit whose fate is not known (see PendingCommit.forget).
   * Returns the oids of the objects it turned into ghosts (none if no commit was uncertain).
   */
  dropUncertain(): number[] {
    const ghosted = this.uncertain?.forget(this.owner.cache) ?? [];
    this.uncertain = undefined;
    return ghosted;
  }

  /** close(): forgets the changes and the commit whose fate is not known. */
  clear(): void {
    this.dirty.clear();
    this.carried = [];
    this.uncertain = undefined;
  }

  /** Ghosts every changed object and forgets pins and conflicts. Returns the oids ghosted. */
  rollback(): number[] {
    const oids: number[] = [];
    for (const obj of this.dirty) {
      const m = metaOf(obj);
      this.owner.cache.noteGhost(obj);
      ghostify(m);
      oids.push(m.oid as number);
    }
    this.dirty.clear();
    this.pinned.clear();
    this.carried = [];
    this.conflicted = undefined;
    return oids;
  }

  /** Makes the root PersistentDict (oid 0) if nobody has; losing the race is fine. */
  async createRoot(): Promise<void> {
    const { owner } = this;
    const record: StoredRecord = {
      oid: ROOT_OID,
      className: owner.registry.nameOf(PersistentDict) as string,
      state: owner.serializer.encode(getState(metaOf(new PersistentDict()))),
      refs: [],
    };
    try {
      const tid = await owner.storage.commit({
        baseTid: owner.view.tid as Tid,
        records: [record],
        note: 'root',
      });
      await owner.view.advance(tid);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      await owner.view.pull(); // someone else made it first
    }
  }

  /** The body of conn.commit() (see there), run serialized. */
  async commit(options: CommitOptions): Promise<Tid> {
    const { owner } = this;
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
        owner.cache.shrink();
        return tid;
      }
    }
    const ctx = {
      jar: owner.jar,
      registry: owner.registry,
      serializer: owner.serializer,
      newTxnId: () => this.txnIds.next(),
    };
    let writes: Write[];
    let blobs: BlobPlan;
    let oids: number[] | undefined;
    for (;;) {
      writes = collectWrites(ctx, this.dirty);
      blobs = planBlobs(
        owner.serializer.blobs,
        writes.flatMap((w) => w.blobs),
      );
      if (blobs.upload.length > 0) {
        // Stored before the capture, which is synchronous; the app may change objects meanwhile
        // (their Blobs too): collect again, until every Blob to write is stored.
        await owner.serializer.blobs?.upload(blobs.upload);
        continue;
      }
      const fresh = writes.filter((w) => w.m.oid === undefined).length + blobs.record.length;
      oids = owner.takeOids(fresh);
      if (oids !== undefined) break;
      await owner.reserveOids(fresh);
      // The app may have changed objects during the wait: collect again.
    }
    if (writes.length === 0 && this.pinned.size === 0 && this.carried.length === 0) {
      // Nothing to write, still a boundary: to the newest snapshot, as sync does.
      await owner.view.pull();
      owner.cache.shrink();
      return owner.view.tid as Tid;
    }
    const pending = new PendingCommit(
      ctx,
      writes,
      oids,
      this.pinned,
      owner.view.tid as Tid,
      options,
      this.carried,
      blobs.record,
    );
    // From here on a change to a written object is a change for the next commit.
    this.dirty = new Set();
    this.pinned.clear();
    this.carried = [];
    const tid = await this.send(pending);
    owner.cache.shrink();
    return tid;
  }

  /**
   * Sends a captured transaction and settles what its fate means for the connection: landed, it
   * moves the snapshot (`advance`, or `pull` for one that wrote nothing); failed, everything is put
   * back; StorageBusyError, it is kept as `uncertain` for the next commit to resend.
   */
  private async send(pending: PendingCommit): Promise<Tid> {
    const { owner } = this;
    let tid = pending.landedAt;
    if (tid === undefined) {
      this.sending = pending;
      try {
        tid = await owner.storage.commit(pending.request);
      } catch (error) {
        tid = pending.landedAt; // its broadcast may have come before the error
        if (tid === undefined && error instanceof StorageBusyError && !pending.isEmpty) {
          this.uncertain = pending;
          throw error;
        }
        if (tid === undefined) {
          // Nothing was stored (an empty one stores nothing anyway): as before the commit.
          this.uncertain = undefined;
          pending.undo(this.dirty, this.pinned, this.carried);
          if (error instanceof ConflictError) this.conflicted = error;
          // Refused otherwise (a blob file missing, a full disk): the next try stores them again.
          else owner.serializer.blobs?.forgetUploads(pending.newBlobs.keys());
          throw error;
        }
      } finally {
        this.sending = undefined;
      }
    }
    this.uncertain = undefined;
    if (pending.isEmpty) {
      // The answer is just the newest tid, not a transaction of ours: move like sync.
      await owner.view.pull();
      return owner.view.tid as Tid;
    }
    pending.landed(tid, owner.cache);
    try {
      await owner.view.advance(tid, pending.oids);
    } catch (error) {
      // It landed: rejecting would tell the app it may not have (StorageBusyError) or did not, and
      // the app would write it again. The snapshot stays behind (at a tid before this one, which
      // the next move pulls from: no change is skipped); the error is reported by the owner.
      owner.moveFailed(error);
    } finally {
      // The oids come from the request, not from a scan of the cache: the cost of telling the
      // connection is the size of the transaction, whatever the number of objects loaded.
      owner.committed(tid, pending.oids);
    }
    return tid;
  }
}
