/**
 * db.backup() and restoreDatabase() in Chromium, over the storage worker: an OPFS database backed
 * up while the page commits, restored into a second OPFS database and into an IndexedDB one; a
 * damaged backup leaves no database behind.
 */
import { expect, test } from '@playwright/test';

test('an OPFS database backed up while the page commits restores into OPFS and IndexedDB with the same transactions, histories and objects as of the backup', async ({
  page,
}) => {
  await page.goto('/e2e/pages/blank.html');
  const result = await page.evaluate(
    async ([indexUrl, restoreUrl, snarfUrl]) => {
      const shelfdb = (await import(indexUrl)) as typeof import('../src/index.js');
      const { restoreDatabase } = (await import(
        restoreUrl
      )) as typeof import('../src/archive/restore.js');
      const { archiveBytes } = (await import(snarfUrl)) as typeof import('../src/archive/snarf.js');
      type Db = Awaited<ReturnType<typeof shelfdb.openDatabase>>;

      /** What a reader sees of `db` up to `upTo`, as JSON. */
      const dump = async (db: Db, upTo: number): Promise<string> => {
        const txns = [];
        for await (const t of db.transactions({ before: upTo + 1 })) txns.unshift(t);
        const oids = [...new Set(txns.flatMap((t) => t.oids))].sort((a, b) => a - b);
        const history: Record<number, unknown> = {};
        for (const oid of oids) {
          history[oid] = (await db.storage.history(oid))
            .filter((r) => r.tid <= upTo)
            .map((r) => ({ ...r, record: { ...r.record, state: [...r.record.state] } }));
        }
        const current = (await db.storage.load(oids, upTo)).map((r) => ({
          ...r,
          state: [...r.state],
        }));
        return JSON.stringify({ txns, history, current });
      };

      const source = await shelfdb.openDatabase('backup source', { storage: 'opfs' });
      const conn = source.open();
      const root = await conn.root();
      const dict = new shelfdb.PersistentDict();
      root.set('dict', dict);
      root.set('n', 0);
      await conn.commit({ note: 'first', user: 'ann', meta: { k: [1, 2] } });
      for (let i = 0; i < 5; i++) {
        dict.set(`k${i}`, 'x'.repeat(100 * i));
        root.set('n', i);
        await conn.commit({ note: `step ${i}` });
      }
      root.set('n', 99);
      const undone = await source.undo(await conn.commit({ note: 'n = 99' }));
      await conn.sync();
      await conn.load(root); // the undo changed it: a ghost until loaded again
      await conn.load(dict);
      const snapshot = (await source.storage.sync(0)).tid;

      // The backup's snapshot is that of the call; the page commits between its reads.
      const reader = source.backup().getReader();
      const chunks: Uint8Array[] = [];
      let during = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        dict.set(`during${during}`, during);
        root.set('n', 1000 + during++);
        await conn.commit({ note: 'during the backup' });
      }
      const backup = await archiveBytes(
        new ReadableStream({
          start(c) {
            for (const chunk of chunks) c.enqueue(chunk);
            c.close();
          },
        }),
      );
      const expected = await dump(source, snapshot);

      const intoOpfs = await restoreDatabase('backup copy opfs', new Blob([backup]), {
        storage: 'opfs',
      });
      const intoIdb = await restoreDatabase('backup copy idb', new Blob([backup]).stream(), {
        storage: 'indexeddb',
      });
      const opfsDump = await dump(intoOpfs, snapshot);
      const idbDump = await dump(intoIdb, snapshot);
      const newest = [(await intoOpfs.storage.sync(0)).tid, (await intoIdb.storage.sync(0)).tid];
      // A commit after the restore gets a larger tid and a fresh oid.
      const after = intoIdb.open();
      const fresh = new shelfdb.PersistentDict();
      (await after.root()).set('fresh', fresh);
      const afterTid = await after.commit();
      const restoredOids = JSON.parse(expected).txns.flatMap((t: { oids: number[] }) => t.oids);
      const stats = await intoOpfs.stats();

      // A damaged backup (cut short, as a stream) leaves no database.
      let damaged = '';
      try {
        await restoreDatabase(
          'backup damaged',
          new Blob([backup.slice(0, backup.byteLength - 30)]).stream(),
          { storage: 'opfs' },
        );
      } catch (error) {
        damaged = `${(error as Error).name}: ${(error as Error).message}`;
      }
      after.close();
      await Promise.all([source.close(), intoOpfs.close(), intoIdb.close()]);
      const listed = (await shelfdb.listDatabases()).map((d) => `${d.storage}:${d.name}`);
      return {
        same: [opfsDump === expected, idbDump === expected],
        hasUndo: expected.includes('"undoes"'),
        undone,
        snapshot,
        during,
        newest,
        afterTid,
        freshOidIsNew: !restoredOids.includes(fresh._p_oid),
        storage: stats.storage,
        damaged,
        listed,
      };
    },
    ['/src/index.ts', '/src/archive/restore.ts', '/src/archive/snarf.ts'],
  );
  expect(result.same).toEqual([true, true]);
  expect(result.hasUndo).toBe(true);
  expect(result.during).toBeGreaterThan(5); // a commit after each entry read
  expect(result.newest).toEqual([result.snapshot, result.snapshot]);
  expect(result.afterTid).toBeGreaterThan(result.snapshot);
  expect(result.freshOidIsNew).toBe(true);
  expect(result.storage).toBe('opfs');
  expect(result.damaged).toMatch(/^CorruptStorageError: /);
  expect(result.listed).toContain('opfs:backup copy opfs');
  expect(result.listed).toContain('indexeddb:backup copy idb');
  expect(result.listed).not.toContain('opfs:backup damaged');
});
