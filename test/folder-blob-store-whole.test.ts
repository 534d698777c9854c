/**
 * FolderBlobStore's whole-digest path: over a folder with no native hasher (the memory folder here,
 * OPFS in browsers) a blob of up to WHOLE_HASH_MAX bytes is read whole and digested at once while
 * its chunks are written; larger blobs stream.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtempSync, openAsBlob, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageError, StorageFullError } from '../src/shared/errors.js';
import { WHOLE_HASH_MAX } from '../worker/blob-hash.js';
import { FolderBlobStore } from '../worker/folder-blob-store.js';
import { MemoryBlobFolder } from '../worker/memory-blob-folder.js';
import { hashOf, patterned } from './blob-store-contract.js';

const MIB = 1 << 20;

/** A platform error as the fault hooks throw it. */
const platform = (name: string, code?: string): Error =>
  Object.assign(new Error(`${name} (test)`), { name }, code === undefined ? {} : { code });

/** A real Blob of `bytes` whose `method` throws: the put must not read it that way. */
function refusing(bytes: Uint8Array<ArrayBuffer>, method: 'stream' | 'arrayBuffer'): Blob {
  const blob = new Blob([bytes]);
  Object.defineProperty(blob, method, {
    value: () => {
      throw new Error(`read through ${method}()`);
    },
  });
  return blob;
}

/** The paths of the published files and of the temporaries in `folder`. */
function contents(folder: MemoryBlobFolder): { published: string[]; temporaries: string[] } {
  const paths = [...folder.files.keys()];
  return {
    published: paths.filter((p) => !p.startsWith('tmp/')),
    temporaries: paths.filter((p) => p.startsWith('tmp/')),
  };
}

/** The path of blob file `hash` in a memory folder. */
const pathOf = (hash: string): string => `${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`;

/** `n` random bytes (node:crypto: a 32 MiB pattern made and hashed in JS takes seconds). */
const random = (n: number): Uint8Array<ArrayBuffer> => randomFillSync(new Uint8Array(n));

/** SHA-256 in hex by node:crypto, for the large blobs. */
const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The SHA-256 of what `folder` holds in blob file `hash`. */
async function storedHash(folder: MemoryBlobFolder, hash: string): Promise<string> {
  const file = await folder.file(hash);
  return sha256Of(new Uint8Array(await file!.arrayBuffer()));
}

