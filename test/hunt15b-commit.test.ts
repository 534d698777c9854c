/**
 * Hunt 15b: can commitArchive write what it should not? An entry whose oid is not its own (edited
 * by hand, or a file copied to add an object), a revision serial that another database (a restored
 * fork) also used, and a merge function's BTree items out of key order.
 */
import { describe, expect, it } from 'vitest';
import { checkArchive } from '../src/archive/check-archive.js';
import { commitArchive } from '../src/archive/commit-archive.js';
import { exportTree } from '../src/archive/export-tree.js';
import { archiveBytes } from '../src/archive/snarf.js';
import { restoreInto } from '../src/archive/restore.js';
import type { Json, JsonObject } from '../src/archive/json-value.js';
import { BTree } from '../src/btree.js';
import { checkBTree } from '../src/btree-check.js';
import type { Connection } from '../src/connection.js';
import { Database } from '../src/database.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { CorruptStorageError, ShelfError } from '../src/shared/errors.js';
import {
  archiveOf,
  classes,
  editArchive,
  editEntry,
  entry,
  jsonOf,
  makeDb,
  pathOf,
  type Person,
  type Project,
  seedProject,
  transactionCount,
  type Todo,
} from './archive-fixtures.js';

/** todos[i] of root.project as `conn` sees it now. */
async function liveTodo(conn: Connection, i: number): Promise<Todo> {
  const project = (await conn.load((await conn.root()).get('project') as Project)) as Project;
  await conn.load(project.todos);
  return (await conn.load(project.todos.get(i) as Todo)) as Todo;
}

