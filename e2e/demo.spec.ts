/** The sample app (demo/), driven as a person would, on the browser tests' server. */
import { expect, test, type Page } from '@playwright/test';

/** The first run's example notes, newest first (demo/seed.ts). */
const EXAMPLES = [
  'Welcome: these notes are kept in shelfdb, in this browser',
  'Open a second tab: what you add here shows up there at once',
  'Tick a note to mark it done',
  'Open the explorer to see how the notes are stored',
  'Works offline once installed: the data never leaves the browser',
];

async function openDemo(page: Page, errors: string[]): Promise<void> {
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/demo/index.html');
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
}

async function addNote(page: Page, text: string): Promise<void> {
  await page.getByPlaceholder('Write a note').fill(text);
  await page.keyboard.press('Enter');
  await expect(page.locator('#notes li span').first()).toHaveText(text);
}

const notes = (page: Page) => page.locator('#notes li span');
const note = (page: Page, text: string) => page.locator('#notes li', { hasText: text });

test('the notes demo starts with example notes, then adds, completes and deletes notes kept in shelfdb', async ({
  page,
}) => {
  const errors: string[] = [];
  await openDemo(page, errors);
  await expect(notes(page)).toHaveText(EXAMPLES);
  await expect(page.locator('#count')).toHaveText('5 notes');
  await addNote(page, 'Buy milk');
  await addNote(page, 'Write the BTree');
  // Newest first.
  await expect(notes(page)).toHaveText(['Write the BTree', 'Buy milk', ...EXAMPLES]);
  await page.getByLabel('done: Buy milk').check();
  await expect(note(page, 'Buy milk')).toHaveClass('done');
  await note(page, 'Write the BTree').getByRole('button', { name: 'Delete' }).click();
  await expect(notes(page)).toHaveText(['Buy milk', ...EXAMPLES]);
  await expect(page.locator('#count')).toHaveText('6 notes');
  await expect(page.locator('#status')).toContainText('storage: opfs');
  // Kept in OPFS: the notes are there after a reload, and the examples are not added again.
  await page.reload();
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  await expect(notes(page)).toHaveText(['Buy milk', ...EXAMPLES]);
  await expect(note(page, 'Buy milk')).toHaveClass('done');
  await page.screenshot({ path: 'e2e/screenshots/demo-notes.png' });
  expect(errors).toEqual([]);
});

test('the notes demo in two tabs started at once: the examples are made once, and a note added in one tab shows up in the other', async ({
  context,
}) => {
  const errors: string[] = [];
  const [first, second] = await Promise.all([context.newPage(), context.newPage()]);
  // Both first runs race to make the tree of notes: one makes it, the other finds it.
  await Promise.all([openDemo(first, errors), openDemo(second, errors)]);
  await expect(notes(first)).toHaveText(EXAMPLES);
  await expect(notes(second)).toHaveText(EXAMPLES);
  await expect(second.locator('#count')).toHaveText('5 notes');

  await addNote(first, 'Seen in both tabs');
  await expect(notes(second).first()).toHaveText('Seen in both tabs');
  await second.getByLabel('done: Seen in both tabs').check();
  await expect(note(first, 'Seen in both tabs')).toHaveClass('done');
  await expect(first.locator('#count')).toHaveText('6 notes');
  await second.screenshot({ path: 'e2e/screenshots/demo-two-tabs.png' });
  expect(errors).toEqual([]);
});

