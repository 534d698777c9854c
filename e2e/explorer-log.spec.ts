/**
 * The explorer's Log tab in Chromium, over an OPFS database the test fills through
 * `window.shelf` (e2e/pages/explorer.html): the log newest first, its text and oid filters, an
 * object's history with the diff of two revisions, and undo from the log (restoring, and refused
 * with the conflicting objects named).
 */
import { expect, test, type Locator, type Page } from '@playwright/test';

/** Opens the explorer page over a fresh database named after the test. */
async function openExplorer(page: Page, name: string): Promise<void> {
  await page.goto(`/e2e/pages/explorer.html?db=${name}-${Date.now()}`);
  // A cold dev server transforms the explorer's modules on first load: give it time, then say
  // whether the page opened its database (the page writes why it failed, if it did).
  await expect(page.locator('body[data-ready]')).toBeAttached({ timeout: 30_000 });
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'yes');
}

/**
 * Commits, through the page's own connection, one Note stored at root['note'] with title
 * `titles[0]`, then one transaction per further title renaming it; each transaction's note and
 * user are `edit <i>` and the user given. Resolves to the Note's oid.
 */
function commitRenames(page: Page, titles: string[], users: string[] = []): Promise<number> {
  return page.evaluate(
    async ({ titles, users }) => {
      const { conn, Note } = window.shelf;
      if (conn === undefined) throw new Error('the page opened no connection');
      const root = await conn.root();
      const note = new Note();
      note.title = titles[0] ?? '';
      note.created = new Date(Date.UTC(2026, 0, 1));
      root.set('note', note);
      await conn.commit({ note: 'edit 0', user: users[0] ?? '' });
      for (let i = 1; i < titles.length; i++) {
        note.title = titles[i] ?? '';
        note.done = i % 2 === 1;
        await conn.commit({ note: `edit ${i}`, user: users[i] ?? '' });
      }
      return note._p_oid as number;
    },
    { titles, users },
  );
}

/** The log's table rows (newest first). */
function logRows(page: Page): Locator {
  return page.getByRole('table', { name: 'Transactions, newest first' }).locator('tbody tr');
}

async function openLog(page: Page): Promise<void> {
  await page.getByRole('tab', { name: 'Log' }).click();
  await expect(logRows(page).first()).toBeVisible();
}

test('the log lists committed transactions newest first with their note, user, oids and bytes', async ({
  page,
}) => {
  await openExplorer(page, 'log-newest');
  const oid = await commitRenames(page, ['one', 'two', 'three'], ['ann', 'bob', 'cy']);
  await openLog(page);
  const rows = logRows(page);
  await expect(rows.nth(0)).toContainText('edit 2');
  await expect(rows.nth(0)).toContainText('cy');
  await expect(rows.nth(1)).toContainText('edit 1');
  await expect(rows.nth(1)).toContainText('bob');
  await expect(rows.nth(2)).toContainText('edit 0');
  await expect(
    rows.nth(0).getByRole('button', { name: `Open object ${oid}`, exact: true }),
  ).toBeVisible();
  // Each tid is larger than the one below it.
  const tids = await rows.evaluateAll((trs) =>
    trs.map((tr) => Number(tr.getAttribute('data-tid'))),
  );
  expect(tids).toEqual([...tids].sort((a, b) => b - a));
  await page.screenshot({ path: 'e2e/screenshots/explorer-log-newest-first.png' });
});

test('the text filter keeps the transactions whose note or user matches, and the oid filter those that wrote the object', async ({
  page,
}) => {
  await openExplorer(page, 'log-filter');
  const oid = await commitRenames(page, ['a', 'b', 'c', 'd'], ['ann', 'bob', 'ann', 'bob']);
  // A transaction that writes another object only.
  await page.evaluate(async () => {
    const { conn, Note } = window.shelf;
    const root = await conn!.root();
    root.set('other', new Note());
    await conn!.commit({ note: 'unrelated', user: 'bob' });
  });
  await openLog(page);
  await page.getByLabel('Note or user').fill('BOB');
  await expect(logRows(page)).toHaveCount(3);
  for (const row of await logRows(page).all()) await expect(row).toContainText('bob');
  await expect(page.getByText(/Scanned \d+, showing 3/)).toBeVisible();
  await page.getByLabel('Note or user').fill('');
  await page.getByLabel('Wrote oid').fill(String(oid));
  await expect(logRows(page)).toHaveCount(4);
  await expect(logRows(page).filter({ hasText: 'unrelated' })).toHaveCount(0);
  for (const row of await logRows(page).all()) {
    await expect(
      row.getByRole('button', { name: `Open object ${oid}`, exact: true }),
    ).toBeVisible();
  }
  await page.screenshot({ path: 'e2e/screenshots/explorer-log-filters.png' });
});

