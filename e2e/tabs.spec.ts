/**
 * Several tabs of one browser on one database, in real Chromium (a real on-disk profile): one
 * owner holds the OPFS files, the others forward to it, everyone sees everyone's commits, and
 * closing any tab, the owner included, loses nothing and hangs nothing.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { withProfile } from './profile.js';

type Shelf = typeof import('../src/index.js');
declare global {
  interface Window {
    shelfdb: Shelf;
    db: InstanceType<Shelf['Database']>;
    conn: InstanceType<Shelf['Connection']>;
    changes: number[][];
    /** Transactions a tab's loop has finished (landed or failed). */
    transactsDone: number;
    /** Settles when the owner's storage worker says its freeze has begun. */
    freezeBegun: Promise<void>;
    /** Set when the owner's storage worker says its freeze is over. */
    freezeOver: boolean;
  }
}

async function openTab(
  context: BrowserContext,
  baseURL: string,
  name: string,
  busyTimeout = 5000,
  storage: 'opfs' | 'indexeddb' = 'opfs',
): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${baseURL}/e2e/pages/blank.html`);
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  await page.evaluate(
    async ([name, busyTimeout, storage]) => {
      window.db = await window.shelfdb.openDatabase(name as string, {
        storage: storage as 'opfs' | 'indexeddb',
        busyTimeout: busyTimeout as number,
      });
      window.conn = window.db.open();
      window.changes = [];
      window.conn.addEventListener('change', (e) =>
        window.changes.push((e as InstanceType<Shelf['ChangeEvent']>).oids),
      );
      await window.conn.root();
    },
    [name, busyTimeout, storage] as const,
  );
  return page;
}

/** Sets root[key] = value from a tab, through transact. */
const put = (page: Page, key: string, value: unknown): Promise<unknown> =>
  page.evaluate(
    ([k, v]) => window.conn.transact(async () => (await window.conn.root()).set(k as string, v)),
    [key, value] as const,
  );

/** The root's entries as this tab sees them after catching up. */
const rootOf = (page: Page): Promise<Record<string, unknown>> =>
  page.evaluate(async () => {
    await window.conn.sync();
    return Object.fromEntries((await window.conn.root()).entries());
  });

test('three tabs commit concurrently and every commit is readable from every tab', async ({
  baseURL,
}) => {
  await withProfile(async (context) => {
    const tabs = [];
    for (let i = 0; i < 3; i++) tabs.push(await openTab(context, baseURL as string, 'three'));
    await Promise.all(
      tabs.map((tab, i) =>
        tab.evaluate(async (i) => {
          for (let k = 0; k < 10; k++) {
            // All three write the root: they collide, and transact retries.
            await window.conn.transact(
              async () => (await window.conn.root()).set(`t${i}-${k}`, k),
              { retries: 100 },
            );
          }
        }, i),
      ),
    );
    const expected = Object.fromEntries(
      [0, 1, 2].flatMap((i) => [...Array(10).keys()].map((k) => [`t${i}-${k}`, k])),
    );
    for (const tab of tabs) expect(await rootOf(tab)).toEqual(expected);
  });
});

test("a tab gets 'change' for another tab's commit, and two tabs writing one object get one conflict", async ({
  baseURL,
}) => {
  await withProfile(async (context) => {
    const a = await openTab(context, baseURL as string, 'change');
    const b = await openTab(context, baseURL as string, 'change');
    await put(a, 'x', 1);
    await expect.poll(() => b.evaluate(() => window.changes.length)).toBeGreaterThan(0);
    expect(await b.evaluate(() => window.changes.at(-1))).toEqual([0]);

    // Both tabs read the object at the same snapshot first, with autoSync off so it stays there.
    for (const tab of [a, b]) {
      await tab.evaluate(async () => {
        await window.conn.sync();
        window.conn.autoSync = false;
        await window.conn.root();
      });
    }
    const results = await Promise.all(
      [a, b].map((tab, i) =>
        tab.evaluate(async (i) => {
          (await window.conn.root()).set('x', `tab${i}`);
          return window.conn.commit().then(
            () => 'ok',
            (e: unknown) =>
              e instanceof window.shelfdb.WriteConflictError ? 'conflict' : String(e),
          );
        }, i),
      ),
    );
    expect(results.sort()).toEqual(['conflict', 'ok']);
  });
});

test('closing the owner tab while others commit: every commit lands once or fails clearly, survivors go on', async ({
  baseURL,
}) => {
  await withProfile(async (context) => {
    const owner = await openTab(context, baseURL as string, 'handover');
    const b = await openTab(context, baseURL as string, 'handover');
    const c = await openTab(context, baseURL as string, 'handover');
    const work = [b, c].map((tab, i) =>
      tab.evaluate(async (i) => {
        const outcomes: string[] = [];
        window.transactsDone = 0;
        for (let k = 0; k < 30; k++) {
          const t0 = performance.now();
          try {
            // Both tabs write the root: they conflict often, and transact retries.
            await window.conn.transact(
              async () => (await window.conn.root()).set(`w${i}-${k}`, k),
              { retries: 100 },
            );
            outcomes.push('ok');
          } catch (e) {
            outcomes.push(`${(e as Error).name} after ${Math.round(performance.now() - t0)} ms`);
          }
          window.transactsDone = outcomes.length;
        }
        return outcomes;
      }, i),
    );
    // Once both tabs have a transaction behind them, the owner's tab goes away mid-stream.
    for (const tab of [b, c]) {
      await tab.waitForFunction(() => window.transactsDone >= 1, undefined, { polling: 10 });
    }
    await owner.close();
    const outcomes = await Promise.all(work);
    const landed = await rootOf(b);
    for (const [i, list] of outcomes.entries()) {
      list.forEach((outcome, k) => {
        if (outcome === 'ok') expect(landed[`w${i}-${k}`]).toBe(k);
        else expect(outcome).toMatch(/^StorageBusyError after \d+ ms$/);
      });
    }
    // Each commit is one transaction: none was written twice.
    const txns = await b.evaluate(async () => {
      let n = 0;
      for await (const t of window.db.transactions()) if (t.oids.length > 0) n++;
      return n;
    });
    const oks = outcomes.flat().filter((o) => o === 'ok').length;
    expect(txns).toBe(oks + 1); // + the root's creation
    await put(c, 'after', true);
    expect((await rootOf(b)).after).toBe(true);
  });
});

test('opening and closing tabs 20 times leaves the database intact', async ({ baseURL }) => {
  // 22 tabs loaded one after another (~1.5 s each alone, twice that beside another test file):
  // longer than one test's minute, for no fault of the database. A hang names its cycle.
  test.setTimeout(150_000);
  await withProfile(async (context) => {
    let keep = await openTab(context, baseURL as string, 'cycles');
    for (let cycle = 0; cycle < 20; cycle++) {
      keep =
        await test.step(`cycle ${cycle}: a new tab commits, the previous one closes`, async () => {
          const next = await openTab(context, baseURL as string, 'cycles');
          await put(next, `cycle${cycle}`, cycle);
          await keep.close();
          return next;
        });
    }
    await keep.close();
    const fresh = await openTab(context, baseURL as string, 'cycles');
    const root = await rootOf(fresh);
    for (let cycle = 0; cycle < 20; cycle++) expect(root[`cycle${cycle}`]).toBe(cycle);
    expect(await fresh.evaluate(() => window.db.verify())).toEqual({ ok: true, problems: [] });
  });
});

test('a frozen owner tab makes calls fail with StorageBusyError and a busy event, not a silent stall', async ({
  baseURL,
}) => {
  await withProfile(async (context) => {
    const owner = await openTab(context, baseURL as string, 'frozen');
    const b = await openTab(context, baseURL as string, 'frozen', 1500);
    await put(b, 'before', 1);
    // b hears from the owner's storage worker when its freeze begins and when it is over.
    await b.evaluate(() => {
      const channel = new BroadcastChannel('e2e:freeze');
      window.freezeOver = false;
      window.freezeBegun = new Promise((resolve) =>
        channel.addEventListener('message', (e) => {
          if (e.data === 'begun') resolve();
          else if (e.data === 'over') window.freezeOver = true;
        }),
      );
    });
    // Freeze the owner: its storage worker stops answering (a busy loop holds its thread).
    const worker = owner.workers().find((w) => w.url().includes('entry'));
    expect(worker, 'the owner tab runs a storage worker').toBeDefined();
    const frozen = worker!.evaluate(() => {
      const channel = new BroadcastChannel('e2e:freeze');
      channel.postMessage('begun');
      const end = Date.now() + 4000;
      while (Date.now() < end) {
        // frozen
      }
      channel.postMessage('over');
      channel.close();
    });
    frozen.catch(() => undefined); // reported below, after the checks, if it failed
    await b.evaluate(() => window.freezeBegun); // the loop has started
    const result = await b.evaluate(async () => {
      let busy = 0;
      window.db.addEventListener('busy', () => busy++);
      const error = await window.db.stats().then(
        () => undefined,
        (e: unknown) => e,
      );
      return {
        busy,
        failedWhileFrozen: !window.freezeOver,
        isBusy: error instanceof window.shelfdb.StorageBusyError,
        message: (error as Error | undefined)?.message,
      };
    });
    expect(result, JSON.stringify(result)).toMatchObject({ isBusy: true });
    expect(result.busy).toBe(1);
    expect(result.failedWhileFrozen).toBe(true); // not a stall until the owner thawed
    expect(result.message).toMatch(/did not answer/);
    await frozen;
    // Thawed, the owner answers again.
    expect(await b.evaluate(async () => (await window.db.stats()).storage)).toBe('opfs');
  });
});

test('IndexedDB behaves alike across tabs: one owner, live changes, handover', async ({
  baseURL,
}) => {
  await withProfile(async (context) => {
    const a = await openTab(context, baseURL as string, 'idb-tabs', 5000, 'indexeddb');
    const b = await openTab(context, baseURL as string, 'idb-tabs', 5000, 'indexeddb');
    await put(a, 'from-a', 1);
    await expect.poll(() => b.evaluate(() => window.changes.length)).toBeGreaterThan(0);
    await put(b, 'from-b', 2);
    await a.close(); // the owner goes; b takes over the IndexedDB database
    await put(b, 'after', 3);
    expect(await rootOf(b)).toEqual({ 'from-a': 1, 'from-b': 2, after: 3 });
    expect(await b.evaluate(async () => (await window.db.stats()).storage)).toBe('indexeddb');
  });
});

test('stray and foreign messages on the tabs channels are ignored and counted, and a stray close closes nothing', async ({
  baseURL,
}) => {
  await withProfile(async (context) => {
    const a = await openTab(context, baseURL as string, 'stray');
    const b = await openTab(context, baseURL as string, 'stray');
    await put(b, 'before', 1);
    // Any page of the origin can post on the database's channels: garbage, another version, a close.
    await b.evaluate(() => {
      const main = new BroadcastChannel('shelfdb:stray');
      const calls = new BroadcastChannel('shelfdb:stray:calls');
      main.postMessage('garbage');
      main.postMessage({ v: 1, type: 'hello', tabId: 'an-old-version' });
      calls.postMessage({ v: 999, type: 'call', id: 1, method: 'close', args: [] });
      calls.postMessage({ type: 'call', id: 2, method: 'close', args: [], from: 'nobody' });
      main.close();
      calls.close();
    });
    await expect
      .poll(() =>
        a.evaluate(
          async () => (await window.db.stats()) as unknown as { ignoredMessages?: number },
        ),
      )
      .toMatchObject({ ignoredMessages: 4 });
    await put(b, 'after', 2);
    expect(await rootOf(a)).toEqual({ before: 1, after: 2 });
  });
});
