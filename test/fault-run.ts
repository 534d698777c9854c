/**
 * One workload run of the fault-injection harness: the live ShelfStorage over a FaultDirectory, and
 * the ledger of what the workload asked for and what the storage answered.
 *
 * Ledger rules (what the checks in fault-checks.ts hold the storage to):
 * - A commit whose promise RESOLVED is acknowledged. With durability 'strict' every acknowledged
 *   commit must survive any crash. With 'relaxed' only those acknowledged before the last
 *   successful flush of a log segment (`seg-*`) before the crash must: `flushesAtAck` records how
 *   many segment flushes had completed when the acknowledgement was seen.
 * - A commit whose promise REJECTED with a definitive failure — a ShelfError other than
 *   StorageBusyError (StorageFullError "this commit was not stored", a conflict, a closed database,
 *   a bad request) — must not be stored, ever. Any other rejection (StorageBusyError, a raw platform
 *   error, anything after a crash) leaves the outcome unknown: the commit may be there, but then
 *   whole (all of its records) and exactly once.
 * - A commit still pending when the workload ends (after a crash) is unknown as well.
 */
import { vi } from 'vitest';
import { ShelfError, StorageBusyError, type StoredRecord } from '../src/index.js';
import { ShelfStorage, type ShelfOptions } from '../worker/shelf-storage.js';
import type { FaultDirectory } from './fault-directory.js';

export const CLASS_NAME = 'fault.Cell';
/** Event-loop turns a storage call may take before it counts as hung. */
const HANG_TURNS = 200;

export interface Entry {
  /** The commit's number; its note is `c<k>` and each record's state is `stateText(oid, k)`. */
  k: number;
  note: string;
  oids: number[];
  status: 'pending' | 'acked' | 'rejected' | 'discarded';
  tid?: number;
  error?: unknown;
  flushesAtAck?: number;
  /** Required after any crash (a strict commit made by the checks themselves). */
  durable?: boolean;
}

export type FailureCode =
  | 'reopen-error'
  | 'refusal-changed-files'
  | 'recover-failed'
  | 'verify'
  | 'lost'
  | 'wrong-tid'
  | 'duplicate'
  | 'phantom'
  | 'rejected-present'
  | 'half'
  | 'hole'
  | 'wrong-state'
  | 'read-error'
  | 'oid-reused'
  | 'next-commit'
  | 'next-commit-lost'
  | 'live-broken'
  | 'error-class'
  | 'swallowed'
  | 'escaped'
  | 'hang'
  | 'leaked-handles'
  | 'open-retry';

export interface Failure {
  code: FailureCode;
  message: string;
}

/** Whether a rejection promises that nothing was stored (see the header). */
export function isDefinitive(error: unknown): boolean {
  return error instanceof ShelfError && !(error instanceof StorageBusyError);
}

/** The state bytes of `oid` as written by commit `k`, padded by the seed so torn bytes move. */
export function stateText(oid: number, k: number | string, seed: number): string {
  const pad = (seed + oid * 7 + (typeof k === 'number' ? k * 13 : 5)) % 41;
  return `${oid}:${k}:${'x'.repeat(pad)}`;
}

export class Run {
  readonly ledger: Entry[] = [];
  readonly failures: Failure[] = [];
  /** Every rejection a call of the workload saw, with the call. */
  readonly errors: { call: string; error: unknown }[] = [];
  /** Errors reported in the background (subscribeErrors) or thrown out of a timer or task. */
  readonly background: { via: string; error: unknown }[] = [];
  /** The highest oid handed out by an acknowledged newOids(). */
  handedOut = 0;
  /** Every oid a commit wrote (the objects the state check looks at). */
  readonly universe = new Set<number>([0]);
  /** The oids the setup handed out, for workloads to write. */
  oids: number[] = [];
  storage: ShelfStorage | undefined;
  /** Set by workloads that close the storage themselves. */
  closed = false;
  /** Whether pack ran (it drops superseded records from old transactions). */
  packed = false;
  /** The options of the last open (a failed open is retried with them). */
  openedWith: ShelfOptions = {};
  private next = 0;

  constructor(
    public dir: FaultDirectory,
    readonly options: ShelfOptions,
    readonly seed: number,
  ) {}

  get relaxed(): boolean {
    return this.options.durability === 'relaxed';
  }

  /** ShelfStorage options: the path's, with a group-commit schedule that reports what escapes it. */
  storageOptions(extra: ShelfOptions = {}): ShelfOptions {
    return {
      ...this.options,
      ...extra,
      schedule: (task) =>
        queueMicrotask(() => {
          try {
            task();
          } catch (error) {
            this.background.push({ via: 'a scheduled task threw', error });
          }
        }),
    };
  }

