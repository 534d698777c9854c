import { describe, expect, it } from 'vitest';
import { StorageError, StorageFullError } from '../src/shared/errors.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { FolderBlobStore } from '../worker/folder-blob-store.js';
import { MemoryBlobFolder } from '../worker/memory-blob-folder.js';
import { blobStoreChecks, chunkedBlob, hashOf, patterned } from './blob-store-contract.js';

const MIB = 1 << 20;

describe('FolderBlobStore over a memory folder', () => {
  for (const [name, run] of blobStoreChecks) {
    it(name, async () => run(await new MemoryBlockDirectory().blobStore()));
  }
});

/** A platform error as the fault hooks throw it. */
const platform = (name: string, code?: string): Error =>
  Object.assign(new Error(`${name} (test)`), { name }, code === undefined ? {} : { code });

describe('FolderBlobStore failures', () => {
  it('turns a quota failure mid-write into StorageFullError, keeps nothing, and stays usable', async () => {
    const folder = new MemoryBlobFolder();
    const store = new FolderBlobStore(folder);
    let writes = 0;
    folder.fault = (op, _path, write) => {
      if (op === 'write' && ++writes === 2) {
        write?.partial(1000);
        throw platform('QuotaExceededError');
      }
    };
    const error = await store.put(new Blob([patterned(3 * MIB)])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageFullError);
    expect((error as Error).message).toContain('Nothing of the blob was stored');
    expect((error as Error).cause).toMatchObject({ name: 'QuotaExceededError' });
    expect([...folder.files.keys()]).toEqual([]);
    expect(await store.stats()).toEqual({ blobs: 0, blobBytes: 0 });

    folder.fault = undefined;
    const bytes = patterned(3 * MIB);
    expect(await store.put(new Blob([bytes]))).toEqual({ hash: hashOf(bytes), size: 3 * MIB });
    expect(await store.stats()).toEqual({ blobs: 1, blobBytes: 3 * MIB });
  });

  it('turns ENOSPC when creating the temporary into StorageFullError', async () => {
    const folder = new MemoryBlobFolder();
    folder.fault = (op) => {
      if (op === 'create') throw platform('Error', 'ENOSPC');
    };
    await expect(new FolderBlobStore(folder).put(new Blob(['x']))).rejects.toBeInstanceOf(
      StorageFullError,
    );
    expect(folder.files.size).toBe(0);
  });

  for (const op of ['flush', 'publish'] as const) {
    it(`reports a failed ${op} as a StorageError and removes the temporary`, async () => {
      const folder = new MemoryBlobFolder();
      folder.fault = (o) => {
        if (o === op) throw platform('Error', 'EIO');
      };
      const error = await new FolderBlobStore(folder)
        .put(new Blob([patterned(10)]))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect(error).not.toBeInstanceOf(StorageFullError);
      expect((error as Error).message).toContain('while storing a blob');
      expect([...folder.files.keys()]).toEqual([]);
    });
  }

  it('passes on the failure of the Blob being read, and removes the temporary', async () => {
    const folder = new MemoryBlobFolder();
    const failing = {
      stream: () =>
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(patterned(MIB + 5));
          },
          pull(controller) {
            controller.error(platform('NotReadableError'));
          },
        }),
    } as unknown as Blob;
    await expect(new FolderBlobStore(folder).put(failing)).rejects.toMatchObject({
      name: 'NotReadableError',
    });
    expect(folder.files.size).toBe(0);
  });

  it('writes chunks of exactly 1 MiB whatever pieces the source gives', async () => {
    const folder = new MemoryBlobFolder();
    const sizes: number[] = [];
    folder.fault = (op, _path, write) => {
      if (op === 'write') sizes.push(write?.bytes ?? -1);
    };
    await new FolderBlobStore(folder).put(chunkedBlob(patterned(2 * MIB + 3), 1000));
    expect(sizes).toEqual([MIB, MIB, 3]);
  });
});

describe('FolderBlobStore sweep and check', () => {
  it('sweeps a file dated before `before` unless this store put it since', async () => {
    const folder = new MemoryBlobFolder();
    const old = Date.now() - 3_600_000;
    folder.now = () => old;
    const first = new FolderBlobStore(folder);
    const a = await first.put(new Blob([patterned(10, 1)]));
    const b = await first.put(new Blob([patterned(10, 2)]));

    // A new session: only the files' own (old) times are known.
    const second = new FolderBlobStore(folder);
    await second.put(new Blob([patterned(10, 1)])); // a again: stored already, time noted
    expect(await second.sweep(new Set(), Date.now() - 60_000)).toEqual({ removed: 1, bytes: 10 });
    expect(await second.size(a.hash)).toBe(10);
    expect(await second.size(b.hash)).toBeUndefined();
  });

  it('finds a stored file whose bytes were damaged, or cut short', async () => {
    const folder = new MemoryBlobFolder();
    const store = new FolderBlobStore(folder);
    const { hash } = await store.put(new Blob([patterned(2 * MIB + 1)]));
    const file = folder.files.get(`${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`)!;
    expect(await store.check(hash)).toBeUndefined();
    file.chunks[1]![5] ^= 1;
    expect(await store.check(hash)).toBe('damaged');
    file.chunks[1]![5] ^= 1;
    file.chunks.pop();
    file.size -= 1;
    expect(await store.check(hash)).toBe('damaged');
  });

  it('keeps a file a put finds stored while a sweep removes unkept files', async () => {
    const folder = new MemoryBlobFolder();
    folder.now = () => 0;
    const bytes = patterned(10, 3);
    const { hash } = await new FolderBlobStore(folder).put(new Blob([bytes]));
    const store = new FolderBlobStore(folder);
    const [swept] = await Promise.all([
      store.sweep(new Set(), Date.now() - 1000),
      store.put(new Blob([bytes])),
    ]);
    // Either order is sound: the sweep removed it before the put stored it again, or the put's
    // time kept it. Either way it is there after the put resolved.
    expect(swept.removed).toBeLessThanOrEqual(1);
    expect(await store.read(hash, 0, 10)).toEqual(bytes);
  });

  it('counts a first walk once, then follows puts without walking again', async () => {
    const folder = new MemoryBlobFolder();
    await new FolderBlobStore(folder).put(new Blob([patterned(7, 1)]));
    const store = new FolderBlobStore(folder);
    let walks = 0;
    folder.fault = (op, path) => {
      if (op === 'list' && path === '') walks++;
    };
    expect(await store.stats()).toEqual({ blobs: 1, blobBytes: 7 });
    await store.put(new Blob([patterned(8, 2)]));
    await store.put(new Blob([patterned(7, 1)]));
    expect(await store.stats()).toEqual({ blobs: 2, blobBytes: 15 });
    expect(walks).toBe(1);
  });
});
