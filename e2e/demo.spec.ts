/** The sample app, driven as a person would. */
import { expect, test } from '@playwright/test';

test('the notes demo adds, completes and deletes notes kept in shelfdb', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/demo/index.html');
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  for (const text of ['Buy milk', 'Write the BTree']) {
    await page.getByPlaceholder('Write a note').fill(text);
    await page.keyboard.press('Enter');
  }
  await expect(page.locator('#notes li')).toHaveCount(2);
  await expect(page.locator('#notes li span')).toHaveText(['Buy milk', 'Write the BTree']);
  await page.getByLabel('done: Buy milk').check();
  await expect(page.locator('#notes li').first()).toHaveClass('done');
  await page.locator('#notes li').nth(1).getByRole('button', { name: 'Delete' }).click();
  await expect(page.locator('#notes li')).toHaveCount(1);
  await expect(page.locator('#status')).toContainText('1 note(s)');
  await expect(page.locator('#status')).toContainText('storage: opfs');
  // Kept in OPFS: the notes are there after a reload.
  await page.reload();
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  await expect(page.locator('#notes li span')).toHaveText(['Buy milk']);
  await expect(page.locator('#notes li').first()).toHaveClass('done');
  expect(errors).toEqual([]);
});

test('the notes demo in two tabs: a note added in one shows up in the other at once', async ({
  context,
}) => {
  const first = await context.newPage();
  await first.goto('/demo/index.html');
  await expect(first.locator('body[data-ready="yes"]')).toBeAttached();
  const second = await context.newPage();
  await second.goto('/demo/index.html');
  await expect(second.locator('body[data-ready="yes"]')).toBeAttached();
  await first.getByPlaceholder('Write a note').fill('Seen in both tabs');
  await first.keyboard.press('Enter');
  await expect(second.locator('#notes li span')).toContainText(['Seen in both tabs']);
  await second.getByLabel('done: Seen in both tabs').check();
  await expect(first.locator('#notes li').last()).toHaveClass('done');
});

test('the notes demo warns an editor at once when another tab changes the note being edited', async ({
  context,
}) => {
  const errors: string[] = [];
  const open = async () => {
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('/demo/index.html');
    await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
    return page;
  };
  const first = await open();
  await first.getByPlaceholder('Write a note').fill('Draft');
  await first.keyboard.press('Enter');
  const second = await open();
  await expect(second.locator('#notes li span')).toHaveText(['Draft']);

  // The first tab starts editing and types, without saving.
  await first.getByRole('button', { name: 'Edit' }).click();
  const editing = first.getByLabel('note text');
  await editing.fill('Draft, edited in the first tab');
  await expect(first.getByRole('alert')).toBeHidden();

  // The second tab edits the same note and saves.
  await second.getByRole('button', { name: 'Edit' }).click();
  await second.getByLabel('note text').fill('Changed in the second tab');
  await second.getByRole('button', { name: 'Save' }).click();
  await expect(second.locator('#notes li span')).toHaveText(['Changed in the second tab']);

  // The first tab hears of it while still editing: 'stale', before any save.
  await expect(first.getByRole('alert')).toContainText('Changed in another tab');
  await expect(editing).toHaveValue('Draft, edited in the first tab');
  // Saving anyway is refused (a conflict), and nothing is lost in the second tab.
  await first.getByRole('button', { name: 'Save' }).click();
  await expect(first.getByRole('alert')).toContainText('Not saved');
  // Reload shows the other tab's text; an edit from there saves and shows in both tabs.
  await first.getByRole('button', { name: 'Reload' }).click();
  await expect(editing).toHaveValue('Changed in the second tab');
  await expect(first.getByRole('alert')).toBeHidden();
  await editing.fill('Agreed text');
  await first.getByRole('button', { name: 'Save' }).click();
  await expect(first.locator('#notes li span')).toHaveText(['Agreed text']);
  await expect(second.locator('#notes li span')).toHaveText(['Agreed text']);
  expect(errors).toEqual([]);
});
