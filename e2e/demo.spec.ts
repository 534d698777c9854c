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
