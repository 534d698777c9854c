/**
 * Loader: the reading side of a connection. It turns stored references into the connection's
 * objects (`resolve`: the one the cache holds, or a new ghost), fills ghosts from records loaded at
 * the connection's snapshot (`fetch`, `install`), and walks what is stored (`crawl`, `history`).
 *
 * Invariants:
 * - One object per oid per connection: every reference goes through `resolve`, which adds the
 *   ghosts it makes to the cache, so a record loaded later fills that very ghost.
 * - Records are installed only if the snapshot did not move while they were loading: revisions
 *   read at an older tid may be stale, so `fetch` asks again at the new one.
 * - Objects belong to the connection that made them (`jar`); passing another's is refused
 *   (`checkOwn`).
 */
import { ReadConflictError, ShelfError } from './shared/errors.js';
import type { LoadedRecord, Storage, Tid } from './shared/storage.js';
import type { Cache } from './cache.js';
import type { Snapshot } from './snapshot.js';
import {
  getState,
  makeGhost,
  metaOf,
  setState,
  type Jar,
  type Meta,
  Persistent,
} from './persistent.js';
import { labelOf } from './pending-commit.js';
import { BrokenObject } from './broken-object.js';
import { packedAt } from './read-only.js';
import type { ClassRegistry } from './registry.js';
import type { Serializer } from './serialize.js';

/** What a loader needs from its connection. */
export interface LoaderOwner {
  readonly storage: Storage;
  readonly registry: ClassRegistry;
  readonly serializer: Serializer;
  readonly cache: Cache;
  /** The snapshot loads read at. */
  readonly view: Snapshot;
  /** The connection: the ghosts made here belong to it. */
  readonly jar: Jar;
  /** @throws DatabaseClosedError once the connection is closed. */
  checkOpen(): void;
}

/** One revision from `history`. */
export interface Revision {
  /** The tid of the transaction that wrote it. */
  tid: Tid;
  /** When that transaction committed, in milliseconds since the epoch. */
  time: number;
  /** That transaction's note. */
  note: string;
  /** The object's fields as stored then, decoded (references as ghosts). */
  state: Record<string, unknown>;
}

/** How many objects one round trip of `crawl` loads. */
const CRAWL_BATCH = 100;

export class Loader {
  constructor(private readonly owner: LoaderOwner) {}

  /** @throws ShelfError if the object belongs to another connection. */
  checkOwn(m: Meta): void {
    if (m.jar !== undefined && m.jar !== this.owner.jar) {
      throw new ShelfError(
        `${m.className} ${m.oid} belongs to another connection. Objects cannot be shared between connections: get it through this connection (conn.get(${m.oid})).`,
      );
    }
  }

  /**
   * Loads the ghosts among `objs` in one round trip.
   * @throws ReadConflictError if an object has no revision at the snapshot (packed away).
   */
  async load(objs: Persistent[]): Promise<void> {
    objs.forEach((obj, i) => checkArgument(obj, i, 'conn.load', false));
    await this.prefetch(objs);
    for (const obj of objs) {
      const m = metaOf(obj);
      if (m.status === 'ghost') {
        const at = this.owner.view.historical;
        throw at === undefined
          ? new ReadConflictError(
              [m.oid as number],
              `${m.className} ${m.oid} has no revision at this connection's snapshot (it was packed away). Call conn.abort() to move to the newest snapshot.`,
            )
          : packedAt([m.oid as number], at);
      }
    }
  }

