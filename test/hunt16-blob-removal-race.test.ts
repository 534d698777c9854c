/**
 * A Blob the app still holds, committed again after another tab's pack removed its blob record
 * and file, before the 'removed' announcement reached this tab (issue #16, hunt): the commit names
 * the record in `blobRefs`, the storage refuses it, and the next try stores the Blob anew (an
 * app-held Blob) or fails with StorageError (a StoredBlob whose file went). Never a commit that
 * references a record pack removed.
 */
import { describe, expect, it } from 'vitest';
import { StorageError } from '../src/shared/errors.js';
import type { Invalidation, Storage } from '../src/shared/storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { BACKENDS, Doc, hooked, open, recordOf } from './blobs-fixture.js';

async function clockPast(t: number): Promise<void> {
  while (Date.now() <= t) await new Promise((resolve) => setImmediate(resolve));
}

/** `inner` whose invalidations reach its listeners only when `deliver()` is called (a slow channel). */
function slowChannel(inner: Storage): { storage: Storage; deliver: () => void } {
  const held: (() => void)[] = [];
  const subscribe = (listener: (i: Invalidation) => void): (() => void) =>
    inner.subscribe((i) => held.push(() => listener(i)));
  const storage = new Proxy(inner, {
    get(target, key) {
      if (key === 'subscribe') return subscribe;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  return { storage, deliver: () => held.splice(0).forEach((f) => f()) };
}

describe('a Blob committed again while another tab packs', () => {
  it("the app's Blob committed again right after another tab's pack removed its record is stored, never left dangling", async () => {
    const inner = new MemoryStorage({ blobGraceMs: 0 });
    const tab1 = slowChannel(inner);
    const db1 = open(tab1.storage);
    const db2 = open(inner); // another tab, which packs
    const conn = db1.open();
    const root = await conn.root();
    const photo = new Blob(['a photo the app still holds']);
    const doc = new Doc();
    doc.photo = photo;
    root.set('doc', doc);
    await conn.commit();
    root.delete('doc');
    await conn.commit();
    tab1.deliver();
    await clockPast(Date.now());
    await db2.pack(); // its "removed" announcement is on its way to tab 1
    expect((await db2.stats()).blobs).toBe(0);
    const again = new Doc();
    again.photo = photo;
    root.set('again', again);
    await conn.commit().catch(() => conn.commit()); // a refusal saying "store it again" is fine
    tab1.deliver();
    const reader = db2.open();
    const back = (await reader.root()).get('again') as Doc;
    await reader.load(back);
    expect(await (back.photo as Blob).text()).toBe('a photo the app still holds');
    await db1.close();
    await db2.close();
  });

  for (const [name, make] of BACKENDS) {
    it(`a StoredBlob put back after another tab's pack removed its record and file fails with StorageError, and nothing dangles (${name})`, async () => {
      const inner = await make();
      const tab1 = slowChannel(inner);
      const db1 = open(tab1.storage);
      const db2 = open(inner);
      const writer = db2.open();
      const root2 = await writer.root();
      const doc = new Doc();
      doc.photo = new Blob(['a photo loaded in another tab']);
      root2.set('doc', doc);
      await writer.commit();
      const conn = db1.open();
      const root = await conn.root();
      const loaded = root.get('doc') as Doc;
      await conn.load(loaded);
      const photo = loaded.photo as Blob;
      const oid = recordOf(photo) as number;
      root.delete('doc');
      await conn.commit();
      tab1.deliver();
      await clockPast(Date.now());
      await db2.pack(); // its "removed" announcement is on its way to tab 1
      const again = new Doc();
      again.photo = photo;
      root.set('again', again);
      const first = await conn.commit().catch((e: unknown) => e);
      expect(first).toBeInstanceOf(StorageError);
      expect((first as Error).message).toContain(`blob record ${oid} `);
      const retry = await conn.commit().catch((e: unknown) => e);
      expect(retry).toBeInstanceOf(StorageError); // its bytes are gone with its file
      tab1.deliver();
      const reader = db2.open();
      expect((await reader.root()).get('again')).toBeUndefined();
      expect(await db2.verify()).toEqual({ ok: true, problems: [] });
      await db1.close();
      await db2.close();
    });

    it(`the app's Blob committed again after another tab's pack is stored anew and reads back after the next pack (${name})`, async () => {
      const inner = await make();
      const tab1 = slowChannel(inner);
      const db1 = open(tab1.storage);
      const db2 = open(inner);
      const conn = db1.open();
      const root = await conn.root();
      const photo = new File(['the bytes of a photo'], 'photo.jpg', { type: 'image/jpeg' });
      const doc = new Doc();
      doc.photo = photo;
      root.set('doc', doc);
      await conn.commit();
      root.delete('doc');
      await conn.commit();
      tab1.deliver();
      await clockPast(Date.now());
      await db2.pack();
      const again = new Doc();
      again.photo = photo;
      root.set('again', again);
      await conn.commit().catch(() => conn.commit()); // the refusal says "store it again"
      tab1.deliver();
      await clockPast(Date.now());
      await db2.pack();
      const reader = db2.open();
      const back = (await reader.root()).get('again') as Doc;
      await reader.load(back);
      expect(await (back.photo as File).text()).toBe('the bytes of a photo');
      expect((back.photo as File).name).toBe('photo.jpg');
      expect(await db2.verify()).toEqual({ ok: true, problems: [] });
      await db1.close();
      await db2.close();
    });
  }

  it('a commit refused for another reason (its blob record still stored) is retried referencing the same record, its bytes not stored again', async () => {
    const { storage, hooks } = hooked(new MemoryStorage({ blobGraceMs: 0 }));
    const db = open(storage);
    const conn = db.open();
    const root = await conn.root();
    const photo = new Blob(['kept bytes']);
    const doc = new Doc();
    doc.photo = photo;
    root.set('doc', doc);
    await conn.commit();
    const recorded = hooks.commits
      .flatMap((c) => c.records)
      .find((r) => r.className === 'shelfdb.Blob')?.oid;
    expect(recorded).toBeTypeOf('number');
    const second = new Doc();
    second.photo = photo;
    root.set('second', second);
    hooks.refuseCommits = 1;
    await expect(conn.commit()).rejects.toThrow('The test storage refused this commit.');
    const puts = hooks.puts.length;
    await conn.commit();
    expect(hooks.puts.length).toBe(puts); // not stored again: its record was still there
    const last = hooks.commits.at(-1);
    expect(last?.blobRefs).toEqual([recorded]);
    expect(last?.records.some((r) => r.className === 'shelfdb.Blob')).toBe(false);
    await db.close();
  });
});
