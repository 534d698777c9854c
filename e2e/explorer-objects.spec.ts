/**
 * The explorer's Objects tab (src/explorer/object-view.ts) in real Chromium over OPFS, on the
 * explorer test page (e2e/pages/explorer.html): following references, paging a BTree, editing,
 * conflicts, objects of unknown classes, opening an oid. Data is seeded through `window.shelf` as
 * an app would, then the page is reloaded so the explorer opens the database as it is.
 */
import { expect, test as base, type Page } from '@playwright/test';

/** Every test fails on an error the page did not handle (a view that threw while rendering). */
const test = base.extend<{ pageErrors: string[] }>({
  pageErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.stack ?? e.message));
      await use(errors);
      expect(errors, 'errors the page did not handle').toEqual([]);
    },
    { auto: true },
  ],
});

/** Opens the explorer page over database `db` (with `query` added) and waits until it is ready. */
async function openExplorer(page: Page, db: string, query = ''): Promise<void> {
  await page.goto(`/e2e/pages/explorer.html?db=${db}${query}`);
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached({ timeout: 20_000 });
}

/** Seeds two linked notes under root.first and a 'tags' dict; returns their oids. */
async function seedNotes(page: Page): Promise<{ first: number; second: number; tags: number }> {
  return page.evaluate(async () => {
    const { conn, Note, shelfdb } = window.shelf;
    if (conn === undefined) throw new Error('no connection');
    const root = await conn.root();
    const first = new Note();
    first.title = 'Buy milk';
    first.created = new Date(Date.UTC(2026, 10, 30, 9));
    const second = new Note();
    second.title = 'Write the BTree';
    second.done = true;
    first.next = second;
    root.set('first', first);
    root.set('tags', new shelfdb.PersistentDict([['home', 1]]));
    await conn.commit({ note: 'seed' });
    return {
      first: first._p_oid as number,
      second: second._p_oid as number,
      tags: (root.get('tags') as InstanceType<typeof shelfdb.PersistentDict>)._p_oid as number,
    };
  });
}

const heading = (page: Page) => page.locator('shelf-object-view h2');
const field = (page: Page, name: string) =>
  page.getByRole('table', { name: 'Fields' }).getByRole('row').filter({ hasText: name });

