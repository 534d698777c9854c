import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { TabRouter } from '../worker/tab-router.js';
import {
  Database,
  PersistentList,
  ShelfError,
  StorageBusyError,
  StorageError,
  StorageFullError,
  WriteConflictError,
  type ChangeEvent,
} from '../src/index.js';
import {
  PROTOCOL_VERSION,
  callsChannelName,
  databaseChannelName,
  tabChannelName,
} from '../src/shared/protocol.js';
import { packRecords } from '../src/shared/record-batch.js';
import type { CommitRequest, Invalidation, Storage } from '../src/shared/storage.js';
import { FakeHub, type FakeTab } from './fake-tabs.js';
import { hooked } from './storage-hooks.js';
import { eventually } from './until.js';

/** Changes what a tab's storage does: replaces some methods, sees every call. */
type Hooks = (storage: Storage) => Partial<Storage>;

/** A database shared by tabs: the files in one directory, opened by whichever tab owns them. */
function origin() {
  const hub = new FakeHub();
  const dir = new MemoryBlockDirectory();
  const opens: string[] = [];
  /** Storages opened and not closed yet: never more than one may hold the files. */
  let holding = 0;
  let mostHolding = 0;
  const join = async (tab: FakeTab, busyTimeout = 2000, hooks?: Hooks, seen: string[] = []) => {
    const router = await TabRouter.open(tab, { name: 'db', busyTimeout }, async () => {
      opens.push('open');
      const storage = await ShelfStorage.open(dir);
      holding++;
      mostHolding = Math.max(mostHolding, holding);
      const close = async () => {
        holding--;
        await storage.close();
      };
      return hooked(storage, { close, ...hooks?.(storage) }, seen);
    });
    return { router, db: new Database(router) };
  };
  return { hub, dir, join, opens, mostHolding: () => mostHolding };
}

/** A commit of the root object alone, as a connection would send it. */
const rootCommit = (value: number, tid: number | undefined, txnId?: string): CommitRequest => ({
  baseTid: tid ?? 0,
  records: [
    {
      oid: 0,
      className: 'Cell',
      state: new Uint8Array([value]),
      refs: [],
      ...(tid === undefined ? {} : { tid }),
    },
  ],
  ...(txnId === undefined ? {} : { txnId }),
});

/** A tab that speaks raw messages: what another version of the app, or an attacker, can send. */
function rogue(hub: FakeHub, tabId = 'rogue') {
  const tab = hub.tab();
  const answers: unknown[] = [];
  /** Call id → who waits for its answer. */
  const waiting = new Map<unknown, (answer: unknown) => void>();
  tab.channel(tabChannelName('db', tabId)).addEventListener('message', (e) => {
    answers.push(e.data);
    const id = (e.data as { id?: unknown } | null)?.id;
    waiting.get(id)?.(e.data);
    waiting.delete(id);
  });
  /** The answer to call `id`, when it comes. */
  const answerTo = (id: number): Promise<unknown> =>
    eventually(new Promise((resolve) => waiting.set(id, resolve)), `the answer to call ${id}`);
  const calls = tab.channel(callsChannelName('db'));
  const main = tab.channel(databaseChannelName('db'));
  let id = 0;
  const call = (method: string, args: unknown[], from: unknown = tabId) => {
    id++;
    calls.postMessage({ v: PROTOCOL_VERSION, type: 'call', id, method, args, from });
    return id;
  };
  return { tab, answers, calls, main, call, answerTo };
}

