/**
 * Backups carry blob files: `blobs/<hash>` entries, once per hash, before the first transaction
 * that references them; restore stores each (its bytes checked against its name) before the
 * transactions after it, and refuses a backup whose blob entry is damaged, cut or missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptStorageError, Database, openDatabase } from '../src/index.js';
import type { Storage } from '../src/shared/storage.js';
import { restoreDatabase, restoreInto } from '../src/archive/restore.js';
import {
  archiveBytes,
  readArchive,
  writeArchive,
  type ArchiveEntry,
  type StreamedEntry,
} from '../src/archive/snarf.js';
import { BLOB_ENTRY } from '../src/archive/backup-blobs.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { commitBlobs, ownedBlobAt, pattern, sameBytes, streamOf } from './archive-blobs-fixture.js';

const MB = 1_000_000;

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-archive-blobs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let made = 0;

/** A database with a root over `storage` (a MemoryStorage by default), and its storage. */
async function fresh(
  storage: MemoryStorage | undefined = new MemoryStorage(),
): Promise<{ db: Database; storage: Storage }> {
  const db = new Database(storage);
  return withRoot(db);
}

async function withRoot(db: Database): Promise<{ db: Database; storage: Storage }> {
  const conn = db.open();
  await conn.root();
  await conn.commit({ note: 'root' });
  conn.close();
  return { db, storage: db.storage };
}

/** The storages the round trips run on: memory, and ShelfStorage on Node files. */
const KINDS = [
  {
    name: 'memory',
    fresh: () => fresh(),
    restore: (source: Uint8Array | ReadableStream<Uint8Array>) =>
      restoreDatabase(`m${made++}`, source, { storage: 'memory' }),
  },
  {
    name: 'Node files (ShelfStorage)',
    fresh: async () =>
      withRoot(await openDatabase('f', { storage: 'file', path: join(scratch, `f${made++}`) })),
    restore: (source: Uint8Array | ReadableStream<Uint8Array>) =>
      restoreDatabase('f', source, { storage: 'file', path: join(scratch, `f${made++}`) }),
  },
];

/** Every entry of an archive, blob entries' bytes gathered. */
async function entriesOf(archive: Uint8Array): Promise<ArchiveEntry[]> {
  const out: ArchiveEntry[] = [];
  for await (const entry of readArchive(archive, { streamed: (p) => BLOB_ENTRY.test(p) })) {
    if ('bytes' in entry) out.push(entry);
    else out.push({ path: entry.path, bytes: await gather(entry) });
  }
  return out;
}

async function gather(entry: StreamedEntry): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const piece of entry.chunks) parts.push(piece);
  return new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer());
}

/** An archive of `entries` (its end entry's checksums made anew: only the content checks see). */
const rewrite = (entries: ArchiveEntry[]): Promise<Uint8Array> =>
  archiveBytes(writeArchive(entries));

describe('a backup with blobs', () => {
  for (const kind of KINDS) {
    it(`on ${kind.name}, holds each blob file once, before the first transaction that references it, and restores every one byte for byte: 0 B, 1 MB and one shared by two records`, async () => {
      const { db, storage } = await kind.fresh();
      const big = pattern(MB, 1);
      const first = await commitBlobs(storage, [new Uint8Array(0), big], undefined, 'two');
      // The same bytes again, as another record (another Blob object): one file.
      const second = await commitBlobs(storage, [big.slice(), 'shared?'], undefined, 'three');
      const backup = await archiveBytes(db.backup());

      const paths = (await entriesOf(backup)).map((e) => e.path);
      const blobPaths = paths.filter((p) => p.startsWith('blobs/'));
      expect(blobPaths).toHaveLength(3); // empty, big, 'shared?': big once
      const firstBlobAt = paths.findIndex((p) => p.startsWith('blobs/'));
      expect(paths[firstBlobAt - 1]).toMatch(/^transactions\/\d+\.bin$/); // after the root's
      expect(paths.slice(firstBlobAt, firstBlobAt + 3)).toEqual([
        ...blobPaths.slice(0, 2),
        `transactions/${first.tid}.json`,
      ]);
      expect(paths.indexOf(blobPaths[2] as string)).toBe(
        paths.indexOf(`transactions/${second.tid}.json`) - 1,
      );

      const intoMemory = await restoreInto(new MemoryStorage(), backup);
      expect(intoMemory.blobs).toBe(3);
      for (const source of [backup, streamOf(backup)]) {
        const restored = await kind.restore(source);
        const target = restored.storage;
        expect(await ownedBlobAt(target, first.owner, first.tid, 0)).toEqual(new Uint8Array(0));
        expect(sameBytes(await ownedBlobAt(target, first.owner, first.tid, 1), big)).toBe(true);
        expect(sameBytes(await ownedBlobAt(target, second.owner, second.tid, 0), big)).toBe(true);
        expect(
          new TextDecoder().decode(await ownedBlobAt(target, second.owner, second.tid, 1)),
        ).toBe('shared?');
        const stats = await target.stats();
        expect([stats.blobs, stats.blobBytes]).toEqual([3, MB + 7]);
        await restored.close();
      }
      await db.close();
    });

    it(`on ${kind.name}, restored, reads an old blob through time travel: the owner at an earlier tid names the blob it had then`, async () => {
      const { db, storage } = await kind.fresh();
      const before = await commitBlobs(storage, ['the first photo'], undefined, 'v1');
      const after = await commitBlobs(storage, ['the second photo'], before.owner, 'v2');
      const restored = await kind.restore(await archiveBytes(db.backup()));
      const text = async (tid: number): Promise<string> =>
        new TextDecoder().decode(await ownedBlobAt(restored.storage, before.owner, tid));
      expect(await text(before.tid)).toBe('the first photo');
      expect(await text(after.tid)).toBe('the second photo');
      await Promise.all([db.close(), restored.close()]);
    });
  }

  it('gzipped, restores the same blobs', async () => {
    const { db, storage } = await fresh();
    const { owner, tid } = await commitBlobs(storage, [pattern(300_000, 2)]);
    const target = new MemoryStorage();
    await restoreInto(target, await archiveBytes(db.backup({ gzip: true })));
    expect(sameBytes(await ownedBlobAt(target, owner, tid), pattern(300_000, 2))).toBe(true);
    await db.close();
  });

  it('of version 1 (before blobs) still restores', async () => {
    const { db } = await fresh();
    const entries = await entriesOf(await archiveBytes(db.backup()));
    const header = JSON.parse(new TextDecoder().decode(entries[0]?.bytes)) as { version: number };
    expect(header.version).toBe(2);
    header.version = 1;
    entries[0] = {
      path: 'shelfdb-backup.json',
      bytes: new TextEncoder().encode(JSON.stringify(header)),
    };
    const target = new MemoryStorage();
    expect((await restoreInto(target, await rewrite(entries))).transactions).toBe(1);
    await db.close();
  });
});

