/**
 * What the page is told about a commit that is in flight when it closes its StorageClient (the
 * Comlink link): never DatabaseClosedError for a commit that landed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../worker/memory-storage.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { TabRouter } from '../worker/tab-router.js';
import { FakeHub } from './fake-tabs.js';
import type { Storage, StoredRecord } from '../src/shared/storage.js';
import { closeLinks, link } from './link-fixture.js';

afterEach(closeLinks);

const connect = async (storage: Storage) => (await link(storage)).client;

const rec = (oid: number, byte: number, tid?: number): StoredRecord => ({
  oid,
  className: 'X',
  state: new Uint8Array([byte]),
  refs: [],
  ...(tid === undefined ? {} : { tid }),
});

describe('StorageClient.close with a commit in flight', () => {
  it('never fails with DatabaseClosedError a commit that landed (MemoryStorage behind it)', async () => {
    const memory = new MemoryStorage();
    const landedTids: number[] = [];
    memory.subscribe((invalidation) => landedTids.push(invalidation.tid));
    const client = await connect(memory);
    const committing = client.commit({ baseTid: 0, records: [rec(0, 1)], txnId: 'a' });
    const closing = client.close();
    const outcome = await committing.then(
      (tid) => ({ tid }),
      (error: unknown) => ({ error }),
    );
    await closing;
    expect(landedTids).toEqual([1]); // it landed
    expect(outcome).toEqual({ tid: 1 }); // so the page must not hear that the database was closed
  });
});

describe('StorageClient.close with a commit in flight through a TabRouter', () => {
  for (const which of ['owner', 'follower'] as const) {
    it(`never fails with DatabaseClosedError a commit that landed (the page's worker is the ${which})`, async () => {
      const hub = new FakeHub();
      const dir = new MemoryBlockDirectory();
      const open = () => ShelfStorage.open(dir);
      const owner = await TabRouter.open(hub.tab(), { name: 'db', busyTimeout: 2000 }, open);
      const follower = await TabRouter.open(hub.tab(), { name: 'db', busyTimeout: 2000 }, open);
      const landedTids: number[] = [];
      owner.subscribe((invalidation) => landedTids.push(invalidation.tid));
      const client = await connect(which === 'owner' ? owner : follower);
      const committing = client.commit({ baseTid: 0, records: [rec(0, 1)], txnId: 'a' });
      const closing = client.close();
      const outcome = await committing.then(
        (tid) => ({ tid }),
        (error: unknown) => ({ error }),
      );
      await closing;
      await hub.idle();
      expect(landedTids).toEqual([1]); // it landed
      expect(outcome).toEqual({ tid: 1 }); // so the page must not hear that the database was closed
      if (which === 'follower') await owner.close();
    });
  }
});
