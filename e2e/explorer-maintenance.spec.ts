/**
 * The explorer's Maintenance and Databases tabs in Chromium (e2e/pages/explorer.html over OPFS):
 * Verify, Pack with its progress and result and the garbage it removed, the databases of the
 * origin (OPFS and IndexedDB), and Persist's answer.
 */
import { expect, test, type Page } from '@playwright/test';

declare global {
  interface Window {
    /** What the Pack progress showed after each 'pack' event: [label, value, max]. */
    progressSeen: [string, number, number][];
  }
}

async function openExplorer(page: Page, name: string): Promise<string> {
  const db = `${name}-${Date.now()}`;
  await page.goto(`/e2e/pages/explorer.html?db=${db}`);
  // A cold dev server transforms the explorer's modules on first load: give it time, then say
  // whether the page opened its database (the page writes why it failed, if it did).
  await expect(page.locator('body[data-ready]')).toBeAttached({ timeout: 30_000 });
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'yes');
  return db;
}

/** Stores 40 notes with 1,000-character titles, then rewrites each 3 times: the old ones are garbage. */
function makeGarbage(page: Page): Promise<void> {
  return page.evaluate(async () => {
    const { conn, Note } = window.shelf;
    const root = await conn!.root();
    const notes = Array.from({ length: 40 }, () => new Note());
    notes.forEach((n, i) => root.set(`n${i}`, n));
    for (let round = 0; round < 4; round++) {
      for (const n of notes) n.title = String(round).repeat(1000);
      await conn!.commit({ note: `round ${round}` });
    }
  });
}

/** The exact byte count in a stats cell ("1.5 KiB (1,536 bytes)" or "512 bytes"). */
function bytesIn(text: string): number {
  const match = /([\d,]+) bytes/.exec(text);
  if (!match) throw new Error(`no byte count in "${text}"`);
  return Number((match[1] ?? '').replaceAll(',', ''));
}

test('Verify reports no problems on a healthy database', async ({ page }) => {
  await openExplorer(page, 'maint-verify');
  await makeGarbage(page);
  await page.getByRole('tab', { name: 'Maintenance' }).click();
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(
    page.getByRole('status').filter({ hasText: /No problems \(took \d+ ms\)/ }),
  ).toBeVisible();
  await page.screenshot({ path: 'e2e/screenshots/explorer-maintenance-verify.png' });
});

test('Pack from its button shows progress, then its result, and the garbage drops in the stats', async ({
  page,
}) => {
  await openExplorer(page, 'maint-pack');
  await makeGarbage(page);
  await page.getByRole('tab', { name: 'Maintenance' }).click();
  const stats = page.getByRole('table', { name: 'Database stats' });
  const garbage = stats.getByRole('row', { name: /^Garbage bytes/ }).locator('td');
  await expect(garbage).toContainText('bytes');
  const before = bytesIn(await garbage.innerText());
  expect(before).toBeGreaterThan(100_000);
  await expect(stats.getByRole('row', { name: /^Last pack/ })).toContainText('never');
  // Record what the progress bar shows after each 'pack' event, once the view has rendered it.
  await page.evaluate(() => {
    window.progressSeen = [];
    const view = document
      .querySelector('shelf-explorer')
      ?.shadowRoot?.querySelector('shelf-maintenance-view');
    window.shelf.db!.addEventListener('pack', () => {
      void Promise.resolve()
        .then(() => view!.updateComplete)
        .then(() => {
          const bar = view!.shadowRoot!.querySelector('progress');
          const label = view!.shadowRoot!.querySelector('label[for="pack-progress"]');
          if (bar) window.progressSeen.push([label?.textContent ?? '', bar.value, bar.max]);
        });
    });
  });
  await page.getByRole('button', { name: 'Pack', exact: true }).click();
  const result = page.getByRole('table', { name: 'Pack result' });
  await expect(result).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Pack finished.' })).toBeVisible();
  const removed = await result
    .getByRole('row', { name: /^Revisions removed/ })
    .locator('td')
    .innerText();
  expect(Number(removed.replaceAll(',', ''))).toBeGreaterThanOrEqual(120); // 3 old revisions of 40 notes
  const seen = await page.evaluate(() => window.progressSeen);
  expect(seen.length).toBeGreaterThan(0);
  expect(seen.some(([label]) => /Packing: (mark|copy)/.test(label))).toBe(true);
  for (const [, value, max] of seen) expect(value).toBeLessThanOrEqual(max);
  await expect(stats.getByRole('row', { name: /^Last pack/ })).not.toContainText('never');
  await expect.poll(async () => bytesIn(await garbage.innerText())).toBeLessThan(before / 10);
  await expect(page.getByRole('button', { name: 'Pack', exact: true })).toBeEnabled();
  await page.screenshot({ path: 'e2e/screenshots/explorer-maintenance-pack.png', fullPage: true });
});

test('the Databases tab lists an OPFS database and an IndexedDB one, and Open shows the other', async ({
  page,
}) => {
  const opfsName = await openExplorer(page, 'dbs-opfs');
  await makeGarbage(page);
  const idbName = `dbs-idb-${Date.now()}`;
  await page.evaluate(async (name) => {
    const { shelfdb } = window.shelf;
    const db = await shelfdb.openDatabase(name, { storage: 'indexeddb' });
    const conn = db.open();
    (await conn.root()).set('greeting', 'hello');
    await conn.commit({ note: 'idb seed' });
    await db.close();
  }, idbName);
  await page.getByRole('tab', { name: 'Databases' }).click();
  const table = page.getByRole('table', { name: 'Databases of this origin' });
  const opfsRow = table.getByRole('row').filter({ hasText: opfsName });
  const idbRow = table.getByRole('row').filter({ hasText: idbName });
  await expect(opfsRow).toContainText('OPFS');
  await expect(idbRow).toContainText('IndexedDB');
  await expect(idbRow).toContainText('unknown');
  // The app's database is shown: its objects and garbage are counted above the table.
  const shown = page.locator('shelf-databases-view p').filter({ hasText: 'Shown:' });
  await expect(shown).toContainText('Shown: this app’s database (opfs): 41 objects');
  await expect(page.getByRole('table', { name: 'Storage of this origin' })).toContainText('Quota');
  await page.screenshot({ path: 'e2e/screenshots/explorer-databases.png', fullPage: true });
  // Opening the IndexedDB one shows it, marked in the list with its own objects.
  await idbRow.getByRole('button', { name: `Open ${idbName} (indexeddb)` }).click();
  await page.getByRole('tab', { name: 'Databases' }).click();
  await expect(table.getByRole('row').filter({ hasText: idbName })).toContainText('(shown)');
  await expect(shown).toContainText(`Shown: ${idbName} (indexeddb): 1 object,`);
});

test('Persist asks the browser and shows its answer', async ({ page }) => {
  await openExplorer(page, 'dbs-answer');
  await page.getByRole('tab', { name: 'Databases' }).click();
  await expect(page.getByRole('table', { name: 'Storage of this origin' })).toContainText(
    'Persistent',
  );
  await page.getByRole('button', { name: 'Persist', exact: true }).click();
  await expect(
    page
      .getByRole('status')
      .filter({ hasText: /The browser answered: (persistent|not persistent)/ }),
  ).toBeVisible();
  await page.screenshot({ path: 'e2e/screenshots/explorer-persist.png' });
});
