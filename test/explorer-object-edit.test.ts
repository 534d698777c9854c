/** Edits from the explorer (edit-session.ts): own connection, commit note, 'stale', conflicts. */
import { describe, expect, it } from 'vitest';
import { Database, MemoryStorage, Persistent, PersistentDict } from '../src/index.js';
import { EditSession, parseScalar, scalarType } from '../src/explorer/edit-session.js';

class Note extends Persistent {
  static _p_name = 'test.Note';
  title = '';
  stars = 0;
}

async function seeded() {
  const storage = new MemoryStorage();
  const db = new Database(storage, { classes: [Note] });
  const app = db.open();
  const root = await app.root();
  const note = new Note();
  note.title = 'first';
  const tags = new PersistentDict<string, unknown>([['a', 1]]);
  root.set('note', note);
  root.set('tags', tags);
  await app.commit();
  return { db, storage, app, note, tags };
}

const setTitle = (value: string) => (obj: Persistent) => void ((obj as Note).title = value);
const readTitle = (obj: Persistent): unknown => (obj as Note).title;

describe('reading typed scalar values', () => {
  it('parses by type, and says when a number is not one', () => {
    expect(parseScalar('12.5', 'number')).toEqual({ ok: true, value: 12.5 });
    expect(parseScalar('-Infinity', 'number')).toEqual({ ok: true, value: -Infinity });
    expect(Number.isNaN((parseScalar('NaN', 'number') as { value: number }).value)).toBe(true);
    const bad = parseScalar('12abc', 'number');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toContain('"12abc" is not a number');
    expect(parseScalar('', 'number').ok).toBe(false);
    expect(parseScalar(' TRUE ', 'boolean')).toEqual({ ok: true, value: true });
    expect(parseScalar('yes', 'boolean').ok).toBe(false);
    expect(parseScalar('anything', 'null')).toEqual({ ok: true, value: null });
    expect(parseScalar(' x ', 'string')).toEqual({ ok: true, value: ' x ' });
  });

  it('edits strings, numbers, booleans and null, nothing else', () => {
    expect([scalarType('a'), scalarType(1), scalarType(false), scalarType(null)]).toEqual([
      'string',
      'number',
      'boolean',
      'null',
    ]);
    expect(scalarType(undefined)).toBeUndefined();
    expect(scalarType([1])).toBeUndefined();
    expect(scalarType(1n)).toBeUndefined();
  });
});

describe('an edit session', () => {
  it('commits a field change with its note in a connection of its own', async () => {
    const { db, app, note } = await seeded();
    const session = await EditSession.open(db, note._p_oid as number, () => undefined);
    const result = await session.save(setTitle('second'), readTitle, 'renamed');
    session.close();
    expect(result.kind).toBe('saved');
    await app.sync();
    await app.load(note);
    expect(note.title).toBe('second');
    const notes: (string | undefined)[] = [];
    for await (const t of db.transactions({ limit: 1 })) notes.push(t.note);
    expect(notes).toEqual(['renamed']);
    await db.close();
  });

  it('adds and removes a dict entry', async () => {
    const { db, app, tags } = await seeded();
    const oid = tags._p_oid as number;
    const add = await EditSession.open(db, oid, () => undefined);
    const read = (obj: Persistent): unknown => (obj as PersistentDict).get('b');
    await add.save((obj) => void (obj as PersistentDict).set('b', true), read, 'add b');
    add.close();
    await app.sync();
    await app.load(tags);
    expect([...tags.keys()]).toEqual(['a', 'b']);
    const remove = await EditSession.open(db, oid, () => undefined);
    await remove.save((obj) => void (obj as PersistentDict).delete('a'), read, 'remove a');
    remove.close();
    await app.sync();
    await app.load(tags);
    expect([...tags.entries()]).toEqual([['b', true]]);
    await db.close();
  });

  it('is marked stale as soon as another connection commits the object, before it saves', async () => {
    const { db, app, note } = await seeded();
    let marks = 0;
    const session = await EditSession.open(db, note._p_oid as number, () => marks++);
    note.title = 'theirs';
    await app.commit();
    expect(session.stale).toBe(true);
    expect(marks).toBe(1);
    session.close();
    await db.close();
  });

  it("shows a conflict with the other side's value, and a retry lands on the current state", async () => {
    const { db, app, note } = await seeded();
    const session = await EditSession.open(db, note._p_oid as number, () => undefined);
    note.title = 'theirs';
    note.stars = 5;
    await app.commit();
    const conflict = await session.save(setTitle('mine'), readTitle, 'mine');
    expect(conflict).toMatchObject({ kind: 'conflict', theirs: 'theirs' });
    expect(session.stale).toBe(false);
    const retried = await session.save(setTitle('mine'), readTitle, 'mine again');
    expect(retried.kind).toBe('saved');
    session.close();
    await app.sync();
    await app.load(note);
    expect([note.title, note.stars]).toEqual(['mine', 5]);
    await db.close();
  });

  it('refuses to open an object that does not exist', async () => {
    const { db } = await seeded();
    await expect(EditSession.open(db, 9999, () => undefined)).rejects.toThrow(
      'There is no object 9999',
    );
    await db.close();
  });

  it('refuses to edit an object whose class this page has not registered', async () => {
    const { storage, note } = await seeded();
    const bare = new Database(storage);
    await expect(EditSession.open(bare, note._p_oid as number, () => undefined)).rejects.toThrow(
      'test.Note',
    );
    await bare.close();
  });
});
