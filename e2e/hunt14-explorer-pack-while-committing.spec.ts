/**
 * Hunt 14: Pack and Cancel from the explorer's Maintenance tab while another tab of the app
 * commits: no acknowledged commit is lost, and verify is clean after.
 */
import { expect, test, type Page } from '@playwright/test';

declare global {
  interface Window {
    /** Keys whose commit the writing tab saw acknowledged. */
    acked: string[];
    stopWriting: boolean;
    writing: Promise<void>;
  }
}

async function open(page: Page, db: string, errors: string[]): Promise<void> {
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`/e2e/pages/explorer.html?db=${db}`);
  await expect(page.locator('body[data-ready]')).toBeAttached({ timeout: 30_000 });
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'yes');
}

test('Pack and a cancelled Pack from the Maintenance tab while another tab commits lose no acknowledged commit, and verify is clean after', async ({
  context,
}) => {
  const errors: string[] = [];
  const db = `hunt14-pack-${Date.now()}`;
  const explorer = await context.newPage();
  await open(explorer, db, errors);
  // Garbage for pack to remove: notes rewritten a few times.
  await explorer.evaluate(async () => {
    const { conn, Note } = window.shelf;
    const root = await conn!.root();
    const notes = Array.from({ length: 60 }, () => new Note());
    notes.forEach((n, i) => root.set(`n${i}`, n));
    for (let round = 0; round < 4; round++) {
      for (const n of notes) n.title = String(round).repeat(800);
      await conn!.commit({ note: `round ${round}` });
    }
  });

  const app = await context.newPage();
  await open(app, db, errors);
  await app.evaluate(() => {
    window.acked = [];
    window.stopWriting = false;
    window.writing = (async () => {
      const { db } = window.shelf;
      const conn = db!.open();
      for (let i = 0; !window.stopWriting; i++) {
        const key = `w${i}`;
        await conn.transact(
          async () => {
            const root = await conn.root();
            root.set(key, i);
            const note = new window.shelf.Note();
            note.title = `written during pack ${i}`;
            root.set(`note-${key}`, note);
          },
          { note: `app write ${i}` },
        );
        window.acked.push(key);
      }
      conn.close();
    })();
  });

  await explorer.getByRole('tab', { name: 'Maintenance' }).click();
  await explorer.getByRole('button', { name: 'Pack' }).click();
  await expect(explorer.getByText('Pack finished.')).toBeVisible({ timeout: 30_000 });
  // A second pack, cancelled as soon as it runs (it may finish first: either is an honest outcome).
  await explorer.getByRole('button', { name: 'Pack' }).click();
  const cancel = explorer.getByRole('button', { name: 'Cancel' });
  await cancel.click({ timeout: 2_000 }).catch(() => undefined); // finished first: no Cancel left
  await expect(explorer.getByText(/Pack (cancelled|finished)/)).toBeVisible({ timeout: 30_000 });

  const acked = await app.evaluate(async () => {
    window.stopWriting = true;
    await window.writing;
    return window.acked;
  });
  expect(acked.length).toBeGreaterThan(0);

  const missing = await explorer.evaluate(async (keys) => {
    const { db } = window.shelf;
    const conn = db!.open();
    const root = await conn.root();
    const lost: string[] = [];
    for (const key of keys) {
      const note = root.get(`note-${key}`) as { title?: string } | undefined;
      if (note === undefined) lost.push(key);
      else {
        await conn.load(note as never);
        if (note.title !== `written during pack ${key.slice(1)}`) lost.push(`${key} (title)`);
      }
      if (root.get(key) !== Number(key.slice(1))) lost.push(`${key} (value)`);
    }
    conn.close();
    return lost;
  }, acked);
  expect(missing).toEqual([]);

  await explorer.getByRole('button', { name: 'Verify' }).click();
  await expect(explorer.getByText(/No problems/)).toBeVisible({ timeout: 30_000 });
  await explorer.screenshot({ path: 'e2e/screenshots/hunt14-pack-while-committing.png' });
  expect(errors).toEqual([]);
});
