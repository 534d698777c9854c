/**
 * The snapshot pin of a page: the storage's pin of the oldest snapshot this page's connections
 * read, which pack (run from any tab) never packs past, so no revision a connection may still load
 * is removed under it.
 *
 * Invariant: the pin may lag behind, never ahead. Snapshots only move forward, and a connection
 * learning its first snapshot is held meanwhile at a tid no newer than any answer the storage can
 * give it (the newest tid this page has heard of: `hold`). So the pin is sent at once when it must
 * go down, and at most once a second when it may go up. A pin call that fails leaves nothing
 * pinned as far as this page knows: the next move sends it again.
 */
import { DatabaseClosedError } from './shared/errors.js';
import type { Storage, Tid } from './shared/storage.js';
import type { Connection } from './connection.js';

/** What the pin keeping needs from its database. */
export interface SnapshotPinsHost {
  readonly storage: Storage;
  /** The open connections, whose snapshots count. */
  readonly connections: ReadonlySet<Connection>;
  /** True once the database is closing: nothing is pinned any more. */
  isClosing(): boolean;
  /** A pin call failed (nobody awaits it). */
  failed(error: unknown): void;
}

/** Keeps the storage's pin of one page's oldest snapshot. */
export class SnapshotPins {
  private readonly host: SnapshotPinsHost;
  /** This page's id among the holders of snapshot pins. */
  private readonly id = Math.random().toString(36).slice(2);
  /** The oldest snapshot last pinned in the storage. */
  private pinned: Tid | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The last pin call sent: settles (never rejects) once the storage has taken or refused it. */
  private sent: Promise<void> = Promise.resolve();
  /** The newest tid this page has heard of: no sync answers with an older one. */
  private knownTid: Tid = 0;
  /** Connections learning the newest tid, with the tid pinned for them meanwhile. */
  private readonly starting = new Map<Connection, Tid>();
  /** Set by `stop`: the database closed, nothing is pinned any more. */
  private stopped = false;

  constructor(host: SnapshotPinsHost) {
    this.host = host;
  }

  /** The storage announced a commit: its tid is the newest this page has heard of, at least. */
  heard(tid: Tid): void {
    this.knownTid = Math.max(this.knownTid, tid);
  }

  /**
   * Called by a connection before it asks for the newest tid (its first snapshot). Between the
   * storage answering and the connection's snapshot being pinned, pack (from any tab) could remove
   * the revisions that snapshot reads. So a tid no newer than any answer (the newest this page has
   * heard of) is pinned for the connection first, and this resolves once the pin has reached the
   * storage. Only the first connection of a page pays a round trip: later ones start above a pin
   * already held.
   */
  async hold(conn: Connection): Promise<void> {
    if (this.stopped || this.host.isClosing()) return;
    // Held even without pins: this page's own pack (keepTid) counts it.
    if (!this.starting.has(conn)) this.starting.set(conn, this.knownTid);
    this.moved();
    await this.sent;
  }

  /** A connection closed: its snapshot no longer counts. */
  forget(conn: Connection): void {
    this.starting.delete(conn);
    this.moved();
  }

  /** A connection's snapshot moved (or appeared): sends the pin now, later, or not at all. */
  moved(): void {
    if (this.stopped || this.host.isClosing()) return;
    let started = false;
    for (const conn of this.host.connections) {
      const tid = conn.snapshotTid;
      if (tid === undefined) continue;
      // It has its snapshot: that is what counts now.
      if (this.starting.delete(conn)) started = true;
      this.knownTid = Math.max(this.knownTid, tid);
    }
    // Without pins (one page's storage), this page's pack (keepTid) is the only one.
    if (this.host.storage.pin === undefined) return;
    const oldest = this.oldest();
    // Down at once (a snapshot older than the pin must be kept). Up at once when a connection has
    // just learned its first snapshot: the pin held for it meanwhile may be far older (0 in a new
    // tab), and would keep every revision from a pack until the next raise. Otherwise up at most
    // once a second.
    if (oldest !== undefined && (this.pinned === undefined || oldest < this.pinned || started))
      this.send();
    else if (oldest !== this.pinned && this.timer === undefined)
      this.timer = setTimeout(() => this.send(), 1000);
  }

  /**
   * Sends a raise that waits for its timer now, and resolves once the storage has the pin: a pack
   * about to run (from this page) then keeps no more than this page's snapshots read.
   */
  async flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.send();
    }
    await this.sent;
  }

  /** Pins the oldest snapshot now, unless it is pinned already. */
  private send(): void {
    this.timer = undefined;
    const { storage } = this.host;
    const pin = storage.pin;
    if (pin === undefined || this.stopped) return;
    const value = this.oldest();
    if (value === this.pinned) return;
    this.pinned = value;
    this.sent = pin.call(storage, this.id, value ?? null).then(
      () => undefined,
      (error: unknown) => {
        this.pinned = undefined; // not pinned after all: the next move sends it again
        if (error instanceof DatabaseClosedError) return; // closing: nothing to keep any more
        this.host.failed(error);
      },
    );
  }

  /** The oldest snapshot of an open connection, or tid held for one learning its first. */
  oldest(): Tid | undefined {
    let oldest: Tid | undefined;
    for (const conn of this.host.connections) {
      const tid = conn.snapshotTid ?? this.starting.get(conn);
      if (tid !== undefined && (oldest === undefined || tid < oldest)) oldest = tid;
    }
    return oldest;
  }

  /** The database closes: drops a pin waiting to be sent, and sends none from now on. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
