/**
 * A second hunt for data loss: races between tabs, IndexedDB under failures, the Node lock file.
 * Each test reproduced a defect before its fix.
 */
import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { ReadConflictError, StorageError, type StoredRecord } from '../src/index.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';

const rec = (oid: number, byte: number, tid?: number): StoredRecord => {
  const r: StoredRecord = { oid, className: 'test.Thing', state: new Uint8Array([byte]), refs: [] };
  if (tid !== undefined) r.tid = tid;
  return r;
};

describe('IndexedDBStorage pack', () => {
  it('still refuses a snapshot older than an earlier pack after a later pack keeps less history', async () => {
    const storage = await IndexedDBStorage.open('floor', {
      indexedDB: new IDBFactory(),
      IDBKeyRange,
    });
    let tid = await storage.commit({ baseTid: 0, records: [rec(0, 1)] });
    for (let byte = 2; byte <= 4; byte++) {
      tid = await storage.commit({ baseTid: tid, records: [rec(0, byte, tid)] });
    }
    // The first pack keeps what a snapshot at tid 3 reads; the root's revisions 1 and 2 go.
    await storage.pack({ keepTid: 3 });
    // A later pack asked to keep from tid 1 (a pin that arrived late) cannot bring them back.
    await storage.pack({ keepTid: 1 });
    // A snapshot at tid 2 must hear that its revision is gone, not that the root does not exist.
    await expect(storage.load([0], 2)).rejects.toBeInstanceOf(ReadConflictError);
    expect(await storage.sync(2)).toMatchObject({ reset: true });
    await storage.close();
  });
});

describe('IndexedDBStorage pack past the newest tid', () => {
  it('does not reset later snapshots after a pack asked to keep from a tid not reached yet', async () => {
    const storage = await IndexedDBStorage.open('future-keep', {
      indexedDB: new IDBFactory(),
      IDBKeyRange,
    });
    const first = await storage.commit({ baseTid: 0, records: [rec(0, 1)] });
    // keepTid crosses the channel from another tab checked only as an integer.
    await storage.pack({ keepTid: 1000 });
    const [oid] = await storage.newOids(1);
    const second = await storage.commit({ baseTid: first, records: [rec(oid as number, 7)] });
    // A snapshot at `second` reads its object, and one at `first` only needs the new oid.
    expect(await storage.load([oid as number], second)).toHaveLength(1);
    expect(await storage.sync(first)).toEqual({ tid: second, oids: [oid] });
    await storage.close();
  });
});

describe('IndexedDBStorage whose connection the browser closed', () => {
  it('fails every call with a StorageError that says to reload, never a raw DOMException', async () => {
    const storage = await IndexedDBStorage.open('closed-by-browser', {
      indexedDB: new IDBFactory(),
      IDBKeyRange,
    });
    await storage.commit({ baseTid: 0, records: [rec(0, 1)] });
    // What the browser does when site data is cleared or its IndexedDB backend fails: the
    // connection closes under the storage (a 'close' event), and every new transaction throws.
    (storage as unknown as { db: { close(): void } }).db.close();
    const calls: [string, () => Promise<unknown>][] = [
      ['load', () => storage.load([0])],
      ['newOids', () => storage.newOids(1)],
      ['commit', () => storage.commit({ baseTid: 1, records: [rec(0, 2, 1)] })],
      ['sync', () => storage.sync(0)],
      ['pack', () => storage.pack()],
      ['stats', () => storage.stats()],
      ['transactions', () => storage.transactions()],
      ['history', () => storage.history(0)],
    ];
    for (const [method, call] of calls) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, method).toBeInstanceOf(StorageError);
      expect((error as Error).message, method).toMatch(/reload/i);
    }
  });
});
