/**
 * A `$blob` marker and the blob record it references must agree on the blob (hash and size): the
 * page reads a Blob's bytes by its tag's hash (the marker), pack keeps the files of live blob
 * records. An archive edited by hand so that they disagree would read one blob's bytes while pack
 * keeps another's: check refuses it before anything is written, commitArchive and importCopy
 * refuse it writing nothing. Type, name and lastModified are the tag's alone (what the page shows):
 * they may differ from the record's.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BTree,
  CorruptStorageError,
  openDatabase,
  PersistentDict,
  type Connection,
  type Database,
} from '../src/index.js';
import { checkArchive } from '../src/archive/check-archive.js';
import { commitArchive } from '../src/archive/commit-archive.js';
import { exportTree } from '../src/archive/export-tree.js';
import { importCopy } from '../src/archive/import-copy.js';
import { archiveBytes, writeArchive, type ArchiveEntry } from '../src/archive/snarf.js';
import {
  blobIn,
  edited,
  entriesOf,
  stateAt,
  type BlobMarker,
  type EntryState,
} from './archive-edit-fixture.js';
import { pattern, sameBytes } from './archive-blobs-fixture.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const SIZE = 4_096;
const COVER = pattern(SIZE, 1);
/** Another stored blob, of the cover's size: naming it instead passes every size check. */
const OTHER = pattern(SIZE, 2);
let made = 0;

interface Album {
  db: Database;
  conn: Connection;
  album: PersistentDict;
  /** The entries of an export of the album, blob entries whole. */
  entries: ArchiveEntry[];
  /** The oid of the blob record of OTHER (held by root → 'shelf', outside the album). */
  otherRecord: number;
}

/**
 * A memory database: root → 'album' (a cover Blob, a notes File, a title) and 'shelf' (holding
 * OTHER), and the entries of an export of the album.
 */
