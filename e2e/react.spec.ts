/**
 * shelfdb/react in real Chromium, across tabs: a React component in tab A (e2e/pages/react.html)
 * shows an object and a BTree range of an OPFS database; tab B commits to the same database, and
 * A re-renders with the new data (the commit reaches A's connection as 'change'). A's own writes,
 * through the connection its hooks read, re-render it too ('commit').
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { withProfile } from './profile.js';

type Shelf = typeof import('../src/index.js');
declare global {
  interface Window {
    shelfdb: Shelf;
    db: InstanceType<Shelf['Database']>;
    conn: InstanceType<Shelf['Connection']>;
  }
}

/** Tab B: a blank page with the library, its database open and the data the component shows. */
async function openWriter(context: BrowserContext, baseURL: string, name: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${baseURL}/e2e/pages/blank.html`);
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  await page.evaluate(async (name) => {
    const { openDatabase, BTree, PersistentDict } = window.shelfdb;
    window.db = await openDatabase(name, { storage: 'opfs' });
    window.conn = window.db.open();
    const root = await window.conn.root();
    const note = new PersistentDict<string, string>();
    note.set('text', 'hello');
    const tree = new BTree<string, string>({ minimumDegree: 2 });
    for (const [k, v] of [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
      ['d', '4'],
    ]) {
      await tree.set(k as string, v as string);
    }
    root.set('note', note);
    root.set('tree', tree);
    await window.conn.commit();
  }, name);
  return page;
}

test('a component in one tab re-renders with what another tab commits', async ({ baseURL }) => {
  await withProfile(async (context) => {
    const name = `react-${Date.now()}`;
    const writer = await openWriter(context, baseURL as string, name);
    const reader = await context.newPage();
    await reader.goto(`${baseURL}/e2e/pages/react.html?db=${name}`);
    await expect(reader.locator('body[data-ready="yes"]')).toBeAttached();
    await expect(reader.locator('#note')).toHaveText('hello');
    await expect(reader.locator('#entries li')).toHaveText(['b=2', 'c=3', 'd=4']);

    // The object changes in place; the range gains an entry, loses one and sees a new value.
    await writer.evaluate(async () => {
      const root = await window.conn.root();
      const note = root.get('note') as InstanceType<Shelf['PersistentDict']>;
      const tree = root.get('tree') as InstanceType<Shelf['BTree']>;
      note.set('text', 'changed in tab B');
      await tree.set('e', '5');
      await tree.delete('c');
      await tree.set('b', 'two');
      await window.conn.commit();
    });
    await expect(reader.locator('#note')).toHaveText('changed in tab B');
    await expect(reader.locator('#entries li')).toHaveText(['b=two', 'd=4', 'e=5']);
    await expect(reader.locator('#error')).toHaveCount(0);

    await writer.evaluate(() => window.db.close());
    await reader.close();
  });
});

test('a component re-renders with what the app commits through its own connection', async ({
  baseURL,
}) => {
  await withProfile(async (context) => {
    const name = `react-own-${Date.now()}`;
    const writer = await openWriter(context, baseURL as string, name);
    const app = await context.newPage();
    await app.goto(`${baseURL}/e2e/pages/react.html?db=${name}`);
    await expect(app.locator('body[data-ready="yes"]')).toBeAttached();
    await expect(app.locator('#note')).toHaveText('hello');
    await expect(app.locator('#entries li')).toHaveText(['b=2', 'c=3', 'd=4']);

    await app.locator('#edit').click(); // writes the note and inserts f through the app's connection
    await expect(app.locator('#note')).toHaveText('edited in tab A');
    await expect(app.locator('#entries li')).toHaveText(['b=2', 'c=3', 'd=4', 'f=6']);
    await expect(app.locator('#error')).toHaveCount(0);
    // And it is stored: the other tab reads it.
    const stored = await writer.evaluate(async () => {
      await window.conn.sync();
      const note = (await window.conn.root()).get('note') as InstanceType<Shelf['PersistentDict']>;
      return (await window.conn.load(note)).get('text');
    });
    expect(stored).toBe('edited in tab A');

    await writer.evaluate(() => window.db.close());
    await app.close();
  });
});
