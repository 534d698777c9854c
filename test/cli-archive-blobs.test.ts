/**
 * `shelfdb checkout`, `check`, `commit` and `import` of a tree holding Blobs, run in process on real
 * 'file' databases: the checkout carries the blob files (`blobs/<hash>`), and reads them back.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, PersistentDict } from '../src/index.js';
import { pattern, sameBytes } from './archive-blobs-fixture.js';
import { logOf, scratchDir, statuses } from './cli-archive-fixture.js';
import { cli } from './cli-fixture.js';

const { fresh } = scratchDir('shelfdb-cli-archive-blobs-');

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const NOTES = new TextEncoder().encode('first roll');

/** A closed 'file' database: root → 'album' (a cover Blob, a notes File, a title). */
async function makeAlbum(cover: Uint8Array): Promise<{ path: string; albumOid: number }> {
  const path = fresh('db');
  const db = await openDatabase('cli-blobs', { storage: 'file', path });
  try {
    const conn = db.open();
    const root = await conn.root();
    const album = new PersistentDict();
    album.set('cover', new Blob([cover as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
    album.set('notes', new File([NOTES], 'notes.txt', { type: 'text/plain', lastModified: 5 }));
    album.set('title', 'summer');
    root.set('album', album);
    await conn.commit({ note: 'album' });
    return { path, albumOid: album._p_oid as number };
  } finally {
    await db.close();
  }
}

/** The title and the bytes of the cover and notes under the root's `key`, read from the database. */
async function albumAt(
  path: string,
  key: string,
): Promise<{ title: unknown; cover: Uint8Array; notes: string }> {
  const db = await openDatabase('cli-blobs', { storage: 'file', path });
  try {
    const conn = db.open();
    const root = await conn.root();
    const album = root.get(key) as PersistentDict;
    await conn.load(album);
    const bytes = async (k: string): Promise<Uint8Array> =>
      new Uint8Array(await (album.get(k) as Blob).arrayBuffer());
    return {
      title: album.get('title'),
      cover: await bytes('cover'),
      notes: new TextDecoder().decode(await bytes('notes')),
    };
  } finally {
    await db.close();
  }
}

/** Checks `albumOid` of `path` out into a fresh folder; returns the folder. */
async function checkedOut(path: string, albumOid: number): Promise<string> {
  const dir = fresh('checkout');
  const out = await cli(['checkout', path, String(albumOid), dir]);
  expect(out.code, out.stderr).toBe(0);
  return dir;
}

/** Sets the album's title in its checked-out file, as a person in an editor would. */
function editTitle(dir: string, albumOid: number, title: string): void {
  const file = join(dir, 'objects', `${albumOid}.json`);
  const text = readFileSync(file, 'utf8');
  expect(text).toContain('"summer"');
  writeFileSync(file, text.replace('"summer"', JSON.stringify(title)));
}

describe('shelfdb checkout of a tree with blobs', () => {
  it('writes each blob file under blobs/<its SHA-256>, byte for byte; check finds all unchanged; a second checkout into the folder succeeds', async () => {
    const cover = pattern(1_500_000, 21);
    const { path, albumOid } = await makeAlbum(cover);
    const dir = await checkedOut(path, albumOid);
    expect(readdirSync(join(dir, 'blobs')).sort()).toEqual([sha256(cover), sha256(NOTES)].sort());
    expect(sameBytes(readFileSync(join(dir, 'blobs', sha256(cover))), cover)).toBe(true);
    expect(readFileSync(join(dir, 'blobs', sha256(NOTES)), 'utf8')).toBe('first roll');

    const checked = await statuses(path, dir);
    expect(checked.code).toBe(0);
    expect(new Set(checked.byOid.values())).toEqual(new Set(['unchanged']));
    expect(checked.byOid.size).toBe(3); // the album and its two blob records

    const again = await cli(['checkout', path, String(albumOid), dir, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ objects: 3, removed: 0 });
    expect(sameBytes(readFileSync(join(dir, 'blobs', sha256(cover))), cover)).toBe(true);
  });

  it('commit of an edited title writes it, keeps the blobs, and checks the folder out again', async () => {
    const cover = pattern(600_000, 22);
    const { path, albumOid } = await makeAlbum(cover);
    const dir = await checkedOut(path, albumOid);
    editTitle(dir, albumOid, 'winter');
    const committed = await cli(['commit', path, dir, '--note', 'retitled', '--json']);
    expect(committed.code, committed.stderr).toBe(0);
    expect(JSON.parse(committed.stdout)).toMatchObject({ updated: true });

    const album = await albumAt(path, 'album');
    expect(album.title).toBe('winter');
    expect(sameBytes(album.cover, cover)).toBe(true);
    expect(album.notes).toBe('first roll');
    // Checked out again as committed: nothing to commit, the blob files still there.
    expect(new Set((await statuses(path, dir)).byOid.values())).toEqual(new Set(['unchanged']));
    expect(readdirSync(join(dir, 'blobs')).sort()).toEqual([sha256(cover), sha256(NOTES)].sort());
  });

  it('import of the checkout into another database stores its blobs there: the copy reads the same bytes', async () => {
    const cover = pattern(800_000, 23);
    const { path, albumOid } = await makeAlbum(cover);
    const dir = await checkedOut(path, albumOid);
    const other = await makeAlbum(pattern(1_000, 24));

    const out = await cli(['import', other.path, dir, '--into', '0', '--name', 'copy']);
    expect(out.code, out.stderr).toBe(0);
    const copy = await albumAt(other.path, 'copy');
    expect(copy.title).toBe('summer');
    expect(sameBytes(copy.cover, cover)).toBe(true);
    expect(copy.notes).toBe('first roll');
  });

  it('with a changed blob file, check and commit exit 1 naming the file, and commit writes nothing', async () => {
    const cover = pattern(300_000, 25);
    const { path, albumOid } = await makeAlbum(cover);
    const dir = await checkedOut(path, albumOid);
    const file = join(dir, 'blobs', sha256(cover));
    const bytes = readFileSync(file);
    bytes[10] = (bytes[10] as number) ^ 0xff;
    writeFileSync(file, bytes);
    editTitle(dir, albumOid, 'winter');

    const checked = await cli(['check', path, dir]);
    expect(checked.code).toBe(1);
    expect(checked.stderr).toContain(file);
    expect(checked.stderr).toContain('not to its name');

    const before = await logOf(path);
    const committed = await cli(['commit', path, dir]);
    expect(committed.code).toBe(1);
    expect(committed.stderr).toContain(file);
    expect(await logOf(path)).toEqual(before);
    expect((await albumAt(path, 'album')).title).toBe('summer');
  });
});
