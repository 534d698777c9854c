/**
 * A commit resent after its answer was lost (a tab handover) is answered with the tid it landed
 * under, even when the blob it carried is no longer stored by the time it is resent.
 */
import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import type { CommitRequest, Storage } from '../src/shared/storage.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { bytes, rec } from './storage-check-kit.js';
import { blobRecord, counting } from './storage-checks-blobs.js';

let named = 0;
const storages: [string, () => Promise<Storage>][] = [
  ['MemoryStorage', async () => new MemoryStorage({ blobGraceMs: 0 })],
  [
    'ShelfStorage on memory',
    async () => ShelfStorage.open(new MemoryBlockDirectory(), { blobGraceMs: 0, packSliceMs: 0 }),
  ],
  [
    'IndexedDBStorage',
    async () =>
      IndexedDBStorage.open(
        `resend-${named++}`,
        { indexedDB: new IDBFactory(), IDBKeyRange },
        'strict',
        { blobGraceMs: 0 },
      ),
  ],
];

describe.each(storages)('%s', (_name, open) => {
  it('a resent commit that landed is answered with its tid even after its blob was removed since', async () => {
    const s = await open();
    const data = counting(1000, 7);
    await s.putBlob(new Blob([data as BlobPart]));
    const [holder, blob] = (await s.newOids(2)) as [number, number];
    const first: CommitRequest = {
      baseTid: 0,
      txnId: 'tab1-1',
      records: [rec(0, bytes(1), [holder]), rec(holder, bytes(2), [blob]), blobRecord(blob, data)],
    };
    const tid = await s.commit(first); // its answer is lost on the way to the page
    // Another tab removes the holder, and a pack removes the blob file.
    await s.commit({ baseTid: tid, txnId: 'tab2-1', records: [rec(0, bytes(3), [])] });
    await s.pack();
    expect((await s.stats()).blobs).toBe(0);
    // The first tab resends: it landed, so its answer is its tid, not a refusal.
    await expect(s.commit(first)).resolves.toBe(tid);
    await s.close();
  });
});
