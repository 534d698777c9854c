/**
 * Pages that each talk to their storage worker over the Comlink link (StorageClient ↔ serveStorage over a MessageChannel), sharing one storage. A page's own
 * commit's invalidation now rides in the commit's answer, others' come on the events channel: no
 * connection may miss one (stay stale for good) or lose an update.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryStorage } from '../worker/memory-storage.js';
import {
  Database,
  PersistentDict,
  type Connection,
  type StaleEvent,
  type Storage,
} from '../src/index.js';
import { until } from './until.js';
import { closeLinks, link } from './link-fixture.js';

afterEach(closeLinks);

const page = async (storage: Storage): Promise<Database> =>
  new Database((await link(storage)).client);

const KEYS = ['x', 'y'];

/** Counters x and y under the root, each a PersistentDict { n }. */
async function counters(conn: Connection): Promise<Record<string, PersistentDict>> {
  const root = await conn.root();
  const out: Record<string, PersistentDict> = {};
  for (const key of KEYS) {
    out[key] = await conn.load(root.get(key) as PersistentDict);
  }
  return out;
}

describe('Pages over the Comlink link sharing one storage', () => {
  it('lose no increment, and every idle autoSync connection ends up showing the last commit without a sync, and a connection with autoSync off hears every commit as stale (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            page: fc.integer({ min: 0, max: 1 }),
            conn: fc.integer({ min: 0, max: 1 }),
            key: fc.constantFrom(...KEYS),
            concurrent: fc.boolean(),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (ops) => {
          const storage = new MemoryStorage();
          const dbs = [await page(storage), await page(storage)];
          const setup = dbs[0]!.open();
          const root = await setup.root();
          for (const key of KEYS) root.set(key, new PersistentDict([['n', 0]]));
          await setup.commit();
          setup.close();
          const conns = dbs.map((db) => [db.open(), db.open()]);
          for (const conn of conns.flat()) await counters(conn); // each holds both counters
          // A connection per page that never moves by itself: it hears of every commit as 'stale'.
          const watchers = dbs.map((db) => db.open());
          const staleTids = watchers.map(() => new Set<number>());
          for (const [i, watcher] of watchers.entries()) {
            watcher.autoSync = false;
            await counters(watcher);
            watcher.addEventListener('stale', (e) => staleTids[i]!.add((e as StaleEvent).tid));
          }
          const base = (await storage.sync(0)).tid;
          const expected: Record<string, number> = { x: 0, y: 0 };
          let inFlight: Promise<void>[] = [];
          let busy = new Set<Connection>();
          for (const op of ops) {
            const conn = conns[op.page]![op.conn]!;
            if (busy.has(conn)) {
              await Promise.all(inFlight); // one transact at a time per connection
              inFlight = [];
              busy = new Set();
            }
            busy.add(conn);
            const run = conn.transact(
              async () => {
                const c = (await counters(conn))[op.key]!;
                c.set('n', (c.get('n') as number) + 1);
              },
              { retries: 50 },
            );
            inFlight.push(run.then(() => void expected[op.key]!++));
            if (!op.concurrent) {
              await Promise.all(inFlight);
              inFlight = [];
              busy = new Set();
            }
          }
          await Promise.all(inFlight);
          const last = (await storage.sync(0)).tid;
          // Every idle autoSync connection reaches the last tid by invalidations alone.
          for (const conn of conns.flat()) {
            await until(() => conn.snapshotTid === last, `connection at tid ${last}`);
            const seen = await counters(conn);
            for (const key of KEYS)
              expect([key, seen[key]!.get('n')]).toEqual([key, expected[key]]);
          }
          const committed = (await storage.transactions()).filter((t) => t.tid > base);
          for (const [i, watcher] of watchers.entries()) {
            expect(watcher.snapshotTid).toBe(base);
            await until(
              () => staleTids[i]!.size === committed.length,
              `'stale' for all ${committed.length} commits`,
            );
            expect([...staleTids[i]!].sort((a, b) => a - b)).toEqual(
              committed.map((t) => t.tid).sort((a, b) => a - b),
            );
            await watcher.sync();
            const seen = await counters(watcher);
            for (const key of KEYS)
              expect([key, seen[key]!.get('n')]).toEqual([key, expected[key]]);
          }
          for (const db of dbs) await db.close();
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});
