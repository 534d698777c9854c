/**
 * Pack and verify run one at a time (StorageCore.exclusive), and pack keeps what the snapshots as
 * of its call read (StorageCore.packFloor), in every storage: also ShelfStorage, whose own verify
 * walks the log, and IndexedDBStorage, whose pack runs in a transaction the queue may start after
 * later commits (its floor is read when pack is asked for).
 */
import 'fake-indexeddb/auto';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import type { Storage, StoredRecord } from '../src/shared/storage.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { ShelfStorage } from '../worker/shelf-storage.js';

const rec = (oid: number, byte: number, refs: number[] = [], tid?: number): StoredRecord => {
  const r: StoredRecord = { oid, className: 'test.Thing', state: new Uint8Array([byte]), refs };
  if (tid !== undefined) r.tid = tid;
  return r;
};

/** Links the root to a chain of `length` objects (one load batch per link for verify's walk). */
async function chain(s: Storage, length: number): Promise<{ oids: number[]; t1: number }> {
  const oids = await s.newOids(length);
  const records = [rec(0, 1, [oids[0] as number])];
  oids.forEach((oid, i) =>
    records.push(rec(oid, 1, i + 1 < length ? [oids[i + 1] as number] : [])),
  );
  return { oids, t1: await s.commit({ baseTid: 0, records }) };
}

/** The storages the checks run on; ShelfStorage flushes its group commit in a microtask. */
const storages: [string, () => Promise<Storage>][] = [
  [
    'ShelfStorage',
    () =>
      ShelfStorage.open(new MemoryBlockDirectory(), { schedule: (task) => queueMicrotask(task) }),
  ],
  ['MemoryStorage', async () => new MemoryStorage()],
  [
    'IndexedDBStorage',
    () => IndexedDBStorage.open('hunt10c', { indexedDB: new IDBFactory(), IDBKeyRange }),
  ],
];

describe.each(storages)('%s', (_name, open) => {
  it('verifies a healthy database as ok while a pack removes a long chain a commit cut off meanwhile', async () => {
    const s = await open();
    const { t1 } = await chain(s, 200);
    // verify walks the chain one load per link; the root lets go of it and pack removes it.
    const verifying = s.verify();
    const cut = s.commit({ baseTid: t1, records: [rec(0, 2, [], t1)] });
    const packing = cut.then(() => s.pack());
    const [report, packed] = await Promise.all([verifying, packing]);
    expect(packed.objectsRemoved).toBe(200);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    await s.close();
  });

  it('keeps what a snapshot taken after pack() was called reads, though a verify delays the pack past a commit', async () => {
    const s = await open();
    const { oids, t1 } = await chain(s, 200);
    const a = oids[0] as number;
    const verifying = s.verify(); // pack waits for its walk
    const packing = s.pack();
    // A reader takes the newest snapshot after pack was asked for (a tab that pinned too late for
    // the owner's pins): pack must keep what it reads.
    const { tid: seen } = await s.sync(0);
    const t2 = await s.commit({ baseTid: seen, records: [rec(a, 2, [oids[1] as number], t1)] });
    await Promise.all([verifying, packing]);
    expect(seen).toBe(t1);
    expect(t2).toBe(t1 + 1);
    const [atSeen] = await s.load([a], seen);
    expect([...(atSeen?.state ?? [])]).toEqual([1]);
    await s.close();
  });
});
