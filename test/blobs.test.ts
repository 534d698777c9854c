/**
 * Blobs in object state, over MemoryStorage and ShelfStorage on Node files: a Blob or File stored
 * in an object comes back (in another connection, after the commit) as a StoredBlob / StoredFile
 * with its size, type, name and lastModified at once and its bytes read from the storage; the same
 * bytes are one blob file; the same Blob object is one blob record; Blobs nest in containers and
 * BTrees; time travel reads the bytes an old revision held.
 */
import { describe, expect, it } from 'vitest';
import { BTree, type Database, type PersistentDict } from '../src/index.js';
import { StoredBlob, StoredFile } from '../src/stored-blob.js';
import {
  BACKENDS,
  Doc,
  bytesOf,
  connOf,
  hooked,
  open,
  recordOf,
  sameBytes,
} from './blobs-fixture.js';

/** Commits `doc` under the root key 'doc' and reads it back through a new connection. */
async function roundTrip(db: Database, doc: Doc): Promise<Doc> {
  const conn = db.open();
  const root = await conn.root();
  root.set('doc', doc);
  await conn.commit();
  const other = db.open();
  return (await other.root()).get('doc') as Doc;
}

async function loaded(db: Database): Promise<{ root: PersistentDict; doc: Doc }> {
  const conn = db.open();
  const root = await conn.root();
  const doc = root.get('doc') as Doc;
  await conn.load(doc);
  return { root, doc };
}

