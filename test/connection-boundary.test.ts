import { describe, expect, it } from 'vitest';
import { Database, MemoryStorage, type ChangeEvent } from '../src/index.js';
import { CLASSES, Todo, todo } from './fixtures.js';
import { hooked } from './storage-hooks.js';

/**
 * A writer database and a reader database over one storage; the reader hears no invalidations
 * (a tab whose messages have not arrived yet), so only its own boundaries can move its snapshot.
 */
async function writerAndDeafReader(autoSync: boolean) {
  const storage = new MemoryStorage();
  const writerDb = new Database(storage, { classes: CLASSES });
  const writer = writerDb.open();
  const root = await writer.root();
  const t = todo('first');
  root.set('t', t);
  await writer.commit();
  const deaf = hooked(storage, { subscribe: () => () => undefined });
  const readerDb = new Database(deaf, { classes: CLASSES });
  const reader = readerDb.open();
  reader.autoSync = autoSync;
  const t2 = await reader.load((await reader.root()).get('t') as Todo);
  const changes: [number, number[]][] = [];
  reader.addEventListener('change', (e) => {
    const { tid, oids } = e as ChangeEvent;
    changes.push([tid, oids]);
  });
  const close = async (): Promise<void> => {
    await readerDb.close();
    await writerDb.close();
  };
  return { storage, writer, t, reader, t2, changes, close };
}

describe('Connection: an empty commit is a boundary', () => {
  for (const autoSync of [false, true]) {
    it(`writes nothing, moves to the newest snapshot and resolves to its tid, so a read-only transaction then sees others' commits (autoSync ${autoSync ? 'on' : 'off'})`, async () => {
      const { storage, writer, t, reader, t2, changes, close } =
        await writerAndDeafReader(autoSync);
      expect(t2.title).toBe('first'); // the read-only transaction read this
      t.title = 'changed elsewhere';
      const theirs = await writer.commit();
      const before = (await storage.stats()).transactions;

      expect(await reader.commit()).toBe(theirs);
      expect(reader.snapshotTid).toBe(theirs);
      expect((await storage.stats()).transactions).toBe(before);
      expect(changes).toEqual([[theirs, [t2._p_oid]]]);
      expect((await reader.load(t2)).title).toBe('changed elsewhere');
      await close();
    });
  }

  it("ends a read-only transact at the newest snapshot, seeing others' commits after it", async () => {
    const { storage, writer, t, reader, t2, close } = await writerAndDeafReader(true);
    t.title = 'changed elsewhere';
    const theirs = await writer.commit();
    const before = (await storage.stats()).transactions;
    expect(await reader.transact(() => t2.title)).toBe('first'); // fn reads its snapshot
    expect(reader.snapshotTid).toBe(theirs);
    expect((await storage.stats()).transactions).toBe(before);
    expect((await reader.load(t2)).title).toBe('changed elsewhere');
    await close();
  });

  it('resolves to the snapshot tid when nobody committed since', async () => {
    const { storage, reader, close } = await writerAndDeafReader(false);
    const snapshot = reader.snapshotTid;
    const before = (await storage.stats()).transactions;
    expect(await reader.commit()).toBe(snapshot);
    expect((await storage.stats()).transactions).toBe(before);
    await close();
  });
});
