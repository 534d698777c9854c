/** What the object view shows of an object (object-model.ts), taken without any app class. */
import { describe, expect, it } from 'vitest';
import { BTree, Database, MemoryStorage, Persistent, PersistentDict } from '../src/index.js';
import { describeObject, FIELD_LIMIT } from '../src/explorer/object-model.js';
import { valueText } from '../src/explorer/value-model.js';

class Note extends Persistent {
  static _p_name = 'test.Note';
  title = 'hello';
  stars = 3;
  tags: string[] = ['a'];
}

async function stored(classes: (typeof Note)[] = [Note]) {
  const storage = new MemoryStorage();
  const db = new Database(storage, { classes });
  const conn = db.open();
  const root = await conn.root();
  const note = new Note();
  const wide = new Note();
  for (let i = 0; i < FIELD_LIMIT + 5; i++)
    (wide as unknown as Record<string, number>)[`f${i}`] = i;
  root.set('note', note);
  root.set('wide', wide);
  root.set('tree', new BTree());
  await conn.commit();
  return { storage, db, conn, root, note, wide };
}

describe("the object view's model of an object", () => {
  it('has the oid, stored class, size and serial, and each field described, scalars editable', async () => {
    const { db, conn, note } = await stored();
    const model = describeObject(note, conn);
    expect(model).toMatchObject({ oid: note._p_oid, className: 'test.Note', kind: 'object' });
    expect(model.size).toBeGreaterThan(0);
    expect(model.serial).toBe(note._p_serial);
    expect(model.readOnly).toBeUndefined();
    expect(model.fields.map((f) => [f.name, valueText(f.value), f.scalar?.type])).toEqual([
      ['title', '"hello"', 'string'],
      ['stars', '3', 'number'],
      ['tags', '["a"]', undefined],
    ]);
    await db.close();
  });

  it("shows a dict's entries as its table, not as a field", async () => {
    const { db, conn, root } = await stored();
    const model = describeObject(root as PersistentDict, conn);
    expect(model.kind).toBe('dict');
    expect(model.fields).toEqual([]);
    await db.close();
  });

  it('counts the fields past the limit instead of describing them', async () => {
    const { db, conn, wide } = await stored();
    const model = describeObject(wide, conn);
    expect(model.fields).toHaveLength(FIELD_LIMIT);
    expect(model.moreFields).toBe(3 + 5);
    await db.close();
  });

  it('shows the stored state of an object whose class is not registered, read-only', async () => {
    const { storage, note } = await stored();
    const bare = new Database(storage);
    const conn = bare.open();
    const broken = (await conn.get(note._p_oid as number)) as Persistent;
    const model = describeObject(broken, conn);
    expect(model.kind).toBe('broken');
    expect(model.className).toBe('test.Note');
    expect(model.readOnly).toBe('class not registered in this page: shown as stored, read-only');
    expect(model.fields.map((f) => f.name)).toEqual(['title', 'stars', 'tags']);
    await bare.close();
  });

  it("keeps a BTree's own fields read-only", async () => {
    const { db, conn, root } = await stored();
    const tree = root.get('tree') as BTree;
    const model = describeObject(tree, conn);
    expect(model.kind).toBe('btree');
    expect(model.readOnly).toContain('bookkeeping');
    await db.close();
  });
});