describe('TabRouter', () => {
  it('makes the first tab the owner and lets the others read and commit through it', async () => {
    const { hub, join, opens } = origin();
    const a = await join(hub.tab());
    const b = await join(hub.tab());
    const c = await join(hub.tab());
    expect(opens).toHaveLength(1);
    const [ca, cb, cc] = [a.db.open(), b.db.open(), c.db.open()];
    await cb.transact(async () => (await cb.root()).set('from-b', 1));
    await cc.transact(async () => (await cc.root()).set('from-c', 2));
    await ca.transact(async () => (await ca.root()).set('from-a', 3));
    for (const conn of [ca, cb, cc]) {
      await conn.sync();
      const root = await conn.root();
      expect([root.get('from-a'), root.get('from-b'), root.get('from-c')]).toEqual([3, 1, 2]);
    }
  });

  it("announces every commit to the other tabs, which fire 'change'", async () => {
    const { hub, join } = origin();
    const a = await join(hub.tab());
    const b = await join(hub.tab());
    const ca = a.db.open();
    const cb = b.db.open();
    await ca.transact(async () => (await ca.root()).set('x', 1));
    const root = await cb.root();
    const seen = new Promise<ChangeEvent>((resolve) =>
      cb.addEventListener('change', (e) => resolve(e as ChangeEvent), { once: true }),
    );
    await ca.transact(async () => (await ca.root()).set('x', 2));
    const event = await seen;
    expect(event.oids).toEqual([0]);
    expect((await cb.load(root)).get('x')).toBe(2);
  });

  it('gives exactly one of two tabs writing one object a WriteConflictError', async () => {
    const { hub, join } = origin();
    const a = await join(hub.tab());
    const b = await join(hub.tab());
    const ca = a.db.open();
    const cb = b.db.open();
    await ca.transact(async () => (await ca.root()).set('x', 0));
    ca.autoSync = false;
    cb.autoSync = false;
    await cb.sync();
    (await ca.root()).set('x', 'a');
    (await cb.root()).set('x', 'b');
    const results = await Promise.allSettled([ca.commit(), cb.commit()]);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toBeInstanceOf(WriteConflictError);
  });

  it('hands the files to the next tab when the owner crashes; calls in flight land exactly once', async () => {
    const { hub, join, opens } = origin();
    const ownerTab = hub.tab();
    const a = await join(ownerTab);
    const b = await join(hub.tab());
    const c = await join(hub.tab());
    const cb = b.db.open();
    const cc = c.db.open();
    await cb.transact(async () => (await cb.root()).set('count', 0));
    // Commits in flight from two tabs while the owner dies.
    const inflight = [
      cb.transact(async () => (await cb.root()).set('b', 'landed')),
      cc.transact(async () => (await cc.root()).set('c', 'landed')),
    ];
    ownerTab.crash();
    await Promise.all(inflight);
    expect(opens.length).toBe(2);
    await cb.sync();
    const root = await cb.root();
    expect([root.get('b'), root.get('c')]).toEqual(['landed', 'landed']);
    // Each landed once: one transaction each after the first.
    const notes = await b.db.storage.transactions();
    expect(notes.length).toBe(4); // root, count, b, c
    // The survivors keep committing.
    await cc.transact(async () => (await cc.root()).set('after', true));
    await cb.sync();
    expect((await cb.root()).get('after')).toBe(true);
    void a;
  });

  it('fails calls with StorageBusyError, and tells its busy listeners, when the owner does not answer', async () => {
    const { hub, join } = origin();
    const ownerTab = hub.tab();
    await join(ownerTab);
    const b = await join(hub.tab(), 200);
    // Frozen: the owner holds its locks but its channels are silent.
    ownerTab.crashed = true;
    let told: unknown;
    b.router.subscribeBusy((e) => (told = e));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let failed: unknown;
      const call = b.router.stats().catch((error: unknown) => (failed = error));
      await vi.advanceTimersByTimeAsync(199);
      expect(failed).toBeUndefined(); // it waits busyTimeout (200 ms) for the owner,
      await vi.advanceTimersByTimeAsync(1);
      await call;
      expect(failed).toBeInstanceOf(StorageBusyError); // and not longer
    } finally {
      vi.useRealTimers();
    }
    expect(told).toBeInstanceOf(StorageBusyError);
  });

  it("packs from one tab without removing what another tab's snapshot still reads", async () => {
    const { hub, join } = origin();
    const a = await join(hub.tab());
    const b = await join(hub.tab());
    const ca = a.db.open();
    await ca.transact(async () => (await ca.root()).set('cell', new PersistentList([0])));
    const cb = b.db.open();
    cb.autoSync = false;
    const cell = (await cb.root()).get('cell') as PersistentList<number>; // a ghost at b's snapshot
    await hub.idle(); // b's pin reaches the owner
    for (let i = 1; i <= 5; i++) {
      await ca.transact(async () =>
        ((await ca.root()).get('cell') as PersistentList<number>).set(0, i),
      );
    }
    await a.db.pack();
    expect((await cb.load(cell)).at(0)).toBe(0); // the revision b's snapshot reads did not
    await cb.abort();
    expect((await cb.load(cell)).at(0)).toBe(5);
  });

  it('survives tabs opening and closing repeatedly, ownership moving each time', async () => {
    const { hub, join } = origin();
    let keeper = await join(hub.tab());
    let expected = 0;
    for (let cycle = 0; cycle < 20; cycle++) {
      const next = await join(hub.tab());
      const conn = next.db.open();
      await conn.transact(async () => {
        const root = await conn.root();
        root.set('n', ((root.get('n') as number | undefined) ?? 0) + 1);
        root.set(`cycle${cycle}`, cycle);
      });
      expected++;
      await keeper.db.close(); // the older tab closes: the newer one may become the owner
      keeper = next;
      await hub.idle(); // the files have passed to the next tab
    }
    const last = await join(hub.tab());
    const conn = last.db.open();
    await conn.sync();
    const root = await conn.root();
    expect(root.get('n')).toBe(expected);
    for (let cycle = 0; cycle < 20; cycle++) expect(root.get(`cycle${cycle}`)).toBe(cycle);
    expect(await last.db.verify()).toEqual({ ok: true, problems: [] });
  });
});

