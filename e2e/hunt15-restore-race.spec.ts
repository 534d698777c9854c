/**
 * Hunt 15: a restore that fails must never remove what another tab committed. Tab B opens the
 * database while tab A restores into it (the name is free: nothing locks it) and commits; the
 * restore then fails, and its clean-up deletes the database, B's acknowledged commit with it.
 */
import { expect, test } from '@playwright/test';

const URLS = ['/src/index.ts', '/src/archive/restore.ts', '/src/archive/snarf.ts'] as const;

for (const storage of ['indexeddb', 'opfs'] as const) {
  test(`${storage}: a failed restore leaves a commit another tab made to the database meanwhile`, async ({
    context,
  }) => {
    test.setTimeout(60_000);
    const a = await context.newPage();
    const b = await context.newPage();
    await a.goto('/e2e/pages/blank.html');
    await b.goto('/e2e/pages/blank.html');
    // Tab A: a backup of two transactions; the restore reads the first, then waits.
    await a.evaluate(
      async ([indexUrl, restoreUrl, snarfUrl, kind]) => {
        const shelfdb = (await import(indexUrl)) as typeof import('../src/index.js');
        const { restoreDatabase } = (await import(
          restoreUrl
        )) as typeof import('../src/archive/restore.js');
        const { archiveBytes } = (await import(
          snarfUrl
        )) as typeof import('../src/archive/snarf.js');
        const source = await shelfdb.openDatabase('hunt15 source', { storage: 'memory' });
        const conn = source.open();
        const root = await conn.root();
        root.set('restored', new shelfdb.PersistentDict());
        await conn.commit({ note: 'second' });
        const bytes = await archiveBytes(source.backup());
        await source.close();
        const text = new TextDecoder('latin1').decode(bytes);
        let cut = text.indexOf(' transactions/2.json\n');
        while (cut > 0 && /[0-9]/.test(text[cut - 1] as string)) cut--;
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        const w = window as unknown as Record<string, unknown>;
        w.release = release;
        const stream = new ReadableStream<Uint8Array>({
          async start(c) {
            c.enqueue(bytes.slice(0, cut));
            await released;
            c.enqueue(bytes.slice(cut));
            c.close();
          },
        });
        w.restoring = restoreDatabase('hunt15 race', stream, { storage: kind }).then(
          async (db) => {
            await db.close();
            return 'restored';
          },
          (error: Error) => `${error.name}: ${error.message}`,
        );
      },
      [...URLS, storage] as const,
    );
    // Tab B: opens the database once the restore's first transaction is there, and commits.
    const committed = await b.evaluate(
      async ([indexUrl, kind]) => {
        const shelfdb = (await import(indexUrl)) as typeof import('../src/index.js');
        const db = await shelfdb.openDatabase('hunt15 race', { storage: kind });
        for (let i = 0; i < 200 && (await db.storage.sync(0)).tid < 1; i++)
          await new Promise((r) => setTimeout(r, 10));
        const conn = db.open();
        const root = await conn.root();
        root.set('mine', 'tab B wrote this');
        const tid = await conn.commit({ note: 'tab B' });
        (window as unknown as Record<string, unknown>).dbB = db;
        return tid;
      },
      [URLS[0], storage] as const,
    );
    expect(committed).toBeGreaterThan(0);
    // The restore goes on, and fails: tab B took the tid it was to store.
    const outcome = await a.evaluate(async () => {
      const w = window as unknown as Record<string, unknown>;
      (w.release as () => void)();
      return Promise.race([
        w.restoring as Promise<string>,
        new Promise<string>((r) => setTimeout(() => r('still running after 5 s'), 5000)),
      ]);
    });
    // Tab B goes on, then is closed; a new tab opens the database.
    await b.close();
    const c = await context.newPage();
    await c.goto('/e2e/pages/blank.html');
    await c.waitForTimeout(1000);
    const seen = await c.evaluate(
      async ([indexUrl, kind]) => {
        const shelfdb = (await import(indexUrl)) as typeof import('../src/index.js');
        const db = await shelfdb.openDatabase('hunt15 race', { storage: kind });
        const conn = db.open();
        const value = (await conn.root()).get('mine');
        await db.close();
        return value;
      },
      [URLS[0], storage] as const,
    );
    expect(seen, `after the restore's outcome: ${outcome}`).toBe('tab B wrote this');
    await a.close();
    await c.close();
  });
}
