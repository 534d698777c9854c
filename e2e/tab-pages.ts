/**
 * Tabs of one browser on one database, for the tab specs: a page of the e2e server opening the
 * database as an app does, a commit from it, its root as it sees it.
 */
import { expect, type BrowserContext, type Page } from '@playwright/test';

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

export async function openTab(
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
export const put = (page: Page, key: string, value: unknown): Promise<unknown> =>
  page.evaluate(
    ([k, v]) => window.conn.transact(async () => (await window.conn.root()).set(k as string, v)),
    [key, value] as const,
  );

/** The root's entries as this tab sees them after catching up. */
export const rootOf = (page: Page): Promise<Record<string, unknown>> =>
  page.evaluate(async () => {
    await window.conn.sync();
    return Object.fromEntries((await window.conn.root()).entries());
  });
