/**
 * Pack and verify of blob files, over every storage: pack keeps the files of live blob records
 * (every kept revision, commits landing during the pack) and removes the rest once it published,
 * after `blobGraceMs`; an aborted pack removes none; verify reports a missing or damaged file with
 * the blob record's oid.
 */
import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Storage } from '../src/shared/storage.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';
import type { MemoryBlobStore } from '../worker/memory-blob-store.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { removeDatabase } from '../src/archive/database-removal.js';
import { NodeBlockDirectory } from '../worker/node-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { blobPackChecks, clockPast, commitBlob, counting, hashOf } from './storage-checks-blobs.js';

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-blob-pack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let made = 0;

/** A storage with blobGraceMs 0, and what damages its blob files. */
interface Made {
  storage: Storage;
  /** Removes blob file `hash`. */
  remove(hash: string): Promise<void>;
  /** Flips a byte of blob file `hash`. */
  damage(hash: string): Promise<void>;
}

/** The path of blob file `hash` below a blobs folder. */
const pathOf = (hash: string): string[] => [hash.slice(0, 2), hash.slice(2, 4), hash];

const storages: [string, () => Promise<Made>][] = [
  [
    'MemoryStorage',
    async () => {
      const storage = new MemoryStorage({ blobGraceMs: 0 });
      const blobs = (storage as unknown as { blobs: MemoryBlobStore }).blobs;
      return {
        storage,
        remove: async (hash) => {
          await blobs.sweep(
            new Set([...(await listed(blobs))].filter((h) => h !== hash)),
            Infinity,
          );
        },
        damage: async (hash) => {
          (blobs.bytesOf(hash) as Uint8Array)[0] ^= 1;
        },
      };
    },
  ],
  [
    'ShelfStorage on memory',
    async () => {
      const dir = new MemoryBlockDirectory();
      const storage = await ShelfStorage.open(dir, { blobGraceMs: 0, packSliceMs: 0 });
      return {
        storage,
        remove: async (hash) => void dir.blobs.files.delete(pathOf(hash).join('/')),
        damage: async (hash) => {
          const file = dir.blobs.files.get(pathOf(hash).join('/'));
          (file?.chunks[0] as Uint8Array)[0] ^= 1;
        },
      };
    },
  ],
  [
    'ShelfStorage on a Node directory',
    async () => {
      const path = join(scratch, `db-${made++}`);
      const storage = await ShelfStorage.open(await NodeBlockDirectory.create(path), {
        kind: 'file',
        blobGraceMs: 0,
        packSliceMs: 0,
      });
      return {
        storage,
        remove: async (hash) => unlinkSync(join(path, 'blobs', ...pathOf(hash))),
        damage: async (hash) => {
          const file = join(path, 'blobs', ...pathOf(hash));
          const bytes = new Uint8Array(await (await import('node:fs/promises')).readFile(file));
          bytes[0] = (bytes[0] as number) ^ 1;
          writeFileSync(file, bytes);
        },
      };
    },
  ],
  [
    'IndexedDBStorage on fake-indexeddb',
    async () => {
      const indexedDB = new IDBFactory();
      const name = `blob-pack-${made++}`;
      const storage = await IndexedDBStorage.open(name, { indexedDB, IDBKeyRange }, 'strict', {
        blobGraceMs: 0,
      });
      const blobs = (storage as unknown as { blobs: Pick<MemoryBlobStore, 'sweep' | 'list'> })
        .blobs;
      return {
        storage,
        remove: async (hash) => {
          await blobs.sweep(
            new Set([...(await listed(blobs))].filter((h) => h !== hash)),
            Infinity,
          );
        },
        damage: (hash) => damageIndexedDB(indexedDB, name, hash),
      };
    },
  ],
];

/** Every hash a blob store lists. */
async function listed(blobs: Pick<MemoryBlobStore, 'list'>): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const { hash } of blobs.list()) out.add(hash);
  return out;
}

/** Flips the first byte of blob `hash`'s first chunk, through a second connection. */
async function damageIndexedDB(indexedDB: IDBFactory, name: string, hash: string): Promise<void> {
  const db = await requested(indexedDB.open(`shelfdb:${name}`));
  const tx = db.transaction(['blobFiles', 'blobChunks'], 'readwrite');
  const file = (await requested(tx.objectStore('blobFiles').get(hash))) as { putId: string };
  const chunks = tx.objectStore('blobChunks');
  const key = [file.putId, 0];
  const bytes = new Uint8Array((await requested(chunks.get(key))) as ArrayBuffer);
  bytes[0] = (bytes[0] as number) ^ 1;
  await requested(chunks.put(bytes.buffer, key));
  db.close();
}

/** What an IDBRequest gives. */
function requested<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('request failed'));
  });
}

for (const [name, make] of storages) {
  describe(`Blobs and pack: ${name}`, () => {
    for (const [check, run] of blobPackChecks) {
      it(check, () => run(async () => (await make()).storage));
    }

    it('reports a missing and a damaged blob file in verify, with the blob record', async () => {
      const { storage: s, remove, damage } = await make();
      const lost = counting(3000, 1);
      const hurt = counting(3000, 2);
      const first = await commitBlob(s, lost);
      const second = await commitBlob(s, hurt, first.tid);
      expect(await s.verify()).toEqual({ ok: true, problems: [] });
      await remove(hashOf(lost));
      await damage(hashOf(hurt));
      const report = await s.verify();
      expect(report.ok).toBe(false);
      // The root references only the second holder now: the first blob record is unreachable.
      expect(report.problems.map((p) => [p.kind, p.oid])).toEqual([['blob', second.blob]]);
      expect(report.problems[0]?.message).toMatch(new RegExp(`${hashOf(hurt)}.*damaged`));
      await s.close();
    });

    it('reports a missing blob file of a live blob record in verify, naming the hash', async () => {
      const { storage: s, remove } = await make();
      const data = counting(10, 3);
      const { blob } = await commitBlob(s, data);
      await remove(hashOf(data));
      const report = await s.verify();
      expect(report.problems.map((p) => [p.kind, p.oid])).toEqual([['blob', blob]]);
      expect(report.problems[0]?.message).toMatch(new RegExp(`${hashOf(data)}.*missing`));
      await s.close();
    });
  });
}

