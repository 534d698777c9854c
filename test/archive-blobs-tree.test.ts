/**
 * Exports carry blobs: a Blob's record is an object of the tree (always inside with its owner),
 * its file a `blobs/<hash>` entry; importCopy and commitArchive store the blob entries before they
 * commit, and refuse a damaged or missing one, naming it, writing nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CorruptStorageError,
  openDatabase,
  PersistentDict,
  type Connection,
  type Database,
} from '../src/index.js';
import { BLOB_ENTRY } from '../src/archive/backup-blobs.js';
import { checkArchive } from '../src/archive/check-archive.js';
import { commitArchive } from '../src/archive/commit-archive.js';
import { exportTree } from '../src/archive/export-tree.js';
import { importCopy } from '../src/archive/import-copy.js';
import { archiveBytes, writeArchive, type ArchiveEntry } from '../src/archive/snarf.js';
import { pattern, sameBytes } from './archive-blobs-fixture.js';
import { cli } from './cli-fixture.js';
import { entriesOf } from './archive-edit-fixture.js';

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-archive-blobs-tree-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let made = 0;

const KINDS: { name: string; open: () => Promise<Database> }[] = [
  { name: 'memory', open: () => openDatabase(`t${made++}`, { storage: 'memory' }) },
  {
    name: 'Node files (ShelfStorage)',
    open: () => openDatabase('t', { storage: 'file', path: join(scratch, `t${made++}`) }),
  },
];

/** A database with `album` (a PersistentDict under the root): a cover Blob, a notes File, a title. */
async function withAlbum(
  open: () => Promise<Database>,
  cover: Uint8Array,
): Promise<{ db: Database; conn: Connection; album: PersistentDict }> {
  const db = await open();
  const conn = db.open();
  const root = await conn.root();
  const album = new PersistentDict();
  // A Blob (no name) and a File.
  album.set('cover', new Blob([cover as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
  album.set(
    'notes',
    new File(['first roll'], 'notes.txt', { type: 'text/plain', lastModified: 5 }),
  );
  album.set('title', 'summer');
  root.set('album', album);
  await conn.commit({ note: 'album' });
  return { db, conn, album };
}

const json = (entry: ArchiveEntry): Record<string, unknown> =>
  JSON.parse(new TextDecoder().decode(entry.bytes)) as Record<string, unknown>;

async function bytesOf(conn: Connection, dict: PersistentDict, key: string): Promise<Uint8Array> {
  await conn.load(dict);
  return new Uint8Array(await (dict.get(key) as Blob).arrayBuffer());
}

describe('an export with blobs', () => {
  for (const kind of KINDS) {
    it(`on ${kind.name}, holds each blob record as an entry with its blob file before it, the owner's state a $blob marker referencing the record; importCopy into another database reads the same bytes`, async () => {
      const cover = pattern(1_500_000, 9);
      const { db, conn, album } = await withAlbum(kind.open, cover);
      const archive = await archiveBytes(exportTree(conn, album));
      const entries = await entriesOf(archive);
      const header = json(entries[0] as ArchiveEntry);
      expect(header.version).toBe(2);
      const paths = entries.map((e) => e.path);
      const blobPaths = paths.filter((p) => BLOB_ENTRY.test(p));
      expect(blobPaths).toHaveLength(2);
      for (const path of blobPaths) {
        const next = entries[paths.indexOf(path) + 1] as ArchiveEntry;
        expect(json(next).class).toBe('shelfdb.Blob');
        expect((json(next).state as { hash: string }).hash).toBe(path.slice('blobs/'.length));
      }
      const albumEntry = json(
        entries.find((e) => e.path === `objects/${album._p_oid}.json`) as ArchiveEntry,
      );
      const notes = (albumEntry.state as Record<string, { $map?: unknown }>)['data'];
      expect(JSON.stringify(notes)).toMatch(
        /"\$blob":"[0-9a-f]{64}","lastModified":5,"name":"notes\.txt","record":\{"\$ref":"\d+"\},"size":10,"type":"text\/plain"/,
      );

      const other = await kind.open();
      const into = other.open();
      const root = await into.root();
      await importCopy(into, archive, root, 'copy');
      const copy = root.get('copy') as PersistentDict;
      expect(sameBytes(await bytesOf(into, copy, 'cover'), cover)).toBe(true);
      expect(new TextDecoder().decode(await bytesOf(into, copy, 'notes'))).toBe('first roll');
      const notesFile = copy.get('notes') as File;
      expect([notesFile.name, notesFile.type, notesFile.lastModified]).toEqual([
        'notes.txt',
        'text/plain',
        5,
      ]);
      expect((await other.storage.stats()).blobs).toBe(2);
      await Promise.all([db.close(), other.close()]);
    });
  }

  it('edited and committed back keeps the blob: the owner changes, its Blob reads the same bytes', async () => {
    const cover = pattern(200_000, 4);
    const { db, conn, album } = await withAlbum(KINDS[0]!.open, cover);
    const entries = await entriesOf(await archiveBytes(exportTree(conn, album)));
    const at = entries.findIndex((e) => e.path === `objects/${album._p_oid}.json`);
    const edited = new TextDecoder().decode(entries[at]!.bytes).replace('"summer"', '"winter"');
    entries[at] = { path: entries[at]!.path, bytes: new TextEncoder().encode(edited) };
    const archive = await archiveBytes(writeArchive(entries));
    const report = await checkArchive(conn, archive);
    expect(report.entries.filter((e) => e.status !== 'unchanged').map((e) => e.status)).toEqual([
      'changed-archive',
    ]);
    await commitArchive(conn, archive, { note: 'winter' });
    const reader = db.open();
    const again = (await reader.root()).get('album') as PersistentDict;
    await reader.load(again);
    expect(again.get('title')).toBe('winter');
    expect(sameBytes(await bytesOf(reader, again, 'cover'), cover)).toBe(true);
    await db.close();
  });
});

describe('importing an export with blobs refuses, writing nothing,', () => {
  /**
   * Imports `entries` into a new database: refused with `message`, no transaction written, and at
   * most `orphans` blob files stored (blob entries read before the refusal were stored as they came
   * — they are never held — and nothing references them: pack removes them after its grace).
   */
  async function refusedImport(
    entries: ArchiveEntry[],
    message: RegExp,
    orphans: number,
  ): Promise<void> {
    const other = await openDatabase(`r${made++}`, { storage: 'memory' });
    const into = other.open();
    const root = await into.root();
    await into.commit();
    const before = await other.storage.stats();
    const archive = await archiveBytes(writeArchive(entries));
    const error = await importCopy(into, archive, root, 'copy').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CorruptStorageError);
    expect((error as Error).message).toMatch(message);
    const after = await other.storage.stats();
    expect([after.transactions, after.blobs]).toEqual([
      before.transactions,
      before.blobs + orphans,
    ]);
    await other.close();
  }

  it('a blob entry whose bytes were changed (its checksum made anew): named, its bytes do not hash to its name', async () => {
    const { db, conn, album } = await withAlbum(KINDS[0]!.open, pattern(100_000, 6));
    const entries = await entriesOf(await archiveBytes(exportTree(conn, album)));
    const at = entries.findIndex((e) => BLOB_ENTRY.test(e.path));
    const bytes = entries[at]!.bytes.slice();
    bytes[0] = (bytes[0] as number) ^ 1;
    entries[at] = { path: entries[at]!.path, bytes };
    // The damaged one is the first blob entry: refused before it is stored, nothing before it.
    await refusedImport(entries, new RegExp(`${entries[at]!.path}: its \\d+ bytes hash to`), 0);
    await db.close();
  });

  it('a blob entry left out: the blob record entry naming it, and the blob it misses', async () => {
    const { db, conn, album } = await withAlbum(KINDS[0]!.open, pattern(100_000, 7));
    const entries = await entriesOf(await archiveBytes(exportTree(conn, album)));
    const gone = entries.find((e) => BLOB_ENTRY.test(e.path))!.path;
    const hash = gone.slice('blobs/'.length);
    await refusedImport(
      entries.filter((e) => e.path !== gone),
      new RegExp(`objects/\\d+\\.json: its blob ${hash} has no entry blobs/${hash} in the archive`),
      1, // the other blob, stored as it came
    );
    await db.close();
  });
});

describe('the command line', () => {
  it('shows a Blob in show and dump as the $blob marker with its blob record, and backs up and restores it', async () => {
    const path = join(scratch, `cli${made++}`);
    const db = await openDatabase('cli', { storage: 'file', path });
    const conn = db.open();
    const root = await conn.root();
    root.set('note', new File(['hello'], 'hello.txt', { type: 'text/plain', lastModified: 7 }));
    await conn.commit();
    await db.close();
    const shown = await cli(['show', path, '0', '--json']);
    expect(shown.stderr).toBe('');
    expect(shown.stdout).toMatch(
      /"\$blob":\s*"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",\s*"size":\s*5,\s*"type":\s*"text\/plain",\s*"name":\s*"hello\.txt",\s*"lastModified":\s*7,\s*"record":\s*\{\s*"\$ref":\s*1,\s*"class":\s*"shelfdb\.Blob"\s*\}/,
    );
    const dumped = await cli(['dump', path]);
    expect(dumped.stdout).toContain('"$blob"');
    const file = join(scratch, `cli${made++}.backup`);
    expect((await cli(['backup', path, file])).code).toBe(0);
    const copy = join(scratch, `cli${made++}`);
    const restored = await cli(['restore', file, copy]);
    expect(restored.stderr).toBe('');
    const again = await openDatabase('cli', { storage: 'file', path: copy });
    const note = (await again.open().root()).get('note') as File;
    expect([await note.text(), note.name]).toEqual(['hello', 'hello.txt']);
    await again.close();
  });
});
