/**
 * The "restoring" mark in Chromium (src/archive/restore-mark.ts): a restore cut off by closing its
 * page leaves an OPFS or IndexedDB database that a new page's openDatabase refuses, saying what
 * happened and what to do; a second tab that opens the name while the restore runs is refused the
 * same way; restoring the whole backup again replaces the unfinished database.
 */
import { expect, test } from '@playwright/test';

const URLS = ['/src/index.ts', '/src/archive/restore.ts', '/src/archive/snarf.ts'] as const;

const INTERRUPTED =
  /StorageError: openDatabase: the restore of the database 'marked' \(in (opfs|indexeddb)\) was interrupted, or is still running.*Run restoreDatabase again \(it replaces the unfinished one\) or delete it/s;

for (const storage of ['opfs', 'indexeddb'] as const) {
  test(`${storage}: a restore cut off by closing its page leaves a database that other tabs and new pages refuse, and restoring again replaces it`, async ({
    context,
  }) => {
    test.setTimeout(60_000);
    const a = await context.newPage();
    await a.goto('/e2e/pages/blank.html');
    // Tab A: a backup of six transactions; the restore gets the first three, then waits forever.
    const backup = await a.evaluate(
      async ([indexUrl, restoreUrl, snarfUrl, kind]) => {
        const shelfdb = (await import(indexUrl)) as typeof import('../src/index.js');
        const { restoreDatabase } = (await import(
          restoreUrl
        )) as typeof import('../src/archive/restore.js');
        const { archiveBytes } = (await import(
          snarfUrl
        )) as typeof import('../src/archive/snarf.js');
        const source = await shelfdb.openDatabase('source', { storage: 'memory' });
        const conn = source.open();
        const root = await conn.root();
        for (let i = 0; i < 5; i++) {
          root.set(`k${i}`, 'x'.repeat(100 * i));
          await conn.commit({ note: `step ${i}` });
        }
        const bytes = await archiveBytes(source.backup());
        await source.close();
        const text = new TextDecoder('latin1').decode(bytes);
        let cut = text.indexOf(' transactions/4.json\n');
        while (cut > 0 && /[0-9]/.test(text[cut - 1] as string)) cut--;
        let starved!: () => void;
        const waiting = new Promise<void>((resolve) => (starved = resolve));
        const stream = new ReadableStream<Uint8Array>(
          {
            start(c) {
              c.enqueue(bytes.slice(0, cut)); // the rest never comes
            },
            pull: () => starved(), // asked for more: transactions 1 to 3 are committed
          },
          { highWaterMark: 0 },
        );
        const w = window as unknown as Record<string, unknown>;
        w.restoring = restoreDatabase('marked', stream, { storage: kind }).then(
          () => 'restored',
          (error: Error) => `${error.name}: ${error.message}`,
        );
        await waiting;
        return Array.from(bytes);
      },
      [...URLS, storage] as const,
    );

    /** Opens 'marked' in `page` with `options`: its tid, or the error's name and message. */
    const open = (page: typeof a, options: Record<string, unknown>): Promise<string> =>
      page.evaluate(
        async ([indexUrl, opts]) => {
          const shelfdb = (await import(indexUrl)) as typeof import('../src/index.js');
          try {
            const db = await shelfdb.openDatabase('marked', opts);
            const { tid } = await db.storage.sync(0);
            await db.close();
            return `opened at tid ${tid}`;
          } catch (error) {
            return `${(error as Error).name}: ${(error as Error).message}`;
          }
        },
        [URLS[0], options] as const,
      );

    // Tab B opens the name while the restore runs: refused, by its kind and by 'auto'.
    const b = await context.newPage();
    await b.goto('/e2e/pages/blank.html');
    expect(await open(b, { storage })).toMatch(INTERRUPTED);
    expect(await open(b, {})).toMatch(INTERRUPTED);
    await b.close();

    // Tab A is closed mid-restore: nothing cleans up.
    await a.close();
    const c = await context.newPage();
    await c.goto('/e2e/pages/blank.html');
    expect(await open(c, { storage })).toMatch(INTERRUPTED);

    // The whole backup, restored again, replaces the unfinished database.
    const restored = await c.evaluate(
      async ([indexUrl, restoreUrl, kind, bytes]) => {
        const shelfdb = (await import(indexUrl)) as typeof import('../src/index.js');
        const { restoreDatabase } = (await import(
          restoreUrl
        )) as typeof import('../src/archive/restore.js');
        const db = await restoreDatabase('marked', new Uint8Array(bytes), { storage: kind });
        const notes: string[] = [];
        for await (const t of db.transactions()) notes.unshift(t.note);
        const root = await db.open().root();
        const value = root.get('k4');
        await db.close();
        const listed = (await shelfdb.listDatabases()).filter((d) => d.name === 'marked');
        return { notes, value, listed: listed.map((d) => d.storage) };
      },
      [URLS[0], URLS[1], storage, backup] as const,
    );
    expect(restored).toEqual({
      notes: ['root', 'step 0', 'step 1', 'step 2', 'step 3', 'step 4'],
      value: 'x'.repeat(400),
      listed: [storage],
    });
    expect(await open(c, { storage })).toBe('opened at tid 6');
    await c.close();
  });
}
