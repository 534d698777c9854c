/**
 * Checkouts carry blob files: `blobs/<hash>` beside `objects/`, written a piece at a time from a
 * streamed export, read back just before the blob record that names them, checked against their
 * names, removed when a new checkout no longer has them.
 */
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  openAsBlob,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BLOB_ENTRY } from '../src/archive/backup-blobs.js';
import { checkArchive } from '../src/archive/check-archive.js';
import { commitArchive } from '../src/archive/commit-archive.js';
import { directoryEntries, writeCheckout } from '../src/archive/directory.js';
import { exportTree } from '../src/archive/export-tree.js';
import { importCopy } from '../src/archive/import-copy.js';
import {
  archiveBytes,
  readArchive,
  writeArchive,
  type ArchiveEntry,
  type StreamedEntry,
} from '../src/archive/snarf.js';
import { TREE_HEADER } from '../src/archive/tree-format.js';
import {
  CorruptStorageError,
  openDatabase,
  PersistentDict,
  ShelfError,
  type Connection,
  type Database,
} from '../src/index.js';
import { pattern, sameBytes } from './archive-blobs-fixture.js';

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-checkout-blobs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let made = 0;
/** A fresh path under the scratch folder (not created). */
const fresh = (name: string): string => join(scratch, `${name}-${++made}`);

const isBlob = (path: string): boolean => BLOB_ENTRY.test(path);
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const NOTES = new TextEncoder().encode('first roll');

/** A 'file' database (ShelfStorage on Node files) at a fresh path. */
const newDatabase = (): Promise<Database> =>
  openDatabase('checkout-blobs', { storage: 'file', path: fresh('db') });

/** A database with `album` under the root: a cover Blob, a notes File, a title. */
async function withAlbum(
  cover: Uint8Array,
): Promise<{ db: Database; conn: Connection; album: PersistentDict }> {
  const db = await newDatabase();
  const conn = db.open();
  const root = await conn.root();
  const album = new PersistentDict();
  album.set('cover', new Blob([cover as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
  album.set('notes', new File([NOTES], 'notes.txt', { type: 'text/plain', lastModified: 5 }));
  album.set('title', 'summer');
  root.set('album', album);
  await conn.commit({ note: 'album' });
  return { db, conn, album };
}

/** Checks `start` out into `dir` as the CLI does: blob entries streamed from the export. */
const checkout = (conn: Connection, start: PersistentDict, dir: string) =>
  writeCheckout(dir, readArchive(exportTree(conn, start), { streamed: isBlob }));

/** The names in `<dir>/blobs`, sorted. */
const blobNames = (dir: string): string[] => readdirSync(join(dir, 'blobs')).sort();

/** The bytes of the Blob at `key` of `dict`. */
async function bytesOf(conn: Connection, dict: PersistentDict, key: string): Promise<Uint8Array> {
  await conn.load(dict);
  return new Uint8Array(await (dict.get(key) as Blob).arrayBuffer());
}

/** Every entry of the checkout in `dir`, read streamed, blob files gathered (path and bytes). */
async function entriesOf(dir: string): Promise<ArchiveEntry[]> {
  const out: ArchiveEntry[] = [];
  for await (const entry of directoryEntries(dir, { streamed: isBlob })) {
    out.push('bytes' in entry ? entry : { path: entry.path, bytes: await gathered(entry) });
  }
  return out;
}

async function gathered(entry: StreamedEntry): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const piece of entry.chunks) parts.push(piece);
  return new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer());
}

const json = (bytes: Uint8Array): { class?: string; state?: Record<string, unknown> } =>
  JSON.parse(new TextDecoder().decode(bytes)) as {
    class?: string;
    state?: Record<string, unknown>;
  };

/** Changes one byte of the blob file `hash` of the checkout `dir`, as an editor would. */
function damageBlob(dir: string, hash: string): string {
  const file = join(dir, 'blobs', hash);
  const bytes = readFileSync(file);
  bytes[3] = (bytes[3] as number) ^ 0xff;
  writeFileSync(file, bytes);
  return file;
}

