import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory, IDBKeyRange, IDBObjectStore } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ShelfError, StorageFullError, type StoredRecord } from '../src/index.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';
import {
  describeStorage,
  describeStorageArguments,
  describeStorageInProcess,
} from './storage-contract.js';

let n = 0;
describeStorage('IndexedDBStorage on fake-indexeddb', async () => {
  const platform = { indexedDB: new IDBFactory(), IDBKeyRange };
  const name = `contract-${n++}`;
  return {
    storage: await IndexedDBStorage.open(name, platform),
    reopen: () => IndexedDBStorage.open(name, platform),
  };
});
describeStorageArguments('IndexedDBStorage on fake-indexeddb', () =>
  IndexedDBStorage.open(`arguments-${n++}`, { indexedDB: new IDBFactory(), IDBKeyRange }),
);
describeStorageInProcess('IndexedDBStorage on fake-indexeddb', () =>
  IndexedDBStorage.open(`in-process-${n++}`, { indexedDB: new IDBFactory(), IDBKeyRange }),
);

const rec = (oid: number, byte: number, refs: number[] = [], tid?: number): StoredRecord => {
  const r: StoredRecord = { oid, className: 'test.Thing', state: new Uint8Array([byte]), refs };
  if (tid !== undefined) r.tid = tid;
  return r;
};

const fresh = (name: string): Promise<IndexedDBStorage> =>
  IndexedDBStorage.open(name, { indexedDB: new IDBFactory(), IDBKeyRange });

/**
 * Makes the transaction of the next put into `storeName` fail as a full disk does in Chromium: the
 * request succeeds, then the transaction aborts with a QuotaExceededError as its `error`.
 */
function quotaOnNextPut(storeName: string): void {
  const put = IDBObjectStore.prototype.put;
  const spy = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (
    this: IDBObjectStore,
    value: unknown,
    key?: IDBValidKey,
  ) {
    const request = put.call(this, value, key);
    if (this.name !== storeName) return request;
    spy.mockRestore();
    const tx = this.transaction;
    request.addEventListener('success', () => {
      (tx as { error: DOMException | null }).error = new DOMException(
        'The quota has been exceeded.',
        'QuotaExceededError',
      );
      tx.abort();
    });
    return request;
  });
}

afterEach(() => vi.restoreAllMocks());

describe('IndexedDBStorage', () => {
  it('keeps what was committed across reopening', async () => {
    const platform = { indexedDB: new IDBFactory(), IDBKeyRange };
    const s = await IndexedDBStorage.open('reopen', platform);
    const [a] = (await s.newOids(1)) as [number];
    const tid = await s.commit({
      baseTid: 0,
      records: [
        { oid: 0, className: 'x', state: new Uint8Array([1]), refs: [a] },
        { oid: a, className: 'y', state: new Uint8Array([2]), refs: [] },
      ],
      note: 'kept',
    });
    await s.close();
    const again = await IndexedDBStorage.open('reopen', platform);
    expect((await again.load([a]))[0]).toMatchObject({ oid: a, className: 'y', tid });
    expect((await again.transactions())[0]?.note).toBe('kept');
    expect((await again.newOids(1))[0]).toBeGreaterThan(a);
  });

  it('reports a full disk during a commit as StorageFullError, stores nothing, and keeps working', async () => {
    const s = await fresh('quota-commit');
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1)] });
    quotaOnNextPut('records');
    const error = await s
      .commit({ baseTid: t1, records: [rec(0, 2, [], t1)], txnId: 'q-1' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageFullError);
    expect(((error as Error).cause as DOMException).name).toBe('QuotaExceededError');
    expect((await s.load([0]))[0]).toMatchObject({ tid: t1 });
    expect((await s.stats()).transactions).toBe(1);
    // The same commit sent again lands once: the failed attempt left no txnId behind.
    expect(await s.commit({ baseTid: t1, records: [rec(0, 2, [], t1)], txnId: 'q-1' })).toBe(
      t1 + 1,
    );
    await s.close();
  });

  it('reports a full disk while handing out oids as StorageFullError and never hands those oids out as stored', async () => {
    const s = await fresh('quota-oids');
    const [first] = (await s.newOids(1)) as [number];
    quotaOnNextPut('meta');
    const error = await s.newOids(3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageFullError);
    expect(((error as Error).cause as DOMException).name).toBe('QuotaExceededError');
    expect(await s.newOids(1)).toEqual([first + 1]);
    await s.close();
  });

  it('reports a full disk during pack as StorageFullError and keeps every revision', async () => {
    const s = await fresh('quota-pack');
    const [a] = (await s.newOids(1)) as [number];
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1, [a]), rec(a, 1)] });
    const t2 = await s.commit({ baseTid: t1, records: [rec(0, 2, [], t1)] });
    quotaOnNextPut('meta');
    const error = await s.pack().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageFullError);
    expect(((error as Error).cause as DOMException).name).toBe('QuotaExceededError');
    expect(await s.history(0)).toHaveLength(2);
    expect((await s.load([a], t1))[0]?.state[0]).toBe(1);
    expect((await s.stats()).lastPack).toBeUndefined();
    expect((await s.pack()).objectsRemoved).toBe(1);
    expect((await s.load([0]))[0]?.tid).toBe(t2);
    await s.close();
  });

  it('refuses a malformed id with ShelfError before it reaches IndexedDB', async () => {
    const s = await fresh('bad-ids');
    await s.commit({ baseTid: 0, records: [rec(0, 1)] });
    for (const bad of [NaN, -1, 1.5, 2 ** 53, '1' as unknown as number]) {
      await expect(s.load([bad])).rejects.toBeInstanceOf(ShelfError);
      await expect(s.history(bad)).rejects.toBeInstanceOf(ShelfError);
    }
    expect((await s.load([0]))[0]?.tid).toBe(1);
    await s.close();
  });
});
