import { expect, it } from 'vitest';
import { Database, MemoryStorage, PersistentDict } from '../src/index.js';
import { hookLoads } from './load-hooks.js';

/**
 * A load's second round trip pauses autoSync (Snapshot.pause). An invalidation that arrives while
 * the connection is idle but paused is queued without a 'stale' warning ("it waits one load's
 * round trip"). If the app changes something before the pause ends, the connection is no longer
 * idle, the queue waits for the next boundary, and the objects others changed are never named by
 * 'stale': the app edits a stale object unwarned (API.md: 'stale' fires as soon as another
 * connection commits objects this connection holds while its snapshot cannot move yet).
 */
it("an invalidation that arrives during a load's pause still warns 'stale' when the connection stops being idle before the pause ends", async () => {
  const storage = new MemoryStorage();
  const writerDb = new Database(storage);
  const writer = writerDb.open();
  const wroot = await writer.root();
  const wx = new PersistentDict<string, number>([['n', 0]]);
  wroot.set('x', wx);
  wroot.set('y', new PersistentDict<string, number>([['n', 0]]));
  wroot.set('other', new PersistentDict<string, number>([['n', 0]]));
  await writer.commit();

  let loads = 0;
  let armed = false;
  const during: { second?: () => Promise<void> } = {};
  const proxy = hookLoads(storage, {
    after: async () => {
      if (!armed) return;
      loads++;
      if (loads === 1) {
        // The snapshot moves during the first round trip: the load is sent again, paused.
        (wroot.get('other') as PersistentDict<string, number>).set('n', 1);
        await writer.commit();
      } else if (loads === 2 && during.second !== undefined) {
        await during.second();
      }
    },
  });

  const readerDb = new Database(proxy);
  const reader = readerDb.open();
  const root = await reader.root();
  const x = root.get('x') as PersistentDict<string, number>;
  await reader.load(x);
  let warnedAtEdit: number[] = [];
  const stale: number[][] = [];
  reader.addEventListener('stale', (e) =>
    stale.push([...(e as unknown as { oids: number[] }).oids]),
  );

  during.second = async () => {
    // Another tab changes x while the reader's load is paused, the reader idle.
    wx.set('n', 42);
    await writer.commit();
    // The app edits x meanwhile (say, a form's input): the reader is no longer idle.
    x.set('mine', 1);
    warnedAtEdit = stale.flat();
  };
  armed = true;
  await reader.load(root.get('y') as PersistentDict<string, number>);
  expect(loads).toBe(2);
  await new Promise((r) => setTimeout(r, 10));
  // x changed elsewhere and the reader holds it, changed, with its snapshot unable to move.
  expect(reader.snapshotTid).toBeLessThan(
    await storage.sync(Number.MAX_SAFE_INTEGER).then((s) => s.tid),
  );
  expect(stale.flat()).toContain(x._p_oid);
  // As soon as the app's edit made the connection unable to move, not one round trip later.
  expect(warnedAtEdit).toContain(x._p_oid);
  await readerDb.close();
  await writerDb.close();
});

it("the connection's own commit landing during a load's pause is not warned of as 'stale'", async () => {
  const storage = new MemoryStorage();
  const writerDb = new Database(storage);
  const writer = writerDb.open();
  const wroot = await writer.root();
  wroot.set('y', new PersistentDict<string, number>([['n', 0]]));
  wroot.set('z', new PersistentDict<string, number>([['n', 0]]));
  wroot.set('other', new PersistentDict<string, number>([['n', 0]]));
  await writer.commit();

  let loads = 0;
  let armed = false;
  const during: { second?: () => Promise<void> } = {};
  const proxy = hookLoads(storage, {
    after: async () => {
      if (!armed) return;
      loads++;
      if (loads === 1) {
        (wroot.get('other') as PersistentDict<string, number>).set('n', 1);
        await writer.commit();
      } else if (loads === 2 && during.second !== undefined) {
        await during.second();
      }
    },
  });

  const readerDb = new Database(proxy);
  const reader = readerDb.open();
  const root = await reader.root();
  const z = root.get('z') as PersistentDict<string, number>;
  await reader.load(z);
  const stale: number[][] = [];
  reader.addEventListener('stale', (e) =>
    stale.push([...(e as unknown as { oids: number[] }).oids]),
  );
  during.second = async () => {
    z.set('n', 7);
    await reader.commit();
  };
  armed = true;
  await reader.load(root.get('y') as PersistentDict<string, number>);
  expect(loads).toBe(3); // the own commit moved the snapshot: sent once more
  await new Promise((r) => setTimeout(r, 10));
  expect(stale).toEqual([]);
  expect(z.get('n')).toBe(7);
  await readerDb.close();
  await writerDb.close();
});