test('the history of an object lists its revisions and diffs two of them field by field', async ({
  page,
}) => {
  await openExplorer(page, 'log-history');
  const oid = await commitRenames(page, ['first title', 'second title', 'third title']);
  await openLog(page);
  await logRows(page)
    .first()
    .getByRole('button', { name: `History of object ${oid}`, exact: true })
    .click();
  const revisions = page.getByRole('table', { name: `Revisions of object ${oid}` });
  await expect(revisions.locator('tbody tr')).toHaveCount(3);
  await expect(revisions.locator('tbody tr').first()).toContainText('edit 2');
  // By default the two newest are compared: the title changed, done went from true to false.
  const diff = page.getByRole('table', { name: /^Differences from revision/ });
  await expect(diff.locator('tbody tr')).toHaveCount(2);
  const title = diff.locator('tbody tr').filter({ hasText: 'title' });
  await expect(title).toContainText('changed');
  await expect(title).toContainText('"second title"');
  await expect(title).toContainText('"third title"');
  // Compare the oldest with the newest instead: done is unchanged (false both), hidden.
  const tids = await revisions
    .locator('tbody tr td.num')
    .evaluateAll((tds) => tds.map((td) => Number(td.textContent)));
  await page.getByRole('radio', { name: `Compare from revision ${tids[2]}` }).check();
  await expect(diff.locator('tbody tr')).toHaveCount(1);
  await expect(diff.locator('tbody tr').first()).toContainText('"first title"');
  await page.getByRole('checkbox', { name: 'Show unchanged fields' }).check();
  await expect(diff.locator('tbody tr').filter({ hasText: 'created' })).toContainText('unchanged');
  await expect(diff.locator('tbody tr').filter({ hasText: 'created' })).toContainText(
    '2026-01-01T00:00:00.000Z',
  );
  await page.screenshot({ path: 'e2e/screenshots/explorer-log-history-diff.png', fullPage: true });
});

test('undo from the log restores the old value, and the page reads it after sync', async ({
  page,
}) => {
  await openExplorer(page, 'log-undo');
  await commitRenames(page, ['before', 'after']);
  await openLog(page);
  const rename = logRows(page).filter({ hasText: 'edit 1' });
  await rename.getByRole('button', { name: /^Undo transaction/ }).click();
  await page.getByLabel('Note', { exact: true }).fill('put the title back');
  await page.getByRole('button', { name: 'Confirm undo' }).click();
  await expect(
    page.getByRole('status').filter({ hasText: /undone by transaction\s+\d+/ }),
  ).toBeVisible();
  // The undoing transaction tops the log, with its note and what it undoes.
  await expect(logRows(page).first()).toContainText('put the title back');
  await expect(logRows(page).first()).toContainText('undoes');
  const title = await page.evaluate(async () => {
    const conn = window.shelf.conn!;
    await conn.sync();
    const note = (await conn.root()).get('note') as InstanceType<typeof window.shelf.Note>;
    await conn.load(note);
    return note.title;
  });
  expect(title).toBe('before');
  await page.screenshot({ path: 'e2e/screenshots/explorer-log-undo.png' });
});

test('an undo that conflicts with a later change names the objects changed since, as links', async ({
  page,
}) => {
  await openExplorer(page, 'log-undo-conflict');
  const oid = await commitRenames(page, ['a', 'b', 'c']);
  await openLog(page);
  const middle = logRows(page).filter({ hasText: 'edit 1' });
  await middle.getByRole('button', { name: /^Undo transaction/ }).click();
  await page.getByRole('button', { name: 'Confirm undo' }).click();
  const alert = page.getByRole('alert').filter({ hasText: 'Cannot undo transaction' });
  await expect(alert).toBeVisible();
  await expect(alert).toContainText('later transactions changed these objects again');
  await expect(
    alert.getByRole('button', { name: `Open object ${oid}`, exact: true }),
  ).toBeVisible();
  await page.screenshot({ path: 'e2e/screenshots/explorer-log-undo-conflict.png' });
  // The link shows the object in the Objects tab.
  await alert.getByRole('button', { name: `Open object ${oid}`, exact: true }).click();
  await expect(page.getByRole('tab', { name: 'Objects' })).toHaveAttribute('aria-selected', 'true');
});