describe('TabRouter under faults', () => {
  it('answers the calls a closing owner is running before it closes the files', async () => {
    const { hub, join } = origin();
    let started: () => void = () => undefined;
    const running = new Promise<void>((r) => (started = r));
    const a = await join(hub.tab(), 2000, (s) => ({
      commit: (txn) => {
        started();
        return s.commit(txn);
      },
    }));
    // The next owner never manages to open the files: only the closing owner can answer.
    const c = await TabRouter.open(
      hub.tab(),
      { name: 'db', busyTimeout: 300 },
      () => new Promise<Storage>(() => undefined),
    );
    const landed = c.commit(rootCommit(1, undefined, 'txn-1'));
    await running;
    await a.router.close();
    await expect(landed).resolves.toBe(1);
  });

  it('treats a pin pending at handover as a pin, and keeps one owner holding the files', async () => {
    const { hub, join, opens, mostHolding } = origin();
    const ownerTab = hub.tab();
    await join(ownerTab);
    const b = await join(hub.tab());
    const c = await join(hub.tab());
    ownerTab.crash();
    const pinned = b.router.pin('page', 0);
    await expect(pinned).resolves.toBeUndefined();
    await expect(c.router.stats()).resolves.toMatchObject({ transactions: 0 });
    expect(opens).toHaveLength(2);
    expect(mostHolding()).toBeLessThanOrEqual(2); // the crashed owner's storage, and b's
  });

  it('closes the files before releasing the lock when taking over fails, and reports why', async () => {
    const { hub, join, opens } = origin();
    const ownerTab = hub.tab();
    await join(ownerTab);
    let bClosed = false;
    let bClosedBeforeNextOpen: boolean | undefined;
    const b = await join(hub.tab(), 2000, (s) => ({
      subscribe: () => {
        throw new StorageError('the index is unreadable');
      },
      close: async () => {
        bClosed = true;
        await s.close();
      },
    }));
    const reported: unknown[] = [];
    b.router.subscribeErrors((error) => reported.push(error));
    const c = await join(hub.tab(), 2000, () => {
      bClosedBeforeNextOpen ??= bClosed;
      return {};
    });
    ownerTab.crash();
    await expect(c.router.stats()).resolves.toMatchObject({ transactions: 0 });
    expect(opens).toHaveLength(3);
    expect(bClosedBeforeNextOpen).toBe(true);
    expect(reported).toHaveLength(1);
    expect(String(reported[0])).toMatch(/index is unreadable/);
  });

  it('releases the owner lock and rethrows when closing the files fails', async () => {
    const { hub, join } = origin();
    const a = await join(hub.tab(), 2000, (s) => ({
      close: async () => {
        await s.close();
        throw new StorageFullError('no room for the checkpoint');
      },
    }));
    const b = await join(hub.tab(), 500);
    await expect(a.router.close()).rejects.toThrow(/no room for the checkpoint/);
    await expect(b.router.stats()).resolves.toMatchObject({ transactions: 0 });
  });

  it('ignores malformed messages without failing the calls in flight, and counts them', async () => {
    const { hub, join } = origin();
    const ownerTab = hub.tab();
    await join(ownerTab);
    const b = await join(hub.tab());
    ownerTab.freeze();
    const inFlight = b.router.commit(rootCommit(1, undefined, 'txn-1'));
    const stray = hub.tab().channel(tabChannelName('db', b.router.tabId));
    stray.postMessage('garbage');
    stray.postMessage({ v: PROTOCOL_VERSION, type: 'result' });
    stray.postMessage({ v: PROTOCOL_VERSION, type: 'error', id: 1, error: { shelfError: false } });
    await hub.idle();
    expect(b.router.wireStats.ignoredMessages).toBe(3); // all three seen, while frozen
    ownerTab.thaw();
    await expect(inFlight).resolves.toBe(1);
    expect(b.router.wireStats.ignoredMessages).toBe(3);
    expect(await b.router.stats()).toMatchObject({ ignoredMessages: 3 });
  });

  it('reports a tab of another protocol version once, and ignores its messages', async () => {
    const { hub, join } = origin();
    const a = await join(hub.tab());
    const reported: unknown[] = [];
    a.router.subscribeErrors((error) => reported.push(error));
    const { main, calls } = rogue(hub);
    main.postMessage({ v: PROTOCOL_VERSION + 1, type: 'hello', tabId: 'old' });
    main.postMessage({ v: PROTOCOL_VERSION + 1, type: 'hello', tabId: 'old' });
    calls.postMessage({ v: PROTOCOL_VERSION + 1, type: 'call', id: 1, method: 'close', args: [] });
    await hub.idle();
    expect(a.router.wireStats.ignoredMessages).toBe(3); // every foreign message seen
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(StorageError);
    expect(String(reported[0])).toMatch(/another version of this app/);
    expect(a.router.wireStats.ignoredMessages).toBe(3);
    await expect(a.router.stats()).resolves.toMatchObject({ transactions: 0 });
  });

  it('refuses to join, naming the reason, when the owner runs another protocol version', async () => {
    const hub = new FakeHub();
    const old = rogue(hub, 'old');
    void old.tab.locks.request('shelfdb:db:owner', () => new Promise(() => undefined));
    old.main.addEventListener('message', () =>
      old.main.postMessage({ v: PROTOCOL_VERSION - 1, type: 'owner', tabId: 'old' }),
    );
    const joining = TabRouter.open(hub.tab(), { name: 'db', busyTimeout: 200 }, () =>
      ShelfStorage.open(new MemoryBlockDirectory()),
    );
    await expect(joining).rejects.toThrow(/another version of this app/);
  });

  it('refuses a close call from another tab and keeps serving every tab', async () => {
    const { hub, join } = origin();
    const a = await join(hub.tab());
    const b = await join(hub.tab());
    const r = rogue(hub);
    await hub.idle(); // the tabs have met; the rogue tab holds no tab lock (it does not exist)
    const id = r.call('close', []);
    expect(await r.answerTo(id)).toMatchObject({ type: 'error', id });
    expect(r.answers).toHaveLength(1);
    await expect(b.router.commit(rootCommit(1, undefined))).resolves.toBe(1);
    await expect(a.router.stats()).resolves.toMatchObject({ transactions: 1 });
  });

  it('answers calls with malformed arguments from another tab with an error, never running them', async () => {
    const { hub, join } = origin();
    const seen: string[] = [];
    await join(hub.tab(), 2000, () => ({}), seen);
    const r = rogue(hub);
    const badId = fc.oneof(
      fc.integer({ max: -1 }),
      fc.double({ noInteger: true }),
      fc.constantFrom(NaN, Infinity, 2 ** 53, '1', null, true, {}),
    );
    const badCount = badId.filter((x) => x !== Infinity); // a limit may be Infinity
    const badCall = fc.oneof(
      badId.map((x) => ['load', [[1, x]]] as const),
      badId.map((x) => ['load', [[1], x]] as const),
      fc.constant(['load', ['0']] as const),
      badId.map((x) => ['sync', [x]] as const),
      badId.map((x) => ['history', [x]] as const),
      badCount.map((x) => ['history', [1, x]] as const),
      badId.map((x) => ['newOids', [x]] as const),
      badId.map((x) => ['transactions', [{ before: x }]] as const),
      badCount.map((x) => ['transactions', [{ limit: x }]] as const),
      badId.map((x) => ['pack', [{ keepTid: x }]] as const),
      fc.constant(['commit', [{ baseTid: 0 }, 'not a buffer']] as const),
      fc.constant(['commit', [{ baseTid: 0 }, new ArrayBuffer(3)]] as const),
      fc
        .uint8Array({ maxLength: 64 })
        .map((bytes) => ['commit', [{ baseTid: 0 }, bytes.slice().buffer]] as const),
      fc.constant(['commit', [null, packRecords([])]] as const),
      fc.constant(['stats', [1, 2, 3]] as const),
    );
    await fc.assert(
      fc.asyncProperty(badCall, async ([method, args]) => {
        seen.length = 0;
        const before = r.answers.length;
        const id = r.call(method, [...args]);
        const answer = (await r.answerTo(id)) as { type: string; id: number };
        expect(r.answers[before]).toBe(answer); // the first answer since the call, and its own
        // A buffer of random bytes may decode to a well-formed empty commit: then it may run.
        if (answer.type === 'result') expect(method).toBe('commit');
        else expect(seen.filter((m) => m !== 'subscribe')).toEqual([]);
      }),
      { numRuns: 60, seed: 9 },
    );
  });

  it('answers a pin from a tab that does not exist with an error and keeps no such pin', async () => {
    const { hub, join } = origin();
    const a = await join(hub.tab());
    for (let i = 0; i < 4; i++) await a.router.commit(rootCommit(i, i === 0 ? undefined : i));
    const r = rogue(hub, 'nobody');
    const answered = [
      r.answerTo(r.call('pin', ['page', 1])),
      r.answerTo(r.call('pin', ['page', '1'])),
    ];
    await Promise.all(answered);
    await hub.idle();
    expect(r.answers).toMatchObject([{ type: 'error' }, { type: 'error' }]);
    expect(r.answers).toHaveLength(2);
    await a.router.pack();
    expect(await a.router.history(0)).toHaveLength(1);
  });

  it("drops a tab's pins when the tab dies", async () => {
    const { hub, join } = origin();
    const a = await join(hub.tab());
    const bTab = hub.tab();
    const b = await join(bTab);
    for (let i = 0; i < 4; i++) await a.router.commit(rootCommit(i, i === 0 ? undefined : i));
    await b.router.pin('page', 1);
    bTab.crash();
    await hub.idle(); // b's tab lock has reached the owner, which waited on it
    await a.router.pack();
    expect(await a.router.history(0)).toHaveLength(1);
  });

  it("keeps what a follower's snapshot pinned when a new owner packs at once", async () => {
    const { hub, join } = origin();
    const ownerTab = hub.tab();
    const a = await join(ownerTab);
    const b = await join(hub.tab());
    const c = await join(hub.tab());
    for (let i = 0; i < 4; i++) await a.router.commit(rootCommit(i, i === 0 ? undefined : i));
    await c.router.pin('page', 1);
    ownerTab.crash();
    await b.router.pack(); // runs as soon as b owns the files
    const [record] = await c.router.load([0], 1);
    expect(record?.tid).toBe(1);
  });

  it('fails a commit a frozen owner does not answer with StorageBusyError, and the late result still reaches the tab', async () => {
    const { hub, join } = origin();
    const ownerTab = hub.tab();
    await join(ownerTab);
    const b = await join(hub.tab(), 200);
    const seen: Invalidation[] = [];
    b.router.subscribe((invalidation) => seen.push(invalidation));
    const invalidated = new Promise<void>((resolve) => b.router.subscribe(() => resolve()));
    ownerTab.freeze();
    await expect(b.router.commit(rootCommit(1, undefined, 'txn-late'))).rejects.toBeInstanceOf(
      StorageBusyError,
    );
    ownerTab.thaw();
    await eventually(invalidated, "the late commit's invalidation");
    await hub.idle(); // the late answer, posted with the invalidation, has arrived too
    expect(b.router.wireStats.lateAnswers).toBe(1);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ tid: 1, txnId: 'txn-late' });
    // Sent again with its txnId, the commit is answered with the tid it landed under.
    await expect(b.router.commit(rootCommit(1, undefined, 'txn-late'))).resolves.toBe(1);
  });

  it('lets the calls a closing follower has in flight settle with their answers', async () => {
    const { hub, join } = origin();
    const ownerTab = hub.tab();
    const a = await join(ownerTab);
    const b = await join(hub.tab());
    ownerTab.freeze();
    const inFlight = b.router.commit(rootCommit(1, undefined, 'txn-closing'));
    const closed = b.router.close();
    await expect(b.router.stats()).rejects.toThrow(/closed/);
    await hub.idle(); // the commit waits at the frozen owner while b closes
    ownerTab.thaw();
    await expect(inFlight).resolves.toBe(1);
    await closed;
    await expect(a.router.stats()).resolves.toMatchObject({ transactions: 1 });
  });

  it('settles every call by busyTimeout when the owner closes, crashes or freezes mid-call', async () => {
    for (const fault of ['close', 'crash', 'freeze'] as const) {
      const { hub, join } = origin();
      const ownerTab = hub.tab();
      const a = await join(ownerTab, 300);
      const b = await join(hub.tab(), 300);
      const c = await join(hub.tab(), 300);
      await a.router.commit(rootCommit(0, undefined));
      const calls = [
        b.router.commit(rootCommit(1, 1, `b-${fault}`)),
        c.router.commit(rootCommit(2, 1, `c-${fault}`)),
        b.router.load([0]),
        c.router.pin('page', 1),
        b.router.pack(),
        c.router.sync(0),
      ];
      if (fault === 'close') await a.router.close();
      else if (fault === 'crash') ownerTab.crash();
      else ownerTab.freeze();
      const results = await Promise.allSettled(calls);
      for (const result of results) {
        if (result.status === 'rejected') {
          expect(result.reason).toBeInstanceOf(ShelfError);
          if (fault !== 'freeze') expect(result.reason).not.toBeInstanceOf(StorageBusyError);
        }
      }
      // Exactly one of the two conflicting commits landed, or (frozen) neither is known.
      const landed = results.slice(0, 2).filter((r) => r.status === 'fulfilled');
      expect(landed.length).toBeLessThanOrEqual(1);
      if (fault === 'freeze') ownerTab.thaw();
    }
  });

  it("forwards its storage's background errors to its page and to the other tabs", async () => {
    const { hub, join } = origin();
    const emitters = new Set<(error: unknown) => void>();
    const a = await join(hub.tab(), 2000, () => ({
      subscribeErrors: (listener: (error: unknown) => void) => {
        emitters.add(listener);
        return () => emitters.delete(listener);
      },
    }));
    const b = await join(hub.tab());
    const [fromA, fromB]: unknown[][] = [[], []];
    a.router.subscribeErrors((e) => fromA.push(e));
    b.router.subscribeErrors((e) => fromB.push(e));
    const reachedB = new Promise<void>((resolve) => b.router.subscribeErrors(() => resolve()));
    await hub.idle(); // the tabs have met
    for (const emit of emitters)
      emit(new StorageFullError('the automatic checkpoint found no room'));
    await eventually(reachedB, 'the report at the other tab');
    await hub.idle();
    expect(fromB).toHaveLength(1);
    expect(fromA).toHaveLength(1);
    expect(fromB[0]).toBeInstanceOf(StorageFullError);
    expect((fromB[0] as Error).message).toMatch(/automatic checkpoint/);
  });
});