test('follows references from the root to a note and back, with the buttons and the keyboard', async ({
  page,
}) => {
  await openExplorer(page, 'objects-refs');
  const { first, second } = await seedNotes(page);
  await page.reload();
  await expect(heading(page)).toHaveText(/#0$/);
  await page.getByRole('button', { name: `e2e.Note #${first}` }).click();
  await expect(heading(page)).toHaveText(`e2e.Note #${first}`);
  await expect(field(page, 'title')).toContainText('"Buy milk"');
  await expect(field(page, 'created')).toContainText('2026-11-30T09:00:00.000Z');
  await expect(page.getByText(/\d+ bytes/)).toBeVisible();
  await page.getByRole('button', { name: `e2e.Note #${second}` }).click();
  await expect(heading(page)).toHaveText(`e2e.Note #${second}`);
  await expect(field(page, 'done')).toContainText('true');
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-follow.png' });

  await page.getByRole('button', { name: 'Back' }).click();
  await expect(heading(page)).toHaveText(`e2e.Note #${first}`);
  await page.getByRole('button', { name: 'Forward' }).click();
  await expect(heading(page)).toHaveText(`e2e.Note #${second}`);
  await expect(page.getByRole('button', { name: 'Forward' })).toBeDisabled();

  await page.getByRole('button', { name: 'Back' }).focus();
  await page.keyboard.press('Alt+ArrowLeft');
  await expect(heading(page)).toHaveText(`e2e.Note #${first}`);
  await page.keyboard.press('Alt+ArrowLeft');
  await expect(heading(page)).toHaveText(/#0$/);
  await expect(page.getByRole('button', { name: 'Back' })).toBeDisabled();
  await page.keyboard.press('Alt+ArrowRight');
  await expect(heading(page)).toHaveText(`e2e.Note #${first}`);
  await page.getByRole('button', { name: 'Root' }).click();
  await expect(heading(page)).toHaveText(/#0$/);
});

test('pages through a 10,000-entry BTree by key range, by prefix and by range', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await openExplorer(page, 'objects-btree');
  const oids = await page.evaluate(async () => {
    const { conn, shelfdb } = window.shelf;
    if (conn === undefined) throw new Error('no connection');
    const root = await conn.root();
    const byName = new shelfdb.BTree<string, number>();
    const byNumber = new shelfdb.BTree<number, string>();
    root.set('byName', byName);
    root.set('byNumber', byNumber);
    const pad = (i: number): string => `key${String(i).padStart(5, '0')}`;
    await byName.update(Array.from({ length: 10_000 }, (_, i) => [pad(i), i] as const));
    await byNumber.update(Array.from({ length: 1000 }, (_, i) => [i * 10, `v${i}`] as const));
    await conn.commit({ note: 'trees' });
    return { byName: byName._p_oid as number, byNumber: byNumber._p_oid as number };
  });
  await page.reload();
  await page.getByRole('button', { name: `BTree #${oids.byName}`, exact: false }).click();
  const table = page.getByRole('table', { name: 'BTree entries' });
  const rows = table.locator('tbody tr');
  const status = page.locator('shelf-btree-view [role="status"]');
  await expect(status).toHaveText('rows 1–50 of 10,000');
  await expect(rows).toHaveCount(50);
  await expect(rows.first()).toContainText('"key00000"');
  await expect(page.getByText('depth')).toBeVisible();
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-btree.png' });

  const tree = page.locator('shelf-btree-view');
  await tree.getByRole('button', { name: 'Next' }).click();
  await expect(status).toHaveText('rows 51–100 of 10,000');
  await expect(rows.first()).toContainText('"key00050"');
  await expect(rows.last()).toContainText('"key00099"');
  await tree.getByRole('button', { name: 'Next' }).click();
  await expect(rows.first()).toContainText('"key00100"');
  await tree.getByRole('button', { name: 'Previous' }).click();
  await tree.getByRole('button', { name: 'Previous' }).click();
  await expect(status).toHaveText('rows 1–50 of 10,000');
  await expect(rows.first()).toContainText('"key00000"');
  await expect(tree.getByRole('button', { name: 'Previous' })).toBeDisabled();

  await page.getByLabel('Key prefix', { exact: true }).fill('key0123');
  await tree.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(rows).toHaveCount(10);
  await expect(rows.first()).toContainText('"key01230"');
  await expect(rows.last()).toContainText('"key01239"');
  await expect(status).toHaveText('rows 1–10 of the keys with this prefix');
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-btree-prefix.png' });

  await page.getByLabel('From key').fill('key05000');
  await page.getByLabel('To key').fill('key05004');
  await tree.getByRole('button', { name: 'Range' }).click();
  await expect(rows).toHaveCount(5);
  await expect(rows.first()).toContainText('"key05000"');
  await expect(rows.last()).toContainText('"key05004"');

  await page.getByRole('button', { name: 'Back' }).click();
  await page.getByRole('button', { name: `BTree #${oids.byNumber}`, exact: false }).click();
  await expect(status).toHaveText('rows 1–50 of 1,000');
  await page.getByLabel('From key').fill('abc');
  await tree.getByRole('button', { name: 'Range' }).click();
  await expect(tree.getByRole('alert')).toHaveText(
    `From: "abc" is not a number: this tree's keys are numbers.`,
  );
  await page.getByLabel('From key').fill('500');
  await page.getByLabel('To key').fill('520');
  await tree.getByRole('button', { name: 'Range' }).click();
  await expect(rows).toHaveCount(3);
  await expect(rows.first()).toContainText('"v50"');
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-btree-range.png' });
});

test('edits a scalar field with a commit note and the change is committed', async ({ page }) => {
  await openExplorer(page, 'objects-edit');
  const { first } = await seedNotes(page);
  await page.reload();
  await page.getByRole('button', { name: `e2e.Note #${first}` }).click();
  await page.getByRole('button', { name: 'Edit field title' }).click();
  const form = page.locator('shelf-edit-form');
  await form.getByLabel('Type').selectOption('number');
  await form.getByLabel('Value').fill('a lot');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form.getByRole('alert')).toHaveText(
    '"a lot" is not a number (like 42, -1.5, 1e6, Infinity or NaN).',
  );
  await form.getByLabel('Type').selectOption('string');
  await form.getByLabel('Value').fill('Buy oat milk');
  await form.getByLabel('Commit note').fill('renamed from the explorer');
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-edit-form.png' });
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText(/Saved as transaction \d+\./)).toBeVisible();
  await expect(field(page, 'title')).toContainText('"Buy oat milk"');
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-edited.png' });
  const stored = await page.evaluate(async (oid) => {
    const { conn, db } = window.shelf;
    if (conn === undefined || db === undefined) throw new Error('no database');
    await conn.sync();
    const note = (await conn.get(oid)) as InstanceType<typeof window.shelf.Note>;
    let note0: string | undefined;
    for await (const t of db.transactions({ limit: 1 })) note0 = t.note;
    return { title: note.title, note: note0 };
  }, first);
  expect(stored).toEqual({ title: 'Buy oat milk', note: 'renamed from the explorer' });
});

