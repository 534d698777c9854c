import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createHash, randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError, StorageFullError } from '../src/shared/errors.js';
import { WHOLE_HASH_MAX } from '../worker/blob-hash.js';
import { FolderBlobStore } from '../worker/folder-blob-store.js';
import {
  NodeBlobFolder,
  nodeBlobPlatform,
  type NodeBlobFs,
  type NodeBlobPlatform,
} from '../worker/node-blob-folder.js';
import { NodeBlockDirectory } from '../worker/node-file.js';
import { blobStoreChecks, hashOf, patterned } from './blob-store-contract.js';

const MIB = 1 << 20;
const made: string[] = [];
const opened: NodeBlockDirectory[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shelf-blobs-'));
  made.push(dir);
  return dir;
}

async function directory(path = tempDir()): Promise<NodeBlockDirectory> {
  const dir = await NodeBlockDirectory.create(path);
  opened.push(dir);
  return dir;
}

afterEach(async () => {
  for (const dir of opened.splice(0)) await dir.close();
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('FolderBlobStore over a Node folder', () => {
  for (const [name, run] of blobStoreChecks) {
    it(name, async () => run(await (await directory()).blobStore()));
  }
});

describe('NodeBlockDirectory blobs', () => {
  it('keeps blob files in blobs/<h0>/<h1>/<hash>, which list() does not show', async () => {
    const path = tempDir();
    const dir = await directory(path);
    const bytes = patterned(100);
    const { hash } = await (await dir.blobStore()).put(new Blob([bytes]));
    expect(existsSync(join(path, 'blobs', hash.slice(0, 2), hash.slice(2, 4), hash))).toBe(true);
    expect(readdirSync(join(path, 'blobs', 'tmp'))).toEqual([]);
    expect(await dir.list()).toEqual([]);
    await expect(dir.open('blobs')).rejects.toThrow(/blob folder/);
    await expect(dir.remove('blobs')).rejects.toThrow(/blob folder/);
  });

  it('finds the blobs again after the directory is closed and opened', async () => {
    const path = tempDir();
    const first = await directory(path);
    const bytes = patterned(5000, 3);
    const { hash } = await (await first.blobStore()).put(new Blob([bytes]));
    await first.close();
    const store = await (await directory(path)).blobStore();
    expect(await store.read(hash, 0, 5000)).toEqual(bytes);
    expect(await store.stats()).toEqual({ blobs: 1, blobBytes: 5000 });
    const file = await store.file(hash);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(bytes);
  });

  it('removes what an interrupted put left on clearTemporary, and ignores foreign names', async () => {
    const path = tempDir();
    const store = await (await directory(path)).blobStore();
    await store.put(new Blob(['a']));
    writeFileSync(join(path, 'blobs', 'tmp', 'leftover'), 'half a blob');
    mkdirSync(join(path, 'blobs', 'zz'));
    writeFileSync(join(path, 'blobs', 'notes.txt'), 'not a blob');
    expect(await store.clearTemporary()).toBe(1);
    expect(readdirSync(join(path, 'blobs', 'tmp'))).toEqual([]);
    expect(await store.stats()).toEqual({ blobs: 1, blobBytes: 1 });
  });

  it('dates a blob file again when its bytes are put again, so a later process keeps it too', async () => {
    const path = tempDir();
    const bytes = patterned(64, 4);
    const { hash } = await (
      await directory(path)
    )
      .blobStore()
      .then((s) => s.put(new Blob([bytes])));
    const file = join(path, 'blobs', hash.slice(0, 2), hash.slice(2, 4), hash);
    const old = new Date(Date.now() - 86_400_000);
    utimesSync(file, old, old);
    const node = await nodeBlobPlatform();
    await new FolderBlobStore(new NodeBlobFolder(join(path, 'blobs'), node)).put(new Blob([bytes]));
    const later = new FolderBlobStore(new NodeBlobFolder(join(path, 'blobs'), node));
    expect(await later.sweep(new Set(), Date.now() - 3_600_000)).toEqual({ removed: 0, bytes: 0 });
  });

  it('refuses blobStore() once the directory is closed', async () => {
    const dir = await directory();
    await dir.close();
    await expect(dir.blobStore()).rejects.toBeInstanceOf(StorageError);
  });
});

describe('NodeBlobFolder failures', () => {
  /** A Node folder whose writes fail with `code` from the `at`-th on. */
  async function failing(
    code: string,
    at: number,
  ): Promise<{ store: FolderBlobStore; path: string }> {
    const node = await nodeBlobPlatform();
    let writes = 0;
    const fs: NodeBlobFs = Object.create(node.fs) as NodeBlobFs;
    fs.writeSync = (...args) => {
      if (++writes >= at) throw Object.assign(new Error(`${code}: test`), { code });
      return node.fs.writeSync(...args);
    };
    const path = join(tempDir(), 'blobs');
    return { store: new FolderBlobStore(new NodeBlobFolder(path, { ...node, fs })), path };
  }

  it('turns ENOSPC into StorageFullError and leaves no temporary', async () => {
    const { store, path } = await failing('ENOSPC', 2);
    const error = await store.put(new Blob([patterned(3 * MIB)])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageFullError);
    expect((error as Error).cause).toMatchObject({ code: 'ENOSPC' });
    expect(readdirSync(join(path, 'tmp'))).toEqual([]);
    expect(readdirSync(path)).toEqual(['tmp']);
    expect(await store.stats()).toEqual({ blobs: 0, blobBytes: 0 });
  });

  it('turns EIO into a StorageError that is not StorageFullError', async () => {
    const { store } = await failing('EIO', 1);
    const error = await store.put(new Blob(['x'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).not.toBeInstanceOf(StorageFullError);
  });
});

describe('FolderBlobStore over a Node folder without a native hasher (blobs read whole and digested at once)', () => {
  /** The Node folder at a new path, its node:crypto hasher taken away, and a store over it. */
  async function portable(
    node?: Partial<NodeBlobPlatform>,
  ): Promise<{ store: FolderBlobStore; path: string }> {
    const path = join(tempDir(), 'blobs');
    const folder = new NodeBlobFolder(path, { ...(await nodeBlobPlatform()), ...node });
    Object.defineProperty(folder, 'hasher', { value: undefined });
    return { store: new FolderBlobStore(folder), path };
  }

  /** A Blob of `bytes` that cannot be streamed: a put of it must read it whole. */
  function wholeOnly(bytes: Uint8Array<ArrayBuffer>): Blob {
    const blob = new Blob([bytes]);
    Object.defineProperty(blob, 'stream', {
      value: () => {
        throw new Error('read through stream()');
      },
    });
    return blob;
  }

  const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
  const fileOf = (path: string, hash: string): string =>
    join(path, hash.slice(0, 2), hash.slice(2, 4), hash);

  it('stores blobs of WHOLE_HASH_MAX bytes and of none read whole, and streams one a byte larger', async () => {
    const { store, path } = await portable();
    const largest = randomFillSync(new Uint8Array(WHOLE_HASH_MAX + 1));
    const atMax = largest.slice(0, WHOLE_HASH_MAX);
    const over = new Blob([largest]);
    Object.defineProperty(over, 'arrayBuffer', {
      value: () => Promise.reject(new Error('read whole')),
    });
    for (const [blob, bytes] of [
      [wholeOnly(atMax), atMax],
      [wholeOnly(new Uint8Array(0)), new Uint8Array(0)],
      [over, largest],
    ] as const) {
      const hash = sha256Of(bytes);
      expect(await store.put(blob)).toEqual({ hash, size: bytes.byteLength });
      expect(sha256Of(readFileSync(fileOf(path, hash)))).toBe(hash);
    }
    expect(readdirSync(join(path, 'tmp'))).toEqual([]);
    expect(await store.stats()).toEqual({ blobs: 3, blobBytes: 2 * WHOLE_HASH_MAX + 1 });
  }, 60_000); // 64 MiB written and hashed, 32 of it by the portable hash: seconds when loaded

  it('turns ENOSPC at any chunk of a blob read whole into StorageFullError and keeps no file', async () => {
    const bytes = patterned(3 * MIB + 100, 12);
    for (let at = 1; at <= 4; at++) {
      const node = await nodeBlobPlatform();
      let writes = 0;
      const fs: NodeBlobFs = Object.create(node.fs) as NodeBlobFs;
      fs.writeSync = (...args) => {
        if (++writes === at) throw Object.assign(new Error('ENOSPC: test'), { code: 'ENOSPC' });
        return node.fs.writeSync(...args);
      };
      const { store, path } = await portable({ fs });
      const error = await store.put(wholeOnly(bytes)).catch((e: unknown) => e);
      expect(error, `at write ${at}`).toBeInstanceOf(StorageFullError);
      expect(readdirSync(path), `at write ${at}`).toEqual(['tmp']);
      expect(readdirSync(join(path, 'tmp')), `at write ${at}`).toEqual([]);
      expect(await store.stats()).toEqual({ blobs: 0, blobBytes: 0 });
      expect(await store.put(wholeOnly(bytes))).toEqual({
        hash: hashOf(bytes),
        size: bytes.byteLength,
      });
    }
  });

  it('stores one file when the same bytes are put twice at once', async () => {
    const { store, path } = await portable();
    const bytes = patterned(2 * MIB + 9, 13);
    const hash = hashOf(bytes);
    const [a, b] = await Promise.all([
      store.put(wholeOnly(bytes)),
      store.put(wholeOnly(bytes.slice())),
    ]);
    expect([a, b]).toEqual([
      { hash, size: bytes.byteLength },
      { hash, size: bytes.byteLength },
    ]);
    expect(readdirSync(join(path, hash.slice(0, 2), hash.slice(2, 4)))).toEqual([hash]);
    expect(readdirSync(join(path, 'tmp'))).toEqual([]);
    expect(await store.stats()).toEqual({ blobs: 1, blobBytes: bytes.byteLength });
  });
});

describe('NodeBlobFolder memory', () => {
  it('stores a 200 MB blob from a generated stream without holding it', async () => {
    const size = 200 * MIB;
    const piece = 256 * 1024;
    const used = (): number => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const base = used();
    let peak = 0;
    let sent = 0;
    const generated = {
      size,
      type: '',
      stream: () =>
        new ReadableStream<Uint8Array>({
          pull(controller) {
            peak = Math.max(peak, used() - base);
            if (sent === size) return controller.close();
            const chunk = new Uint8Array(piece).fill(sent / piece);
            sent += piece;
            controller.enqueue(chunk);
          },
        }),
    } as unknown as Blob;
    const store = await (await directory()).blobStore();
    const { hash } = await store.put(generated);
    expect(await store.size(hash)).toBe(size);
    expect(peak).toBeLessThan(64 * MIB);
    const middle = await store.read(hash, 100 * MIB, 100 * MIB + 4);
    expect([...middle]).toEqual([400, 400, 400, 400].map((v) => v & 255));
    expect(hashOf(await store.read(hash, 0, 1000))).toBe(hashOf(new Uint8Array(1000)));
  }, 120_000);
});
