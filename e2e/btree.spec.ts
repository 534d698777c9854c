/** A large BTree over OPFS in real Chromium. */
import { expect, test } from '@playwright/test';
import { withProfile } from './profile.js';

type Shelf = typeof import('../src/index.js');
declare global {
  interface Window {
    shelfdb: Shelf;
  }
}

test('100,000 keys committed in batches to OPFS read back in order after a reload', async ({
  baseURL,
}) => {
  test.setTimeout(180_000);
  await withProfile(async (context) => {
    const page = await context.newPage();
    await page.goto(`${baseURL}/e2e/pages/blank.html`);
    await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
    await page.evaluate(async () => {
      const { openDatabase, BTree } = window.shelfdb;
      const db = await openDatabase('big-tree', { storage: 'opfs' });
      const conn = db.open();
      const tree = new BTree<number, string>();
      (await conn.root()).set('tree', tree);
      for (let batch = 0; batch < 100; batch++) {
        for (let i = 0; i < 1000; i++) {
          const k = ((batch * 1000 + i) * 7919) % 100_000;
          await tree.set(k, `v${k}`);
        }
        await conn.commit();
      }
      await db.close();
    });
    await page.reload();
    await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
    const result = await page.evaluate(async () => {
      const { openDatabase, checkBTree } = window.shelfdb;
      const db = await openDatabase('big-tree', { storage: 'opfs' });
      const conn = db.open();
      const tree = (await conn.root()).get('tree') as InstanceType<Shelf['BTree']>;
      await conn.load(tree);
      let expected = 0;
      let inOrder = true;
      for await (const k of tree.keys()) if (k !== expected++) inOrder = false;
      const range: unknown[] = [];
      for await (const e of tree.entries({ min: 500, max: 503, reverse: true })) range.push(e);
      const problems = await checkBTree(tree);
      const out = {
        size: tree.size,
        count: expected,
        inOrder,
        range,
        problems,
        value: await tree.get(77_777),
      };
      await db.close();
      return out;
    });
    expect(result).toEqual({
      size: 100_000,
      count: 100_000,
      inOrder: true,
      range: [
        [503, 'v503'],
        [502, 'v502'],
        [501, 'v501'],
        [500, 'v500'],
      ],
      problems: [],
      value: 'v77777',
    });
  });
});
