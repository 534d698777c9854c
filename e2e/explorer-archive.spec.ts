/**
 * The explorer's archive panel (Maintenance tab) in Chromium over OPFS: Export downloads an
 * archive of the object shown, Import checks an uploaded one and stores a copy in another
 * database or commits an edited one back, Back up downloads a backup that restores.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { expect, test, type Download, type Page } from '@playwright/test';
import {
  archiveBytes,
  readArchive,
  writeArchive,
  type ArchiveEntry,
} from '../src/archive/snarf.js';

async function openExplorer(page: Page, db: string): Promise<void> {
  await page.goto(`/e2e/pages/explorer.html?db=${db}`);
  await expect(page.locator('body[data-ready]')).toBeAttached({ timeout: 30_000 });
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'yes');
}

/** Stores a list of three notes under root 'notes'; resolves to the list's oid. */
function seedNotes(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const { conn, Note, shelfdb } = window.shelf;
    const root = await conn!.root();
    const notes = ['milk', 'bread', 'tea'].map((title) => Object.assign(new Note(), { title }));
    const list = new shelfdb.PersistentList(notes);
    root.set('notes', list);
    await conn!.commit({ note: 'seed' });
    return list._p_oid as number;
  });
}

/** Clicks `button` and saves the download it starts; resolves to the file's path. */
async function downloadBy(page: Page, button: string, path: string): Promise<string> {
  const [download]: [Download, void] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: button, exact: true }).click(),
  ]);
  await download.saveAs(path);
  return path;
}

/** The note titles of the list at root[key] in the page's own connection. */
function titlesAt(page: Page, key: string): Promise<string[]> {
  return page.evaluate(async (key) => {
    type Shelfdb = typeof window.shelf.shelfdb;
    const { conn } = window.shelf;
    await conn!.sync();
    const list = (await conn!.root()).get(key) as InstanceType<Shelfdb['PersistentList']>;
    await conn!.load(list); // the import's copy is a ghost until loaded
    const notes = list.toArray() as InstanceType<Shelfdb['Persistent']>[];
    await conn!.load(...notes);
    return notes.map((n) => (n as unknown as { title: string }).title);
  }, key);
}

test('Export downloads an archive of the shown object that Import copies into another database', async ({
  page,
}, info) => {
  const stamp = Date.now();
  await openExplorer(page, `archive-src-${stamp}`);
  const listOid = await seedNotes(page);
  await page.getByRole('tab', { name: 'Maintenance' }).click();
  await page.getByRole('spinbutton', { name: 'Object to export' }).fill(String(listOid));
  await page.getByRole('spinbutton', { name: 'Object to export' }).dispatchEvent('change');
  const file = await downloadBy(page, 'Export', info.outputPath('notes.shelf.gz'));
  await expect(
    page.getByRole('status').filter({ hasText: `Exported object ${listOid}` }),
  ).toBeVisible();
  const bytes = await readFile(file);
  expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]); // gzip

  await openExplorer(page, `archive-dst-${stamp}`);
  await page.getByRole('tab', { name: 'Maintenance' }).click();
  await page.getByLabel('Archive to import').setInputFiles(file);
  await expect(
    page.getByRole('status').filter({ hasText: 'Checked notes.shelf.gz: 4 entries' }),
  ).toBeVisible();
  // A fresh database holds none of them: every entry is added.
  await expect(page.getByRole('table', { name: 'Archive check' }).getByRole('row')).toHaveCount(5);
  await expect(page.getByRole('cell', { name: 'added', exact: true })).toHaveCount(4);
  await page.getByRole('textbox', { name: 'Name of the copy in the root' }).fill('imported');
  await page.getByRole('button', { name: 'Import copy' }).click();
  await expect(
    page
      .getByRole('status')
      .filter({ hasText: 'Imported a copy of notes.shelf.gz as root["imported"]' }),
  ).toBeVisible();
  expect(await titlesAt(page, 'imported')).toEqual(['milk', 'bread', 'tea']);
  await page.screenshot({ path: 'e2e/screenshots/explorer-archive-import.png', fullPage: true });
});

test('Import checks an edited archive before anything is written, then Commit writes it back', async ({
  page,
}, info) => {
  await openExplorer(page, `archive-edit-${Date.now()}`);
  const listOid = await seedNotes(page);
  await page.getByRole('tab', { name: 'Maintenance' }).click();
  await page.getByRole('spinbutton', { name: 'Object to export' }).fill(String(listOid));
  await page.getByRole('spinbutton', { name: 'Object to export' }).dispatchEvent('change');
  const exported = await downloadBy(page, 'Export', info.outputPath('notes.shelf.gz'));

  // Edit one note's title in the archive, as a person editing a checkout would.
  const entries: ArchiveEntry[] = [];
  for await (const entry of readArchive(new Uint8Array(await readFile(exported)))) {
    const text = new TextDecoder().decode(entry.bytes);
    entries.push(
      text.includes('"bread"')
        ? {
            path: entry.path,
            bytes: new TextEncoder().encode(text.replace('"bread"', '"rye bread"')),
          }
        : entry,
    );
  }
  const edited = info.outputPath('edited.shelf');
  await writeFile(edited, await archiveBytes(writeArchive(entries)));

  await page.getByLabel('Archive to import').setInputFiles(edited);
  await expect(page.getByRole('cell', { name: 'changed-archive', exact: true })).toHaveCount(1);
  expect(await titlesAt(page, 'notes')).toEqual(['milk', 'bread', 'tea']); // checked, not written
  await page.screenshot({ path: 'e2e/screenshots/explorer-archive-check.png', fullPage: true });
  await page.getByRole('button', { name: 'Commit' }).click();
  await expect(
    page.getByRole('status').filter({ hasText: /Committed edited\.shelf as transaction \d+/ }),
  ).toBeVisible();
  expect(await titlesAt(page, 'notes')).toEqual(['milk', 'rye bread', 'tea']);
  await page.screenshot({ path: 'e2e/screenshots/explorer-archive-commit.png', fullPage: true });
});

test('Back up downloads a backup of the whole database that restores with the same transactions', async ({
  page,
}, info) => {
  await openExplorer(page, `archive-backup-${Date.now()}`);
  await seedNotes(page);
  await page.getByRole('tab', { name: 'Maintenance' }).click();
  const file = await downloadBy(page, 'Back up', info.outputPath('backup.gz'));
  await expect(
    page.getByRole('status').filter({ hasText: 'Backed up the whole database' }),
  ).toBeVisible();
  const bytes = [...(await readFile(file))];
  const same = await page.evaluate(async (bytes) => {
    const { db, shelfdb } = window.shelf;
    const restored = await shelfdb.restoreDatabase(
      `restored-${Date.now()}`,
      new Uint8Array(bytes),
      {
        storage: 'opfs',
      },
    );
    const list = async (d: typeof db) => {
      const out = [];
      for await (const t of d!.transactions()) out.push([t.tid, t.note, t.oids]);
      return JSON.stringify(out);
    };
    const result = [await list(db), await list(restored)];
    await restored.close();
    return result;
  }, bytes);
  expect(same[1]).toBe(same[0]);
  expect(same[0]).toContain('seed');
});
