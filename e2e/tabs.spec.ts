/**
 * Several tabs of one browser on one database, in real Chromium (a real on-disk profile): one
 * owner holds the OPFS files, the others forward to it, everyone sees everyone's commits, and
 * closing any tab, the owner included, loses nothing and hangs nothing.
 */
import { expect, test } from '@playwright/test';
import { withProfile } from './profile.js';
import { openTab, put, rootOf } from './tab-pages.js';

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
