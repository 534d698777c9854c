import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';
import { describeStorage } from './storage-contract.js';

let n = 0;
describeStorage('IndexedDBStorage on fake-indexeddb', () =>
  IndexedDBStorage.open(`contract-${n++}`, { indexedDB: new IDBFactory(), IDBKeyRange }),
);

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
});
