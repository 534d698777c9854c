import { expect, it } from 'vitest';
import { Database, MemoryStorage, PersistentDict } from '../src/index.js';
import { hookLoads } from './load-hooks.js';

/**
 * A connection following other tabs (autoSync) loads while another tab commits faster than a load's
 * round trip: each load comes back after the snapshot moved. It must still get its object in a
 * bounded number of round trips (found through the explorer in a follower tab: its loads retried
 * without end, ~90 per commit, and starved the owner tab's own calls).
 */
it('a load whose snapshot moves during every round trip still completes, in at most two round trips', async () => {
  const storage = new MemoryStorage();
  const writerDb = new Database(storage);
  const writer = writerDb.open();
  const root = await writer.root();
  const hot = new PersistentDict<string, number>([['n', 0]]);
  root.set('hot', hot);
  await writer.commit();

  let loads = 0;
  let n = 0;
  // Every load's answer arrives after another commit of `hot` landed (and was announced).
  const busy = hookLoads(storage, {
    before: () => void loads++,
    after: async () => {
      if (n < 1000) {
        hot.set('n', ++n);
        await writer.commit();
      }
    },
  });
  const readerDb = new Database(busy);
  const reader = readerDb.open();
  // The root is not among what the commits write, and yet its load came back after a move.
  const readerRoot = await reader.root();
  expect(loads).toBeLessThanOrEqual(2);
  loads = 0;
  const seen = (await reader.load(readerRoot.get('hot') as PersistentDict<string, number>)).get(
    'n',
  );
  expect(loads).toBeLessThanOrEqual(2);
  // What it read is a revision that was current at the snapshot it read at; the next 'change'
  // brings the newer one.
  expect(seen).toBeGreaterThan(0);
  expect(seen).toBeLessThanOrEqual(n);
  await readerDb.close();
  await writerDb.close();
});
