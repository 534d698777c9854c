/**
 * The scenarios of the model-based tab tests (tab-model.test.ts): actions across up to five fake
 * tabs sharing one ShelfStorage, the model they are checked against, and the arbitraries that
 * generate them. Repros of single interleavings run `runScenario` on a fixed action list.
 *
 * Every commit appends its op id to its tab's record (oids 1–5) and sometimes to the shared record
 * (oid 6), so the final states say exactly which ops landed and how often. The model: an
 * acknowledged op is there exactly once, in every record it wrote; an op rejected with an error
 * that says it did not land is nowhere; an op left with StorageBusyError (after one resend with
 * the same txnId) or whose tab closed or died mid-call is there once or not at all, and never half.
 * Besides: no call of a live tab is left unsettled once the owner is thawed and `busyTimeout` has
 * passed, at most one live tab holds the files open at any time, the owner's storage never sees a
 * malformed call or a close it was not asked for, and a fresh tab can commit and read afterwards,
 * with `verify()` ok, as can the files reopened after every tab closed.
 */
import {
  DatabaseClosedError,
  ReadConflictError,
  StorageBusyError,
  WriteConflictError,
} from '../src/shared/errors.js';
import { callsChannelName, databaseChannelName, tabChannelName } from '../src/shared/protocol.js';
import type { CommitRequest, Storage, StoredRecord } from '../src/shared/storage.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { Database, type Connection } from '../src/index.js';
import { chaosOrigin, decodeOps, encodeOps, settle, type ChaosTabState } from './tab-chaos.js';
import { BUSY, MAX_TABS, features, type Action, type Feature } from './tab-actions.js';

export { BUSY, actionArb, type Action, type Feature } from './tab-actions.js';

const SHARED = 6;
const ALL = [1, 2, 3, 4, 5, SHARED];
const KEYS = ['t1', 't2', 't3', 't4', 't5', 'shared'];

/** What one commit op was told. */
interface Op {
  id: number;
  tab: string;
  /** The lists it appends to: record oids (raw mode) or root keys (transact mode). */
  keys: string[];
  outcome: 'pending' | 'not-sent' | 'acked' | 'rejected' | 'unknown';
  story: string[];
}

interface Tracked {
  tab: ChaosTabState;
  what: string;
  settled: boolean;
}

/** One scenario: its tabs, its ops, and what went wrong. */
class Scenario {
  readonly origin = chaosOrigin({ busyTimeout: BUSY });
  readonly tabs: ChaosTabState[] = [];
  readonly ops: Op[] = [];
  readonly tracked: Tracked[] = [];
  readonly violations: string[] = this.origin.ledger.violations;
  private readonly slots = new Map<ChaosTabState, number>();
  private readonly stranger = this.origin.tab('stranger');
  private readonly strangerChannels = new Map<
    string,
    ReturnType<ChaosTabState['chaos']['channel']>
  >();
  newestTid = 1;
  /** Transact mode: each tab's connection, and the chain its ops run on one after another. */
  private readonly conns = new Map<ChaosTabState, { conn: Connection; queue: Promise<void> }>();
  constructor(
    private readonly disabled: ReadonlySet<Feature>,
    /** 'raw': commits through the router's Storage API; 'transact': conn.transact on a Database. */
    private readonly mode: Mode,
  ) {}

  live(): ChaosTabState[] {
    return this.tabs.filter((t) => t.router !== undefined && !t.closing && !t.chaos.crashed);
  }

  owner(): ChaosTabState | undefined {
    const [holder] = this.origin.ledger.holders();
    return this.live().find((t) => t.label === holder);
  }

  pick(index: number, owner = false): ChaosTabState | undefined {
    const live = this.live();
    if (owner) return this.owner();
    return live.length === 0 ? undefined : live[index % live.length];
  }

  track<T>(tab: ChaosTabState, what: string, promise: Promise<T>): Promise<T> {
    const entry = { tab, what, settled: false };
    this.tracked.push(entry);
    const done = (): void => void (entry.settled = true);
    promise.then(done, done);
    return promise;
  }

  /** An error that a live tab's call may meet; anything else is a violation. */
  expected(tab: ChaosTabState, error: unknown, what: string): boolean {
    if (error instanceof StorageBusyError || error instanceof WriteConflictError) return true;
    if (error instanceof ReadConflictError) return true;
    if (tab.closing && error instanceof DatabaseClosedError) return true;
    if (tab.chaos.crashed) return true; // a dead tab's callers died with it
    this.violations.push(`${tab.label} ${what} failed with ${String(error)}`);
    return false;
  }

