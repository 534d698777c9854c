/**
 * Tabs coming and going on one database, in real Chromium (a real on-disk profile): twenty
 * handovers in a row, a frozen owner, IndexedDB across tabs, stray messages on the channels. Apart
 * from tabs.spec.ts so the two files run side by side.
 */
import { expect, test } from '@playwright/test';
import { withProfile } from './profile.js';
import { openTab, put, rootOf } from './tab-pages.js';

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
