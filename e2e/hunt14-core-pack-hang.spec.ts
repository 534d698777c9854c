/**
 * Hunt 14: in the tab that owns the storage, db.pack() and db.stats() got no answer while another
 * tab committed back to back, the explorer open in both. The cause was in the follower tab: each
 * load that came back after its autoSync'd snapshot had moved was sent again, without end (~90
 * loads per commit), and the owner served those before its own page's calls. Loader.fetch now
 * holds the snapshot for its second round trip (test/loader-progress.test.ts).
 */
import { expect, test, type Page } from '@playwright/test';

declare global {
  interface Window {
    ackedCommits: number;
    stopWriting: boolean;
  }
}

async function open(page: Page, db: string): Promise<void> {
  await page.goto(`/e2e/pages/explorer.html?db=${db}`);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'yes', { timeout: 30_000 });
}

test('db.pack() in the owner tab answers, and its abort ends it, while another tab commits back to back', async ({
  context,
}) => {
  test.setTimeout(90_000);
  const db = `hunt14-pack-hang-${Date.now()}`;
  const owner = await context.newPage(); // opened first: its storage worker owns the files
  await open(owner, db);
  await owner.evaluate(async () => {
    const { conn, Note } = window.shelf;
    const root = await conn!.root();
    const notes = Array.from({ length: 60 }, () => new Note());
    notes.forEach((n, i) => root.set(`n${i}`, n));
    for (let round = 0; round < 4; round++) {
      for (const n of notes) n.title = String(round).repeat(800);
      await conn!.commit();
    }
  });
  const writer = await context.newPage();
  await open(writer, db);
  await writer.evaluate(() => {
    window.ackedCommits = 0;
    window.stopWriting = false;
    void (async () => {
      const conn = window.shelf.db!.open();
      for (let i = 0; !window.stopWriting; i++) {
        await conn.transact(async () => void (await conn.root()).set(`w${i}`, i));
        window.ackedCommits++;
      }
    })();
  });
  await writer.waitForFunction(() => window.ackedCommits > 20);

  const outcome = await owner.evaluate(async () => {
    const { db } = window.shelf;
    const within = <T>(p: Promise<T>, ms: number): Promise<T | 'no answer'> =>
      Promise.race([p, new Promise<'no answer'>((r) => setTimeout(() => r('no answer'), ms))]);
    const events: string[] = [];
    db!.addEventListener('pack', (e) => events.push((e as Event & { phase: string }).phase));
    const abort = new AbortController();
    const packing = db!.pack({ signal: abort.signal }).then(
      () => 'packed',
      (error: unknown) => `rejected: ${String(error)}`,
    );
    let pack = await within(packing, 15_000);
    if (pack === 'no answer') {
      abort.abort();
      pack = `no answer in 15 s; after abort: ${await within(packing, 10_000)}`;
    }
    const stats = await within(
      db!.stats().then(() => 'answered'),
      5_000,
    );
    return { pack, stats, events: events.length };
  });
  await writer.evaluate(() => (window.stopWriting = true));
  expect(outcome).toEqual({ pack: 'packed', stats: 'answered', events: expect.any(Number) });
});