describe('a checkout of a tree with blobs', () => {
  it('holds each blob file under blobs/<its SHA-256>, byte for byte the Blob committed', async () => {
    const cover = pattern(2_500_000, 3);
    const { db, conn, album } = await withAlbum(cover);
    const dir = fresh('checkout');
    const result = await checkout(conn, album, dir);
    expect(blobNames(dir)).toEqual([sha256(cover), sha256(NOTES)].sort());
    expect(sameBytes(readFileSync(join(dir, 'blobs', sha256(cover))), cover)).toBe(true);
    expect(readFileSync(join(dir, 'blobs', sha256(NOTES)), 'utf8')).toBe('first roll');
    // The header, the album, two blob records and their two blob files.
    expect(result.files).toBe(6);
    expect(result.bytes).toBeGreaterThan(cover.byteLength + NOTES.byteLength);
    // No temp file is left behind.
    expect(readdirSync(join(dir, 'blobs')).filter((n) => n.startsWith('.'))).toEqual([]);
    await db.close();
  });

  it('checks out twice into one folder: the second replaces the first, its blob files the same', async () => {
    const cover = pattern(300_000, 4);
    const { db, conn, album } = await withAlbum(cover);
    const dir = fresh('checkout');
    await checkout(conn, album, dir);
    album.set('title', 'autumn');
    await conn.commit();
    const second = await checkout(conn, album, dir);
    expect(second.removed).toBe(0);
    expect(blobNames(dir)).toEqual([sha256(cover), sha256(NOTES)].sort());
    expect(sameBytes(readFileSync(join(dir, 'blobs', sha256(cover))), cover)).toBe(true);
    expect(readFileSync(join(dir, 'objects', `${album._p_oid}.json`), 'utf8')).toContain('autumn');
    await db.close();
  });

  it('checked out again without a blob, removes its blob file and counts it as removed', async () => {
    const cover = pattern(200_000, 5);
    const { db, conn, album } = await withAlbum(cover);
    const dir = fresh('checkout');
    await checkout(conn, album, dir);
    album.delete('cover');
    await conn.commit();
    const again = await checkout(conn, album, dir);
    expect(blobNames(dir)).toEqual([sha256(NOTES)]);
    // The cover's blob record's entry and its blob file.
    expect(again.removed).toBe(2);
    await db.close();
  });

  it('is read back with each blob file just before the first blob record naming it, once per hash, and without blob files no record names', async () => {
    const cover = pattern(1_200_000, 6);
    const { db, conn, album } = await withAlbum(cover);
    // A second Blob object of the same bytes: a second record, one blob file.
    album.set('cover copy', new Blob([cover as Uint8Array<ArrayBuffer>]));
    await conn.commit();
    const dir = fresh('checkout');
    await checkout(conn, album, dir);
    const stray = new TextEncoder().encode('no record names me');
    writeFileSync(join(dir, 'blobs', sha256(stray)), stray);

    const entries = await entriesOf(dir);
    const paths = entries.map((e) => e.path);
    expect(paths[0]).toBe(TREE_HEADER);
    expect(paths.filter(isBlob).sort()).toEqual(
      [`blobs/${sha256(cover)}`, `blobs/${sha256(NOTES)}`].sort(),
    );
    const records = entries.filter(
      (e) => !isBlob(e.path) && json(e.bytes).class === 'shelfdb.Blob',
    );
    expect(records).toHaveLength(3);
    for (const record of records) {
      const hash = json(record.bytes).state?.hash as string;
      const blobAt = paths.indexOf(`blobs/${hash}`);
      expect(blobAt).toBeGreaterThan(0);
      expect(blobAt).toBeLessThan(paths.indexOf(record.path));
    }
    // The first record naming a hash comes right after its blob file.
    for (const [at, path] of paths.entries()) {
      if (!isBlob(path)) continue;
      const next = entries[at + 1] as ArchiveEntry;
      expect(json(next.bytes).state?.hash).toBe(path.slice('blobs/'.length));
    }
    const coverEntry = entries[paths.indexOf(`blobs/${sha256(cover)}`)] as ArchiveEntry;
    expect(sameBytes(coverEntry.bytes, cover)).toBe(true);

    // Read without `streamed`, blob files come whole, in the same order.
    const whole: string[] = [];
    for await (const entry of directoryEntries(dir)) {
      expect(entry.bytes).toBeInstanceOf(Uint8Array);
      whole.push(entry.path);
    }
    expect(whole).toEqual(paths);
    await db.close();
  });

  it('imports into another database (importCopy from the folder) with the same bytes, and commits back into its own', async () => {
    const cover = pattern(700_000, 7);
    const { db, conn, album } = await withAlbum(cover);
    const dir = fresh('checkout');
    await checkout(conn, album, dir);

    const other = await newDatabase();
    const into = other.open();
    const root = await into.root();
    await importCopy(into, dir, root, 'copy');
    const copy = root.get('copy') as PersistentDict;
    expect(sameBytes(await bytesOf(into, copy, 'cover'), cover)).toBe(true);
    expect(new TextDecoder().decode(await bytesOf(into, copy, 'notes'))).toBe('first roll');
    expect((copy.get('notes') as File).name).toBe('notes.txt');

    // The checkout read streamed makes an archive that a third database imports the same.
    const archive = await archiveBytes(writeArchive(directoryEntries(dir, { streamed: isBlob })));
    const third = await newDatabase();
    const into3 = third.open();
    const root3 = await into3.root();
    await importCopy(into3, archive, root3, 'copy');
    const copy3 = root3.get('copy') as PersistentDict;
    expect(sameBytes(await bytesOf(into3, copy3, 'cover'), cover)).toBe(true);

    // Its own database: unchanged everywhere, then an edited title commits and keeps the blobs.
    const report = await checkArchive(conn, dir);
    expect(new Set(report.entries.map((e) => e.status))).toEqual(new Set(['unchanged']));
    const file = join(dir, 'objects', `${album._p_oid}.json`);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"summer"', '"winter"'));
    await commitArchive(conn, dir);
    await conn.sync();
    await conn.load(album);
    expect(album.get('title')).toBe('winter');
    expect(sameBytes(await bytesOf(conn, album, 'cover'), cover)).toBe(true);
    await Promise.all([db.close(), other.close(), third.close()]);
  });

  it('with a changed blob file is refused by check, commit and import, naming the file, and nothing is written', async () => {
    const cover = pattern(400_000, 8);
    const { db, conn, album } = await withAlbum(cover);
    const dir = fresh('checkout');
    await checkout(conn, album, dir);
    const file = damageBlob(dir, sha256(cover));

    const refusal = (error: unknown): string => {
      expect(error).toBeInstanceOf(CorruptStorageError);
      return (error as Error).message;
    };
    const checked = refusal(await checkArchive(conn, dir).catch((e: unknown) => e));
    expect(checked).toContain(file);
    expect(checked).toContain('not to its name');
    expect(checked).toMatch(/objects\/\d+\.json names it/);

    const before = (await db.storage.sync(0)).tid;
    expect(refusal(await commitArchive(conn, dir).catch((e: unknown) => e))).toContain(file);
    expect((await db.storage.sync(0)).tid).toBe(before);

    const other = await newDatabase();
    const into = other.open();
    const root = await into.root();
    await into.commit();
    const otherBefore = await other.storage.stats();
    expect(refusal(await importCopy(into, dir, root, 'copy').catch((e: unknown) => e))).toContain(
      file,
    );
    const otherAfter = await other.storage.stats();
    expect(otherAfter.blobs).toBe(otherBefore.blobs);
    expect(root.has('copy')).toBe(false);

    // Read streamed too: the last piece of the file throws.
    expect(refusal(await entriesOf(dir).catch((e: unknown) => e))).toContain(file);
    await Promise.all([db.close(), other.close()]);
  });

  it('whose blob file was deleted commits back into its own database (which stores the blob), and import into another is refused naming the record', async () => {
    const { db, conn, album } = await withAlbum(pattern(100_000, 9));
    const dir = fresh('checkout');
    await checkout(conn, album, dir);
    rmSync(join(dir, 'blobs', sha256(NOTES)));
    const report = await checkArchive(conn, dir);
    expect(new Set(report.entries.map((e) => e.status))).toEqual(new Set(['unchanged']));

    const other = await newDatabase();
    const into = other.open();
    const root = await into.root();
    const error = await importCopy(into, dir, root, 'copy').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStorageError);
    expect((error as Error).message).toContain(`has no entry blobs/${sha256(NOTES)}`);
    expect((error as Error).message).toMatch(/Archive entry objects\/\d+\.json/);
    await Promise.all([db.close(), other.close()]);
  });
});

