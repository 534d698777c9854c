/**
 * Snapshot: the tid a connection reads at, and the invalidations pushed since, waiting for a
 * boundary to be applied.
 *
 * Invariants:
 * - The tid only moves forward, and only through `start` (the first, the newest tid), `advance`
 *   (the connection's own commit), `pull` (asks the storage what changed: abort, sync, a commit
 *   that wrote nothing, a gap) and `applyQueued` (pushed invalidations, when the connection lets
 *   it). Every move ghosts the clean objects others changed, fires the owner's `changed` and tells
 *   the database (which pins the oldest snapshot of the page against pack).
 * - Pushed invalidations carry the tid before them (`prevTid`): one that does not follow the
 *   snapshot means a message was missed, and the owner is asked to sync instead (`missed`).
 * - Queued invalidations the snapshot already includes are dropped whenever it moves.
 * - One that is not applied at once names the held objects it changes to the owner (`stale`), so
 *   the app hears of them before the next boundary moves the snapshot (`changed`).
 * - A move names (`changed`) every object held that changed: loaded ones, and ghosts the app holds
 *   (`cache.hold`: what it shows). A held object is a ghost only when something other than the
 *   cache's shrinking made it one (abort dropping its changes, or a commit whose fate was not
 *   known), and what is on screen must hear that it changed all the same: abort's pull names the
 *   held objects whose changes it dropped even if nobody else committed them, and `dropped` names
 *   those whose changes transact rolled back without moving the snapshot.
 * - `advance` does not name what the connection's own transaction wrote: the committer knows it
 *   from the request it sent and tells the connection (CommitterOwner.committed → 'commit').
 * - A historical snapshot (`db.open({ at })`, `fixed`) is at its tid from the start and never
 *   moves: `start` only checks that the tid exists, pushed invalidations are ignored, `pull` and
 *   `applyQueued` do nothing. Its connection refuses every write, so `advance` is never called.
 */
import type { Invalidation, Storage, Tid } from './shared/storage.js';
import { ghostify, metaOf } from './persistent.js';
import type { Cache } from './cache.js';

/** What a snapshot needs from its connection. */
export interface SnapshotOwner {
  readonly storage: Storage;
  readonly cache: Cache;
  /** Before the first tid is asked for: the database pins one at or below it. */
  hold(): Promise<void>;
  /** The tid moved (or appeared): the database re-pins. */
  moved(): void;
  /** The snapshot moved to `tid`; `oids` are objects held that changed (now ghosts unless changed here). */
  changed(tid: Tid, oids: number[]): void;
  /** Others committed `oids`, objects held, in `tid`, and the snapshot cannot move there yet. */
  stale(tid: Tid, oids: number[]): void;
  /** A pushed invalidation was missed: sync in the background. */
  missed(): void;
  /** The last `pause` ended: apply what waited (the connection decides whether it may). */
  resumed(): void;
  /** @throws DatabaseClosedError once the connection is closed. */
  checkOpen(): void;
}

export class Snapshot {
  /** The tid read at; undefined until `start` has answered. */
  private current: Tid | undefined;
  /** Resolves once `current` is known. */
  private starting: Promise<void> | undefined;
  /** Pushed invalidations not yet applied. */
  private queue: Invalidation[] = [];
  /** Loads under way that the snapshot must not move under (see `pause`). */
  private paused = 0;
  /** Invalidations queued during a pause while the connection was idle: not warned of yet. */
  private unwarned: Invalidation[] = [];
  /**
   * Oids of objects whose changes the connection dropped (`pull`'s `dropped`) that no move has
   * named yet. Kept until a move succeeds: when the pull that should name them fails (the storage
   * busy, an answer older than the snapshot), nothing would name them later, since they are
   * ghosts nobody else changed, and a draft shown of them would stay on screen.
   */
  private readonly unnamed = new Set<number>();

  /**
   * @param fixed a historical snapshot's tid (`db.open({ at })`): read at it from the start, and
   *   never moved.
   */
  constructor(
    private readonly owner: SnapshotOwner,
    private readonly fixed?: Tid,
  ) {
    this.current = fixed;
  }

  /** The tid read at (undefined before the first use). */
  get tid(): Tid | undefined {
    return this.current;
  }

  /** A historical snapshot's tid (`db.open({ at })`), which never moves; else undefined. */
  get historical(): Tid | undefined {
    return this.fixed;
  }

  /**
   * Learns the newest tid on first use (again on the next use if that failed). A historical
   * snapshot checks there that its tid is not newer than the newest.
   * @throws RangeError for a historical snapshot newer than the newest tid.
   */
  start(): Promise<void> {
    if (this.fixed !== undefined) return this.startFixed(this.fixed);
    this.starting ??= (async () => {
      try {
        await this.owner.hold();
        // A sinceTid past the newest answers with just the newest tid.
        const { tid } = await this.owner.storage.sync(Number.MAX_SAFE_INTEGER);
        this.owner.checkOpen();
        this.moveTo(tid, []);
      } catch (error) {
        this.starting = undefined;
        throw error;
      }
    })();
    return this.starting;
  }

