/**
 * The Storage contract over the worker client: StorageClient (the page side) talking to
 * serveStorage (the worker side) over Comlink across a Node MessageChannel, as openDatabase() and
 * worker/entry.ts wire them across a real worker. Record batches are transferred, errors cross
 * as envelopes, invalidations through the page's events proxy: the same suite must hold as in
 * process.
 */
import { MessageChannel } from 'node:worker_threads';
import { MemoryStorage, type Storage } from '../src/index.js';
import type { Endpoint, OpenRequest } from '../src/shared/link.js';
import { StorageClient } from '../src/storage-client.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { serveStorage } from '../worker/storage-server.js';
import { describeStorage, describeStorageArguments } from './storage-contract.js';

const REQUEST: OpenRequest = {
  name: 'contract',
  storage: 'auto',
  durability: 'strict',
  recover: false,
  busyTimeout: 5_000,
};

/** A StorageClient whose server, across a fresh MessageChannel, serves the storage `open` makes. */
function overChannel(open: () => Promise<Storage> | Storage): Promise<StorageClient> {
  const { port1, port2 } = new MessageChannel();
  serveStorage(port2 as unknown as Endpoint, async () => ({ storage: await open() }));
  return StorageClient.connect(port1 as unknown as Endpoint, REQUEST, () => {
    port1.close();
    port2.close();
  });
}

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
