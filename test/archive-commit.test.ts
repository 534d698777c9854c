import { describe, expect, it } from 'vitest';
import { checkArchive } from '../src/archive/check-archive.js';
import { commitArchive, type MergeConflict } from '../src/archive/commit-archive.js';
import { exportTree } from '../src/archive/export-tree.js';
import { archiveBytes } from '../src/archive/snarf.js';
import type { Json, JsonObject } from '../src/archive/json-value.js';
import { BTree } from '../src/btree.js';
import { checkBTree } from '../src/btree-check.js';
import { ShelfError, UnregisteredClassError, WriteConflictError } from '../src/shared/errors.js';
import {
  archiveOf,
  editArchive,
  editEntry,
  entry,
  makeDb,
  Note,
  pathOf,
  type Project,
  seedProject,
  transactionCount,
  type Todo,
} from './archive-fixtures.js';

const setTitle = (title: string) => (json: JsonObject) => {
  (json.state as JsonObject).title = title;
};

/** A project whose todos[1] was changed both live and in the archive. */
async function conflicted() {
  const db = makeDb();
  const conn = db.open();
  const { project, todos } = await seedProject(conn, 3);
  const bytes = await archiveOf(conn, project);
  const todo = todos[1] as Todo;
  todo.title = 'live';
  await conn.commit();
  const edited = await editArchive(bytes, (entries) => {
    editEntry(entries, pathOf(todo), setTitle('archive'));
  });
  return { db, conn, project, todo, edited };
}

