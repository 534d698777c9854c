/**
 * Objects pack removes are announced (issue 13): an invalidation with `removed: true` (no snapshot
 * moves) reaches the storage's listeners — also across the page's link to its worker — and each
 * connection lets go of those it holds loaded and unchanged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Database,
  MemoryStorage,
  PersistentDict,
  type Invalidation,
  type Storage,
  type StoredRecord,
} from '../src/index.js';
import { metaOf } from '../src/persistent.js';
import { isInvalidation } from '../src/shared/storage-calls.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { fresh } from './indexeddb-pack-fixture.js';
import { closeLinks, link } from './link-fixture.js';

const rec = (oid: number, refs: number[], tid?: number): StoredRecord => ({
  oid,
  className: 'test.Thing',
  state: new Uint8Array([oid]),
  refs,
  ...(tid === undefined ? {} : { tid }),
});

/** A storage where oid `b` became unreachable in the last commit; its listener's invalidations. */
async function unlinked(s: Storage): Promise<{ heard: Invalidation[]; b: number; last: number }> {
  const [a, b] = (await s.newOids(2)) as [number, number];
  const t1 = await s.commit({ baseTid: 0, records: [rec(0, [a, b]), rec(a, []), rec(b, [])] });
  const last = await s.commit({ baseTid: t1, records: [rec(0, [a], t1)] });
  const heard: Invalidation[] = [];
  s.subscribe((i) => heard.push(i));
  return { heard, b, last };
}

afterEach(closeLinks);

describe('objects pack removed', () => {
  for (const [name, make] of [
    ['MemoryStorage', async () => new MemoryStorage()],
    ['ShelfStorage', async () => ShelfStorage.open(new MemoryBlockDirectory())],
    ['IndexedDBStorage', async () => (await fresh()).s],
  ] as const) {
    it(`are announced by ${name} once removed, as of the newest tid, moving no snapshot`, async () => {
      const s: Storage = await make();
      const { heard, b, last } = await unlinked(s);
      await s.pack();
      await new Promise((resolve) => setTimeout(resolve, 0)); // listeners hear in their own task
      expect(heard).toEqual([{ tid: last, prevTid: last, oids: [b], removed: true }]);
      await s.close();
    });
  }

  it("reach the page's listeners across its link to the storage worker", async () => {
    const { client } = await link(new MemoryStorage());
    const { heard, b, last } = await unlinked(client);
    await client.pack();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(heard).toContainEqual({ tid: last, prevTid: last, oids: [b], removed: true });
    await client.close();
  });

  it('cross a link only as an announcement: removed is true or absent', () => {
    expect(isInvalidation({ tid: 3, prevTid: 3, oids: [1], removed: true })).toBe(true);
    expect(isInvalidation({ tid: 3, prevTid: 3, oids: [1], removed: 'yes' })).toBe(false);
  });

  it('are let go by a connection holding them loaded and unchanged; its snapshot does not move', async () => {
    const db = new Database(new MemoryStorage());
    const writer = db.open();
    const root = await writer.root();
    root.set('gone', new PersistentDict([['v', 1]]));
    root.set('kept', new PersistentDict([['v', 2]]));
    await writer.commit();
    const reader = db.open();
    const readerRoot = await reader.root();
    const gone = await reader.load(readerRoot.get('gone') as PersistentDict<string, number>);
    const kept = await reader.load(readerRoot.get('kept') as PersistentDict<string, number>);
    root.delete('gone');
    await writer.commit();
    await reader.sync(); // reader's snapshot: 'gone' unreachable now, still loaded in its cache
    expect(metaOf(gone).status).toBe('saved');
    const changes: number[][] = [];
    reader.addEventListener('change', (e) =>
      changes.push((e as unknown as { oids: number[] }).oids),
    );
    const tid = reader.snapshotTid;
    const result = await db.pack();
    expect(result.objectsRemoved).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(metaOf(gone).status).toBe('ghost');
    expect(metaOf(kept).status).toBe('saved');
    expect(reader.snapshotTid).toBe(tid);
    expect(changes).toEqual([]);
    await db.close();
  });
});
