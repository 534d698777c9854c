// Runs the BlobStore contract over the OPFS blob folder inside a real dedicated worker (sync
// access handles for writing), then the OPFS-specific checks; posts the failures.
import { OpfsBlockDirectory } from '../../worker/opfs-file.js';
import { hashOf, patterned, runBlobStoreChecks } from '../../test/blob-store-contract.js';

let n = 0;
const fresh = async (): Promise<OpfsBlockDirectory> =>
  OpfsBlockDirectory.forDatabase(`blob-store-contract-${Date.now()}-${n++}`);

const failures = await runBlobStoreChecks(async () => (await fresh()).blobStore());

async function check(name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    failures.push(`${name}: ${String(error)}`);
  }
}

await check('readers of one blob, a file() and a put run at once without blocking', async () => {
  const store = await (await fresh()).blobStore();
  const bytes = patterned(3 << 20, 1);
  const { hash } = await store.put(new Blob([bytes]));
  const results = await Promise.all([
    ...Array.from({ length: 8 }, (_, i) => store.read(hash, i << 18, (i + 1) << 18)),
    store.file(hash).then(async (f) => new Uint8Array(await f.arrayBuffer())),
    store.put(new Blob([bytes])).then(() => new Uint8Array(0)),
    store.check(hash).then(() => new Uint8Array(0)),
  ]);
  for (let i = 0; i < 8; i++) {
    if (hashOf(results[i]!) !== hashOf(bytes.subarray(i << 18, (i + 1) << 18)))
      throw new Error(`read ${i} gave other bytes`);
  }
  if (hashOf(results[8]!) !== hash) throw new Error('file() gave other bytes');
});

await check('file() is a File from OPFS, and the blob folder is not a database file', async () => {
  const dir = await fresh();
  const store = await dir.blobStore();
  const { hash } = await store.put(new Blob(['hello']));
  const file = await store.file(hash);
  if (!(file instanceof File) || file.name !== hash)
    throw new Error(`not an OPFS File: ${String(file)}`);
  const names = await dir.list();
  if (names.length !== 0) throw new Error(`list() shows ${names.join(', ')}`);
});

await check(
  'clearTemporary removes what an interrupted put left, and a sweep removes blobs',
  async () => {
    const name = `blob-store-leftover-${Date.now()}`;
    const dir = await OpfsBlockDirectory.forDatabase(name);
    const store = await dir.blobStore();
    const { hash } = await store.put(new Blob(['kept']));
    const root = await navigator.storage.getDirectory();
    const shelf = await root.getDirectoryHandle('shelfdb');
    const entries = shelf as unknown as { keys(): AsyncIterable<string> };
    let folder: FileSystemDirectoryHandle | undefined;
    for await (const key of entries.keys()) {
      if (key.includes(name)) folder = await shelf.getDirectoryHandle(key);
    }
    if (folder === undefined) throw new Error('no folder for the database');
    const tmp = await (await folder.getDirectoryHandle('blobs')).getDirectoryHandle('tmp');
    await tmp.getFileHandle('leftover', { create: true });
    const removed = await store.clearTemporary();
    if (removed !== 1) throw new Error(`clearTemporary removed ${removed}`);
    const swept = await store.sweep(new Set(), Date.now() + 60_000);
    if (swept.removed !== 1 || (await store.size(hash)) !== undefined) throw new Error('not swept');
  },
);

postMessage(failures);