test('the notes demo warns an editor at once when another tab changes the note being edited', async ({
  context,
}) => {
  const errors: string[] = [];
  const first = await context.newPage();
  await openDemo(first, errors);
  await addNote(first, 'Draft');
  const second = await context.newPage();
  await openDemo(second, errors);
  await expect(notes(second).first()).toHaveText('Draft');

  // The first tab starts editing and types, without saving.
  await note(first, 'Draft').getByRole('button', { name: 'Edit' }).click();
  const editing = first.getByLabel('note text');
  await editing.fill('Draft, edited in the first tab');
  await expect(first.getByRole('alert')).toBeHidden();

  // The second tab edits the same note and saves.
  await note(second, 'Draft').getByRole('button', { name: 'Edit' }).click();
  await second.getByLabel('note text').fill('Changed in the second tab');
  await second.getByRole('button', { name: 'Save' }).click();
  await expect(notes(second).first()).toHaveText('Changed in the second tab');

  // The first tab hears of it while still editing: 'stale', before any save.
  await expect(first.getByRole('alert')).toContainText('Changed in another tab');
  await expect(editing).toHaveValue('Draft, edited in the first tab');
  await first.screenshot({ path: 'e2e/screenshots/demo-stale-editor.png' });
  // Saving anyway is refused (a conflict), and nothing is lost in the second tab.
  await first.getByRole('button', { name: 'Save' }).click();
  await expect(first.getByRole('alert')).toContainText('Not saved');
  // Reload shows the other tab's text; an edit from there saves and shows in both tabs.
  await first.getByRole('button', { name: 'Reload' }).click();
  await expect(editing).toHaveValue('Changed in the second tab');
  await expect(first.getByRole('alert')).toBeHidden();
  await editing.fill('Agreed text');
  await first.getByRole('button', { name: 'Save' }).click();
  await expect(notes(first).first()).toHaveText('Agreed text');
  await expect(notes(second).first()).toHaveText('Agreed text');
  expect(errors).toEqual([]);
});

test('the notes demo seeds 10,000 notes with progress and pages through them 50 at a time', async ({
  page,
}) => {
  test.setTimeout(120_000);
  const errors: string[] = [];
  await openDemo(page, errors);
  await expect(page.locator('#count')).toHaveText('5 notes');
  await page.getByRole('button', { name: 'Seed 10,000' }).click();
  // The page stays usable while it seeds: the count grows as the batches land.
  await expect(page.getByRole('button', { name: 'Seed 10,000' })).toBeDisabled();
  await expect(page.locator('#seed-status')).toHaveText('Seeded 10,000 notes', {
    timeout: 90_000,
  });
  await expect(page.locator('#count')).toHaveText('10,005 notes');
  await expect(page.getByRole('button', { name: 'Seed 10,000' })).toBeEnabled();

  // The newest page: the 5 examples, then the newest 45 seeded notes.
  const list = page.locator('#notes li');
  await expect(list).toHaveCount(50);
  await expect(notes(page).first()).toHaveText(EXAMPLES[0] as string);
  await expect(notes(page).nth(5)).toHaveText(/^Seeded note 10000: /);
  await expect(notes(page).last()).toHaveText(/^Seeded note 9956: /);
  await expect(page.getByRole('button', { name: 'Newer' })).toBeDisabled();

  await page.getByRole('button', { name: 'Older' }).click();
  await expect(notes(page).first()).toHaveText(/^Seeded note 9955: /);
  await expect(notes(page).last()).toHaveText(/^Seeded note 9906: /);
  await expect(list).toHaveCount(50);
  await page.getByRole('button', { name: 'Older' }).click();
  await expect(notes(page).first()).toHaveText(/^Seeded note 9905: /);
  await expect(page.locator('#page-label')).toHaveText('page 3, 50 per page');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: 'e2e/screenshots/demo-seeded-page-3.png' });

  await page.getByRole('button', { name: 'Newer' }).click();
  await expect(notes(page).first()).toHaveText(/^Seeded note 9955: /);
  await page.getByRole('button', { name: 'Newer' }).click();
  await expect(notes(page).first()).toHaveText(EXAMPLES[0] as string);
  await expect(page.getByRole('button', { name: 'Newer' })).toBeDisabled();
  expect(errors).toEqual([]);
});

