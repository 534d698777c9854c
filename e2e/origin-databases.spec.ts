/** listDatabases() over real OPFS and IndexedDB: what the explorer's Databases tab lists. */
import { expect, test } from '@playwright/test';

test('listDatabases finds the OPFS and IndexedDB databases of the origin by the names they were opened with', async ({
  page,
}) => {
  await page.goto('/e2e/pages/explorer.html?db=first%20one');
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  const listed = await page.evaluate(async () => {
    const { openDatabase, listDatabases } = window.shelf.shelfdb;
    // A name that needs encoding in OPFS, and one in IndexedDB.
    for (const [name, storage] of [
      ['notes/2026 ü', 'opfs'],
      ['kept in idb', 'indexeddb'],
    ] as const) {
      const db = await openDatabase(name, { storage });
      const conn = db.open();
      (await conn.root()).set('x', 1);
      await conn.commit();
      await db.close();
    }
    return listDatabases();
  });
  expect(listed.map(({ name, storage }) => [name, storage])).toEqual([
    ['first one', 'opfs'],
    ['notes/2026 ü', 'opfs'],
    ['kept in idb', 'indexeddb'],
  ]);
  const closed = listed.find((d) => d.name === 'notes/2026 ü');
  expect(closed?.bytes).toBeGreaterThan(0);
  expect(listed.find((d) => d.storage === 'indexeddb')?.bytes).toBeUndefined();
});

test('listDatabases is empty on an origin that never stored a database', async ({ page }) => {
  await page.goto('/e2e/pages/blank.html');
  // The module from source, by its URL on the test server (a page that stored nothing).
  const listed = await page.evaluate(async (url) => {
    const { listDatabases } = (await import(url)) as typeof import('shelfdb');
    return listDatabases();
  }, '/src/index.ts');
  expect(listed).toEqual([]);
});