describe('hunt15b: commitArchive writes only the objects the archive is of', () => {
  it('an entry whose oid was edited to an object outside the tree does not overwrite it', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project, todos, owner } = await seedProject(conn, 3);
    const todo = todos[0] as Todo;
    const edited = await editArchive(await archiveOf(conn, project), (entries) => {
      editEntry(entries, pathOf(todo), (json) => {
        json.oid = owner._p_oid as number; // the owner is an $ext of this tree
        (json.state as JsonObject).title = 'edited';
      });
    });
    const before = await transactionCount(db);
    await commitArchive(conn, edited).catch(() => undefined); // refused or not: the store is checked
    expect(await transactionCount(db)).toBe(before);
    const fresh = db.open();
    const live = (await fresh.load((await fresh.root()).get('owner') as Person)) as Person;
    expect(live.constructor.name).toBe('Person');
    expect(live.name).toBe('Ada');
    await db.close();
  });

  it('a file copied to add an object (its oid left in) does not replace the object copied', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project, todos } = await seedProject(conn, 3);
    const todo = todos[1] as Todo;
    const edited = await editArchive(await archiveOf(conn, project), (entries) => {
      const json = jsonOf(entries.find((e) => e.path === pathOf(todo)) as never);
      json.id = 'copy';
      (json.state as JsonObject).title = 'a copy';
      entries.splice(entries.length - 1, 0, entry('objects/copy.json', json));
    });
    await commitArchive(conn, edited).catch(() => undefined); // refused or not: the store is checked
    const fresh = db.open();
    const live = await liveTodo(fresh, 1);
    expect(live.title).toBe('todo 1');
    await db.close();
  });

  it('a restored fork that reused a serial is a conflict, not a base (no lost update)', async () => {
    const a = makeDb();
    const connA = a.open();
    const { project, todos } = await seedProject(connA, 3);
    const backup = await archiveBytes(a.backup());
    const storageB = new MemoryStorage();
    await restoreInto(storageB, backup);
    const b = new Database(storageB, { classes });
    const connB = b.open();
    const todoB = await liveTodo(connB, 1);
    const todoA = todos[1] as Todo;
    todoA.title = 'changed in A';
    const tidA = await connA.commit();
    todoB.title = 'changed in B';
    const tidB = await connB.commit();
    expect(tidB).toBe(tidA); // the fork reuses the tid: the precondition of this hunt
    const edited = await editArchive(await archiveOf(connA, project), (entries) => {
      editEntry(entries, pathOf(todoA), (json) => {
        (json.state as JsonObject).title = 'edited in the archive';
      });
    });
    const report = await checkArchive(connB, edited);
    expect(report.entries.find((e) => e.oid === todoB._p_oid)?.status).toBe('conflict');
    await commitArchive(connB, edited).catch(() => undefined); // refused or not: the store is checked
    const fresh = b.open();
    await fresh.sync();
    const live = await liveTodo(fresh, 1);
    expect(live.title).toBe('changed in B');
    await a.close();
    await b.close();
  });

  it("a merge function's BTree items out of key order are refused, not written as a broken tree", async () => {
    const db = makeDb();
    const conn = db.open();
    const root = await conn.root();
    const tree = new BTree<number, string>({ minimumDegree: 2 });
    root.set('tree', tree);
    await tree.update(Array.from({ length: 50 }, (_, i) => [i, `v${i}`] as const));
    await conn.commit();
    const bytes = await archiveBytes(exportTree(conn, tree));
    await tree.set(3, 'live');
    await conn.commit();
    const edited = await editArchive(bytes, (entries) => {
      editEntry(entries, `objects/${tree._p_oid}.page-0.json`, (page) => {
        (page as unknown as Json[][])[4] = [4, 'archive'];
      });
    });
    const before = await transactionCount(db);
    const error = await commitArchive(conn, edited, {
      onConflict: ({ live, archive }) => {
        const l = live as JsonObject;
        const a = archive as JsonObject;
        // Live items, then the archive's: not in key order, keys twice.
        return { ...l, items: [...(l.items as Json[]), ...(a.items as Json[])] };
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(await transactionCount(db)).toBe(before);
    expect(await checkBTree(tree)).toEqual([]);
    expect(await tree.get(4)).toBe('v4');
    await db.close();
  });
  it('a BTree entry whose pages were deleted is refused, not written as a tree without a root', async () => {
    const db = makeDb();
    const conn = db.open();
    const root = await conn.root();
    const tree = new BTree<number, string>({ minimumDegree: 2 });
    root.set('tree', tree);
    await tree.update(Array.from({ length: 50 }, (_, i) => [i, `v${i}`] as const));
    await conn.commit();
    const edited = await editArchive(await archiveBytes(exportTree(conn, tree)), (entries) => {
      const out = entries.filter((e) => !e.path.includes('.page-'));
      editEntry(out, `objects/${tree._p_oid}.json`, (json) => {
        delete json.pages;
      });
      return out;
    });
    const before = await transactionCount(db);
    const error = await commitArchive(conn, edited).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStorageError);
    expect(await transactionCount(db)).toBe(before);
    const fresh = db.open();
    const live = (await fresh.load(
      (await fresh.root()).get('tree') as BTree<number, string>,
    )) as BTree<number, string>;
    expect(await checkBTree(live)).toEqual([]);
    expect(await live.get(3)).toBe('v3');
    await db.close();
  });
  it("a merge function's $ext to an object this database lacks is refused, not written dangling", async () => {
    const db = makeDb();
    const conn = db.open();
    const { project, todos } = await seedProject(conn, 3);
    const bytes = await archiveOf(conn, project);
    const todo = todos[1] as Todo;
    todo.title = 'live';
    await conn.commit();
    const edited = await editArchive(bytes, (entries) => {
      editEntry(entries, pathOf(todo), (json) => {
        (json.state as JsonObject).title = 'archive';
      });
    });
    const before = await transactionCount(db);
    const error = await commitArchive(conn, edited, {
      onConflict: ({ live }) => ({
        ...(live as JsonObject),
        project: { $ext: 99_999, class: 'app.Project' },
      }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShelfError);
    expect(String(error)).toContain('99999');
    expect(await transactionCount(db)).toBe(before);
    const fresh = db.open();
    const live = await liveTodo(fresh, 1);
    expect(live.title).toBe('live');
    expect((await fresh.load(live.project as Project)) === live.project).toBe(true);
    await db.close();
  });
});