async function makeAlbum(): Promise<Album> {
  const db = await openDatabase(`agree${made++}`, { storage: 'memory' });
  const conn = db.open();
  const root = await conn.root();
  const album = new PersistentDict();
  album.set('cover', new Blob([COVER as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
  album.set('notes', new File(['first roll'], 'notes.txt', { type: 'text/plain' }));
  album.set('title', 'summer');
  const shelf = new PersistentDict();
  shelf.set('other', new Blob([OTHER as Uint8Array<ArrayBuffer>]));
  root.set('album', album);
  root.set('shelf', shelf);
  await conn.commit({ note: 'album' });
  const shelfEntries = await entriesOf(await archiveBytes(exportTree(conn, shelf)));
  const other = blobIn(stateOf(shelfEntries, shelf._p_oid as number), 'other');
  const entries = await entriesOf(await archiveBytes(exportTree(conn, album)));
  return { db, conn, album, entries, otherRecord: Number(other.record.$ref) };
}

/** The state of object `oid`'s entry. */
const stateOf = (entries: ArchiveEntry[], oid: number): EntryState =>
  stateAt(entries, `objects/${oid}.json`);

const albumPath = (a: Album): string => `objects/${a.album._p_oid}.json`;
/** The cover's `$blob` marker in the album's (edited) state. */
const coverOf = (state: EntryState): BlobMarker => blobIn(state, 'cover');

async function tids(db: Database): Promise<number[]> {
  const out: number[] = [];
  for await (const txn of db.transactions()) out.push(txn.tid);
  return out;
}

/** The error `promise` rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (outcome === undefined) throw new Error('expected a refusal; it succeeded');
  return outcome;
}

/**
 * check, commitArchive and importCopy (into the same database) of `entries` all refuse with a
 * CorruptStorageError whose message holds every one of `says`; nothing is written: the same
 * transactions, the album as it was (title, and the cover reading the cover's bytes), no copy.
 */
async function refusedEverywhere(a: Album, entries: ArchiveEntry[], says: string[]): Promise<void> {
  const { db, conn } = a;
  const archive = await archiveBytes(writeArchive(entries));
  const before = await tids(db);
  const blobsBefore = (await db.storage.stats()).blobs;
  const root = await conn.root();
  for (const attempt of [
    () => checkArchive(conn, archive),
    () => commitArchive(conn, archive, { note: 'edited' }),
    () => importCopy(conn, archive, root, 'copy'),
  ]) {
    const error = await rejection(attempt());
    expect(error).toBeInstanceOf(CorruptStorageError);
    for (const said of says) expect(error.message).toContain(said);
  }
  expect(await tids(db)).toEqual(before);
  expect((await db.storage.stats()).blobs).toBe(blobsBefore);
  const reader = db.open();
  const again = (await reader.root()).get('album') as PersistentDict;
  await reader.load(again);
  expect(again.get('title')).toBe('summer');
  const cover = again.get('cover') as Blob;
  expect(sameBytes(new Uint8Array(await cover.arrayBuffer()), COVER)).toBe(true);
  expect((await reader.root()).has('copy')).toBe(false);
  reader.close();
}

describe('a $blob marker that disagrees with its blob record is refused by check, commit and importCopy, writing nothing:', () => {
  it('the marker’s hash changed to another stored blob’s: the entry, both hashes and what to do are named', async () => {
    const a = await makeAlbum();
    const entries = edited(a.entries, albumPath(a), (s) => {
      coverOf(s).$blob = sha256(OTHER);
    });
    const recordPath = `objects/${coverOf(stateOf(a.entries, a.album._p_oid as number)).record.$ref}.json`;
    await refusedEverywhere(a, entries, [
      albumPath(a),
      recordPath,
      sha256(OTHER),
      sha256(COVER),
      'Edit both',
      'check out (export) again',
    ]);
    await a.db.close();
  });

  it('the blob record’s hash changed to another stored blob’s (the marker left as exported): refused naming the marker’s entry and both hashes', async () => {
    const a = await makeAlbum();
    const ref = coverOf(stateOf(a.entries, a.album._p_oid as number)).record.$ref as string;
    const recordPath = `objects/${ref}.json`;
    const entries = edited(a.entries, recordPath, (s) => {
      s.hash = sha256(OTHER);
    });
    await refusedEverywhere(a, entries, [albumPath(a), recordPath, sha256(OTHER), sha256(COVER)]);
    await a.db.close();
  });

  it('the marker’s size changed: refused naming both sizes', async () => {
    const a = await makeAlbum();
    const entries = edited(a.entries, albumPath(a), (s) => {
      coverOf(s).size = SIZE + 1;
    });
    await refusedEverywhere(a, entries, [albumPath(a), `${SIZE + 1} bytes`, `${SIZE} bytes`]);
    await a.db.close();
  });

  it('the marker’s record made an $ext to the blob record of another blob in the database: refused naming that object and both hashes', async () => {
    const a = await makeAlbum();
    const entries = edited(a.entries, albumPath(a), (s) => {
      coverOf(s).record = { $ext: a.otherRecord, class: 'shelfdb.Blob' };
    });
    await refusedEverywhere(a, entries, [
      albumPath(a),
      `object ${a.otherRecord}`,
      sha256(OTHER),
      sha256(COVER),
    ]);
    await a.db.close();
  });

  it('the marker’s record made an $ext to an object that is no blob record (the root dict, its class named right): refused as not a shelfdb.Blob record', async () => {
    const a = await makeAlbum();
    const entries = edited(a.entries, albumPath(a), (s) => {
      coverOf(s).record = { $ext: 0, class: 'shelfdb.PersistentDict' };
    });
    await refusedEverywhere(a, entries, [albumPath(a), 'object 0', 'not a shelfdb.Blob record']);
    await a.db.close();
  });

  it('the marker’s record made a $ref to an entry that is no blob record (the album itself): refused as not a shelfdb.Blob record', async () => {
    const a = await makeAlbum();
    const entries = edited(a.entries, albumPath(a), (s) => {
      coverOf(s).record = { $ref: String(a.album._p_oid) };
    });
    await refusedEverywhere(a, entries, [albumPath(a), 'not a shelfdb.Blob record']);
    await a.db.close();
  });

  it('a marker in a BTree’s page (db.blobs) whose hash was changed: refused naming the page', async () => {
    const db = await openDatabase(`agree${made++}`, { storage: 'memory' });
    const conn = db.open();
    await db.blobs.put(conn, 'cover.png', new Blob([COVER as Uint8Array<ArrayBuffer>]));
    await db.blobs.put(conn, 'other.png', new Blob([OTHER as Uint8Array<ArrayBuffer>]));
    await conn.commit();
    const tree = (await conn.root()).get('shelfdb.blobs') as BTree;
    const entries = await entriesOf(await archiveBytes(exportTree(conn, tree)));
    const page = entries.find((e) => /\.page-0\.json$/.test(e.path)) as ArchiveEntry;
    const text = new TextDecoder().decode(page.bytes);
    expect(text).toContain(sha256(COVER));
    const changed = entries.map((e) =>
      e === page
        ? {
            path: e.path,
            bytes: new TextEncoder().encode(text.replace(sha256(COVER), sha256(OTHER))),
          }
        : e,
    );
    const archive = await archiveBytes(writeArchive(changed));
    const before = await tids(db);
    for (const attempt of [() => checkArchive(conn, archive), () => commitArchive(conn, archive)]) {
      const error = await rejection(attempt());
      expect(error).toBeInstanceOf(CorruptStorageError);
      expect(error.message).toContain(page.path);
      expect(error.message).toContain(sha256(OTHER));
    }
    expect(await tids(db)).toEqual(before);
    expect(await (await db.blobs.get(conn, 'cover.png'))?.text()).toBe(
      new TextDecoder().decode(COVER),
    );
    await db.close();
  });
});

describe('a merge function’s answer', () => {
  it('whose $blob marker names another blob than its record is refused, writing nothing', async () => {
    const a = await makeAlbum();
    const entries = edited(a.entries, albumPath(a), (s) => {
      const title = (s.data as { $map: [string, unknown][] }).$map.find(([k]) => k === 'title');
      (title as [string, unknown])[1] = 'winter';
    });
    const archive = await archiveBytes(writeArchive(entries));
    a.album.set('title', 'autumn');
    await a.conn.commit({ note: 'live edit' });
    const before = await tids(a.db);
    const error = await rejection(
      commitArchive(a.conn, archive, {
        onConflict: ({ archive: state }) => {
          coverOf(state as EntryState).$blob = sha256(OTHER);
          return state;
        },
      }),
    );
    expect(error).toBeInstanceOf(CorruptStorageError);
    for (const said of [albumPath(a), sha256(OTHER), sha256(COVER)]) {
      expect(error.message).toContain(said);
    }
    expect(await tids(a.db)).toEqual(before);
    await a.db.close();
  });
});

describe('a $blob marker that agrees with its blob record is written', () => {
  it('when its record is an $ext to the blob record of the blob it names (hash and size): the cover reads that blob', async () => {
    const a = await makeAlbum();
    const entries = edited(a.entries, albumPath(a), (s) => {
      const cover = coverOf(s);
      cover.$blob = sha256(OTHER);
      cover.record = { $ext: a.otherRecord, class: 'shelfdb.Blob' };
    });
    const archive = await archiveBytes(writeArchive(entries));
    const report = await checkArchive(a.conn, archive);
    expect(report.entries.find((e) => e.oid === a.album._p_oid)?.status).toBe('changed-archive');
    await commitArchive(a.conn, archive, { note: 'other cover' });
    const reader = a.db.open();
    const again = (await reader.root()).get('album') as PersistentDict;
    await reader.load(again);
    const cover = again.get('cover') as Blob;
    expect(sameBytes(new Uint8Array(await cover.arrayBuffer()), OTHER)).toBe(true);
    await a.db.close();
  });

  it('with a type, name and lastModified of its own (the tag’s, which the page shows; the record keeps its own): a File renamed in the archive loads renamed, its bytes intact', async () => {
    const a = await makeAlbum();
    const entries = edited(a.entries, albumPath(a), (s) => {
      const notes = blobIn(s, 'notes');
      Object.assign(notes, { name: 'roll.md', type: 'text/markdown', lastModified: 42 });
    });
    const archive = await archiveBytes(writeArchive(entries));
    await checkArchive(a.conn, archive);
    await commitArchive(a.conn, archive, { note: 'renamed' });
    const reader = a.db.open();
    const again = (await reader.root()).get('album') as PersistentDict;
    await reader.load(again);
    const notes = again.get('notes') as File;
    expect([notes.name, notes.type, notes.lastModified]).toEqual(['roll.md', 'text/markdown', 42]);
    expect(await notes.text()).toBe('first roll');
    await a.db.close();
  });
});