test('the explorer beside the notes demo edits a note and the list shows it, and follows the app’s edits live', async ({
  page,
}) => {
  const errors: string[] = [];
  await openDemo(page, errors);
  const toggle = page.getByRole('button', { name: 'Explorer' });
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await expect(page).toHaveURL(/#explorer$/);
  const panel = page.getByRole('complementary', { name: 'Explorer' });
  await expect(panel.locator('shelf-explorer header')).toContainText('this app');
  await expect(panel.locator('shelf-explorer header')).toContainText('editable');

  // Open the note the list shows, by its oid.
  const target = note(page, 'Tick a note to mark it done');
  const oid = await target.getAttribute('data-oid');
  await panel.getByLabel('Object id').fill(String(oid));
  await panel.getByRole('button', { name: 'Open', exact: true }).click();
  await expect(panel.getByRole('heading', { name: `demo.Note #${oid}` })).toBeVisible();

  // Change its text there: the app's list shows it (the app's connection hears the commit).
  await panel.getByRole('button', { name: 'Edit field text' }).click();
  await panel.getByLabel('Value').fill('Edited in the explorer');
  await panel.getByLabel('Commit note').fill('fix the wording');
  await panel.getByRole('button', { name: 'Save' }).click();
  await expect(notes(page).nth(2)).toHaveText('Edited in the explorer');
  await expect(page.getByLabel('done: Edited in the explorer')).toBeChecked();

  // And the other way: the app marks it not done, and the explorer's fields follow.
  const fields = panel.getByRole('table', { name: 'Fields' });
  await expect(fields.getByRole('row', { name: /^done/ })).toContainText('true');
  await page.getByLabel('done: Edited in the explorer').uncheck();
  await expect(fields.getByRole('row', { name: /^done/ })).toContainText('false');
  await page.screenshot({ path: 'e2e/screenshots/demo-explorer-panel.png' });

  // The panel closes and opens again (a new connection: the explorer let go of its own).
  await toggle.click();
  await expect(panel).toBeHidden();
  await expect(page).not.toHaveURL(/#explorer$/);
  await toggle.click();
  await expect(panel.getByRole('row', { name: /"notesByDate"/ })).toContainText('shelfdb.BTree');
  // The address opens it too.
  await page.goto('/demo/index.html#explorer');
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  await expect(panel.locator('shelf-explorer header')).toContainText('this app');
  expect(errors).toEqual([]);
});

test('the notes demo opens on an origin where the old demo kept its notes in root.notes, and leaves them be', async ({
  page,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // The old demo's data: a PersistentList of demo.Note under root.notes, in the 'notes' database.
  await page.goto('/e2e/pages/explorer.html?db=notes');
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  await page.evaluate(async () => {
    const { shelfdb, conn } = window.shelf;
    class OldNote extends shelfdb.Persistent {
      static _p_name = 'demo.Note';
      text = '';
      done = false;
      created = new Date();
    }
    shelfdb.registerClass(OldNote);
    await conn?.transact(async () => {
      const root = await conn.root();
      const old = new OldNote();
      old.text = 'A note of the old demo';
      root.set('notes', new shelfdb.PersistentList([old]));
    });
    await window.shelf.db?.close();
  });

  await openDemo(page, []);
  await expect(notes(page)).toHaveText(EXAMPLES);
  await page.getByRole('button', { name: 'Explorer' }).click();
  const root = page.getByRole('complementary', { name: 'Explorer' });
  await expect(root.getByRole('row', { name: /"notes"/ })).toContainText('shelfdb.PersistentList');
  await expect(root.getByRole('row', { name: /"notesByDate"/ })).toContainText('shelfdb.BTree');
  await page.screenshot({ path: 'e2e/screenshots/demo-old-root-notes.png' });
  expect(errors).toEqual([]);
});

test('the standalone explorer page opens a database of the origin from its Databases tab, read-only, and editable when asked', async ({
  page,
}) => {
  const errors: string[] = [];
  await openDemo(page, errors); // makes the 'notes' database
  await page.goto('/demo/explorer.html');
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  await expect(page.getByRole('tab', { name: 'Databases' })).toHaveAttribute(
    'aria-selected',
    'true',
  );
  await expect(page.locator('#db-names option[value="notes"]')).toBeAttached();

  await page.getByRole('button', { name: 'Open notes (opfs)' }).click();
  await expect(page).toHaveURL(/\?db=notes&storage=opfs$/);
  const header = page.locator('shelf-explorer header');
  await expect(header).toContainText('read-only');
  await expect(page.getByRole('row', { name: /"notesByDate"/ })).toContainText('shelfdb.BTree');

  const form = page.getByRole('form', { name: 'Open a database' });
  await form.getByLabel('Editable').check();
  await form.getByRole('button', { name: 'Open' }).click();
  await expect(header).toContainText('editable');
  await expect(page).toHaveURL(/\?db=notes&storage=opfs&editable=yes$/);
  // The address keeps the choice.
  await page.reload();
  await expect(header).toContainText('editable');
  await expect(page.getByRole('row', { name: /"notesByDate"/ })).toContainText('shelfdb.BTree');
  await page.screenshot({ path: 'e2e/screenshots/demo-explorer-page.png' });
  expect(errors).toEqual([]);
});
