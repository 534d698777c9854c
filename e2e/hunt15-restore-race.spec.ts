/**
 * Hunt 15: another tab must never commit into a database while it is being restored. Before the
 * restore mark, tab B opened the database while tab A restored into it (nothing held the name),
 * committed, and the restore then failed and its clean-up deleted the database, B's acknowledged
 * commit with it. Now B's open is refused while the restore runs, and the restore completes.
 */
import { expect, test } from '@playwright/test';

const URLS = ['/src/index.ts', '/src/archive/restore.ts', '/src/archive/snarf.ts'] as const;

for (const storage of ['indexeddb', 'opfs'] as const) {
  test(`${storage}: a tab opening a database while another tab restores it is refused, and the restore completes`, async ({
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
    // Tab B: opens the database once the restore has begun writing (its mark is there): refused.
    const refused = await b.evaluate(
      async ([indexUrl, markUrl, kind]) => {
        const shelfdb = (await import(indexUrl)) as typeof import('../src/index.js');
        const { markPlaces, markedPlaces } = (await import(
          markUrl
        )) as typeof import('../src/archive/restore-mark.js');
        const places = markPlaces('hunt15 race', kind, undefined);
        for (let i = 0; i < 500 && (await markedPlaces(places)).length === 0; i++)
          await new Promise((r) => setTimeout(r, 10));
        try {
          const db = await shelfdb.openDatabase('hunt15 race', { storage: kind });
          await db.close();
          return 'opened';
        } catch (error) {
          return `${(error as Error).name}: ${(error as Error).message}`;
        }
      },
      [URLS[0], '/src/archive/restore-mark.ts', storage] as const,
    );
    expect(refused).toMatch(
      /^StorageError: .*restore of the database 'hunt15 race'.*interrupted, or is still running/,
    );
    // The restore goes on and completes.
    const outcome = await a.evaluate(async () => {
      const w = window as unknown as Record<string, unknown>;
      (w.release as () => void)();
      return w.restoring as Promise<string>;
    });
    expect(outcome).toBe('restored');
    await b.close();
    const c = await context.newPage();
    await c.goto('/e2e/pages/blank.html');
    const seen = await c.evaluate(
      async ([indexUrl, kind]) => {
        const shelfdb = (await import(indexUrl)) as typeof import('../src/index.js');
        const db = await shelfdb.openDatabase('hunt15 race', { storage: kind });
        const conn = db.open();
        const root = await conn.root();
        const value = [root.has('restored'), root.has('mine')];
        await db.close();
        return value;
      },
      [URLS[0], storage] as const,
    );
    expect(seen).toEqual([true, false]);
    await a.close();
    await c.close();
  });
}
