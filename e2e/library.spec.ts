/**
 * The library in a real Chromium page: persistent objects (Proxy), the serializer (shelfdb's CBOR
 * codec as the browser runs it), connections, and the errors an app sees.
 */
import { expect, test, type Page } from '@playwright/test';

type Shelf = typeof import('../src/index.js');
declare global {
  interface Window {
    shelfdb: Shelf;
  }
}

async function openBlank(page: Page): Promise<void> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/e2e/pages/blank.html');
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  expect(errors).toEqual([]);
}

test('commits objects in the page and reads them back through a new connection', async ({
  page,
}) => {
  await openBlank(page);
  const result = await page.evaluate(async () => {
    const { openDatabase, Persistent, PersistentList } = window.shelfdb;
    class Note extends Persistent {
      static _p_name = 'e2e.Note';
      text = '';
      created = new Date(0);
      tags = new Set<string>();
      blob = new Uint8Array([1, 2, 3]);
    }
    const db = await openDatabase('e2e-notes', { storage: 'memory', classes: [Note] });
    const conn = db.open();
    const root = await conn.root();
    const notes = new PersistentList<Note>();
    for (let i = 0; i < 100; i++) {
      const n = new Note();
      n.text = `note ${i}`;
      n.created = new Date(1_700_000_000_000 + i);
      n.tags.add(i % 2 ? 'odd' : 'even');
      notes.push(n);
    }
    root.set('notes', notes);
    const tid = await conn.commit({ note: 'seed' });

    const reader = db.open();
    const list = await reader.load(
      (await reader.root()).get('notes') as InstanceType<typeof PersistentList<Note>>,
    );
    const loaded = await reader.load(...list.toArray());
    const stats = await db.stats();
    const txns = [];
    for await (const t of db.transactions({ limit: 1 })) txns.push(t.note);
    await db.close();
    return {
      tid,
      count: loaded.length,
      first: loaded[0]?.text,
      last: loaded[99]?.text,
      date: loaded[5]?.created.getTime(),
      tags: [...(loaded[3]?.tags ?? [])],
      blob: [...(loaded[0]?.blob ?? [])],
      isNote: loaded[0] instanceof Note,
      objects: stats.objects,
      txns,
    };
  });
  expect(result).toEqual({
    tid: 2,
    count: 100,
    first: 'note 0',
    last: 'note 99',
    date: 1_700_000_000_005,
    tags: ['odd'],
    blob: [1, 2, 3],
    isNote: true,
    objects: 102,
    txns: ['seed'],
  });
});

test('raises the documented errors in the page', async ({ page }) => {
  await openBlank(page);
  const result = await page.evaluate(async () => {
    const { openDatabase, Persistent, GhostError, WriteConflictError, UnregisteredClassError } =
      window.shelfdb;
    class Item extends Persistent {
      static _p_name = 'e2e.Item';
      n = 0;
      el: unknown = null;
    }
    const db = await openDatabase('e2e-errors', { storage: 'memory', classes: [Item] });
    const a = db.open();
    const rootA = await a.root();
    const item = new Item();
    rootA.set('item', item);
    await a.commit();

    const b = db.open();
    b.autoSync = false;
    const ghost = (await b.root()).get('item') as Item;
    let ghostError = '';
    try {
      void ghost.n;
    } catch (e) {
      ghostError = e instanceof GhostError ? e.message : 'wrong class';
    }
    await b.load(ghost);
    item.n = 1;
    await a.commit();
    ghost.n = 2;
    const conflict = await b.commit().catch((e: unknown) => e);

    item.el = document.createElement('div');
    const domError = await a.commit().catch((e: unknown) => e);
    class Stranger {}
    item.el = new Stranger();
    const classError = await a.commit().catch((e: unknown) => e);
    return {
      ghostError,
      conflict: conflict instanceof WriteConflictError ? conflict.oids : 'no conflict',
      domError:
        domError instanceof Error
          ? `${domError.name}: ${(domError as { path?: string }).path}`
          : '',
      classError: classError instanceof UnregisteredClassError ? classError.className : '',
    };
  });
  expect(result.ghostError).toMatch(/Item 1 is a ghost/);
  expect(result.conflict).toEqual([1]);
  expect(result.domError).toBe('SerializationError: e2e.Item 1 → .el');
  expect(result.classError).toBe('Stranger');
});