describe('Blob grace and aborted packs', () => {
  it('pack keeps an unreferenced blob stored less than blobGraceMs before it', async () => {
    for (const s of [
      new MemoryStorage(),
      await ShelfStorage.open(new MemoryBlockDirectory()),
      await ShelfStorage.open(new MemoryBlockDirectory(), { blobGraceMs: 60_000 }),
    ]) {
      const data = counting(10, 4);
      await s.putBlob(new Blob([data as BlobPart]));
      await clockPast(Date.now());
      await s.pack();
      expect([...(await s.readBlob(hashOf(data), 0, 10))]).toEqual([...data]);
      await s.close();
    }
  });

  it('an aborted pack removes no blob file; the next pack does', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir, { blobGraceMs: 0, packSliceMs: 0 });
    const { tid } = await commitBlob(s, counting(10, 5));
    const orphan = counting(10, 6);
    await s.putBlob(new Blob([orphan as BlobPart]));
    await s.commit({
      baseTid: tid,
      records: [{ oid: 0, className: 'test.Thing', state: new Uint8Array([9]), refs: [], tid }],
    });
    await clockPast(Date.now());
    const abort = new AbortController();
    const packing = s.pack({ signal: abort.signal, onProgress: () => abort.abort() });
    await expect(packing).rejects.toThrow();
    expect([...(await s.readBlob(hashOf(orphan), 0, 10))]).toEqual([...orphan]);
    await s.pack();
    await expect(s.readBlob(hashOf(orphan), 0, 10)).rejects.toThrow(hashOf(orphan));
    expect((await s.stats()).blobs).toBe(0);
    await s.close();
  });

  it('refuses a blobGraceMs that is not a number of milliseconds', async () => {
    expect(() => new MemoryStorage({ blobGraceMs: -1 })).toThrow(/blobGraceMs -1/);
    await expect(
      ShelfStorage.open(new MemoryBlockDirectory(), { blobGraceMs: Number.NaN }),
    ).rejects.toThrow(/blobGraceMs NaN/);
  });
});

describe('ShelfStorage blob files on a Node directory', () => {
  it('clears temporaries on open and leaves the blobs folder to the blob store (its cleanup of leftover files never touches it)', async () => {
    const path = join(scratch, `db-${made++}`);
    const open = async (): Promise<ShelfStorage> =>
      ShelfStorage.open(await NodeBlockDirectory.create(path), { kind: 'file' });
    let s = await open();
    const data = counting(2000, 7);
    await commitBlob(s, data);
    await s.pack(); // a pack leaves leftovers to remove: the log's own, never a blob file
    await s.close();
    mkdirSync(join(path, 'blobs', 'tmp'), { recursive: true });
    writeFileSync(join(path, 'blobs', 'tmp', 'interrupted-put'), new Uint8Array(10));
    s = await open();
    expect(readdirSync(join(path, 'blobs', 'tmp'))).toEqual([]);
    expect([...(await s.readBlob(hashOf(data), 0, 2000))]).toEqual([...data]);
    expect(await s.verify()).toEqual({ ok: true, problems: [] });
    await s.close();
  });
});

describe('Removing a database', () => {
  it('removes its blob files with it, in a directory that was there before', async () => {
    const path = join(scratch, `db-${made++}`);
    mkdirSync(path);
    const s = await ShelfStorage.open(await NodeBlockDirectory.create(path), { kind: 'file' });
    await commitBlob(s, counting(100, 8));
    await s.close();
    expect(readdirSync(path)).toContain('blobs');
    await removeDatabase({ name: 'removed', file: { path, existed: true } }, 'file');
    expect(readdirSync(path)).toEqual([]);
  });
});

describe('IndexedDBStorage schema upgrade', () => {
  it('opens a database made before blobs (schema version 1), keeps its records, and stores blobs in it', async () => {
    const indexedDB = new IDBFactory();
    // What version 1 made: records, txns and meta, no blob stores; one transaction in it.
    const request = indexedDB.open('shelfdb:before-blobs', 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const store of ['records', 'txns', 'meta']) db.createObjectStore(store);
      request.transaction?.objectStore('txns').createIndex('txnId', 'txnId');
      const tx = request.transaction as IDBTransaction;
      tx.objectStore('records').put(
        { className: 'test.Thing', state: new Uint8Array([7]), refs: [] },
        [0, 1],
      );
      tx.objectStore('txns').put({ time: 1, note: '', user: '', meta: {}, oids: [0], bytes: 1 }, 1);
      const meta = { lastTid: 1, nextOid: 1, objects: 1, bytes: 1, garbageBytes: 0, floor: 0 };
      tx.objectStore('meta').put({ ...meta, lastPack: undefined }, 'state');
    };
    (await requested(request)).close();
    const s = await IndexedDBStorage.open('before-blobs', { indexedDB, IDBKeyRange });
    expect((await s.load([0]))[0]).toMatchObject({ tid: 1, state: new Uint8Array([7]) });
    const data = counting(10, 9);
    await commitBlob(s, data, 1);
    expect([...(await s.readBlob(hashOf(data), 0, 10))]).toEqual([...data]);
    expect(await s.verify()).toEqual({ ok: true, problems: [] });
    await s.close();
  });
});
