/**
 * Hunt 14: the sample app in two tabs, where a user's typing could be lost. The note editor is
 * opened in the first tab and left untouched while the second tab saves the same note: the first
 * must warn at once, keep what its user then types, and refuse to save over the other tab.
 */
import { expect, test, type Page } from '@playwright/test';

async function openDemo(page: Page, errors: string[]): Promise<void> {
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/demo/index.html');
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
}

const note = (page: Page, text: string) => page.locator('#notes li', { hasText: text });

test('an editor opened but not typed in yet warns when another tab saves the note, and keeps what is typed after', async ({
  context,
}) => {
  const errors: string[] = [];
  const first = await context.newPage();
  await openDemo(first, errors);
  await first.getByPlaceholder('Write a note').fill('Shared note');
  await first.keyboard.press('Enter');
  await expect(note(first, 'Shared note')).toBeVisible();
  const second = await context.newPage();
  await openDemo(second, errors);

  // The first tab opens the editor and leaves it untouched.
  await note(first, 'Shared note').getByRole('button', { name: 'Edit' }).click();
  const editing = first.getByLabel('note text');
  await expect(editing).toHaveValue('Shared note');

  // The second tab edits and saves the same note.
  await note(second, 'Shared note').getByRole('button', { name: 'Edit' }).click();
  await second.getByLabel('note text').fill('Saved by the second tab');
  await second.getByRole('button', { name: 'Save' }).click();
  await expect(note(second, 'Saved by the second tab')).toBeVisible();

  // The first tab says so before its user types, and what the user types is kept.
  const alert = first.locator('#notes li.editing [role="alert"]');
  await expect(alert).toContainText('Changed in another tab');
  await editing.fill('Typed in the first tab');
  await first.getByRole('button', { name: 'Save' }).click();
  await expect(alert).toContainText('Not saved: another tab changed this note first');
  await expect(editing).toHaveValue('Typed in the first tab');
  await first.screenshot({ path: 'e2e/screenshots/hunt14-demo-untouched-editor-stale.png' });
  // The second tab's text is what is stored (a reload of that tab reads it back).
  await second.reload();
  await expect(second.locator('body[data-ready="yes"]')).toBeAttached();
  await expect(note(second, 'Saved by the second tab')).toBeVisible();
  expect(errors).toEqual([]);
});

test('an editor whose note another tab deletes stays with the typed text and says the note is gone', async ({
  context,
}) => {
  const errors: string[] = [];
  const first = await context.newPage();
  await openDemo(first, errors);
  await first.getByPlaceholder('Write a note').fill('Doomed note');
  await first.keyboard.press('Enter');
  await expect(note(first, 'Doomed note')).toBeVisible();
  const second = await context.newPage();
  await openDemo(second, errors);

  await note(first, 'Doomed note').getByRole('button', { name: 'Edit' }).click();
  const editing = first.getByLabel('note text');
  await editing.fill('Words typed into the doomed note');
  await note(second, 'Doomed note').getByRole('button', { name: 'Delete' }).click();
  await expect(note(second, 'Doomed note')).toHaveCount(0);

  const alert = first.locator('#notes li.editing [role="alert"]');
  await expect(alert).toContainText('deleted in another tab');
  await expect(editing).toHaveValue('Words typed into the doomed note');
  await expect(first.getByRole('button', { name: 'Save' })).toBeDisabled();
  await first.screenshot({ path: 'e2e/screenshots/hunt14-demo-editor-note-deleted.png' });
  await first.getByRole('button', { name: 'Cancel' }).click();
  await expect(first.locator('#notes li.editing')).toHaveCount(0);
  await expect(first.locator('#count')).toHaveText('5 notes');
  expect(errors).toEqual([]);
});