describe('writing and reading blob files of a checkout, refused', () => {
  const header = (): ArchiveEntry => ({
    path: TREE_HEADER,
    bytes: new TextEncoder().encode('{"format":"shelfdb-archive","version":2}\n'),
  });

  it('a blob entry whose bytes do not hash to its name: no file takes its name, the checkout has no header', async () => {
    const dir = fresh('checkout');
    const named = new TextEncoder().encode('the bytes named');
    const given = new TextEncoder().encode('other bytes');
    const entries: (ArchiveEntry | StreamedEntry)[] = [
      header(),
      {
        path: `blobs/${sha256(named)}`,
        size: given.byteLength,
        chunks: (async function* () {
          yield given;
        })(),
      },
    ];
    const error = await writeCheckout(dir, entries).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStorageError);
    expect((error as Error).message).toContain(`the entry blobs/${sha256(named)} into ${dir}`);
    expect((error as Error).message).toContain('check out again');
    expect(readdirSync(join(dir, 'blobs'))).toEqual([]); // not even its temp file
    expect(existsSync(join(dir, TREE_HEADER))).toBe(false);
  });

  it('a folder whose blobs/ holds a file not named by a SHA-256: checking out into it writes nothing, reading it names the file', async () => {
    const dir = fresh('checkout');
    mkdirSync(join(dir, 'blobs'), { recursive: true });
    writeFileSync(join(dir, 'blobs', 'cat.png'), 'meow');
    const error = await writeCheckout(dir, [header()]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShelfError);
    expect((error as Error).message).toContain('blobs/cat.png');
    expect(readdirSync(dir).sort()).toEqual(['blobs']);

    writeFileSync(join(dir, TREE_HEADER), header().bytes);
    const reading = await directoryEntries(dir)
      .next()
      .catch((e: unknown) => e);
    expect(reading).toBeInstanceOf(CorruptStorageError);
    expect((reading as Error).message).toContain(join(dir, 'blobs', 'cat.png'));
    expect((reading as Error).message).toContain('named by the SHA-256 of its bytes');
  });
});