  async setup(): Promise<void> {
    const storage = await ShelfStorage.open(this.origin.dir);
    if (this.mode === 'transact') {
      const db = new Database(storage);
      const conn = db.open();
      await conn.transact(async () => {
        const root = await conn.root();
        for (const key of KEYS) root.set(key, []);
      });
      await db.close();
      await this.join();
      return;
    }
    await storage.newOids(ALL.length);
    const records: StoredRecord[] = ALL.map((oid) => ({
      oid,
      className: 'Ops',
      state: encodeOps([]),
      refs: [],
    }));
    records.push({ oid: 0, className: 'Root', state: encodeOps([]), refs: ALL });
    this.newestTid = await storage.commit({ baseTid: 0, records });
    await storage.close();
    await this.join();
  }

  async join(): Promise<void> {
    if (this.live().length >= MAX_TABS) return;
    const state = this.origin.tab();
    const used = new Set(this.live().map((t) => this.slots.get(t)));
    const slot = [1, 2, 3, 4, 5].find((s) => !used.has(s)) as number;
    try {
      const router = await this.track(state, 'join', this.origin.join(state));
      this.tabs.push(state);
      this.slots.set(state, slot);
      if (this.mode === 'transact') {
        this.conns.set(state, { conn: new Database(router).open(), queue: Promise.resolve() });
      }
    } catch (error) {
      this.expected(state, error, 'join');
    }
  }

  /**
   * Transact mode: one transaction appending the op id to the tab's list (and the shared one),
   * after the tab's earlier ops (a page runs its transactions on its connection in turn).
   */
  transact(tab: ChaosTabState, shared: boolean): Promise<void> {
    const slot = this.slots.get(tab) as number;
    const keys = [`t${slot}`, ...(shared ? ['shared'] : [])];
    const op: Op = { id: this.ops.length + 1, tab: tab.label, keys, outcome: 'pending', story: [] };
    this.ops.push(op);
    const entry = this.conns.get(tab) as { conn: Connection; queue: Promise<void> };
    const run = async (): Promise<void> => {
      const conn = entry.conn;
      try {
        await this.track(
          tab,
          `transact of op ${op.id}`,
          conn.transact(async () => {
            const root = await conn.root();
            for (const key of keys) root.set(key, [...(root.get(key) as number[]), op.id]);
          }),
        );
        op.story.push(`acked`);
        op.outcome = 'acked';
      } catch (error) {
        op.story.push(String(error));
        const dying = tab.closing || tab.chaos.crashed;
        const known = this.expected(tab, error, `transact of op ${op.id}`);
        op.outcome = !known || dying || error instanceof StorageBusyError ? 'unknown' : 'rejected';
        if (error instanceof StorageBusyError && !dying) {
          // Busy before its commit was sent (loading, say): nothing was sent, nothing may land.
          if (conn.hasUncertainCommit) await this.resend(tab, conn, op);
          else op.outcome = 'rejected';
        }
      }
    };
    entry.queue = entry.queue.then(run);
    return entry.queue;
  }

  /**
   * After transact gave up with StorageBusyError, as a page does (API.md): `conn.commit()` resends
   * the very transaction (it lands once); if that is busy too, `conn.abort()` drops it.
   */
  private async resend(tab: ChaosTabState, conn: Connection, op: Op): Promise<void> {
    if (this.disabled.has('busy-resend')) {
      await this.track(tab, `abort after op ${op.id}`, conn.abort());
      return;
    }
    try {
      await this.track(tab, `resend of op ${op.id}`, conn.commit());
      op.story.push('resent: acked');
      op.outcome = 'acked';
      return;
    } catch (error) {
      op.story.push(`resent: ${String(error)}`);
      const dying = tab.closing || tab.chaos.crashed;
      const known = this.expected(tab, error, `resend of op ${op.id}`);
      op.outcome = !known || dying || error instanceof StorageBusyError ? 'unknown' : 'rejected';
    }
    try {
      await this.track(tab, `abort after op ${op.id}`, conn.abort());
    } catch (error) {
      this.expected(tab, error, `abort after op ${op.id}`);
    }
  }