  /** start() of a historical snapshot: its tid must exist (be at most the newest). */
  private startFixed(at: Tid): Promise<void> {
    this.starting ??= (async () => {
      try {
        await this.owner.hold(); // the pin of `at`, sent before the first load reads at it
        const { tid } = await this.owner.storage.sync(Number.MAX_SAFE_INTEGER);
        this.owner.checkOpen();
        if (at > tid) {
          throw new RangeError(
            `db.open({ at: ${at} }): there is no transaction ${at} yet (the newest is ${tid}). Open it at a tid db.transactions() lists.`,
          );
        }
      } catch (error) {
        this.starting = undefined;
        throw error;
      }
    })();
    return this.starting;
  }

  /**
   * Queues an invalidation pushed by the storage. Unless it is about to be applied (`applying`: the
   * connection is idle with autoSync, or the transaction is its own), the snapshot cannot move to
   * it yet, and the owner hears at once which of the objects it holds are stale. `own`: the
   * transaction is the connection's own (never stale to it).
   */
  receive(invalidation: Invalidation, applying: boolean, own = false): void {
    if (this.fixed !== undefined) return; // never moves: nothing to queue
    this.queue.push(invalidation);
    const current = this.current;
    if (current === undefined || invalidation.tid <= current) return;
    // Applying but paused: it waits one load's round trip, and is no reason to warn yet; if the
    // connection is not idle when the pause ends, `applyQueued` warns then.
    if (applying && !own && this.paused > 0) this.unwarned.push(invalidation);
    else if (!applying) this.warn(invalidation);
  }

  /** Names to the owner (`stale`) the objects it holds loaded that `invalidation` changed. */
  private warn(invalidation: Invalidation): void {
    const held = invalidation.oids.filter((oid) => {
      const obj = this.owner.cache.get(oid);
      return obj !== undefined && metaOf(obj).status !== 'ghost';
    });
    if (held.length > 0) this.owner.stale(invalidation.tid, held);
  }

  /**
   * After the connection's own commit `tid` (one that wrote records, so `tid` is its own and not
   * merely the newest): moves there, invalidating what others wrote between. `snapshot + 1`
   * proves nobody else committed in between, since tids are consecutive and the snapshot does not
   * move while a commit is in flight or its fate unknown. Otherwise it pulls; `written` (the oids
   * the transaction wrote) stay loaded unless a commit after it wrote them too (see `pull`).
   */
  async advance(tid: Tid, written: readonly number[] = []): Promise<void> {
    if (tid === (this.current as Tid) + 1) this.moveTo(tid, []);
    else await this.pull([], { tid, written });
  }

  /**
   * Asks the storage what changed since the snapshot and moves to the newest. `own`: the
   * connection's own transaction that has just landed (`advance`) and the oids it wrote. `dropped`: oids of
   * objects whose uncommitted changes the connection has just dropped (abort); they are ghosts
   * now, and the move names the held ones among them too, as objects that changed (or the next
   * move that succeeds, if this one fails: see `unnamed`).
   */
  async pull(
    dropped: readonly number[] = [],
    own?: { tid: Tid; written: readonly number[] },
  ): Promise<void> {
    if (this.fixed !== undefined) return; // a historical snapshot stays where it is
    for (const oid of dropped) this.unnamed.add(oid); // named by the next move that succeeds
    let result = await this.owner.storage.sync(this.current as Tid);
    if (result.tid < (this.current as Tid)) return; // an answer older than what we know
    if (!result.reset && own !== undefined && own.written.length > 0) {
      // What our own transaction wrote is loaded as written, and nobody else wrote it between the
      // snapshot and it (the commit would have conflicted): ghosting it would make the 'commit'
      // listeners read ghosts, 'change' name our own writes, and the app's next change of them
      // throw GhostError. Only a commit after ours can have changed them: when others committed
      // after ours too, ask what changed since ours.
      let after = new Set<number>();
      if (result.tid > own.tid) {
        const since = await this.owner.storage.sync(own.tid);
        if (since.reset) result = since;
        else {
          after = new Set(since.oids);
          // Also what landed between the two answers: one move covers both.
          if (since.tid > result.tid)
            result = { tid: since.tid, oids: [...result.oids, ...since.oids] };
        }
      }
      if (!result.reset) {
        const mine = new Set(own.written);
        this.moveTo(
          result.tid,
          result.oids.filter((oid) => !mine.has(oid) || after.has(oid)),
        );
        return;
      }
    } else if (!result.reset) {
      this.moveTo(result.tid, result.oids);
      return;
    }
    // Older than the storage remembers: every clean object may have changed.
    const { cache } = this.owner;
    const held = new Set<number>();
    for (const obj of [...cache.loadedObjects()]) {
      const m = metaOf(obj);
      if (m.status !== 'saved') continue;
      cache.noteGhost(obj);
      ghostify(m);
      held.add(m.oid as number);
    }
    for (const obj of cache.heldObjects()) {
      const m = metaOf(obj);
      if (m.status === 'ghost' && m.oid !== undefined) held.add(m.oid);
    }
    this.moved(result.tid, [...held]);
  }

