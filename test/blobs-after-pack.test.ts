/**
 * A Blob the app still holds after pack removed its record and file (its object was deleted) and
 * then puts back into an object: the commit must never reference the removed record (a dangling
 * reference to bytes that are gone, found only when read). The app's own Blob is stored again;
 * a StoredBlob whose file went fails its commit, saying so.
 */
import { describe, expect, it } from 'vitest';
import { BACKENDS, Doc, open } from './blobs-fixture.js';

/** Past the millisecond the blob was stored in, so that a pack with grace 0 may sweep it. */
async function clockPast(t: number): Promise<void> {
  while (Date.now() <= t) await new Promise((resolve) => setImmediate(resolve));
}

describe.each(BACKENDS)('Blobs put back after pack removed them, over %s', (_name, make) => {
  it("the app's own Blob, committed again after its object was deleted and packed away, is stored again and reads back", async () => {
    const db = open(await make());
    const conn = db.open();
    const root = await conn.root();
    const mine = new Blob(['kept by the app']);
    const doc = new Doc();
    doc.photo = mine;
    root.set('doc', doc);
    await conn.commit();
    root.delete('doc');
    await conn.commit();
    await clockPast(Date.now());
    await db.pack();
    expect((await db.stats()).blobs).toBe(0);
    const again = new Doc();
    again.photo = mine;
    root.set('again', again);
    // The first try may be refused (the file is gone; the storage says to store it again): the
    // app commits again, as the error says. Either way the bytes end up stored and referenced.
    await conn.commit().catch(async (error: unknown) => {
      expect(error).toMatchObject({ name: 'StorageError' });
      await conn.commit();
    });
    const other = db.open();
    const back = (await other.root()).get('again') as Doc;
    await other.load(back);
    expect(await (back.photo as Blob).text()).toBe('kept by the app');
    expect((await db.verify()).ok).toBe(true);
    await db.close();
  });

  it('a StoredBlob whose object was deleted and packed away fails the commit that puts it back, and stores nothing', async () => {
    const db = open(await make());
    const conn = db.open();
    const root = await conn.root();
    const doc = new Doc();
    doc.photo = new Blob(['gone soon']);
    root.set('doc', doc);
    await conn.commit();
    const reader = db.open();
    const held = (await reader.root()).get('doc') as Doc;
    await reader.load(held);
    const stored = held.photo as Blob;
    root.delete('doc');
    await conn.commit();
    await clockPast(Date.now());
    await db.pack();
    await reader.commit(); // to the newest snapshot
    const rroot = await reader.root();
    const again = new Doc();
    again.photo = stored;
    rroot.set('again', again);
    await expect(reader.commit()).rejects.toMatchObject({ name: 'StorageError' });
    expect((await db.open().root()).get('again')).toBeUndefined();
    expect((await db.verify()).ok).toBe(true);
    await db.close();
  });
});
