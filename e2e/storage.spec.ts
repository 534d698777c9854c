/**
 * Storage in real Chromium: OPFS sync access handles in the storage worker, IndexedDB, the worker
 * client's error envelopes, and what survives reloads and killed tabs.
 */
import { expect, test, type Page } from '@playwright/test';

type Shelf = typeof import('../src/index.js');
declare global {
  interface Window {
    shelfdb: Shelf;
    blockFileFailures: string[];
  }
}

async function openBlank(page: Page): Promise<void> {
  await page.goto('/e2e/pages/blank.html');
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
}

test('the BlockFile contract holds over OPFS sync access handles in a worker', async ({ page }) => {
  await page.goto('/e2e/pages/blockfile.html');
  await expect(page.locator('body[data-done="yes"]')).toBeAttached({ timeout: 30_000 });
  expect(await page.evaluate(() => window.blockFileFailures)).toEqual([]);
});

for (const storage of ['opfs', 'indexeddb'] as const) {
  test(`${storage}: commits survive a page reload`, async ({ page }) => {
    await openBlank(page);
    const name = `reload-${storage}`;
    const tid = await page.evaluate(
      async ({ name, storage }) => {
        const { openDatabase, Persistent, registerClass } = window.shelfdb;
        class Note extends Persistent {
          text = '';
        }
        registerClass(Note, 'e2e.Note');
        const db = await openDatabase(name, { storage });
        const conn = db.open();
        const root = await conn.root();
        for (let i = 0; i < 500; i++) {
          const n = new Note();
          n.text = `note ${i}`;
          root.set(`n${i}`, n);
        }
        const tid = await conn.commit({ note: 'five hundred' });
        await db.close();
        return tid;
      },
      { name, storage },
    );
    await page.reload();
    await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
    const back = await page.evaluate(
      async ({ name, storage }) => {
        const { openDatabase, Persistent, registerClass } = window.shelfdb;
        class Note extends Persistent {
          text = '';
        }
        registerClass(Note, 'e2e.Note');
        const db = await openDatabase(name, { storage });
        const conn = db.open();
        const root = await conn.root();
        const notes = await conn.load(...([...root.values()] as Note[]));
        const stats = await db.stats();
        let last;
        for await (const t of db.transactions({ limit: 1 })) last = t;
        await db.close();
        return {
          count: notes.length,
          n7: (root.get('n7') as Note).text,
          storage: stats.storage,
          objects: stats.objects,
          last,
        };
      },
      { name, storage },
    );
    expect(back).toMatchObject({ count: 500, n7: 'note 7', storage, objects: 501 });
    expect(back.last).toMatchObject({ tid, note: 'five hundred' });
  });

  test(`${storage}: WriteConflictError keeps its class and oids across the worker`, async ({
    page,
  }) => {
    await openBlank(page);
    const result = await page.evaluate(async (storage) => {
      const { openDatabase, WriteConflictError, ConflictError } = window.shelfdb;
      const db = await openDatabase(`conflict-${storage}`, { storage });
      const a = db.open();
      const b = db.open();
      b.autoSync = false;
      const rootA = await a.root();
      const rootB = await b.root();
      rootA.set('x', 1);
      await a.commit();
      rootB.set('x', 2);
      const error = await b.commit().catch((e: unknown) => e);
      await db.close();
      return {
        write: error instanceof WriteConflictError,
        conflict: error instanceof ConflictError,
        oids: (error as { oids?: number[] }).oids,
        message: (error as Error).message,
      };
    }, storage);
    expect(result).toMatchObject({ write: true, conflict: true, oids: [0] });
    expect(result.message).toMatch(/abort/);
  });
}

test("'auto' picks OPFS in Chromium", async ({ page }) => {
  await openBlank(page);
  const kind = await page.evaluate(async () => {
    const db = await window.shelfdb.openDatabase('auto-choice');
    const { storage } = await db.stats();
    await db.close();
    return storage;
  });
  expect(kind).toBe('opfs');
});

test('a directory that is not a shelfdb database gives a clear error and is left untouched', async ({
  page,
}) => {
  await openBlank(page);
  const result = await page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const shelf = await root.getDirectoryHandle('shelfdb', { create: true });
    const dir = await shelf.getDirectoryHandle('not-ours', { create: true });
    const file = await dir.getFileHandle('manifest.0', { create: true });
    const writable = await file.createWritable();
    await writable.write('this is somebody else’s file');
    await writable.close();
    const error = await window.shelfdb
      .openDatabase('not-ours', { storage: 'opfs' })
      .catch((e: unknown) => e);
    const after = await (await dir.getFileHandle('manifest.0')).getFile();
    return {
      corrupt: error instanceof window.shelfdb.CorruptStorageError,
      message: (error as Error).message,
      text: await after.text(),
    };
  });
  expect(result.corrupt).toBe(true);
  expect(result.message).toMatch(/not a shelfdb manifest/);
  expect(result.text).toBe('this is somebody else’s file');
});

test('a tab killed in the middle of a large commit leaves all of it or none of it', async ({
  context,
}) => {
  const page = await context.newPage();
  await openBlank(page);
  await page.evaluate(async () => {
    const { openDatabase, PersistentList } = window.shelfdb;
    const db = await openDatabase('killed', { storage: 'opfs' });
    const conn = db.open();
    const root = await conn.root();
    root.set('marker', 'before');
    await conn.commit();
    const list = new PersistentList<unknown>();
    for (let i = 0; i < 30_000; i++) list.push(new PersistentList([i, 'x'.repeat(100)]));
    root.set('big', list);
    root.set('marker', 'after');
    // The commit has left the page once its call crosses to the storage worker.
    const sent = new Promise<void>((resolve) => {
      const post = Worker.prototype.postMessage as (this: Worker, ...args: unknown[]) => void;
      Worker.prototype.postMessage = function (this: Worker, ...args: unknown[]) {
        post.apply(this, args);
        if ((args[0] as { path?: unknown[] } | null)?.path?.[0] === 'commit') resolve();
      };
    });
    void conn.commit(); // not awaited: the tab dies while the worker writes it
    await sent;
  });
  await page.close(); // kills the tab and its storage worker
  const next = await context.newPage();
  await openBlank(next);
  const state = await next.evaluate(async () => {
    type List = import('../src/index.js').PersistentList;
    const { openDatabase } = window.shelfdb;
    const db = await openDatabase('killed', { storage: 'opfs' });
    const conn = db.open();
    const root = await conn.root();
    const marker = root.get('marker');
    const big = root.get('big') as List | undefined;
    let length = -1;
    let last: unknown;
    if (big !== undefined) {
      await conn.load(big);
      length = big.length;
      last = (await conn.load(big.at(-1) as List)).at(0);
    }
    await db.close();
    return { marker, length, last };
  });
  if (state.marker === 'before') expect(state.length).toBe(-1);
  else expect(state).toEqual({ marker: 'after', length: 30_000, last: 29_999 });
});