describe('FolderBlobStore reading a blob whole to digest it', () => {
  it('stores a blob of exactly WHOLE_HASH_MAX bytes read whole, in 1 MiB writes, under its SHA-256', async () => {
    const folder = new MemoryBlobFolder();
    const sizes: number[] = [];
    folder.fault = (op, _path, write) => {
      if (op === 'write') sizes.push(write?.bytes ?? -1);
    };
    const bytes = random(WHOLE_HASH_MAX);
    const store = new FolderBlobStore(folder);
    const info = await store.put(refusing(bytes, 'stream'));
    expect(info).toEqual({ hash: sha256Of(bytes), size: WHOLE_HASH_MAX });
    expect(sizes).toEqual(new Array<number>(WHOLE_HASH_MAX / MIB).fill(MIB));
    expect(await storedHash(folder, info.hash)).toBe(info.hash);
    expect(contents(folder)).toEqual({ published: [pathOf(info.hash)], temporaries: [] });
  }, 60_000); // 32 MiB made, stored and hashed twice: seconds on a loaded machine

  it('streams a blob one byte over WHOLE_HASH_MAX instead of holding it whole', async () => {
    const folder = new MemoryBlobFolder();
    const bytes = random(WHOLE_HASH_MAX + 1);
    const store = new FolderBlobStore(folder);
    const info = await store.put(refusing(bytes, 'arrayBuffer'));
    expect(info).toEqual({ hash: sha256Of(bytes), size: WHOLE_HASH_MAX + 1 });
    expect(await storedHash(folder, info.hash)).toBe(info.hash);
    expect(contents(folder)).toEqual({ published: [pathOf(info.hash)], temporaries: [] });
  }, 60_000); // 32 MiB made and stored through the portable hash: seconds on a loaded machine

  it('stores an empty blob read whole as an empty file under the SHA-256 of nothing', async () => {
    const folder = new MemoryBlobFolder();
    const store = new FolderBlobStore(folder);
    const info = await store.put(refusing(new Uint8Array(0), 'stream'));
    expect(info).toEqual({
      hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      size: 0,
    });
    expect(await store.size(info.hash)).toBe(0);
    expect(await store.read(info.hash, 0, 10)).toEqual(new Uint8Array(0));
    expect(await store.stats()).toEqual({ blobs: 1, blobBytes: 0 });
  });

  it('stores the bytes read, under their size and hash, when the Blob claimed another size', async () => {
    const bytes = patterned(1000, 7);
    for (const read of [bytes.subarray(0, 600), patterned(1400, 7)]) {
      const folder = new MemoryBlobFolder();
      const store = new FolderBlobStore(folder);
      const claiming = {
        size: 1000,
        type: '',
        stream: () => {
          throw new Error('read through stream()');
        },
        arrayBuffer: async () => read.slice().buffer,
      } as unknown as Blob;
      const info = await store.put(claiming);
      expect(info).toEqual({ hash: hashOf(read), size: read.byteLength });
      expect(await store.read(info.hash, 0, 2000)).toEqual(read);
      expect(await store.check(info.hash)).toBeUndefined();
      expect(await store.stats()).toEqual({ blobs: 1, blobBytes: read.byteLength });
    }
  });

  it('passes on the failure of a File cut short on disk after its size was taken, keeping nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelf-whole-'));
    try {
      const path = join(dir, 'photo.bin');
      writeFileSync(path, patterned(5000, 8));
      const file = await openAsBlob(path);
      truncateSync(path, 2000);
      const folder = new MemoryBlobFolder();
      const store = new FolderBlobStore(folder);
      await expect(store.put(file)).rejects.toMatchObject({ name: 'NotReadableError' });
      expect(folder.files.size).toBe(0);
      expect(await store.stats()).toEqual({ blobs: 0, blobBytes: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes on the failure of reading the Blob whole, and leaves no temporary', async () => {
    const folder = new MemoryBlobFolder();
    const failing = {
      size: 10,
      type: '',
      stream: () => new Blob(['0123456789']).stream(),
      arrayBuffer: () => Promise.reject(platform('NotReadableError')),
    } as unknown as Blob;
    await expect(new FolderBlobStore(folder).put(failing)).rejects.toMatchObject({
      name: 'NotReadableError',
    });
    expect(folder.files.size).toBe(0);
  });

  it('keeps nothing when a write fails at any chunk, says a full disk as StorageFullError, and stores the blob on the next try', async () => {
    const bytes = patterned(3 * MIB + 100, 9);
    const hash = hashOf(bytes);
    const chunks = 4;
    for (const [name, expected] of [
      ['QuotaExceededError', StorageFullError],
      ['NotReadableError', StorageError],
    ] as const) {
      for (let at = 1; at <= chunks; at++) {
        const folder = new MemoryBlobFolder();
        const store = new FolderBlobStore(folder);
        let writes = 0;
        folder.fault = (op, _path, write) => {
          if (op === 'write' && ++writes === at) {
            write?.partial(1000);
            throw platform(name);
          }
        };
        const error = await store.put(refusing(bytes, 'stream')).catch((e: unknown) => e);
        const what = `${name} at write ${at}`;
        expect(error, what).toBeInstanceOf(expected);
        if (expected === StorageError) expect(error, what).not.toBeInstanceOf(StorageFullError);
        expect((error as Error).message, what).toContain('Nothing of the blob was stored');
        expect((error as Error).cause, what).toMatchObject({ name });
        expect(writes, what).toBe(at); // no write after the failed one
        expect(contents(folder), what).toEqual({ published: [], temporaries: [] });
        expect(await store.stats(), what).toEqual({ blobs: 0, blobBytes: 0 });

        folder.fault = undefined;
        expect(await store.put(refusing(bytes, 'stream')), what).toEqual({
          hash,
          size: bytes.byteLength,
        });
        expect(await storedHash(folder, hash), what).toBe(hash);
      }
    }
  }, 60_000); // eight puts of 3 MiB and their retries: seconds on a loaded machine

  for (const op of ['create', 'flush', 'publish'] as const) {
    it(`turns ENOSPC at ${op} of a blob read whole into StorageFullError and keeps nothing`, async () => {
      const folder = new MemoryBlobFolder();
      folder.fault = (o) => {
        if (o === op) throw platform('Error', 'ENOSPC');
      };
      const store = new FolderBlobStore(folder);
      await expect(store.put(refusing(patterned(2 * MIB, 10), 'stream'))).rejects.toBeInstanceOf(
        StorageFullError,
      );
      expect(contents(folder)).toEqual({ published: [], temporaries: [] });
      expect(await store.stats()).toEqual({ blobs: 0, blobBytes: 0 });
    });
  }

  it('stores one file when the same bytes are put twice at once', async () => {
    const folder = new MemoryBlobFolder();
    const store = new FolderBlobStore(folder);
    const bytes = patterned(2 * MIB + 7, 11);
    const [a, b] = await Promise.all([
      store.put(refusing(bytes, 'stream')),
      store.put(refusing(bytes.slice(), 'stream')),
    ]);
    const expected = { hash: hashOf(bytes), size: bytes.byteLength };
    expect([a, b]).toEqual([expected, expected]);
    expect(contents(folder)).toEqual({ published: [pathOf(expected.hash)], temporaries: [] });
    expect(await store.stats()).toEqual({ blobs: 1, blobBytes: bytes.byteLength });
    expect(await store.check(expected.hash)).toBeUndefined();
  });
});
