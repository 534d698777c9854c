import { describe, expect, it } from 'vitest';
import type { Invalidation, Storage } from '../src/shared/storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { Doc, open } from './blobs-fixture.js';

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
});