describe('commitArchive', () => {
  it('commits an edit read from a one-shot stream, writing only the edited entry', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project, todos } = await seedProject(conn, 3);
    const edited = await editArchive(await archiveOf(conn, project), (entries) => {
      editEntry(entries, pathOf(todos[1] as Todo), (json) => {
        (json.state as JsonObject).title = 'edited';
      });
    });
    const tid = await commitArchive(conn, new Blob([edited as BlobPart]).stream());
    const [info] = await db.storage.transactions({ limit: 1 });
    expect(info).toMatchObject({ tid, oids: [(todos[1] as Todo)._p_oid] });
    expect(((await conn.load(todos[1] as Todo)) as Todo).title).toBe('edited');
    await db.close();
  });

  it('writes a changed entry in one transaction and the connection sees it', async () => {
    const db = makeDb();
    const conn = db.open();
    const other = db.open();
    const { project, todos } = await seedProject(conn, 3);
    const theirProject = (await other.load(
      (await other.root()).get('project') as Project,
    )) as Project;
    const changes: number[][] = [];
    other.addEventListener('change', (e) =>
      changes.push([...(e as Event & { oids: number[] }).oids]),
    );
    const edited = await editArchive(await archiveOf(conn, project), (entries) => {
      editEntry(entries, pathOf(project), setTitle('renamed in the archive'));
    });
    const before = await transactionCount(db);
    const tid = await commitArchive(conn, edited, { note: 'edited offline' });
    expect(await transactionCount(db)).toBe(before + 1);
    const [info] = await db.storage.transactions({ limit: 1 });
    expect(info).toMatchObject({ tid, note: 'edited offline', oids: [project._p_oid] });
    expect(conn.snapshotTid).toBe(tid);
    await conn.load(project, todos[0] as Todo);
    expect(project.title).toBe('renamed in the archive');
    expect((todos[0] as Todo).title).toBe('todo 0');
    await other.sync();
    expect(changes.flat()).toContain(project._p_oid);
    await other.load(theirProject);
    expect(theirProject.title).toBe('renamed in the archive');
    await db.close();
  });

  it("with 'fail' refuses a conflict with WriteConflictError naming it, and writes nothing", async () => {
    const { db, conn, todo, edited } = await conflicted();
    const before = await transactionCount(db);
    const error = await commitArchive(conn, edited).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteConflictError);
    expect((error as WriteConflictError).oids).toEqual([todo._p_oid]);
    expect((error as Error).message).toContain(pathOf(todo));
    expect(await transactionCount(db)).toBe(before);
    await db.close();
  });

  it("with 'archive' the archive's version wins; with 'live' the live one stays", async () => {
    const a = await conflicted();
    await commitArchive(a.conn, a.edited, { onConflict: 'archive' });
    await a.conn.load(a.todo);
    expect(a.todo.title).toBe('archive');
    await a.db.close();
    const b = await conflicted();
    const before = await transactionCount(b.db);
    await commitArchive(b.conn, b.edited, { onConflict: 'live' });
    expect(b.todo.title).toBe('live');
    expect(await transactionCount(b.db)).toBe(before); // nothing else changed: nothing to write
    await b.db.close();
  });

  it('with a merge function writes what it returns, given the live and archive states', async () => {
    const { db, conn, todo, edited } = await conflicted();
    const seen: MergeConflict[] = [];
    await commitArchive(conn, edited, {
      onConflict: (c) => {
        seen.push(c);
        const live = c.live as JsonObject;
        const archive = c.archive as JsonObject;
        return { ...live, title: `${String(live.title)}+${String(archive.title)}` };
      },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ oid: todo._p_oid, className: 'app.Todo', base: undefined });
    await conn.load(todo);
    expect(todo.title).toBe('live+archive');
    await db.close();
  });

  it('refuses when another connection committed an entry between check and commit', async () => {
    const db = makeDb();
    const conn = db.open();
    conn.autoSync = false;
    const other = db.open();
    const { project } = await seedProject(conn, 2);
    const edited = await editArchive(await archiveOf(conn, project), (entries) => {
      editEntry(entries, pathOf(project), setTitle('mine'));
    });
    const report = await checkArchive(conn, edited);
    expect(report.entries.find((e) => e.path === pathOf(project))?.status).toBe('changed-archive');
    const theirs = (await other.load((await other.root()).get('project') as Project)) as Project;
    theirs.title = 'theirs';
    await other.commit();
    const before = await transactionCount(db);
    const error = await commitArchive(conn, edited).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteConflictError);
    expect((error as WriteConflictError).oids).toEqual([project._p_oid]);
    expect(await transactionCount(db)).toBe(before);
    await db.close();
  });

  it('refuses when another connection changed only one leaf of a BTree it rewrites', async () => {
    const db = makeDb();
    const conn = db.open();
    conn.autoSync = false;
    const other = db.open();
    const root = await conn.root();
    const tree = new BTree<number, string>({ minimumDegree: 2 });
    root.set('tree', tree);
    for (let i = 0; i < 40; i++) await tree.set(i, `v${i}`);
    await conn.commit();
    const bytes = await archiveBytes(exportTree(conn, tree));
    const edited = await editArchive(bytes, (entries) => {
      editEntry(entries, `objects/${tree._p_oid}.page-0.json`, (page) => {
        (page as unknown as Json[][])[0] = [0, 'edited'];
      });
    });
    const theirs = (await other.load(
      (await other.root()).get('tree') as BTree<number, string>,
    )) as BTree<number, string>;
    await theirs.set(39, 'replaced in one leaf'); // the tree object itself does not change
    await other.commit();
    const before = await transactionCount(db);
    const error = await commitArchive(conn, edited).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteConflictError);
    expect((error as WriteConflictError).oids).toEqual([tree._p_oid]);
    expect(await transactionCount(db)).toBe(before);
    await db.close();
  });

  it('writes a class-changed entry under its new class', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project, todos } = await seedProject(conn, 2);
    const todo = todos[0] as Todo;
    const edited = await editArchive(await archiveOf(conn, project), (entries) => {
      editEntry(entries, pathOf(todo), (json) => {
        json.class = 'app.Note';
      });
    });
    await commitArchive(conn, edited);
    const fresh = db.open();
    const loaded = await fresh.get(todo._p_oid as number);
    expect(loaded).toBeInstanceOf(Note);
    expect((loaded as Note).title).toBe('todo 0');
    await db.close();
  });

  it('gives added entries new oids and makes them reachable', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project } = await seedProject(conn, 1);
    const bytes = await archiveOf(conn, project);
    const edited = await editArchive(bytes, (entries) => {
      const listPath = `objects/${project.todos._p_oid}.json`;
      editEntry(entries, listPath, (json) => {
        const state = json.state as JsonObject;
        (state.items as Json[]).push({ $ref: 'added-1' });
      });
      entries.push(
        entry('objects/added-1.json', {
          class: 'app.Todo',
          id: 'added-1',
          state: {
            title: 'added',
            done: false,
            project: { $ref: String(project._p_oid) },
            tags: [],
          },
        }),
      );
    });
    await commitArchive(conn, edited);
    await conn.load(project.todos);
    expect(project.todos.length).toBe(2);
    const added = project.todos.get(1) as Todo;
    await conn.load(added);
    expect(added.title).toBe('added');
    expect(added.project === project).toBe(true);
    expect(added._p_oid).toBeGreaterThan(0);
    await db.close();
  });

  it('leaves removed entries alone (their referrers changed instead)', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project, todos } = await seedProject(conn, 2);
    const gone = todos[1] as Todo;
    const edited = await editArchive(await archiveOf(conn, project), (entries) => {
      entries.splice(
        entries.findIndex((e) => e.path === pathOf(gone)),
        1,
      );
      editEntry(entries, `objects/${project.todos._p_oid}.json`, (json) => {
        const state = json.state as JsonObject;
        state.items = (state.items as Json[]).slice(0, 1);
      });
    });
    const report = await checkArchive(conn, edited);
    expect(report.entries.find((e) => e.path === pathOf(gone))?.status).toBe('removed');
    await commitArchive(conn, edited);
    await conn.load(project.todos);
    expect(project.todos.length).toBe(1);
    expect((await db.open().get(gone._p_oid as number)) !== undefined).toBe(true);
    await db.close();
  });

  it('refuses an unresolved external reference naming the entry, and writes nothing', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project, todos } = await seedProject(conn, 1);
    const todo = todos[0] as Todo;
    const edited = await editArchive(await archiveOf(conn, project), (entries) => {
      editEntry(entries, pathOf(todo), (json) => {
        (json.state as JsonObject).project = { $ext: 424_242, class: 'app.Project' };
      });
    });
    const before = await transactionCount(db);
    const error = await commitArchive(conn, edited).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShelfError);
    expect((error as Error).message).toContain(pathOf(todo));
    expect((error as Error).message).toContain('424242');
    expect(await transactionCount(db)).toBe(before);
    await db.close();
  });

  it("refuses an unregistered class naming entry and class, and writes it with 'keep'", async () => {
    const db = makeDb();
    const conn = db.open();
    const { project, todos } = await seedProject(conn, 1);
    const todo = todos[0] as Todo;
    const edited = await editArchive(await archiveOf(conn, project), (entries) => {
      editEntry(entries, pathOf(todo), (json) => {
        json.class = 'app.Unknown';
      });
    });
    const before = await transactionCount(db);
    const error = await commitArchive(conn, edited).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnregisteredClassError);
    expect((error as UnregisteredClassError).className).toBe('app.Unknown');
    expect((error as Error).message).toContain(pathOf(todo));
    expect(await transactionCount(db)).toBe(before);
    await commitArchive(conn, edited, { unregistered: 'keep' });
    const [stored] = await db.storage.load([todo._p_oid as number]);
    expect(stored?.className).toBe('app.Unknown');
    await db.close();
  });

  it('refuses a connection with uncommitted changes, and a start this database lacks', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project } = await seedProject(conn, 1);
    const bytes = await archiveOf(conn, project);
    project.title = 'pending';
    await expect(commitArchive(conn, bytes)).rejects.toThrow(/uncommitted change.*Commit or abort/);
    await conn.abort();
    const elsewhere = makeDb();
    await expect(commitArchive(elsewhere.open(), bytes)).rejects.toThrow(/importCopy/);
    await db.close();
    await elsewhere.close();
  });

  it('round-trips export, a JSON edit and commit, keeping cycles and shared sub-objects', async () => {
    const db = makeDb();
    const conn = db.open();
    const { project } = await seedProject(conn, 2);
    const edited = await editArchive(await archiveOf(conn, project), (entries) => {
      editEntry(entries, pathOf(project), setTitle('round trip'));
    });
    await commitArchive(conn, edited);
    const fresh = db.open();
    const loaded = (await fresh.get(project._p_oid as number)) as Project;
    expect(loaded.title).toBe('round trip');
    const meta = loaded.meta as {
      a: object;
      b: object;
      cyclic: { self: unknown };
      when: Date;
      big: bigint;
    };
    expect(meta.a === meta.b).toBe(true);
    expect(meta.cyclic.self === meta.cyclic).toBe(true);
    expect(meta.when).toEqual(new Date(0));
    expect(meta.big).toBe(10n ** 30n);
    await fresh.load(loaded.todos);
    const todo = (await fresh.load(loaded.todos.get(0) as Todo)) as Todo;
    expect(todo.project === loaded).toBe(true);
    // And the tree now checks unchanged against a fresh export.
    const again = await checkArchive(fresh, await archiveOf(fresh, loaded));
    expect(again.entries.every((e) => e.status === 'unchanged')).toBe(true);
    await db.close();
  });

  it('rebuilds an edited BTree as nodes checkBTree accepts and the BTree API uses', async () => {
    const db = makeDb();
    const conn = db.open();
    const root = await conn.root();
    const tree = new BTree<number, string>({ minimumDegree: 3 });
    root.set('tree', tree);
    await tree.update(Array.from({ length: 2_500 }, (_, i) => [i, `v${i}`] as const));
    await conn.commit();
    const edited = await editArchive(await archiveBytes(exportTree(conn, tree)), (entries) => {
      editEntry(entries, `objects/${tree._p_oid}.page-1.json`, (page) => {
        (page as unknown as Json[][])[5] = [1_005, 'edited'];
      });
    });
    await commitArchive(conn, edited);
    expect(await checkBTree(tree)).toEqual([]);
    expect(await tree.get(1_005)).toBe('edited');
    expect(tree.size).toBe(2_500);
    await tree.set(5_000, 'new');
    expect(await tree.delete(7)).toBe(true);
    await conn.commit();
    expect(await checkBTree(tree)).toEqual([]);
    await db.close();
  });
});
