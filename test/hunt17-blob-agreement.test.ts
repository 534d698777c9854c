/**
 * Hunt 17: ways a `$blob` marker (the owner's tag, what the page reads) and the blob record it
 * references (what pack keeps) can still come to disagree in stored state through commitArchive,
 * although check/commit/importCopy compare the markers and records the archive holds.
 *
 * A blob record is immutable to the page and may be shared by several owners (a StoredBlob put
 * into another object references the same record). An archive that rewrites the record's hash
 * changes the blob of every owner of it, including owners whose marker the archive does not carry
 * or does not write: their tag keeps the old hash while pack keeps only the new one, and the old
 * bytes are swept.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CorruptStorageError, Database, PersistentDict, type Connection } from '../src/index.js';
import { checkArchive } from '../src/archive/check-archive.js';
import { commitArchive } from '../src/archive/commit-archive.js';
import { exportTree } from '../src/archive/export-tree.js';
import { archiveBytes, writeArchive, type ArchiveEntry } from '../src/archive/snarf.js';
import { blobIn, edited, entriesOf, stateAt, type EntryState } from './archive-edit-fixture.js';
import { decodeBlobRecord } from '../src/shared/blob-record.js';
import { storedBlobState } from '../src/stored-blob.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { pattern, sameBytes } from './archive-blobs-fixture.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const SIZE = 4_096;
const COVER = pattern(SIZE, 31);
const OTHER = pattern(SIZE, 32);

function setTitle(state: EntryState, title: string): void {
  const pair = (state.data as { $map: [string, unknown][] }).$map.find(([k]) => k === 'title');
  (pair as [string, unknown])[1] = title;
}

/**
 * The blob `key` of `dict` as a fresh connection loads it: the hash its tag names (what the page
 * reads) and the hash its blob record names (what pack keeps).
 */
async function tagAndRecord(
  db: Database,
  dictKey: string,
  key: string,
): Promise<{ tag: string; record: string; blob: Blob }> {
  const reader = db.open();
  const dict = (await reader.root()).get(dictKey) as PersistentDict;
  await reader.load(dict);
  const blob = dict.get(key) as Blob;
  const state = storedBlobState(blob);
  if (state === undefined) throw new Error(`${dictKey}.${key} is no stored blob`);
  const [record] = await db.storage.load([state.fields.oid]);
  const { hash } = decodeBlobRecord((record as { state: Uint8Array }).state);
  return { tag: state.fields.hash, record: hash, blob };
}

interface Album {
  db: Database;
  conn: Connection;
  album: PersistentDict;
  entries: ArchiveEntry[];
  albumPath: string;
  recordPath: string;
}

/**
 * root → 'album' (title, cover = COVER) and 'shelf' (OTHER stored, and, when `share`, the album's
 * loaded cover put into it as well: one blob record, two owners); the album exported.
 */