  /** Load, append the op id, commit; a busy commit is resent once with the same txnId. */
  async commit(tab: ChaosTabState, shared: boolean): Promise<void> {
    if (this.mode === 'transact') return this.transact(tab, shared);
    const router = tab.router as Storage;
    const oids = [this.slots.get(tab) as number, ...(shared ? [SHARED] : [])];
    const op: Op = {
      id: this.ops.length + 1,
      tab: tab.label,
      keys: oids.map(String),
      outcome: 'pending',
      story: [],
    };
    this.ops.push(op);
    let loaded;
    try {
      loaded = await this.track(tab, `load for op ${op.id}`, router.load(oids));
    } catch (error) {
      this.expected(tab, error, `load for op ${op.id}`);
      op.outcome = 'not-sent';
      return;
    }
    const request: CommitRequest = {
      baseTid: Math.max(...loaded.map((r) => r.tid)),
      records: loaded.map((r) => ({
        oid: r.oid,
        className: 'Ops',
        state: encodeOps([...decodeOps(r.state), op.id]),
        refs: [],
        tid: r.tid,
      })),
      meta: { op: op.id },
      txnId: `op-${op.id}`,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const tid = await this.track(tab, `commit of op ${op.id}`, router.commit(request));
        op.story.push(`acked as ${tid}`);
        op.outcome = 'acked';
        this.newestTid = Math.max(this.newestTid, tid);
        return;
      } catch (error) {
        op.story.push(String(error));
        const busy = error instanceof StorageBusyError;
        const dying = tab.closing || tab.chaos.crashed;
        if (!this.expected(tab, error, `commit of op ${op.id}`) || busy || dying) {
          op.outcome = 'unknown';
        } else {
          op.outcome = 'rejected';
        }
        if (!busy || attempt > 0 || dying || this.disabled.has('busy-resend')) return;
        await settle(BUSY / 2);
      }
    }
  }

  async pin(tab: ChaosTabState, release: boolean): Promise<void> {
    try {
      await this.track(
        tab,
        'pin',
        (tab.router as Storage).pin?.(`h-${tab.label}`, release ? null : this.newestTid) ??
          Promise.resolve(),
      );
    } catch (error) {
      this.expected(tab, error, 'pin');
    }
  }

  async pack(tab: ChaosTabState): Promise<void> {
    try {
      await this.track(tab, 'pack', (tab.router as Storage).pack());
    } catch (error) {
      this.expected(tab, error, 'pack');
    }
  }

  async close(tab: ChaosTabState): Promise<void> {
    tab.closing = true;
    try {
      await this.track(tab, 'close', (tab.router as Storage).close());
    } catch (error) {
      this.violations.push(`${tab.label} close failed with ${String(error)}`);
    }
  }

  stray(
    channel: 'main' | 'calls' | 'answer',
    tab: ChaosTabState | undefined,
    message: unknown,
  ): void {
    const name =
      channel === 'main'
        ? databaseChannelName('db')
        : channel === 'calls'
          ? callsChannelName('db')
          : tabChannelName('db', tab?.label ?? 'nobody');
    let c = this.strangerChannels.get(name);
    if (c === undefined) {
      c = this.stranger.chaos.channel(name);
      this.strangerChannels.set(name, c);
    }
    c.postMessage(message);
  }

  /** Runs one action; long-running ones go on in the background. */
  act(action: Action, background: Promise<unknown>[]): Promise<void> | undefined {
    switch (action.kind) {
      case 'join':
        return this.join();
      case 'wait':
        return settle(action.ms);
      case 'stray':
        this.stray(action.channel, this.pick(action.tab), action.stray.message);
        return undefined;
    }
    const tab = this.pick(action.tab, 'owner' in action && action.owner);
    if (tab === undefined) return undefined;
    switch (action.kind) {
      case 'commit':
        background.push(this.commit(tab, action.shared));
        return undefined;
      case 'pin':
        background.push(this.pin(tab, action.release));
        return undefined;
      case 'pack':
        background.push(this.pack(tab));
        return undefined;
      case 'close':
        background.push(this.close(tab));
        return undefined;
      case 'crash':
        tab.chaos.crash();
        return undefined;
      case 'freeze':
        tab.chaos.freeze();
        background.push(settle(action.ms).then(() => tab.chaos.thaw()));
        return undefined;
    }
  }

  /** After the actions: every live tab's call settles once frozen tabs thaw. */
  async drain(background: Promise<unknown>[]): Promise<void> {
    for (const t of this.tabs) t.chaos.thaw();
    const deadline = settle(6 * BUSY + 1000).then(() => 'late' as const);
    const all = Promise.all(background).then(() => 'done' as const);
    if ((await Promise.race([all, deadline])) === 'late') {
      const open = this.tracked.filter((t) => !t.settled && !t.tab.chaos.crashed);
      this.violations.push(
        `calls left unsettled: ${open.map((t) => `${t.tab.label} ${t.what}`).join(', ')}`,
      );
    }
  }

  /** The model check: a fresh tab reads every record, commits, and verifies. */
  async check(): Promise<void> {
    const reader = this.origin.tab('reader');
    let storage: Storage;
    try {
      // The check is of the data, not of timing: a handover still running on a loaded machine
      // may outlast a 150 ms busyTimeout, so the reader waits longer.
      storage = await this.origin.join(reader, 20 * BUSY);
      this.tabs.push(reader);
      await storage.commit({ baseTid: this.newestTid, records: [], txnId: 'final-empty' });
      this.checkLists(await this.lists(storage), 'through a fresh tab');
      const report = await storage.verify();
      if (!report.ok)
        this.violations.push(`verify through a fresh tab: ${JSON.stringify(report.problems)}`);
    } catch (error) {
      this.violations.push(`a fresh tab could not read the database: ${String(error)}`);
    }
    for (const t of this.tabs) {
      if (t.router !== undefined && !t.chaos.crashed && !t.closing) await this.close(t);
    }
    try {
      const reopened = await ShelfStorage.open(this.origin.dir);
      this.checkLists(await this.lists(reopened), 'after reopening the files');
      const report = await reopened.verify();
      if (!report.ok)
        this.violations.push(`verify after reopening: ${JSON.stringify(report.problems)}`);
      await reopened.close();
    } catch (error) {
      this.violations.push(`the files could not be reopened: ${String(error)}`);
    }
    this.origin.ledger.check();
  }

  /** The op lists as stored, by key. */
  private async lists(storage: Storage): Promise<Map<string, number[]>> {
    if (this.mode === 'raw') {
      const records = await storage.load(ALL);
      return new Map(records.map((r) => [String(r.oid), decodeOps(r.state)]));
    }
    // A Database over the storage only to read it: not closed (closing it would close the storage).
    const root = await new Database(storage).open().root();
    return new Map(KEYS.map((key) => [key, (root.get(key) as number[] | undefined) ?? []]));
  }

  private checkLists(lists: Map<string, number[]>, where: string): void {
    const counts = new Map<string, Map<number, number>>();
    for (const [key, ops] of lists) {
      const seen = new Map<number, number>();
      for (const id of ops) seen.set(id, (seen.get(id) ?? 0) + 1);
      counts.set(key, seen);
    }
    for (const op of this.ops) {
      const found = op.keys.map((key) => counts.get(key)?.get(op.id) ?? 0);
      const story = `op ${op.id} of ${op.tab} (${op.story.join(' → ') || op.outcome})`;
      if (found.some((n) => n > 1)) this.violations.push(`${where}: ${story} landed twice`);
      else if (found.some((n) => n !== found[0]))
        this.violations.push(`${where}: ${story} landed in part`);
      else if (op.outcome === 'acked' && found[0] !== 1)
        this.violations.push(`${where}: ${story} was acknowledged and lost`);
      else if ((op.outcome === 'rejected' || op.outcome === 'not-sent') && found[0] !== 0)
        this.violations.push(`${where}: ${story} was refused and landed`);
    }
  }
}

/** Runs one interleaving and returns what went wrong (nothing: []). */
export type Mode = 'raw' | 'transact';

export async function runScenario(
  actions: Action[],
  disabled: ReadonlySet<Feature>,
  mode: Mode = 'raw',
): Promise<string[]> {
  const s = new Scenario(disabled, mode);
  await s.setup();
  const background: Promise<unknown>[] = [];
  for (const action of actions) {
    if (features(action).some((f) => disabled.has(f))) continue;
    await s.act(action, background);
    s.origin.ledger.check();
    await settle(0);
  }
  await s.drain(background);
  await s.check();
  return s.violations;
}