describe('restore refuses, storing nothing of the blob,', () => {
  /** A backup of one transaction with one blob of `size` bytes, its entries, and the blob's path. */
  async function oneBlob(
    size = 200_000,
  ): Promise<{ backup: Uint8Array; entries: ArchiveEntry[]; path: string }> {
    const { db, storage } = await fresh();
    await commitBlobs(storage, [pattern(size, 3)]);
    const backup = await archiveBytes(db.backup());
    await db.close();
    const entries = await entriesOf(backup);
    const path = (entries.find((e) => BLOB_ENTRY.test(e.path)) as ArchiveEntry).path;
    return { backup, entries, path };
  }

  /** Restores `source` into a new MemoryStorage: refused with `message`, no blob stored. */
  async function refused(
    source: Uint8Array | ReadableStream<Uint8Array>,
    message: RegExp,
  ): Promise<void> {
    const target = new MemoryStorage();
    const error = await restoreInto(target, source).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CorruptStorageError);
    expect((error as Error).message).toMatch(message);
    expect((await target.stats()).blobs).toBe(0);
  }

  it('a blob entry whose bytes were changed, even with its checksum made anew: its bytes do not hash to its name', async () => {
    const { entries, path } = await oneBlob();
    const at = entries.findIndex((e) => e.path === path);
    const bytes = (entries[at] as ArchiveEntry).bytes.slice();
    bytes[1234] = (bytes[1234] as number) ^ 0x10;
    entries[at] = { path, bytes };
    const damaged = await rewrite(entries);
    const named = new RegExp(
      `${path.replace('/', '\\/')}.*do not hash to its name|hash to [0-9a-f]{64}, not to the name`,
    );
    await refused(damaged, named);
    await refused(streamOf(damaged), named);
    await expect(restoreDatabase('changed', damaged, { storage: 'memory' })).rejects.toThrow(path);
  });

  it('a blob entry with a byte flipped in transit: named by its hash or checksum', async () => {
    const { backup, path } = await oneBlob();
    const text = new TextDecoder('latin1').decode(backup);
    const inside = text.indexOf(`${path}\n`) + path.length + 1 + 5000;
    const damaged = backup.slice();
    damaged[inside] = (damaged[inside] as number) ^ 0x01;
    await refused(damaged, new RegExp(path.replace('/', '\\/')));
    await refused(streamOf(damaged), new RegExp(path.replace('/', '\\/')));
  });

  it('a backup cut inside a blob entry: named', async () => {
    const { backup, path } = await oneBlob();
    const text = new TextDecoder('latin1').decode(backup);
    const cut = backup.slice(0, text.indexOf(`${path}\n`) + path.length + 1 + 100_000);
    await refused(cut, new RegExp(`cut short inside entry \\d+ \\(${path.replace('/', '\\/')}\\)`));
    await refused(streamOf(cut), /cut short inside/);
    await expect(restoreDatabase('cut', streamOf(cut), { storage: 'memory' })).rejects.toThrow(
      CorruptStorageError,
    );
  });

  it('a backup whose blob record names a blob it does not hold: refused before that transaction, naming the blob', async () => {
    const { entries, path } = await oneBlob();
    const hash = path.slice('blobs/'.length);
    const without = await rewrite(entries.filter((e) => e.path !== path));
    const message = new RegExp(`names blob ${hash}, and no blobs/${hash} entry comes before it`);
    const target = new MemoryStorage();
    await expect(restoreInto(target, without)).rejects.toThrow(message);
    // The root's transaction came before it; the blob's did not land.
    expect((await target.sync(0)).tid).toBe(1);
    await expect(restoreDatabase('missing', without, { storage: 'memory' })).rejects.toThrow(
      message,
    );
  });
});
