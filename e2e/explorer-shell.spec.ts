/**
 * The explorer as a whole (e2e/pages/explorer.html over real OPFS): opening by name, read-only
 * unless editable, never creating a database; the tabs by keyboard; every control labelled; the
 * dark theme; following other tabs live.
 */
import { expect, test, type Page } from '@playwright/test';

async function open(page: Page, query: string): Promise<void> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`/e2e/pages/explorer.html?${query}`);
  await expect(page.locator('body[data-ready="yes"]'), errors.join('\n')).toBeAttached();
}

/** Commits `entries` into the root through the page's own connection (classes registered). */
async function seed(page: Page, entries: Record<string, string>, note = 'seed'): Promise<void> {
  await page.evaluate(
    async ([entries, note]) => {
      const conn = window.shelf.conn as NonNullable<typeof window.shelf.conn>;
      await conn.transact(
        async () => {
          const root = await conn.root();
          for (const [k, v] of Object.entries(entries)) root.set(k, v);
        },
        { note },
      );
    },
    [entries, note] as const,
  );
}

test('opened by name, the explorer shows the database read-only; a name the origin lacks is a readable error, and no database is created', async ({
  page,
}) => {
  await open(page, 'db=by-name');
  await seed(page, { greeting: 'hello from the app' });
  await open(page, 'db=by-name&mode=name');
  const explorer = page.locator('shelf-explorer');
  await expect(explorer.getByText('read-only', { exact: true })).toBeVisible();
  await expect(explorer.getByText('hello from the app')).toBeVisible();
  await page.screenshot({ path: 'e2e/screenshots/explorer-by-name.png' });

  await open(page, 'db=no-such-database&mode=name');
  await expect(explorer.getByRole('alert')).toContainText(
    'No shelfdb database named "no-such-database"',
  );
  const names = await page.evaluate(async () =>
    (await window.shelf.shelfdb.listDatabases()).map((d) => d.name),
  );
  expect(names).toEqual(['by-name']);
  await page.screenshot({ path: 'e2e/screenshots/explorer-no-such-database.png' });
});

test('the tabs follow the keyboard (arrow keys move and focus), and every control in every tab has an accessible name', async ({
  page,
}) => {
  await open(page, 'db=keyboard');
  await seed(page, { a: '1' });
  const explorer = page.locator('shelf-explorer');
  const tab = (name: string) => explorer.getByRole('tab', { name });
  await tab('Objects').focus();
  for (const name of ['Blobs', 'Log', 'Maintenance', 'Databases', 'Objects']) {
    await page.keyboard.press('ArrowRight');
    await expect(tab(name)).toHaveAttribute('aria-selected', 'true');
    await expect(tab(name)).toBeFocused();
    // Every button, input, select and textarea, across the shadow roots, is named.
    await expect(explorer.getByRole('tabpanel')).toBeVisible();
    const unnamed = await page.evaluate(() => {
      const found: string[] = [];
      const visit = (root: Document | ShadowRoot): void => {
        for (const el of root.querySelectorAll<HTMLElement>('*')) {
          if (el.shadowRoot) visit(el.shadowRoot);
          if (!el.matches('button, input, select, textarea') || el.hidden) continue;
          const labelled =
            (el.getAttribute('aria-label') ?? '').trim() !== '' ||
            el.hasAttribute('aria-labelledby') ||
            ((el as HTMLInputElement).labels?.length ?? 0) > 0 ||
            (el.tagName === 'BUTTON' && (el.textContent ?? '').trim() !== '') ||
            (el.getAttribute('title') ?? '').trim() !== '';
          if (!labelled) found.push(el.outerHTML.slice(0, 120));
        }
      };
      visit(document);
      return found;
    });
    expect(unnamed, `unlabelled controls in the ${name} tab`).toEqual([]);
  }
});

test('the explorer follows the OS dark theme', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await open(page, 'db=dark');
  await seed(page, { theme: 'dark' });
  const background = await page
    .locator('shelf-explorer')
    .evaluate((el) => getComputedStyle(el).backgroundColor);
  const [r, g, b] = (background.match(/\d+/g) ?? []).map(Number);
  expect((r ?? 255) + (g ?? 255) + (b ?? 255)).toBeLessThan(150);
  await page.screenshot({ path: 'e2e/screenshots/explorer-dark.png' });
});

test('the explorer follows other tabs live: a value committed elsewhere shows without a reload', async ({
  context,
}) => {
  const explorerPage = await context.newPage();
  await open(explorerPage, 'db=live');
  await seed(explorerPage, { status: 'before' });
  const explorer = explorerPage.locator('shelf-explorer');
  await expect(explorer.getByText('before')).toBeVisible();
  const other = await context.newPage();
  await open(other, 'db=live');
  await seed(other, { status: 'after, from the other tab' }, 'the other tab wrote this');
  await expect(explorer.getByText('after, from the other tab')).toBeVisible();
  await explorer.getByRole('tab', { name: 'Log' }).click();
  await expect(explorer.getByRole('tabpanel')).toContainText('the other tab wrote this');
  await explorerPage.screenshot({ path: 'e2e/screenshots/explorer-live.png' });
});
