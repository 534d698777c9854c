/**
 * The archive commands of the `shelfdb` command line (export, checkout, check, commit, import),
 * run in process on real 'file' databases in a temp directory. Backup, restore and bad input are
 * in cli-archive-errors.test.ts.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BTree, openDatabase } from '../src/index.js';
import {
  archiveBytes,
  readArchive,
  writeArchive,
  type ArchiveEntry,
} from '../src/archive/snarf.js';
import {
  editTitle,
  fields,
  logOf,
  makeTodoList,
  retitleLive,
  scratchDir,
  statuses,
} from './cli-archive-fixture.js';
import { cli } from './cli-fixture.js';
import { CLASSES } from './fixtures.js';

const { scratch, fresh } = scratchDir('shelfdb-cli-archive-');
/** Numbers the files the tests name under `scratch` themselves. */
let made = 0;

describe('shelfdb checkout, check and commit', () => {
  it('checkout writes the objects as files; an edited title is changed-archive, commit writes it and show prints it', async () => {
    const t = await makeTodoList(fresh('db'));
    const dir = fresh('checkout');
    const out = await cli(['checkout', t.path, String(t.listOid), dir]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe(`checked out 3 objects from oid ${t.listOid} into ${dir}.\n`);
    expect(readdirSync(join(dir, 'objects')).sort()).toEqual(
      [t.listOid, t.aOid, t.bOid].map((oid) => `${oid}.json`).sort(),
    );
    // The project is outside the list's boundary: a reference by oid, not a file.
    const a = JSON.parse(readFileSync(join(dir, 'objects', `${t.aOid}.json`), 'utf8')) as {
      state: { project: unknown };
    };
    expect(a.state.project).toEqual({ $ext: t.projectOid, class: 'Project' });

    expect(await statuses(t.path, dir)).toEqual({
      code: 0,
      byOid: new Map([
        [t.listOid, 'unchanged'],
        [t.aOid, 'unchanged'],
        [t.bOid, 'unchanged'],
      ]),
    });
    editTitle(dir, t.aOid, 'buy oat milk');
    const checked = await cli(['check', t.path, dir]);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toBe(
      [
        `changed-archive  objects/${t.aOid}.json  oid ${t.aOid}`,
        `${dir}: 3 entries (2 unchanged, 1 changed-archive).`,
        `To write them: shelfdb commit ${t.path} ${dir}`,
        '',
      ].join('\n'),
    );

    const before = await logOf(t.path);
    const committed = await cli(['commit', t.path, dir, '--note', 'edited in an editor', '--json']);
    expect(committed.code, committed.stderr).toBe(0);
    const result = JSON.parse(committed.stdout) as { tid: number; updated: boolean };
    expect(result.updated).toBe(true);
    expect(await fields(t.path, t.aOid)).toMatchObject({ title: 'buy oat milk', tags: ['urgent'] });
    const after = (await logOf(t.path)) as { tid: number; note: string; oids: number[] }[];
    expect(after).toHaveLength(before.length + 1);
    expect(after[0]).toMatchObject({
      tid: result.tid,
      note: 'edited in an editor',
      oids: [t.aOid],
    });
  });

  it('after a commit the checkout is up to date: check finds nothing, and a second edit commits too', async () => {
    const t = await makeTodoList(fresh('db'));
    const dir = fresh('checkout');
    expect((await cli(['checkout', t.path, String(t.listOid), dir])).code).toBe(0);
    editTitle(dir, t.aOid, 'first edit');
    expect((await cli(['commit', t.path, dir])).code).toBe(0);
    const { code, byOid } = await statuses(t.path, dir);
    expect(code).toBe(0);
    expect([...byOid.values()]).toEqual(['unchanged', 'unchanged', 'unchanged']);
    // Without the update, the checkout's base would be the first export: this edit would be a
    // conflict with the first commit.
    editTitle(dir, t.aOid, 'second edit');
    const second = await cli(['commit', t.path, dir]);
    expect(second.code, second.stderr).toBe(0);
    expect(await fields(t.path, t.aOid)).toMatchObject({ title: 'second edit' });
  });

  it('a change committed meanwhile to the edited object is a conflict: check exits 1, commit exits 1 naming the oid and writes nothing', async () => {
    const t = await makeTodoList(fresh('db'));
    const dir = fresh('checkout');
    expect((await cli(['checkout', t.path, String(t.listOid), dir])).code).toBe(0);
    editTitle(dir, t.aOid, 'mine');
    await retitleLive(t.path, t.aOid, 'theirs');

    const checked = await cli(['check', t.path, dir]);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toContain(`conflict  objects/${t.aOid}.json  oid ${t.aOid}`);
    expect(checked.stdout).toContain('Commit would be refused');

    const before = await logOf(t.path);
    const committed = await cli(['commit', t.path, dir, '--json']);
    expect(committed.code).toBe(1);
    const { error } = JSON.parse(committed.stdout) as {
      error: { name: string; oids: number[]; message: string };
    };
    expect(error.name).toBe('WriteConflictError');
    expect(error.oids).toEqual([t.aOid]);
    expect(committed.stderr).toContain(`objects/${t.aOid}.json`);
    expect(await logOf(t.path)).toEqual(before);
    expect(await fields(t.path, t.aOid)).toMatchObject({ title: 'theirs' });
    // The checkout is left as it was: the edit is not lost.
    expect(readFileSync(join(dir, 'objects', `${t.aOid}.json`), 'utf8')).toContain('"mine"');
  });

  it('commit --on-conflict archive lets the checkout win, --on-conflict live keeps the database', async () => {
    const t = await makeTodoList(fresh('db'));
    const live = fresh('checkout');
    const archive = fresh('checkout');
    for (const dir of [live, archive]) {
      expect((await cli(['checkout', t.path, String(t.listOid), dir])).code).toBe(0);
      editTitle(dir, t.aOid, dir === live ? 'loses' : 'wins');
    }
    await retitleLive(t.path, t.aOid, 'theirs');
    expect((await cli(['commit', t.path, live, '--on-conflict', 'live'])).stdout).toBe(
      `nothing to commit: ${live} matches the database.\n`,
    );
    expect(await fields(t.path, t.aOid)).toMatchObject({ title: 'theirs' });
    const won = await cli(['commit', t.path, archive, '--on-conflict', 'archive']);
    expect(won.code, won.stderr).toBe(0);
    expect(await fields(t.path, t.aOid)).toMatchObject({ title: 'wins' });
  });

  it('an object added by hand to a checkout, referenced from the list, is committed with a new oid, and the checkout then names it by that oid', async () => {
    const t = await makeTodoList(fresh('db'));
    const dir = fresh('checkout');
    expect((await cli(['checkout', t.path, String(t.listOid), dir])).code).toBe(0);
    const listFile = join(dir, 'objects', `${t.listOid}.json`);
    const list = JSON.parse(readFileSync(listFile, 'utf8')) as { state: { items: unknown[] } };
    list.state.items.push({ $ref: 'new-todo' });
    writeFileSync(listFile, JSON.stringify(list, null, 2));
    writeFileSync(
      join(dir, 'objects', 'new-todo.json'),
      JSON.stringify({
        class: 'Todo',
        id: 'new-todo',
        state: { title: 'c', done: false, project: null, tags: [] },
      }),
    );
    const { byOid } = await statuses(t.path, dir);
    expect(byOid.get(t.listOid)).toBe('changed-archive');
    const committed = await cli(['commit', t.path, dir]);
    expect(committed.code, committed.stderr).toBe(0);

    const data = (await fields(t.path, t.listOid)).items as { $ref: number }[];
    expect(data).toHaveLength(3);
    const added = (data[2] as { $ref: number }).$ref;
    expect(await fields(t.path, added)).toMatchObject({ title: 'c' });
    expect(readdirSync(join(dir, 'objects')).sort()).toEqual(
      [t.listOid, t.aOid, t.bOid, added].map((oid) => `${oid}.json`).sort(),
    );
  });

  it('commit of an edited archive file writes it, and says so without a checkout to update', async () => {
    const t = await makeTodoList(fresh('db'));
    const file = join(scratch, `list-${++made}.snarf`);
    expect((await cli(['export', t.path, String(t.listOid), file])).code).toBe(0);
    const entries: ArchiveEntry[] = [];
    for await (const entry of readArchive(readFileSync(file))) {
      const text = new TextDecoder().decode(entry.bytes);
      const edited = entry.path === `objects/${t.bOid}.json` ? text.replace('"b"', '"b2"') : text;
      entries.push({ path: entry.path, bytes: new TextEncoder().encode(edited) });
    }
    writeFileSync(file, await archiveBytes(writeArchive(entries)));
    const committed = await cli(['commit', t.path, file, '--json']);
    expect(committed.code, committed.stderr).toBe(0);
    expect(JSON.parse(committed.stdout)).toMatchObject({ source: file, updated: false });
    expect(await fields(t.path, t.bOid)).toMatchObject({ title: 'b2' });
  });

  it('an object dropped from its list and its file deleted is listed as removed; commit writes the list', async () => {
    const t = await makeTodoList(fresh('db'));
    const dir = fresh('checkout');
    expect((await cli(['checkout', t.path, String(t.listOid), dir])).code).toBe(0);
    // Dropped from the list, and its file deleted (a file deleted while still referenced would
    // leave a $ref to nothing: refused as a damaged entry).
    const listFile = join(dir, 'objects', `${t.listOid}.json`);
    const list = JSON.parse(readFileSync(listFile, 'utf8')) as { state: { items: unknown[] } };
    list.state.items.pop();
    writeFileSync(listFile, JSON.stringify(list, null, 2));
    rmSync(join(dir, 'objects', `${t.bOid}.json`));
    const checked = await cli(['check', t.path, dir]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(
      new RegExp(`^removed +objects/${t.bOid}\\.json  oid ${t.bOid}$`, 'm'),
    );
    expect(checked.stdout).toContain(`changed-archive  objects/${t.listOid}.json`);
    expect(checked.stdout).toContain('commit does not delete objects');
    expect((await cli(['commit', t.path, dir])).code).toBe(0);
    expect((await fields(t.path, t.listOid)).items).toEqual([{ $ref: t.aOid, class: 'Todo' }]);
  });

  it('checkout refuses a folder holding other files with exit 2, before reading the database', async () => {
    const t = await makeTodoList(fresh('db'));
    const dir = fresh('mine');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const out = await cli(['checkout', t.path, String(t.listOid), dir]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`Cannot check out into ${dir}`);
    expect(out.stderr).toContain('notes.txt');
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('check and commit refuse a folder that is not a checkout with exit 2, naming it', async () => {
    const t = await makeTodoList(fresh('db'));
    const dir = fresh('empty');
    mkdirSync(dir);
    for (const command of ['check', 'commit']) {
      const out = await cli([command, t.path, dir]);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain(`${dir} holds no shelfdb-archive.json`);
    }
  });
});

describe('shelfdb export and import', () => {
  it('export writes an archive file that import copies into another database, under --into at --name, with new oids', async () => {
    const t = await makeTodoList(fresh('db'));
    const file = join(fresh('out'), 'index.snarf');
    mkdirSync(join(file, '..'));
    const exported = await cli(['export', t.path, String(t.indexOid), file, '--json']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({
      file,
      start: t.indexOid,
      objects: 1,
      btreeItems: 30,
    });
    expect(readdirSync(join(file, '..'))).toEqual(['index.snarf']); // no temp file left

    const other = await makeTodoList(fresh('other'));
    const imported = await cli([
      'import',
      other.path,
      file,
      '--into',
      '0',
      '--name',
      'copied index',
      '--json',
    ]);
    expect(imported.code, imported.stderr).toBe(0);
    const copy = JSON.parse(imported.stdout) as { start: number; oids: Record<string, number> };
    expect(Object.keys(copy.oids)).toEqual([String(t.indexOid)]);
    expect(copy.start).not.toBe(t.indexOid);

    const db = await openDatabase('other', { storage: 'file', path: other.path, classes: CLASSES });
    try {
      const conn = db.open();
      const root = await conn.root();
      const tree = await conn.load(root.get('copied index') as BTree<number, string>);
      expect(tree._p_oid).toBe(copy.start);
      expect(tree.size).toBe(30);
      expect(await tree.get(29)).toBe('item 29');
      // The other database's own index is another object, untouched.
      expect((root.get('index') as BTree)._p_oid).toBe(other.indexOid);
      expect(other.indexOid).not.toBe(copy.start);
    } finally {
      await db.close();
    }
  });

  it('export --gzip writes a compressed archive that check reads', async () => {
    const t = await makeTodoList(fresh('db'));
    const file = join(scratch, `list-${++made}.snarf.gz`);
    const out = await cli(['export', t.path, String(t.listOid), file, '--gzip']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(
      new RegExp(`^exported 3 objects from oid ${t.listOid} .* to ${file} \\(`),
    );
    expect([...readFileSync(file).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    const { code, byOid } = await statuses(t.path, file);
    expect(code).toBe(0);
    expect(byOid.get(t.aOid)).toBe('unchanged');
  });

  it('import refuses an archive whose external references do not resolve there, exit 1, writing nothing', async () => {
    const t = await makeTodoList(fresh('db'));
    const file = join(scratch, `list-${++made}.snarf`);
    expect((await cli(['export', t.path, String(t.listOid), file])).code).toBe(0);
    // A database without the project the todos point at.
    const path = fresh('bare');
    const db = await openDatabase('bare', { storage: 'file', path });
    await db.open().root();
    await db.close();
    const before = await logOf(path);
    const out = await cli(['import', path, file, '--into', '0', '--name', 'list']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('do not resolve');
    expect(out.stderr).toContain(`objects/${t.aOid}.json`);
    expect(await logOf(path)).toEqual(before);
  });

  it('import refuses an --into that is not a container, or a --name it holds, with exit 2', async () => {
    const t = await makeTodoList(fresh('db'));
    const file = join(scratch, `index-${++made}.snarf`);
    expect((await cli(['export', t.path, String(t.indexOid), file])).code).toBe(0);
    const notContainer = await cli([
      'import',
      t.path,
      file,
      '--into',
      String(t.aOid),
      '--name',
      'x',
    ]);
    expect(notContainer.code).toBe(2);
    expect(notContainer.stderr).toContain(
      `--into ${t.aOid} is a Todo, not a PersistentDict or BTree`,
    );
    const taken = await cli(['import', t.path, file, '--into', '0', '--name', 'todos']);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('holds the key "todos" already');
    const missing = await cli(['import', t.path, file, '--into', '999', '--name', 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no object 999 (--into)');
  });

  it('export exits 1 for an oid with no object and 2 for a folder that does not exist, leaving no file', async () => {
    const t = await makeTodoList(fresh('db'));
    const file = join(scratch, `none-${++made}.snarf`);
    const missing = await cli(['export', t.path, '999', file]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no object 999');
    expect(existsSync(file)).toBe(false);
    const nowhere = join(scratch, 'no-such-folder', 'x.snarf');
    const out = await cli(['export', t.path, String(t.listOid), nowhere]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`the folder ${join(scratch, 'no-such-folder')} does not exist`);
  });
});
