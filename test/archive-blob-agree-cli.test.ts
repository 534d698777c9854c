/**
 * A checkout edited so that a `$blob` marker and its blob record name different blobs: `shelfdb
 * check` reports it (exit 1, naming the file's entry, both blobs and what to do) and `shelfdb
 * commit` refuses it writing nothing, as for an archive (archive-blob-agree.test.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, PersistentDict } from '../src/index.js';
import { pattern, sameBytes } from './archive-blobs-fixture.js';
import { logOf, scratchDir } from './cli-archive-fixture.js';
import { cli } from './cli-fixture.js';

const { fresh } = scratchDir('shelfdb-archive-blob-agree-cli-');

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const SIZE = 20_000;
const COVER = pattern(SIZE, 31);
/** Another stored blob of the cover's size (root → 'other'): naming it passes every size check. */
const OTHER = pattern(SIZE, 32);

/** A closed 'file' database: root → 'album' (a cover Blob, a title) and 'other' (OTHER). */
async function makeAlbum(): Promise<{ path: string; albumOid: number }> {
  const path = fresh('db');
  const db = await openDatabase('cli-agree', { storage: 'file', path });
  try {
    const conn = db.open();
    const root = await conn.root();
    const album = new PersistentDict();
    album.set('cover', new Blob([COVER as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
    album.set('title', 'summer');
    root.set('album', album);
    root.set('other', new Blob([OTHER as Uint8Array<ArrayBuffer>]));
    await conn.commit({ note: 'album' });
    return { path, albumOid: album._p_oid as number };
  } finally {
    await db.close();
  }
}

/** The album's title and its cover's bytes, read from the database. */
async function albumOf(path: string): Promise<{ title: unknown; cover: Uint8Array }> {
  const db = await openDatabase('cli-agree', { storage: 'file', path });
  try {
    const conn = db.open();
    const album = (await conn.root()).get('album') as PersistentDict;
    await conn.load(album);
    const cover = album.get('cover') as Blob;
    return { title: album.get('title'), cover: new Uint8Array(await cover.arrayBuffer()) };
  } finally {
    await db.close();
  }
}

/** Checks the album out; returns the folder and the id of the cover's blob record. */
async function checkedOut(
  path: string,
  albumOid: number,
): Promise<{ dir: string; record: string }> {
  const dir = fresh('checkout');
  const out = await cli(['checkout', path, String(albumOid), dir]);
  expect(out.code, out.stderr).toBe(0);
  const text = readFileSync(join(dir, 'objects', `${albumOid}.json`), 'utf8');
  const record = /"\$ref":\s*"(\d+)"/.exec(text)?.[1];
  if (record === undefined) throw new Error('the album names no blob record');
  return { dir, record };
}

/** Replaces `from` by `to` in the checked-out file `objects/<id>.json`, as an editor would. */
function editFile(dir: string, id: string | number, from: string | RegExp, to: string): void {
  const file = join(dir, 'objects', `${id}.json`);
  const text = readFileSync(file, 'utf8');
  const changed = text.replace(from, to);
  expect(changed).not.toBe(text);
  writeFileSync(file, changed);
}

/**
 * `check` and `commit` of `dir` exit 1 with every one of `says` on stderr; the commit writes
 * nothing (the same log, the album as it was).
 */
async function refused(path: string, dir: string, says: string[]): Promise<void> {
  const checked = await cli(['check', path, dir]);
  expect(checked.code, checked.stdout).toBe(1);
  for (const said of says) expect(checked.stderr).toContain(said);

  const before = await logOf(path);
  const committed = await cli(['commit', path, dir, '--note', 'edited']);
  expect(committed.code, committed.stdout).toBe(1);
  for (const said of says) expect(committed.stderr).toContain(said);
  expect(await logOf(path)).toEqual(before);
  const album = await albumOf(path);
  expect(album.title).toBe('summer');
  expect(sameBytes(album.cover, COVER)).toBe(true);
}

describe('shelfdb check and commit of a checkout whose $blob marker and blob record disagree', () => {
  it('the marker’s hash changed to another stored blob’s: check exits 1 naming the entry and both hashes, commit writes nothing', async () => {
    const { path, albumOid } = await makeAlbum();
    const { dir, record } = await checkedOut(path, albumOid);
    editFile(dir, albumOid, sha256(COVER), sha256(OTHER));
    editFile(dir, albumOid, '"summer"', '"winter"');
    await refused(path, dir, [
      `objects/${albumOid}.json`,
      `objects/${record}.json`,
      sha256(OTHER),
      sha256(COVER),
      'check out (export) again',
    ]);
  });

  it('the blob record’s hash changed to another stored blob’s: check exits 1 naming the marker’s entry and both hashes, commit writes nothing', async () => {
    const { path, albumOid } = await makeAlbum();
    const { dir, record } = await checkedOut(path, albumOid);
    editFile(dir, record, sha256(COVER), sha256(OTHER));
    await refused(path, dir, [`objects/${albumOid}.json`, sha256(OTHER), sha256(COVER)]);
  });

  it('the marker’s size changed: check exits 1 naming both sizes, commit writes nothing', async () => {
    const { path, albumOid } = await makeAlbum();
    const { dir } = await checkedOut(path, albumOid);
    editFile(dir, albumOid, new RegExp(`"size":\\s*${SIZE}`), `"size": ${SIZE - 1}`);
    await refused(path, dir, [`objects/${albumOid}.json`, `${SIZE - 1} bytes`, `${SIZE} bytes`]);
  });
});