describe.each(BACKENDS)('Blobs in object state over %s', (_name, make) => {
  for (const size of [0, 1, 10 << 20]) {
    it(`a Blob of ${size} bytes comes back with its size and type at once and its bytes read lazily`, async () => {
      const db = open(await make());
      const bytes = bytesOf(size);
      const doc = new Doc();
      doc.photo = new Blob([bytes], { type: 'image/png' });
      const back = await roundTrip(db, doc);
      await connOf(back).load(back);
      const photo = back.photo as StoredBlob;
      expect(photo).toBeInstanceOf(StoredBlob);
      expect(photo).toBeInstanceOf(Blob);
      expect(photo.size).toBe(size);
      expect(photo.type).toBe('image/png');
      expect(sameBytes(await photo.arrayBuffer(), bytes)).toBe(true);
      expect(photo.hash).toMatch(/^[0-9a-f]{64}$/);
      await db.close();
    });
  }

  it('a File keeps its name and lastModified, and file() gives a platform File of its bytes', async () => {
    const db = open(await make());
    const doc = new Doc();
    doc.photo = new File(['hello, world'], 'note.txt', { type: 'text/plain', lastModified: 1234 });
    await roundTrip(db, doc);
    const { doc: back } = await loaded(db);
    const file = back.photo as StoredFile;
    expect(file).toBeInstanceOf(StoredFile);
    expect(file).toBeInstanceOf(File);
    expect([file.name, file.lastModified, file.type, file.size]).toEqual([
      'note.txt',
      1234,
      'text/plain',
      12,
    ]);
    expect(await file.text()).toBe('hello, world');
    const platform = await file.file();
    expect(platform).not.toBeInstanceOf(StoredFile);
    expect([platform.name, platform.lastModified, platform.type]).toEqual([
      'note.txt',
      1234,
      'text/plain',
    ]);
    expect(await platform.text()).toBe('hello, world');
    await db.close();
  });

  it('slices read only their range, as Blob.slice counts it, and stream() gives the bytes in order', async () => {
    const db = open(await make());
    const bytes = bytesOf(3 << 20, 5); // three read chunks
    const doc = new Doc();
    doc.photo = new Blob([bytes]);
    await roundTrip(db, doc);
    const { doc: back } = await loaded(db);
    const blob = back.photo as StoredBlob;
    const cases: [number | undefined, number | undefined][] = [
      [10, 20],
      [-5, undefined],
      [(1 << 20) - 3, (2 << 20) + 3],
      [50, 10],
      [undefined, undefined],
    ];
    for (const [start, end] of cases) {
      const part = blob.slice(start, end, 'x/y');
      const expected = bytes.slice(start, end);
      expect(part.size).toBe(expected.length);
      expect(part.type).toBe('x/y');
      expect(sameBytes(await part.bytes(), expected)).toBe(true);
      expect(sameBytes(await (await part.file()).arrayBuffer(), expected)).toBe(true);
    }
    const streamed = await new Response(blob.slice(7).stream()).arrayBuffer();
    expect(sameBytes(streamed, bytes.slice(7))).toBe(true);
    await db.close();
  });

  it('two Blobs of the same bytes in two objects are one blob file and two records', async () => {
    const db = open(await make());
    const conn = db.open();
    const root = await conn.root();
    const a = new Doc();
    const b = new Doc();
    a.photo = new Blob([bytesOf(1000)]);
    b.photo = new Blob([bytesOf(1000)]);
    root.set('a', a);
    root.set('b', b);
    await conn.commit();
    const stats = await db.stats();
    expect([stats.blobs, stats.blobBytes]).toEqual([1, 1000]);
    const other = await db.open().root();
    const [la, lb] = [other.get('a') as Doc, other.get('b') as Doc];
    await connOf(la).load(la, lb);
    expect((la.photo as StoredBlob).hash).toBe((lb.photo as StoredBlob).hash);
    expect(recordOf(la.photo)).not.toBe(recordOf(lb.photo));
    await db.close();
  });

  it('the same Blob object committed in two objects, then in a later commit, is one blob record stored once', async () => {
    const { storage, hooks } = hooked(await make());
    const db = open(storage);
    const conn = db.open();
    const root = await conn.root();
    const blob = new Blob([bytesOf(100)]);
    const a = new Doc();
    const b = new Doc();
    a.photo = blob;
    b.photo = { nested: [blob] };
    root.set('a', a);
    root.set('b', b);
    await conn.commit();
    const c = new Doc();
    c.photo = blob;
    root.set('c', c);
    await conn.commit();
    expect(hooks.puts).toHaveLength(1);
    const blobRecords = hooks.commits.flatMap((t) =>
      t.records.filter((r) => r.className === 'shelfdb.Blob'),
    );
    expect(blobRecords).toHaveLength(1);
    const other = await db.open().root();
    const docs = ['a', 'b', 'c'].map((k) => other.get(k) as Doc);
    await connOf(docs[0]).load(...docs);
    const oids = [docs[0]?.photo, (docs[1]?.photo as { nested: Blob[] }).nested[0], docs[2]?.photo];
    expect(new Set(oids.map(recordOf))).toEqual(new Set([blobRecords[0]?.oid]));
    // The owning records list the blob record, so pack keeps it.
    const owner = hooks.commits.flatMap((t) => t.records).find((r) => r.className === 'Doc');
    expect(owner?.refs).toContain(blobRecords[0]?.oid);
    await db.close();
  });

  it('a StoredBlob moved to another object is not stored again and keeps its record', async () => {
    const { storage, hooks } = hooked(await make());
    const db = open(storage);
    const doc = new Doc();
    doc.photo = new File(['abc'], 'a.txt');
    await roundTrip(db, doc);
    const { root, doc: back } = await loaded(db);
    const moved = new Doc();
    moved.photo = back.photo;
    back.photo = null;
    root.set('moved', moved);
    await connOf(back).commit();
    expect(hooks.puts).toHaveLength(1);
    const { root: again } = await loaded(db);
    const m = again.get('moved') as Doc;
    await connOf(m).load(m);
    expect(recordOf(m.photo)).toBe(recordOf(back.photo ?? moved.photo));
    expect((m.photo as StoredFile).name).toBe('a.txt');
    expect(await (m.photo as Blob).text()).toBe('abc');
    await db.close();
  });

  it('Blobs nested in arrays, Maps, Sets and plain objects round-trip, a Blob met twice in one state stays one object', async () => {
    const db = open(await make());
    const doc = new Doc();
    const shared = new Blob(['shared']);
    doc.photo = [new Blob(['x']), { deep: new Map([['k', new Blob(['y'])]]) }, shared];
    doc.more = { again: shared, set: new Set([new Blob(['z'])]) };
    await roundTrip(db, doc);
    const { doc: back } = await loaded(db);
    const [x, inner, s] = back.photo as [Blob, { deep: Map<string, Blob> }, Blob];
    const more = back.more as { again: Blob; set: Set<Blob> };
    expect(await x.text()).toBe('x');
    expect(await inner.deep.get('k')?.text()).toBe('y');
    expect(await s.text()).toBe('shared');
    expect(more.again).toBe(s);
    expect(await [...more.set][0]?.text()).toBe('z');
    await db.close();
  });

  it('a Blob as a BTree value is stored with the BTree and loads from it', async () => {
    const db = open(await make());
    const conn = db.open();
    const root = await conn.root();
    const tree = new BTree<string, Blob>();
    root.set('tree', tree);
    for (let i = 0; i < 100; i++) await tree.set(`k${i}`, new Blob([`value ${i}`]));
    await conn.commit();
    const other = await db.open().root();
    const back = other.get('tree') as BTree<string, Blob>;
    expect(await (await back.get('k42'))?.text()).toBe('value 42');
    expect(await db.stats()).toMatchObject({ blobs: 100 });
    await db.close();
  });

  it('time travel reads the bytes the old revision held after the Blob was replaced', async () => {
    const db = open(await make());
    const conn = db.open();
    const root = await conn.root();
    const doc = new Doc();
    doc.photo = new Blob(['old bytes']);
    root.set('doc', doc);
    const first = await conn.commit();
    doc.photo = new Blob(['new bytes']);
    await conn.commit();
    const then = await db.open({ at: first }).root();
    const past = then.get('doc') as Doc;
    await connOf(past).load(past);
    expect(await (past.photo as Blob).text()).toBe('old bytes');
    const { doc: now } = await loaded(db);
    expect(await (now.photo as Blob).text()).toBe('new bytes');
    await db.close();
  });

  it('reading a Blob whose file pack removed fails with a StorageError naming the blob and what to do', async () => {
    const db = open(await make());
    const conn = db.open();
    const root = await conn.root();
    const doc = new Doc();
    doc.photo = new File(['gone soon'], 'gone.txt');
    root.set('doc', doc);
    await conn.commit();
    const { doc: back } = await loaded(db);
    const held = back.photo as StoredFile;
    connOf(back).close();
    doc.photo = null;
    await conn.commit();
    await db.pack();
    const read = held.text();
    await expect(read).rejects.toThrow(/gone\.txt.*store the Blob again/s);
    await expect(read).rejects.toMatchObject({ name: 'StorageError' });
    await expect(held.file()).rejects.toMatchObject({ name: 'StorageError' });
    await db.close();
  });
});
