/**
 * The page's pin of its oldest snapshot (src/snapshot-pins.ts) as the storage sees it: raised at
 * once when a connection learns its first snapshot, and never sent after the database closed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Database, MemoryStorage, type Tid } from '../src/index.js';

/** A MemoryStorage that records the pins it is sent. */
function pinnedStorage(): { storage: MemoryStorage; pins: (Tid | null)[] } {
  const storage = new MemoryStorage();
  const pins: (Tid | null)[] = [];
  Object.assign(storage, {
    pin: async (_holder: string, tid: Tid | null): Promise<void> => {
      pins.push(tid);
    },
  });
  return { storage, pins };
}

describe('the snapshot pin of a page', () => {
  afterEach(() => vi.useRealTimers());

  it("is raised at once to a new connection's first snapshot, so a pack right after opening removes what it may", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { storage, pins } = pinnedStorage();
    const writer = new Database(storage);
    const w = writer.open();
    for (let i = 0; i < 5; i++) {
      (await w.root()).set('n', i);
      await w.commit();
    }
    const tid = (await storage.sync(0)).tid;
    // Another page on the same storage, that has heard of no commit yet: it holds its first
    // connection at tid 0 while that learns the newest tid.
    const page = new Database(storage);
    const before = pins.length;
    await page.open().root();
    expect(pins.slice(before)).toEqual([0, tid]); // no second waited for
    await page.close();
    await writer.close();
  });

  it('is brought up to date before a pack this page asks for, so the pack keeps no revision this page no longer reads', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { storage, pins } = pinnedStorage();
    const pack = storage.pack.bind(storage);
    const events: string[] = [];
    Object.assign(storage, {
      pack: (options: Parameters<MemoryStorage['pack']>[0]) => {
        events.push(`pack after pin ${String(pins.at(-1))}`);
        return pack(options);
      },
    });
    const db = new Database(storage);
    const conn = db.open();
    const root = await conn.root();
    let tid = 0;
    for (let i = 0; i < 3; i++) {
      root.set('n', i);
      tid = await conn.commit(); // the pin's raise waits for its timer (at most once a second)
    }
    expect(pins.at(-1)).toBeLessThan(tid);
    await db.pack();
    expect(events).toEqual([`pack after pin ${tid}`]);
    await db.close();
  });

  it('sends no pin to the storage after the database closed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { storage, pins } = pinnedStorage();
    const db = new Database(storage);
    const conn = db.open();
    (await conn.root()).set('a', 1);
    await conn.commit();
    await vi.advanceTimersByTimeAsync(2000);
    const before = pins.length;
    await db.close();
    await vi.advanceTimersByTimeAsync(2000);
    expect(pins.slice(before)).toEqual([]);
  });
});
