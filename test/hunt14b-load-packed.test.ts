import { expect, it } from 'vitest';
import { Database, MemoryStorage, PersistentDict } from '../src/index.js';
import { hookLoads } from './load-hooks.js';

/**
 * A load's first round trip reads at the snapshot it started at. If autoSync moves the snapshot
 * meanwhile, the page's pin follows it, and a pack (from any tab) may remove the revision the load
 * was reading. The load would have been sent again at the new snapshot anyway; instead the app gets
 * a ReadConflictError ("packed away: call abort()") for an object its current snapshot can read.
 */
it('a load whose snapshot moved meanwhile is sent again, not failed, when pack removed what it read', async () => {
  const storage = new MemoryStorage();
  const writerDb = new Database(storage);
  const writer = writerDb.open();
  const wroot = await writer.root();
  const wx = new PersistentDict<string, number>([['n', 0]]);
  wroot.set('x', wx);
  await writer.commit();
  let armed = false;
  const proxy = hookLoads(storage, {
    before: async () => {
      if (!armed) return;
      armed = false;
      wx.set('n', 1);
      await writer.commit();
      await new Promise((r) => setTimeout(r, 1300)); // the reader's pin follows its move
      await writerDb.pack();
    },
  });
  const readerDb = new Database(proxy);
  const reader = readerDb.open();
  const root = await reader.root();
  armed = true;
  const x = await reader.load(root.get('x') as PersistentDict<string, number>);
  expect(x.get('n')).toBe(1);
  await readerDb.close();
  await writerDb.close();
}, 10_000);