async function makeAlbum(share: boolean): Promise<Album> {
  const db = new Database(new MemoryStorage({ blobGraceMs: 0 }));
  const conn = db.open();
  const root = await conn.root();
  const album = new PersistentDict();
  album.set('cover', new Blob([COVER as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
  album.set('title', 'summer');
  const shelf = new PersistentDict();
  shelf.set('other', new Blob([OTHER as Uint8Array<ArrayBuffer>]));
  root.set('album', album);
  root.set('shelf', shelf);
  await conn.commit();
  if (share) {
    const other = db.open();
    const loaded = (await other.root()).get('album') as PersistentDict;
    await other.load(loaded);
    const s = (await other.root()).get('shelf') as PersistentDict;
    await other.load(s);
    s.set('copy', loaded.get('cover'));
    await other.commit();
    other.close();
    await conn.sync();
  }
  const entries = await entriesOf(await archiveBytes(exportTree(conn, album)));
  const albumPath = `objects/${album._p_oid}.json`;
  const recordPath = `objects/${blobIn(stateAt(entries, albumPath), 'cover').record.$ref}.json`;
  return { db, conn, album, entries, albumPath, recordPath };
}

/** The album's cover made OTHER in the archive, consistently: its marker and its record. */
function coverReplaced(a: Album): ArchiveEntry[] {
  const byMarker = edited(a.entries, a.albumPath, (s) => {
    blobIn(s, 'cover').$blob = sha256(OTHER);
  });
  return edited(byMarker, a.recordPath, (s) => {
    s.hash = sha256(OTHER);
  });
}

describe('commitArchive never stores a Blob whose tag names other bytes than its blob record', () => {
  it('with onConflict "live", the owner kept live still reads its own bytes after a pack when the archive rewrote its blob record', async () => {
    const a = await makeAlbum(false);
    const archive = await archiveBytes(
      writeArchive(
        edited(coverReplaced(a), a.albumPath, (s) => {
          setTitle(s, 'winter');
        }),
      ),
    );
    a.album.set('title', 'autumn'); // the album changed live: a conflict, kept live
    await a.conn.commit();
    const outcome = await commitArchive(a.conn, archive, { onConflict: 'live' }).catch(
      (e: unknown) => e,
    );
    expect(outcome).toBeInstanceOf(CorruptStorageError);
    expect((outcome as Error).message).toContain(a.recordPath);
    await a.conn.sync();
    const { tag, record } = await tagAndRecord(a.db, 'album', 'cover');
    expect(record).toBe(tag);
    await a.db.pack();
    const { blob } = await tagAndRecord(a.db, 'album', 'cover');
    expect(sameBytes(new Uint8Array(await blob.arrayBuffer()), COVER)).toBe(true);
    await a.db.close();
  });

  it('an owner outside the archive that shares the blob record still reads its own bytes after a pack when the archive rewrote that record', async () => {
    const a = await makeAlbum(true);
    const before = await tagAndRecord(a.db, 'shelf', 'copy');
    expect(before.tag).toBe(sha256(COVER));
    const archive = await archiveBytes(writeArchive(coverReplaced(a)));
    const outcome = await commitArchive(a.conn, archive).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(CorruptStorageError);
    expect((outcome as Error).message).toContain(a.recordPath);
    await a.conn.sync();
    const { tag, record } = await tagAndRecord(a.db, 'shelf', 'copy');
    expect(record).toBe(tag);
    await a.db.pack();
    const { blob } = await tagAndRecord(a.db, 'shelf', 'copy');
    expect(sameBytes(new Uint8Array(await blob.arrayBuffer()), COVER)).toBe(true);
    await a.db.close();
  });
});

describe('checkArchive says before any commit that an archive rewrites a blob record', () => {
  it('refuses an archive whose blob record entry names another blob, naming the entry and both blobs, as commit would', async () => {
    const a = await makeAlbum(true);
    const archive = await archiveBytes(writeArchive(coverReplaced(a)));
    const outcome = await checkArchive(a.conn, archive).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(CorruptStorageError);
    const message = (outcome as Error).message;
    expect(message).toContain(a.recordPath);
    expect(message).toContain(sha256(COVER));
    expect(message).toContain(sha256(OTHER));
    await a.db.close();
  });

  it("passes the album's archive as exported: every entry unchanged", async () => {
    const a = await makeAlbum(false);
    const report = await checkArchive(a.conn, await archiveBytes(writeArchive(a.entries)));
    expect(report.entries.every((e) => e.status === 'unchanged')).toBe(true);
    await a.db.close();
  });
});

describe('commitArchive gives an owner another blob the way the refusal says', () => {
  it('through a new blob record entry (no oid): the owner reads the new bytes, the old record and its other owner keep theirs', async () => {
    const a = await makeAlbum(true);
    const state = {
      hash: sha256(OTHER),
      name: null,
      size: SIZE,
      type: 'image/png',
    };
    const added: ArchiveEntry = {
      path: 'objects/new-cover.json',
      bytes: new TextEncoder().encode(
        JSON.stringify({ class: 'shelfdb.Blob', id: 'new-cover', state }, null, 2),
      ),
    };
    const entries = edited(a.entries, a.albumPath, (s) => {
      const marker = blobIn(s, 'cover');
      marker.$blob = sha256(OTHER);
      marker.record = { $ref: 'new-cover' };
    });
    const at = entries.findIndex((e) => e.path === a.albumPath);
    entries.splice(at, 0, added);
    await commitArchive(a.conn, await archiveBytes(writeArchive(entries)));
    await a.db.pack();
    for (const [dict, key, bytes] of [
      ['album', 'cover', OTHER],
      ['shelf', 'copy', COVER],
    ] as const) {
      const { tag, record, blob } = await tagAndRecord(a.db, dict, key);
      expect(record).toBe(tag);
      expect(sameBytes(new Uint8Array(await blob.arrayBuffer()), bytes)).toBe(true);
    }
    await a.db.close();
  });
});