  /**
   * Loads many objects (or oids) in one round trip, without returning them.
   * @throws TypeError naming the argument that is neither a persistent object nor an oid.
   */
  async prefetch(objsOrOids: (Persistent | number)[]): Promise<void> {
    const oids: number[] = [];
    for (const [i, x] of objsOrOids.entries()) {
      checkArgument(x, i, 'conn.prefetch', true);
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
   * Loads the ghosts among `oids` at the snapshot, in one round trip; in two when the snapshot
   * moved while the first was out (its revisions may be stale): the second keeps autoSync from
   * moving it until its records are in, so a connection following tabs that commit faster than a
   * round trip still gets its objects (it moves right after, and 'change' names what changed).
   */
  async fetch(oids: number[]): Promise<void> {
    const { owner } = this;
    owner.checkOpen();
    await owner.view.start();
    for (let again = false; ; again = true) {
      const wanted = [...new Set(oids.filter((oid) => this.isUnloaded(oid)))];
      if (wanted.length === 0) return;
      const at = owner.view.tid as Tid;
      const resume = again ? owner.view.pause() : undefined;
      try {
        let records: LoadedRecord[];
        try {
          records = await owner.storage.load(wanted, at);
        } catch (error) {
          if (!(error instanceof ReadConflictError)) throw error;
          // Moved meanwhile: the pin followed, and pack may have removed what `at` read; the
          // new snapshot is what to read at (as for records that came back after a move).
          owner.checkOpen();
          if (owner.view.tid !== at) continue;
          // The storage's advice (abort, to move on) cannot help a snapshot that never moves.
          const fixed = owner.view.historical;
          if (fixed === undefined) throw error;
          throw packedAt(error.oids, fixed, error);
        }
        owner.checkOpen();
        // Moved while loading (autoSync, or the app's own commit or sync meanwhile).
        if (owner.view.tid !== at) continue;
        for (const record of records) this.install(record);
        return;
      } finally {
        resume?.();
      }
    }
  }

  /**
   * Every object reachable from `start` (itself included), loaded, in breadth-first order; loads
   * happen in batches of 100 (CRAWL_BATCH) per round trip.
   */
  async *crawl(start: Persistent): AsyncGenerator<Persistent> {
    const seen = new Set<Persistent>([start]);
    const frontier: Persistent[] = [start];
    while (frontier.length > 0) {
      const batch = frontier.splice(0, CRAWL_BATCH);
      await this.prefetch(batch);
      for (const obj of batch) {
        const m = metaOf(obj);
        if (m.status === 'ghost') continue; // gone at this snapshot
        // A BrokenObject's stored fields sit in its `state`, which this scan covers too.
        // Stored states may nest deeper than a commit now allows (written before the limit, or a
        // BrokenObject's wrapped state): crawling only reads them, so no limit here.
        const refs = this.owner.serializer.scan(
          getState(m),
          labelOf(m, this.owner.registry),
          Infinity,
        );
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
    this.owner.checkOpen();
    const m = metaOf(obj);
    if (m.oid === undefined) return [];
    this.checkOwn(m);
    const revisions = await this.owner.storage.history(m.oid, limit);
    return revisions.map((r) => ({
      tid: r.tid,
      time: r.time,
      note: r.note,
      state: this.owner.serializer.decode(r.record.state, this.resolve),
    }));
  }

  /** The object for a stored reference: the one this connection has, or a new ghost. */
  private readonly resolve = (oid: number, className: string): Persistent =>
    cachedOrGhost(this.owner, oid, className);

  private isUnloaded(oid: number): boolean {
    const obj = this.owner.cache.get(oid);
    return obj === undefined || metaOf(obj).status === 'ghost';
  }

  /** Fills the ghost (making it first if needed) for a loaded record. */
  private install(record: LoadedRecord): void {
    const obj = this.resolve(record.oid, record.className);
    const m = metaOf(obj);
    if (m.status !== 'ghost') return;
    let state = this.owner.serializer.decode(record.state, this.resolve);
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
    this.owner.cache.noteLoaded(obj);
  }
}

/**
 * @throws TypeError naming argument `index` of `caller` when `value` is not a persistent object
 *   (or, where `oids` are taken, a number), before shelfdb trips over it somewhere deeper.
 */
function checkArgument(value: unknown, index: number, caller: string, oids: boolean): void {
  if (value instanceof Persistent || (oids && typeof value === 'number')) return;
  throw new TypeError(
    `${caller}: argument ${index + 1} is not a persistent object${oids ? ' or an oid' : ''}: got ${describeValue(value)}.`,
  );
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof (value as { then?: unknown }).then === 'function') {
    return 'a Promise: await it first, e.g. conn.load(await conn.root())';
  }
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? `an object (${name})` : 'an object';
  }
  return `a ${typeof value}`;
}

/**
 * The connection's object for `oid`: the one in its cache, else a new ghost of the registered class
 * (a BrokenObject ghost for a class this page lacks), added to the cache.
 */
export function cachedOrGhost(
  owner: { readonly registry: ClassRegistry; readonly cache: Cache; readonly jar: Jar },
  oid: number,
  className: string,
): Persistent {
  const known = owner.cache.get(oid);
  if (known !== undefined) return known;
  const cls = owner.registry.classOf(className);
  const ghost =
    cls === undefined
      ? makeGhost(BrokenObject, oid, className, owner.jar, true)
      : makeGhost(cls, oid, className, owner.jar);
  owner.cache.add(ghost);
  return ghost;
}
