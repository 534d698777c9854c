/**
 * Pack in real Chromium, two tabs on one OPFS database (a real on-disk profile): one tab packs
 * while the other commits and reads through it; progress reaches the packing page as 'pack'
 * events across its worker (and, from the tab that is not the owner, across the tabs' channels);
 * an abort leaves a valid database. Nothing here measures time: the bench does.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { withProfile } from './profile.js';

type Shelf = typeof import('../src/index.js');
type ShelfDatabase = InstanceType<Shelf['Database']>;
type ShelfConnection = InstanceType<Shelf['Connection']>;
declare global {
  interface Window {
    shelfdb: Shelf;
    packDb: ShelfDatabase;
    packConn: ShelfConnection;
    /** The 'pack' events this page's database fired, as [phase, done, total]. */
    packEvents: [string, number, number][];
  }
}

/** Objects per round of garbage, and their text's length: ~1.5 MB of garbage in 4 rounds. */
const OBJECTS = 750;
const TEXT = 500;

async function openTab(context: BrowserContext, baseURL: string, name: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${baseURL}/e2e/pages/blank.html`);
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  await page.evaluate(async (name) => {
    window.packDb = await window.shelfdb.openDatabase(name, {
      storage: 'opfs',
      busyTimeout: 20_000,
    });
    window.packConn = window.packDb.open();
    window.packEvents = [];
    window.packDb.addEventListener('pack', (e) => {
      const { phase, done, total } = e as InstanceType<Shelf['PackEvent']>;
      window.packEvents.push([phase, done, total]);
    });
    await window.packConn.root();
  }, name);
  return page;
}

/**
 * Fills the database from `page` with `rounds` rounds of OBJECTS objects, each round replacing the
 * one before (so all but the last is garbage), and a BTree 'log' that the other tab appends to.
 */
const fillWithGarbage = (page: Page, rounds: number): Promise<void> =>
  page.evaluate(
    async ({ rounds, objects, text }) => {
      const { BTree, PersistentDict } = window.shelfdb;
      const conn = window.packConn;
      await conn.transact(async () => (await conn.root()).set('log', new BTree<number, string>()));
      for (let round = 0; round < rounds; round++) {
        await conn.transact(async () => {
          const bulk = new PersistentDict<number, unknown>();
          for (let i = 0; i < objects; i++) {
            bulk.set(i, new PersistentDict([['text', `${round}:${i}:`.padEnd(text, 'x')]]));
          }
          (await conn.root()).set('bulk', bulk);
        });
      }
    },
    { rounds, objects: OBJECTS, text: TEXT },
  );

/**
 * Fills database `name` with garbage from a tab of its own, closed afterwards: the tabs that open
 * it next hold no snapshot from before the garbage (a page's snapshot pin lags up to a second
 * behind its snapshot, and pack keeps whatever a pinned snapshot reads).
 */
async function garbageDatabase(context: BrowserContext, baseURL: string, name: string) {
  const filler = await openTab(context, baseURL, name);
  await fillWithGarbage(filler, 4);
  await filler.evaluate(() => window.packDb.close());
  await filler.close();
}

/**
 * Lets the pins of the open tabs catch up with their snapshots. A page's first connection pins
 * the newest tid the page has heard of (0 in a fresh tab) until its pin is raised, at most once a
 * second (src/database.ts, snapshotMoved), and pack keeps what a pinned snapshot reads: the clock
 * (installed on the context) jumps past that second, and a round trip from each tab then puts the
 * raised pin in the owner before any pack asked later.
 */
async function raisePins(context: BrowserContext, tabs: Page[]): Promise<void> {
  await context.clock.fastForward(2000);
  for (const tab of tabs) await tab.evaluate(() => window.packDb.stats());
}

/**
 * From `page`: appends to the 'log' BTree, one commit each, reading every entry back after its
 * commit, until the root's 'stop' is set (by the packing tab) or `most` commits. Resolves to the
 * keys whose commit was acknowledged.
 */
const commitUntilStopped = (page: Page, most: number): Promise<number[]> =>
  page.evaluate(async (most) => {
    const conn = window.packConn;
    const acknowledged: number[] = [];
    for (let k = 0; k < most; k++) {
      await conn.transact(async () => {
        const log = (await conn.root()).get('log') as InstanceType<Shelf['BTree']>;
        await log.set(k, `entry ${k}`);
      });
      acknowledged.push(k);
      const log = (await conn.root()).get('log') as InstanceType<Shelf['BTree']>;
      if ((await log.get(k)) !== `entry ${k}`) throw new Error(`entry ${k} did not read back`);
      await conn.sync();
      if ((await conn.root()).get('stop') === true) break;
    }
    return acknowledged;
  }, most);

/** The keys of the 'log' BTree and the texts of 'bulk' as `page` reads them after catching up. */
const contentsOf = (page: Page): Promise<{ log: number[]; bulk: number; ok: boolean }> =>
  page.evaluate(async () => {
    const conn = window.packConn;
    await conn.sync();
    const root = await conn.root();
    const log: number[] = [];
    for await (const key of (root.get('log') as InstanceType<Shelf['BTree']>).keys()) {
      log.push(key as number);
    }
    const bulk = (await conn.load(
      root.get('bulk') as InstanceType<Shelf['PersistentDict']>,
    )) as InstanceType<Shelf['PersistentDict']>;
    let loaded = 0;
    for (const value of bulk.values()) {
      const entry = (await conn.load(
        value as InstanceType<Shelf['PersistentDict']>,
      )) as InstanceType<Shelf['PersistentDict']>;
      if (typeof entry.get('text') === 'string') loaded++;
    }
    return { log, bulk: loaded, ok: (await window.packDb.verify()).ok };
  });

test('a tab packs a database full of garbage while another tab commits and reads: nothing acknowledged is lost', async ({
  baseURL,
}) => {
  test.setTimeout(180_000);
  await withProfile(async (context) => {
    const name = 'pack-live';
    await context.clock.install();
    await garbageDatabase(context, baseURL as string, name);
    const a = await openTab(context, baseURL as string, name);
    const b = await openTab(context, baseURL as string, name);
    await raisePins(context, [a, b]);
    const before = await a.evaluate(() => window.packDb.stats());

    // B commits all through A's pack, and stops when A says the pack is over.
    const writing = commitUntilStopped(b, 400);
    const packed = await a.evaluate(async () => {
      const result = await window.packDb.pack();
      await window.packConn.transact(async () => (await window.packConn.root()).set('stop', true));
      return result;
    });
    const acknowledged = await writing;
    expect(acknowledged.length).toBeGreaterThan(0);
    // Three rounds of four were garbage: B's commits during the pack add far less than that.
    expect(packed.bytesAfter).toBeLessThan(packed.bytesBefore / 2);

    const events = await a.evaluate(() => window.packEvents);
    expect(events.length).toBeGreaterThan(0);
    expect(events.at(-1)?.[0]).toBe('done');
    for (const [phase, done, total] of events) {
      expect(['mark', 'copy', 'done']).toContain(phase);
      expect(done).toBeGreaterThanOrEqual(0);
      expect(total).toBeGreaterThanOrEqual(0);
    }

    for (const tab of [a, b]) {
      const seen = await contentsOf(tab);
      expect(seen.ok).toBe(true);
      expect(seen.bulk).toBe(OBJECTS);
      for (const k of acknowledged) expect(seen.log).toContain(k);
    }
    const after = await a.evaluate(() => window.packDb.stats());
    expect(after.bytes).toBeLessThan(before.bytes / 2);
    expect(after.objects).toBeLessThan(before.objects - 2 * OBJECTS);

    // After reopening: both tabs closed, a fresh one reads everything back.
    for (const tab of [b, a]) {
      await tab.evaluate(() => window.packDb.close());
      await tab.close();
    }
    const c = await openTab(context, baseURL as string, name);
    const reopened = await contentsOf(c);
    expect(reopened.ok).toBe(true);
    expect(reopened.bulk).toBe(OBJECTS);
    for (const k of acknowledged) expect(reopened.log).toContain(k);
    await c.evaluate(() => window.packDb.close());
  });
});

test('a pack aborted from the tab that does not own the files rejects with AbortError and leaves a valid database', async ({
  baseURL,
}) => {
  test.setTimeout(180_000);
  await withProfile(async (context) => {
    const name = 'pack-abort';
    await context.clock.install();
    await garbageDatabase(context, baseURL as string, name);
    const a = await openTab(context, baseURL as string, name);
    const b = await openTab(context, baseURL as string, name);
    await raisePins(context, [a, b]);
    const writing = commitUntilStopped(a, 400);
    // B asks for the pack (the owner, A, runs it) and aborts it at its first progress event.
    const outcome = await b.evaluate(async () => {
      const controller = new AbortController();
      window.packDb.addEventListener('pack', () => controller.abort(), { once: true });
      try {
        await window.packDb.pack({ signal: controller.signal });
        return 'packed';
      } catch (error) {
        return (error as Error).name;
      } finally {
        await window.packConn.transact(async () =>
          (await window.packConn.root()).set('stop', true),
        );
      }
    });
    expect(outcome).toBe('AbortError');
    const acknowledged = await writing;
    for (const tab of [a, b]) {
      const seen = await contentsOf(tab);
      expect(seen.ok).toBe(true);
      expect(seen.bulk).toBe(OBJECTS);
      for (const k of acknowledged) expect(seen.log).toContain(k);
    }
    // The aborted pack is over: a new one runs whole, from either tab.
    const packed = await b.evaluate(() => window.packDb.pack());
    expect(packed.bytesAfter).toBeLessThanOrEqual(packed.bytesBefore);
    for (const tab of [b, a]) {
      await tab.evaluate(() => window.packDb.close());
      await tab.close();
    }
    const c = await openTab(context, baseURL as string, name);
    const reopened = await contentsOf(c);
    expect(reopened.ok).toBe(true);
    for (const k of acknowledged) expect(reopened.log).toContain(k);
    await c.evaluate(() => window.packDb.close());
  });
});