test('adds and removes an entry of a dict', async ({ page }) => {
  await openExplorer(page, 'objects-dict');
  const { tags } = await seedNotes(page);
  await page.reload();
  await page.getByRole('button', { name: `PersistentDict #${tags}`, exact: false }).click();
  const entries = page.getByRole('table', { name: 'Entries' }).locator('tbody tr');
  await expect(entries).toHaveCount(1);
  await page.getByRole('button', { name: 'Add entry' }).click();
  const form = page.locator('shelf-edit-form');
  await form.getByLabel('Key').fill('work');
  await form.getByLabel('Type').selectOption('number');
  await form.getByLabel('Value').fill('2');
  await form.getByLabel('Commit note').fill('add work');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(entries).toHaveCount(2);
  await expect(entries.last()).toContainText('"work"');
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-dict-added.png' });
  const read = (oid: number) =>
    page.evaluate(async (oid) => {
      const conn = window.shelf.conn;
      if (conn === undefined) throw new Error('no connection');
      await conn.sync();
      const dict = (await conn.get(oid)) as unknown as Map<string, unknown>;
      return [...dict.entries()];
    }, oid);
  expect(await read(tags)).toEqual([
    ['home', 1],
    ['work', 2],
  ]);

  await page.getByRole('button', { name: 'Remove entry "home"' }).click();
  await form.getByLabel('Commit note').fill('remove home');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(entries).toHaveCount(1);
  await expect(entries.first()).toContainText('"work"');
  expect(await read(tags)).toEqual([['work', 2]]);
});

test("marks the form stale when the object changes elsewhere, and shows the conflict with the other side's value", async ({
  page,
}) => {
  await openExplorer(page, 'objects-conflict');
  const { first } = await seedNotes(page);
  await page.reload();
  await page.getByRole('button', { name: `e2e.Note #${first}` }).click();
  await page.getByRole('button', { name: 'Edit field title' }).click();
  const form = page.locator('shelf-edit-form');
  await expect(form.getByRole('button', { name: 'Save' })).toBeEnabled();
  await form.getByLabel('Value').fill('Mine');
  await page.evaluate(async (oid) => {
    const conn = window.shelf.conn;
    if (conn === undefined) throw new Error('no connection');
    await conn.sync();
    const note = (await conn.get(oid)) as InstanceType<typeof window.shelf.Note>;
    note.title = 'Theirs';
    await conn.commit({ note: 'the other side' });
  }, first);
  await expect(form.getByRole('alert')).toHaveText(
    'This object was changed elsewhere; saving will conflict.',
  );
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-stale.png' });
  await form.getByRole('button', { name: 'Save' }).click();
  const conflict = form.locator('.conflict');
  await expect(conflict).toContainText('Not saved: changed elsewhere since you opened it.');
  await expect(conflict).toContainText('Their value: "Theirs"');
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-conflict.png' });
  await form.getByRole('button', { name: 'Retry' }).click();
  await expect(page.getByText(/Saved as transaction \d+\./)).toBeVisible();
  await expect(field(page, 'title')).toContainText('"Mine"');
});

test('shows an object of a class this page has not registered, as stored and read-only', async ({
  page,
}) => {
  await openExplorer(page, 'objects-unknown');
  const { first } = await seedNotes(page);
  await openExplorer(page, 'objects-unknown', '&classes=no');
  await page.getByRole('button', { name: `e2e.Note #${first}` }).click();
  await expect(heading(page)).toHaveText(`e2e.Note #${first}`);
  await expect(
    page.getByText('class not registered in this page: shown as stored, read-only'),
  ).toBeVisible();
  await expect(field(page, 'title')).toContainText('"Buy milk"');
  await expect(field(page, 'next')).toContainText('e2e.Note #');
  await expect(page.getByRole('button', { name: /^Edit field/ })).toHaveCount(0);
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-unknown-class.png' });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-unknown-class-dark.png' });
});