describe('a checkout of a 100 MB blob', () => {
  it('writes and reads the blob file a piece at a time: the live heap and array buffers grow by a few pieces, not by the blob (measured)', async () => {
    const MB = 1_000_000;
    const mib = (n: number): string => (n / 2 ** 20).toFixed(1);
    const db = await newDatabase();
    const conn = db.open();
    const root = await conn.root();
    const album = new PersistentDict();
    // The Blob is a file on disk (openAsBlob): no 100 MB array is in memory, before or after.
    const source = fresh('cover.bin');
    const made = createHash('sha256');
    for (let i = 0; i < 100; i++) {
      const piece = pattern(MB, 10 + i);
      made.update(piece);
      appendFileSync(source, piece);
    }
    const hash = made.digest('hex');
    album.set('cover', await openAsBlob(source));
    root.set('album', album);
    await conn.commit();

    // Vitest runs with --expose-gc (vite.config.ts): live memory is measured after a collection.
    const gc = (globalThis as { gc?: () => void }).gc as () => void;
    const used = (): number => {
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return heapUsed + arrayBuffers;
    };
    let pieces = 0;
    let live = 0;
    const sample = (): void => {
      if (++pieces % 4 === 0) {
        gc();
        live = Math.max(live, used());
      }
    };
    /** The entries, each sampled as it comes, and a streamed entry's pieces as they pass. */
    async function* sampled(
      entries: AsyncIterable<ArchiveEntry | StreamedEntry>,
    ): AsyncGenerator<ArchiveEntry | StreamedEntry> {
      for await (const entry of entries) {
        // Each entry measured too: one read whole would be in memory here.
        gc();
        live = Math.max(live, used());
        if ('bytes' in entry) {
          yield entry;
          continue;
        }
        const { chunks } = entry;
        yield {
          path: entry.path,
          size: entry.size,
          chunks: (async function* () {
            for await (const piece of chunks) {
              sample();
              yield piece;
            }
          })(),
        };
      }
    }

    /**
     * How far the live memory rose above its settled level while `run` ran: the settled level is
     * the lower of before and after (what the test itself let go of, such as the 100 MB array it
     * built the Blob from, may be collected only meanwhile).
     */
    const growth = async (run: () => Promise<void>): Promise<number> => {
      gc();
      const before = used();
      live = before;
      await run();
      gc();
      return live - Math.min(before, used());
    };

    const dir = fresh('checkout');
    const written = await growth(async () => {
      await writeCheckout(dir, sampled(readArchive(exportTree(conn, album), { streamed: isBlob })));
    });
    expect(readFileSync(join(dir, 'blobs', hash)).byteLength).toBe(100 * MB);

    let bytes = 0;
    const hasher = createHash('sha256');
    const read = await growth(async () => {
      for await (const entry of sampled(directoryEntries(dir, { streamed: isBlob }))) {
        if ('bytes' in entry) continue;
        for await (const piece of entry.chunks) {
          hasher.update(piece);
          bytes += piece.byteLength;
        }
      }
    });
    expect(bytes).toBe(100 * MB);
    expect(hasher.digest('hex')).toBe(hash);
    // The blob came in 1 MiB pieces both ways (96 each), not whole.
    expect(pieces).toBe(192);
    // eslint-disable-next-line no-console -- the measurement the report quotes
    console.info(
      `checkout of a 100 MB blob: ${pieces} pieces; live heap + array buffers after collection at most +${mib(written)} MiB writing, +${mib(read)} MiB reading back`,
    );
    // A few 1 MiB pieces in flight, the storage's read buffers and pieces not collected yet (up to
    // 18 MiB seen beside another test file at load 12); the blob is 95.4 MiB.
    expect(written).toBeLessThan(32 * 2 ** 20);
    expect(read).toBeLessThan(32 * 2 ** 20);
    await db.close();
  }, 120_000); // 100 MB made, put, hashed, written and read with forced collections on a shared machine
});