  /** Opens the storage over `dir`; a failure is recorded (and returned) instead of thrown. */
  async open(extra: ShelfOptions = {}): Promise<ShelfStorage | undefined> {
    this.openedWith = extra;
    const result = await this.settle(
      'open',
      ShelfStorage.open(this.dir, this.storageOptions(extra)),
    );
    if (result.ok) {
      this.storage = result.value;
      this.storage.subscribeErrors?.((error) =>
        this.background.push({ via: 'subscribeErrors', error }),
      );
    }
    return this.storage;
  }

  /** Issues a commit writing `oids` (not awaited: several in one tick make a group commit). */
  issue(oids: number[]): Promise<void> {
    const k = this.next++;
    const entry: Entry = { k, note: `c${k}`, oids: [...oids], status: 'pending' };
    this.ledger.push(entry);
    for (const oid of oids) this.universe.add(oid);
    const storage = this.storage;
    if (storage === undefined) {
      entry.status = 'rejected';
      return Promise.resolve();
    }
    const records: StoredRecord[] = oids.map((oid) => ({
      oid,
      className: CLASS_NAME,
      state: new TextEncoder().encode(stateText(oid, k, this.seed)),
      refs: oid === 0 ? this.oids : [],
      ...this.basedOn(oid),
    }));
    let promise: Promise<number>;
    try {
      // Based on what was acknowledged, as a client's would be: a commit of an object another
      // commit of the workload still has in flight conflicts (rejected, and counted as such).
      promise = storage.commit({ baseTid: this.newestAcked(), records, note: entry.note });
    } catch (error) {
      promise = Promise.reject(error);
    }
    return this.settle(`commit ${entry.note}`, promise).then((result) => {
      if (result.ok) {
        entry.status = 'acked';
        entry.tid = result.value;
        entry.flushesAtAck = this.dir.flushCount('seg-');
      } else if (result.settled) {
        entry.status = 'rejected';
        entry.error = result.error;
      }
    });
  }

  /** The revision of `oid` a client would base a change on: the newest acknowledged (none: new). */
  private basedOn(oid: number): { tid?: number } {
    let tid: number | undefined;
    for (const e of this.ledger) {
      if (
        e.status === 'acked' &&
        e.oids.includes(oid) &&
        (tid === undefined || (e.tid ?? 0) > tid)
      ) {
        tid = e.tid;
      }
    }
    return tid === undefined ? {} : { tid };
  }

  /** The newest acknowledged tid: a snapshot a client may hold. */
  private newestAcked(): number {
    let newest = 0;
    for (const e of this.ledger) if (e.status === 'acked') newest = Math.max(newest, e.tid ?? 0);
    return newest;
  }

  commit(oids: number[]): Promise<void> {
    return this.issue(oids);
  }

  async newOids(count: number): Promise<number[]> {
    const storage = this.storage;
    if (storage === undefined) return [];
    const result = await this.settle(
      `newOids(${count})`,
      call(() => storage.newOids(count)),
    );
    if (!result.ok) return [];
    this.handedOut = Math.max(this.handedOut, ...result.value);
    return result.value;
  }

  /** Runs a maintenance call (checkpoint, pack, close), recording its failure. */
  async call(label: string, fn: (s: ShelfStorage) => Promise<unknown>): Promise<void> {
    const storage = this.storage;
    if (storage === undefined) return;
    await this.settle(
      label,
      call(() => fn(storage)),
    );
  }

  /** Lets the relaxed-durability flush timers run; what they throw is recorded. */
  tick(): void {
    try {
      vi.advanceTimersByTime(10);
    } catch (error) {
      this.background.push({ via: 'a timer threw', error });
    }
  }

  /**
   * Awaits `promise`, recording a rejection; a promise that has not settled after HANG_TURNS
   * turns of the event loop (all storage work is microtasks and faked timers) is a hang.
   */
  async settle<T>(
    label: string,
    promise: Promise<T>,
  ): Promise<
    | { ok: true; value: T }
    | { ok: false; settled: true; error: unknown }
    | { ok: false; settled: false }
  > {
    let outcome: { ok: true; value: T } | { ok: false; settled: true; error: unknown } | undefined;
    promise.then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, settled: true, error }),
    );
    for (let turn = 0; outcome === undefined && turn < HANG_TURNS; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (outcome === undefined) this.tick();
    }
    if (outcome === undefined) {
      this.failures.push({ code: 'hang', message: `${label} never settled` });
      return { ok: false, settled: false };
    }
    if (!outcome.ok) this.errors.push({ call: label, error: outcome.error });
    return outcome;
  }
}

/** Calls `fn`, turning a synchronous throw into a rejection. */
function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** One line about an error, for failure messages. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return `${error.name}${code ? ` (${code})` : ''}: ${error.message}`;
  }
  return String(error);
}