  /**
   * The connection has just dropped the uncommitted changes of `oids` (transact rolling back its
   * function's changes), which are ghosts now, and the snapshot stays: names the held ones among
   * them in a 'change' at the current tid. What shows them may have rendered the changes (a
   * component re-rendering while the function awaited), and nothing else would tell it that they
   * are gone: a run after it need not write them again, and a function that threw writes nothing.
   */
  dropped(oids: readonly number[]): void {
    const { cache } = this.owner;
    const held = oids.filter((oid) => {
      const obj = cache.get(oid);
      return obj !== undefined && cache.isHeld(obj);
    });
    if (held.length > 0 && this.current !== undefined) this.owner.changed(this.current, held);
  }

  /**
   * Drops queued invalidations the snapshot includes; with `apply` (the connection is idle with
   * autoSync), applies those that follow it without a gap, and returns whether it moved. A gap
   * means a message was missed: the owner syncs instead.
   */
  applyQueued(apply: boolean): boolean {
    const current = this.current;
    if (current === undefined || this.fixed !== undefined) return false;
    this.queue = this.queue.filter((inv) => inv.tid > current);
    if (!apply) this.warnWaiting();
    if (!apply || this.paused > 0 || this.queue.length === 0) return false;
    this.queue.sort((a, b) => a.tid - b.tid);
    let moved = false;
    while (this.queue.length > 0) {
      const inv = this.queue[0] as Invalidation;
      if (inv.prevTid !== this.current) {
        this.owner.missed(); // its sync applies the queue as it goes
        return moved;
      }
      this.queue.shift();
      this.moveTo(inv.tid, inv.oids);
      moved = true;
    }
    return moved;
  }

  /**
   * The connection stopped being idle (the app changed an object, or it cannot apply now): the
   * invalidations queued without a warning during a load's pause are warned of (`stale`) now.
   */
  warnWaiting(): void {
    if (this.unwarned.length === 0) return;
    const current = this.current as Tid;
    const unwarned = this.unwarned.filter((inv) => inv.tid > current);
    this.unwarned = [];
    for (const inv of unwarned) this.warn(inv);
  }

  /**
   * Keeps the queued invalidations from being applied until the returned resume is called: a
   * load whose records must be installed at the tid it read them at (Loader.fetch). Explicit
   * moves (the connection's own commit, abort, sync) still happen.
   */
  pause(): () => void {
    this.paused++;
    let resumed = false;
    return () => {
      if (resumed) return;
      resumed = true;
      if (--this.paused === 0) this.owner.resumed();
    };
  }

  /** Forgets the queue (the connection is closing). */
  clear(): void {
    this.queue = [];
    this.unwarned = [];
    this.unnamed.clear();
  }

  /**
   * Moves to `tid`, ghosting the clean objects among `oids` (others committed them), and naming
   * them, the changed ones and the held ghosts among them.
   */
  private moveTo(tid: Tid, oids: Iterable<number>): void {
    const { cache } = this.owner;
    const held: number[] = [];
    for (const oid of oids) {
      const obj = cache.get(oid);
      if (obj === undefined) continue;
      const m = metaOf(obj);
      if (m.status === 'ghost') {
        if (cache.isHeld(obj)) held.push(oid);
        continue;
      }
      if (m.status === 'saved') {
        cache.noteGhost(obj);
        ghostify(m);
      }
      held.push(oid);
    }
    this.moved(tid, held);
  }

  /**
   * Moves to `tid`, naming `held` (the held objects the move changed) and the held ones among the
   * objects whose changes were dropped since the last move (`unnamed`), each once.
   */
  private moved(tid: Tid, held: number[]): void {
    this.current = tid;
    this.queue = this.queue.filter((inv) => inv.tid > tid);
    this.unwarned = this.unwarned.filter((inv) => inv.tid > tid);
    let named = held;
    if (this.unnamed.size > 0) {
      // Rare (after an abort): only then is a set needed to name each object once.
      const all = new Set(held);
      const { cache } = this.owner;
      for (const oid of this.unnamed) {
        const obj = cache.get(oid);
        if (obj !== undefined && cache.isHeld(obj)) all.add(oid);
      }
      this.unnamed.clear();
      named = [...all];
    }
    this.owner.moved();
    if (named.length > 0) this.owner.changed(tid, named);
  }
}
