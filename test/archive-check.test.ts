import { describe, expect, it } from 'vitest';
import { checkArchive } from '../src/archive/check-archive.js';
import type { Persistent } from '../src/persistent.js';
import { BTree } from '../src/btree.js';
import { CorruptStorageError } from '../src/shared/errors.js';
import type { Json, JsonObject } from '../src/archive/json-value.js';
import {
  archiveOf,
  editArchive,
  editEntry,
  entry,
  makeDb,
  pathOf,
  seedProject,
  transactionCount,
  type Todo,
} from './archive-fixtures.js';

describe('checkArchive', () => {
  it('reports an exported tree as unchanged, entry by entry', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project, todos } = await seedProject(conn, 3);
    const report = await checkArchive(conn, await archiveOf(conn, project));
    const byPath = new Map(report.entries.map((e) => [e.path, e]));
    expect(report.entries.every((e) => e.status === 'unchanged')).toBe(true);
    expect(byPath.get(pathOf(project))).toMatchObject({
      oid: project._p_oid,
      className: 'app.Project',
    });
    for (const todo of todos) expect(byPath.has(pathOf(todo))).toBe(true);
    await db.close();
  });

  it('reports all eight statuses in one archive, and writes nothing', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project, todos } = await seedProject(conn, 7);
    const bytes = await archiveOf(conn, project);
    const [unchanged, archiveSide, liveSide, both, removed, reclassed, external] = todos as [
      Todo,
      Todo,
      Todo,
      Todo,
      Todo,
      Todo,
      Todo,
    ];
    liveSide.title = 'changed live';
    both.title = 'changed live too';
    await conn.commit();
    const edited = await editArchive(bytes, (entries) => {
      const title = (t: string) => (json: JsonObject) => {
        (json.state as JsonObject).title = t;
      };
      editEntry(entries, pathOf(archiveSide), title('changed in the archive'));
      editEntry(entries, pathOf(both), title('changed in the archive too'));
      editEntry(entries, pathOf(reclassed), (json) => {
        json.class = 'app.Note';
      });
      editEntry(entries, pathOf(external), (json) => {
        (json.state as JsonObject).project = { $ext: 999_999, class: 'app.Project' };
      });
      const at = entries.findIndex((e) => e.path === pathOf(removed));
      entries.splice(at, 1);
      // A $ref to a removed entry would be refused: its referrer drops it (changed-archive).
      editEntry(entries, `objects/${project.todos._p_oid}.json`, (json) => {
        const state = json.state as JsonObject;
        state.items = (state.items as Json[]).filter(
          (item) => (item as JsonObject).$ref !== String(removed._p_oid),
        );
      });
      entries.push(
        entry('objects/new-todo.json', {
          class: 'app.Todo',
          id: 'new-todo',
          state: { title: 'added by hand', done: false, project: null, tags: [] },
        }),
      );
    });
    const before = await transactionCount(db);
    const { entries } = await checkArchive(conn, edited);
    const status = (path: string) => entries.find((e) => e.path === path)?.status;
    expect(status(pathOf(unchanged))).toBe('unchanged');
    expect(status(pathOf(archiveSide))).toBe('changed-archive');
    expect(status(pathOf(liveSide))).toBe('changed-live');
    expect(status(pathOf(both))).toBe('conflict');
    expect(status(pathOf(removed))).toBe('removed');
    expect(status(pathOf(reclassed))).toBe('class-changed');
    expect(status(pathOf(external))).toBe('unresolved-external');
    expect(entries.find((e) => e.path === pathOf(external))?.detail).toContain('999999');
    expect(status('objects/new-todo.json')).toBe('added');
    expect(new Set(entries.map((e) => e.status)).size).toBe(8);
    expect(await transactionCount(db)).toBe(before);
    await db.close();
  });

  it('reports a BTree whose items changed live as changed-live, though its own record is the revision exported', async () => {
    const db = makeDb();
    const conn = db.open();
    const root = await conn.root();
    const tree = new BTree<string, number>({ minimumDegree: 2 });
    root.set('tree', tree);
    await tree.update(Array.from({ length: 50 }, (_, i) => [`k${i}`, i] as const));
    await conn.commit();
    const bytes = await archiveOf(conn, tree);
    const serial = tree._p_serial;
    await tree.set('k7', 700); // a value in a leaf: the tree's count and root stay as they were
    await conn.commit();
    expect(tree._p_serial).toBe(serial);
    const { entries } = await checkArchive(conn, bytes);
    expect(entries.find((e) => e.path === pathOf(tree))?.status).toBe('changed-live');
    await db.close();
  });

  it('compares an archive read from a one-shot stream entry by entry like its bytes', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project, todos } = await seedProject(conn, 3);
    (todos[1] as Todo).title = 'changed live';
    const bytes = await archiveOf(conn, project);
    const edited = await editArchive(bytes, (entries) => {
      editEntry(entries, pathOf(todos[2] as Todo), (json) => {
        (json.state as JsonObject).title = 'changed in the archive';
      });
    });
    await conn.commit();
    const fromBytes = await checkArchive(conn, edited);
    const fromStream = await checkArchive(conn, new Blob([edited as BlobPart]).stream());
    expect(fromStream).toEqual(fromBytes);
    const status = (path: string) => fromStream.entries.find((e) => e.path === path)?.status;
    expect(status(pathOf(todos[0] as Todo))).toBe('unchanged');
    expect(status(pathOf(todos[1] as Todo))).toBe('changed-live');
    expect(status(pathOf(todos[2] as Todo))).toBe('changed-archive');
    await db.close();
  });

  it('reads at the connection snapshot: a commit after it is not seen until sync', async () => {
    const db = makeDb();
    const conn = db.open();
    const other = db.open();
    const { project } = await seedProject(conn, 2);
    const bytes = await archiveOf(conn, project);
    conn.autoSync = false;
    const theirs = (await other.load(
      (await other.root()).get('project') as Persistent,
    )) as typeof project;
    theirs.title = 'renamed elsewhere';
    await other.commit();
    const atSnapshot = await checkArchive(conn, bytes);
    expect(atSnapshot.entries.find((e) => e.path === pathOf(project))?.status).toBe('unchanged');
    await conn.sync();
    const after = await checkArchive(conn, bytes);
    expect(after.entries.find((e) => e.path === pathOf(project))?.status).toBe('changed-live');
    await db.close();
  });

  it('refuses a $ref to an id that is not in the archive, naming the entry', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project, todos } = await seedProject(conn, 2);
    const todo = todos[0] as Todo;
    const edited = await editArchive(await archiveOf(conn, project), (entries) => {
      editEntry(entries, pathOf(todo), (json) => {
        (json.state as JsonObject).project = { $ref: 'nobody' };
      });
    });
    const error = await checkArchive(conn, edited).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStorageError);
    expect((error as Error).message).toContain(pathOf(todo));
    expect((error as Error).message).toContain('nobody');
    await db.close();
  });

  it('refuses bad JSON and a foreign header, naming the entry', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project } = await seedProject(conn, 1);
    const bytes = await archiveOf(conn, project);
    const badJson = await editArchive(bytes, (entries) => {
      const i = entries.findIndex((e) => e.path === pathOf(project));
      entries[i] = { path: pathOf(project), bytes: new TextEncoder().encode('{ "class": ') };
    });
    await expect(checkArchive(conn, badJson)).rejects.toThrow(
      new RegExp(`${pathOf(project)}.*not JSON`),
    );
    const foreign = await editArchive(bytes, (entries) => {
      editEntry(entries, 'shelfdb-archive.json', (json) => {
        json.version = 3; // 1 and 2 (a tree with blobs) are read
      });
    });
    const error = await checkArchive(conn, foreign).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStorageError);
    expect((error as Error).message).toMatch(/shelfdb-archive\.json.*version 3/);
    await db.close();
  });
});
