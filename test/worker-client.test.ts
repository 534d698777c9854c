/**
 * The Storage contract over the worker client: StorageClient (the page side) talking to
 * serveStorage (the worker side) over Comlink across a Node MessageChannel, as openDatabase() and
 * worker/entry.ts wire them across a real worker. Record batches are transferred, errors cross
 * as envelopes, invalidations through the page's events proxy: the same suite must hold as in
 * process.
 */
import { MemoryStorage, type Storage } from '../src/index.js';
import { StorageClient } from '../src/storage-client.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { describeStorage, describeStorageArguments } from './storage-contract.js';
import { OPEN_REQUEST, link } from './link-fixture.js';

/** A StorageClient whose worker side, across a fresh MessageChannel, serves what `open` makes. */
const overChannel = async (open: () => Promise<Storage> | Storage): Promise<StorageClient> =>
  (await link(open, { ...OPEN_REQUEST, name: 'contract', busyTimeout: 5_000 })).client;

describeStorage('StorageClient over a MessageChannel to MemoryStorage', () =>
  overChannel(() => new MemoryStorage()),
);
describeStorageArguments('StorageClient over a MessageChannel to MemoryStorage', () =>
  overChannel(() => new MemoryStorage()),
);
describeStorage('StorageClient over a MessageChannel to ShelfStorage on memory', async () => {
  const dir = new MemoryBlockDirectory();
  return {
    storage: await overChannel(() => ShelfStorage.open(dir)),
    // A new worker side opening the same files, as after the owner tab closed.
    reopen: () => overChannel(() => ShelfStorage.open(dir)),
  };
});
