/**
 * The events shelfdb fires. `Connection` and `Database` are EventTargets:
 *
 * - on a Connection: `'change'` (ChangeEvent) when its snapshot moved to include others' commits,
 *   `'commit'` (CommitEvent) when a commit of its own wrote records,
 *   `'stale'` (StaleEvent) when others committed objects it holds before its snapshot can move,
 *   `'error'` (ConnectionErrorEvent) for work the app did not call itself;
 * - on a Database: `'pack'` (PackEvent) as a pack it asked for goes, `'busy'` (BusyEvent) when the tab holding the storage did not answer in time,
 *   `'error'` (DatabaseErrorEvent) for background work nobody awaited.
 */
import type { Tid } from './shared/storage.js';

/**
 * Fired ('change') when the connection's snapshot moved to include other connections' or tabs'
 * commits of objects it holds. It also names held objects (`conn.hold`) that became ghosts without
 * others committing them, so a view never keeps a value that is gone: `abort()` names those whose
 * uncommitted changes it dropped, and those a commit of unknown fate (StorageBusyError) wrote,
 * landed or not; `transact` names those whose changes it rolled back (`fn` threw, or ran again and
 * left them alone), with `.tid` unchanged when the snapshot did not move.
 */
export class ChangeEvent extends Event {
  constructor(
    /** The snapshot the connection moved to. */
    readonly tid: Tid,
    /**
     * The oids of the objects this connection held that changed (now ghosts unless changed here):
     * those loaded or changed here, and those held with `conn.hold` even if they are ghosts. After
     * `abort()`, also the held objects whose uncommitted changes it dropped.
     */
    readonly oids: number[],
  ) {
    super('change');
  }
}

/**
 * Fired on a Connection ('commit') after one of its own transactions landed: a `commit()` (or the
 * final commit of `transact()`) that wrote records. It fires once per transaction stored, after the
 * connection moved to it (or past it, to include others' commits that landed first; 'change' then
 * names what they changed; if the sync of that move fails, the snapshot stays before it and the
 * failure is fired as 'error') and before the `commit()` call resolves, so listeners read the objects
 * as written. It does not fire for a commit that wrote nothing (an empty one, or one with only
 * `readCurrent` pins: nothing was written, so nothing shown can be out of date), nor for one that
 * failed. A `commit()` that first resends a transaction whose earlier commit failed with
 * StorageBusyError and then stores the changes made since lands two transactions, and fires twice.
 * Others' commits fire `'change'` instead.
 * @example
 * conn.addEventListener('commit', (event) => {
 *   const { tid, oids } = event as CommitEvent;
 *   console.log(`transaction ${tid} wrote ${oids.length} objects`);
 * });
 */
export class CommitEvent extends Event {
  constructor(
    /** The tid of the transaction stored. */
    readonly tid: Tid,
    /** The oids of the objects it wrote, those it stored for the first time included. */
    readonly oids: number[],
  ) {
    super('commit');
  }
}

/**
 * Fired on a Database ('transaction') for every transaction committed to it that it hears of: its
 * own connections' and other tabs'. It does not move any snapshot: connections follow with
 * 'change' for the objects they hold. For views of the database as a whole (a log, counts, a
 * "saved" indicator).
 * @example
 * db.addEventListener('transaction', (event) => {
 *   savedAt.textContent = `saved transaction ${(event as TransactionEvent).tid}`;
 * });
 */
export class TransactionEvent extends Event {
  constructor(
    /** The tid of the transaction. */
    readonly tid: Tid,
    /** The oids it wrote. */
    readonly oids: number[],
  ) {
    super('transaction');
  }
}

/**
 * Fired as soon as other connections or tabs committed objects this connection holds (loaded, or
 * changed here) while its snapshot cannot move yet: autoSync off, pending changes, a commit or
 * `transact` running. What the app shows of them is out of date, and writing them will conflict;
 * 'change' follows at the next boundary, when the snapshot moves.
 */
export class StaleEvent extends Event {
  constructor(
    /** The tid of the transaction that changed them. */
    readonly tid: Tid,
    /** The oids of the objects this connection holds that it changed. */
    readonly oids: number[],
  ) {
    super('stale');
  }
}

/**
 * An error of work the app did not call itself: a background sync after a missed message, or the
 * sync that moves the snapshot after one of the connection's own commits landed past others'
 * commits (the commit resolves all the same; the next boundary moves the snapshot).
 */
export class ConnectionErrorEvent extends Event {
  constructor(
    /** What failed. */
    readonly error: unknown,
  ) {
    super('error');
  }
}

/**
 * Fired on a Database ('pack') as a pack it asked for goes: `done` of `total` units of `phase`
 * ('mark': objects walked from the root; 'copy': bytes compacted; 'done' once, at the end).
 * @example
 * db.addEventListener('pack', (event) => {
 *   const { phase, done, total } = event as PackEvent;
 *   progress.value = total === 0 ? 1 : done / total;
 * });
 */
export class PackEvent extends Event {
  constructor(
    /** The phase the pack is in. */
    readonly phase: 'mark' | 'copy' | 'done',
    /** Units of this phase done. */
    readonly done: number,
    /** Units of this phase known so far. */
    readonly total: number,
  ) {
    super('pack');
  }
}

/** Fired on a Database when a call failed because the tab holding it did not answer in time. */
export class BusyEvent extends Event {
  constructor(
    /** The StorageBusyError the call failed with. */
    readonly error: Error,
  ) {
    super('busy');
  }
}

/**
 * Fired on a Database ('error') for a failure of work nobody awaited: an automatic checkpoint or
 * pack, a relaxed-durability flush after its commit was acknowledged, a snapshot pin the storage
 * refused. The database stays usable; `error` says what failed.
 */
export class DatabaseErrorEvent extends Event {
  constructor(
    /** What failed, usually a StorageError with the platform's error as `cause`. */
    readonly error: unknown,
  ) {
    super('error');
  }
}
