import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { TabRouter } from '../worker/tab-router.js';
import {
  Database,
  PersistentList,
  StorageBusyError,
  WriteConflictError,
  type ChangeEvent,
} from '../src/index.js';
import { FakeHub, type FakeTab } from './fake-tabs.js';

/** A database shared by tabs: the files in one directory, opened by whichever tab owns them. */
function origin() {
  const hub = new FakeHub();
  const dir = new MemoryBlockDirectory();
  const opens: string[] = [];
  const join = async (tab: FakeTab, busyTimeout = 2000) => {
    const router = await TabRouter.open(tab, { name: 'db', busyTimeout }, async () => {
      opens.push('open');
      return ShelfStorage.open(dir);
    });
    return { router, db: new Database(router) };
  };
  return { hub, dir, join, opens };
}

const settle = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

  it('fails calls with StorageBusyError, and tells onBusy, when the owner does not answer', async () => {
    const { hub, join } = origin();
    const ownerTab = hub.tab();
    await join(ownerTab);
    const b = await join(hub.tab(), 200);
    // Frozen: the owner holds its locks but its channels are silent.
    ownerTab.crashed = true;
    let told: unknown;
    b.router.onBusy = (e) => (told = e);
    const t0 = Date.now();
    await expect(b.router.stats()).rejects.toBeInstanceOf(StorageBusyError);
    expect(Date.now() - t0).toBeLessThan(1000);
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
    await settle(); // b's pin reaches the owner
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
      await settle(5);
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