test('opens an oid typed, and says so readably when it is not an oid or names no object', async ({
  page,
}) => {
  await openExplorer(page, 'objects-open');
  const { second } = await seedNotes(page);
  await page.reload();
  const oid = page.getByLabel('Object id');
  await oid.fill('twelve');
  await page.getByRole('button', { name: 'Open' }).click();
  await expect(page.getByRole('alert')).toHaveText(
    '"twelve" is not an object id: type a whole number (0 is the root).',
  );
  await oid.fill('99999');
  await page.getByRole('button', { name: 'Open' }).click();
  await expect(page.getByRole('alert')).toContainText('no object 99999');
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-open-error.png' });
  await oid.fill(String(second));
  await oid.press('Enter');
  await expect(heading(page)).toHaveText(`e2e.Note #${second}`);
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('shows commits made elsewhere at once, keeping the page of a BTree where it was', async ({
  page,
}) => {
  await openExplorer(page, 'objects-live');
  const tree = await page.evaluate(async () => {
    const { conn, shelfdb } = window.shelf;
    if (conn === undefined) throw new Error('no connection');
    const tree = new shelfdb.BTree<number, string>();
    (await conn.root()).set('tree', tree);
    await tree.update(Array.from({ length: 500 }, (_, i) => [i, `v${i}`] as const));
    await conn.commit();
    return tree._p_oid as number;
  });
  await page.reload();
  await page.getByRole('button', { name: `BTree #${tree}`, exact: false }).click();
  const view = page.locator('shelf-btree-view');
  const rows = view.locator('tbody tr');
  await view.getByRole('button', { name: 'Next' }).click();
  await expect(rows.first()).toContainText('50');
  await page.evaluate(async (oid) => {
    const conn = window.shelf.conn;
    if (conn === undefined) throw new Error('no connection');
    const t = (await conn.get(oid)) as InstanceType<typeof window.shelf.shelfdb.BTree>;
    await t.set(60.5, 'inserted elsewhere');
    await t.delete(0);
    await conn.commit({ note: 'another tab' });
  }, tree);
  await expect(view.getByRole('row', { name: /inserted elsewhere/ })).toBeVisible();
  await expect(rows.first()).toContainText('50');
  await expect(view.getByText('size 500')).toBeVisible();
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-live.png' });
});

test('shows plain data of every kind generically, and lists and sets as paged tables', async ({
  page,
}) => {
  await openExplorer(page, 'objects-kinds');
  const oids = await page.evaluate(async () => {
    const { conn, Note, shelfdb } = window.shelf;
    if (conn === undefined) throw new Error('no connection');
    const root = await conn.root();
    const note = new Note();
    Object.assign(note, {
      title: 'x'.repeat(300),
      count: NaN,
      big: 2n ** 70n,
      limits: [Infinity, -Infinity],
      tags: new Set(['a', 'b']),
      byName: new Map([['ada', { born: 1815 }]]),
      bytes: new Uint8Array([1, 2, 254, 255]),
      nested: { deep: { deeper: { deepest: [1, 2, 3] } } },
      many: Array.from({ length: 100 }, (_, i) => i),
      missing: undefined,
    });
    const list = new shelfdb.PersistentList(Array.from({ length: 120 }, (_, i) => `item ${i}`));
    const set = new shelfdb.PersistentSet([1, 2, 3]);
    root.set('note', note);
    root.set('list', list);
    root.set('set', set);
    await conn.commit();
    return { note: note._p_oid as number, list: list._p_oid as number, set: set._p_oid as number };
  });
  await page.reload();
  await page.getByRole('button', { name: `e2e.Note #${oids.note}` }).click();
  await expect(field(page, 'title')).toContainText('show all 300 characters');
  await expect(field(page, 'count')).toContainText('NaN');
  await expect(field(page, 'big')).toContainText('1180591620717411303424n');
  await expect(field(page, 'limits')).toContainText('Infinity');
  await expect(field(page, 'limits')).toContainText('-Infinity');
  await expect(field(page, 'tags')).toContainText('Set(2)');
  await expect(field(page, 'byName')).toContainText('"ada"');
  await expect(field(page, 'bytes')).toContainText('Uint8Array(4) 01 02 fe ff');
  await expect(field(page, 'many')).toContainText('Array(100)');
  await expect(field(page, 'missing')).toContainText('undefined');
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-kinds.png', fullPage: true });

  await page.getByRole('button', { name: 'Root' }).click();
  await page.getByRole('button', { name: `PersistentList #${oids.list}`, exact: false }).click();
  const items = page.getByRole('table', { name: 'Items' }).locator('tbody tr');
  await expect(items).toHaveCount(50);
  await page.locator('shelf-container-table').getByRole('button', { name: 'Next' }).click();
  await expect(page.getByText('rows 51–100 of 120')).toBeVisible();
  await expect(items.first()).toContainText('"item 50"');
  await page.locator('shelf-container-table').getByRole('button', { name: 'Next' }).click();
  await expect(items).toHaveCount(20);
  await page.screenshot({ path: 'e2e/screenshots/explorer-objects-list.png' });

  await page.getByRole('button', { name: 'Root' }).click();
  await page.getByRole('button', { name: `PersistentSet #${oids.set}`, exact: false }).click();
  await expect(page.getByRole('table', { name: 'Members' }).locator('tbody tr')).toHaveCount(3);
  await expect(page.getByText('rows 1–3 of 3')).toBeVisible();
});
