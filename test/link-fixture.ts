/**
 * A page and its storage worker joined by a Node MessageChannel, as openDatabase() and
 * worker/entry.ts join them across a real worker: StorageClient (page) ↔ serveStorage (worker)
 * over Comlink. `closeLinks()` in an afterEach closes every channel made.
 */
import type { Endpoint, OpenRequest } from '../src/shared/link.js';
import type { Storage } from '../src/shared/storage.js';
import { StorageClient } from '../src/storage-client.js';
import { serveStorage } from '../worker/storage-server.js';

export const OPEN_REQUEST: OpenRequest = {
  name: 'db',
  storage: 'auto',
  durability: 'strict',
  recover: false,
  busyTimeout: 1000,
};

const open: MessagePort[] = [];

/** Closes the channels of every link made so far. */
export function closeLinks(): void {
  for (const port of open.splice(0)) port.close();
}

/**
 * A StorageClient whose worker side serves the storage `storage` makes (called when the page
 * opens). `page` is the page's end of the channel, for posting strays or listening to answers.
 */
export async function link(
  storage: Storage | (() => Storage | Promise<Storage>),
  request: OpenRequest = OPEN_REQUEST,
): Promise<{ client: StorageClient; page: MessagePort }> {
  const { port1, port2 } = new MessageChannel();
  open.push(port1, port2);
  serveStorage(port1 as unknown as Endpoint, async () => ({
    storage: typeof storage === 'function' ? await storage() : storage,
  }));
  port1.start();
  port2.start();
  const client = await StorageClient.connect(port2 as unknown as Endpoint, request, () => {
    port1.close();
    port2.close();
  });
  return { client, page: port2 };
}
