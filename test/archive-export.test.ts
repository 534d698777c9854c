/**
 * exportTree (src/archive/export-tree.ts): what a tree archive holds (the boundary, references by
 * id, BTrees as pages), and that it is read at one snapshot while commits and packs go on, streamed
 * pull-based with batched loads. Its errors and its memory are in archive-export-stream.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { BTree, MemoryStorage, PersistentDict, PersistentList } from '../src/index.js';
import { exportTree } from '../src/archive/export-tree.js';
import { decodeState, jsonToState, StoredRef, type Json } from '../src/archive/json-value.js';
import { objectHash, pageHash } from '../src/archive/object-entry.js';
import { readArchive } from '../src/archive/snarf.js';
import {
  collect,
  exported,
  Folder,
  idOf,
  oidOf,
  openDb,
  parse,
  text,
  type Parsed,
} from './archive-export-fixture.js';
import { Project, todo, Todo } from './fixtures.js';

describe('exportTree: what a tree archive holds', () => {
  it('writes the header first, then one entry per object with its class, oid, serial, hash and state', async () => {
    const db = openDb();
    const conn = db.open();
    const root = await conn.root();
    const list = new PersistentList<Todo>([todo('milk', { tags: ['shop'] })]);
    root.set('list', list);
    const tid = await conn.commit();

    const { entries, header, objects } = await exported(conn, list);

    expect(entries[0]?.path).toBe('shelfdb-archive.json');
    const t = list.at(0) as Todo;
    expect(header).toMatchObject({
      format: 'shelfdb-archive',
      version: 1,
      kind: 'tree',
      snapshot: tid,
      start: idOf(list),
      entries: [idOf(list), idOf(t)],
      counts: { objects: 2, btreeItems: 0 },
      source: { storage: 'memory' },
    });
    expect(typeof header.created).toBe('number');
    expect(entries.map((e) => e.path)).toEqual([
      'shelfdb-archive.json',
      `objects/${idOf(list)}.json`,
      `objects/${idOf(t)}.json`,
    ]);
    const entry = objects.get(idOf(t)) as { [key: string]: Json };
    expect(entry).toMatchObject({ class: 'Todo', id: idOf(t), oid: oidOf(t), serial: tid });
    expect(entry.state).toEqual({ done: false, project: null, tags: ['shop'], title: 'milk' });
    expect(entry.hash).toBe(await objectHash('Todo', entry.state as Json));
  });

  it('writes entries as pretty JSON with sorted keys (diffable)', async () => {
    const db = openDb();
    const conn = db.open();
    const root = await conn.root();
    const t = todo('milk');
    root.set('t', t);
    await conn.commit();

    let entryText = '';
    for await (const entry of readArchive(exportTree(conn, t))) {
      if (entry.path === `objects/${idOf(t)}.json`) entryText = text.decode(entry.bytes);
    }
    expect(entryText).toMatch(/^\{\n {2}"class": "Todo",\n {2}"hash": "sha256:[0-9a-f]{64}",\n/);
    expect(entryText.endsWith('}\n')).toBe(true);
  });

  it('sorts keys that look like numbers, start with $ or are __proto__ as canonical JSON does, in the entry and its hash', async () => {
    const db = openDb();
    const conn = db.open();
    const root = await conn.root();
    const odd: Record<string, unknown> = {
      b: 1,
      '10': 'ten',
      '2': 'two',
      $x: 'dollar',
      a: [1, {}],
    };
    Object.defineProperty(odd, '__proto__', { value: 'proto', enumerable: true, writable: true });
    const t = todo('odd', { tags: [] });
    (t as unknown as { extra: unknown }).extra = odd;
    root.set('t', t);
    await conn.commit();

    let body = '';
    for await (const entry of readArchive(exportTree(conn, t))) {
      if (entry.path === `objects/${idOf(t)}.json`) body = text.decode(entry.bytes);
    }
    // JSON.stringify alone would write "2" before "10" (integer-like keys come first in JS).
    expect(body).toContain(
      '"extra": {\n      "$$x": "dollar",\n      "10": "ten",\n      "2": "two",\n      "__proto__": "proto",\n      "a": [\n        1,\n        {}\n      ],\n      "b": 1\n    },',
    );
    const json = JSON.parse(body) as { hash: string; state: Json };
    expect(json.hash).toBe(await objectHash('Todo', json.state));
  });

  it('writes an object referenced twice inside the boundary once and names it by $ref, cycles included, and the JSON reads back to the stored states', async () => {
    const db = openDb();
    const conn = db.open();
    const root = await conn.root();
    const box = new PersistentDict<string, unknown>();
    const project = new Project();
    const a = todo('a', { project });
    const b = todo('b', { project });
    const shared = { note: 'shared' };
    const owner: Record<string, unknown> = { name: 'ann', first: shared, second: shared };
    owner.self = owner; // a cycle inside one state
    project.owner = owner;
    project.todos = [a, b];
    const list = new PersistentList<unknown>([a, b, a, box, project]); // box ↔ list: a cycle
    box.set('list', list);
    root.set('box', box);
    await conn.commit();

    const { header, objects } = await exported(conn, box);

    expect(header.entries).toEqual([box, list, a, b, project].map(idOf));
    expect([...objects.keys()].sort()).toEqual([box, list, a, b, project].map(idOf).sort());
    const listState = objects.get(idOf(list))?.state as { items: Json };
    expect(listState.items).toEqual([
      { $ref: idOf(a) },
      { $ref: idOf(b) },
      { $ref: idOf(a) },
      { $ref: idOf(box) },
      { $ref: idOf(project) },
    ]);
    // The back-pointers to the project, inside through the list, are references by id too.
    expect(objects.get(idOf(a))?.state).toMatchObject({ project: { $ref: idOf(project) } });

    // Every entry's JSON reads back to exactly the stored state (refs resolved by the archive).
    const classOf = new Map([...objects].map(([id, e]) => [id, e.class as string]));
    for (const [id, entry] of objects) {
      const back = jsonToState(entry.state as { [key: string]: Json }, (marker) =>
        marker.$ref !== undefined
          ? new StoredRef(Number(marker.$ref), classOf.get(marker.$ref) as string)
          : new StoredRef(marker.$ext as number, marker.class as string),
      );
      const [record] = await db.storage.load([Number(id)]);
      expect(back).toEqual(decodeState((record as { state: Uint8Array }).state));
    }
    const projectBack = jsonToState(
      objects.get(idOf(project))?.state as { [key: string]: Json },
      () => null,
    ) as { owner: { first: unknown; second: unknown; self: unknown } };
    expect(projectBack.owner.first).toBe(projectBack.owner.second);
    expect(projectBack.owner.self).toBe(projectBack.owner);
  });

  it("follows containers with the default boundary and leaves a Todo's back-pointer to its project outside, as $ext", async () => {
    const db = openDb();
    const conn = db.open();
    const root = await conn.root();
    const project = new Project();
    const t1 = todo('t1', { project });
    const t2 = todo('t2', { project });
    project.todos = [t1, t2];
    const index = new BTree<number, unknown>();
    const folder = new Folder();
    folder.name = 'inbox';
    folder.index = index; // a BTree is owned by whoever references it
    const parent = new Folder();
    folder.parent = parent; // an ordinary object: outside
    const inbox = new PersistentDict<string, unknown>([
      ['todos', new PersistentList([t1, t2])],
      ['folder', folder],
    ]);
    root.set('project', project);
    root.set('inbox', inbox);
    await conn.commit();

    const { header, objects } = await exported(conn, inbox);

    const todos = inbox.get('todos') as PersistentList<Todo>;
    expect(header.entries).toEqual([inbox, todos, folder, t1, t2, index].map(idOf));
    expect(objects.get(idOf(t1))?.state).toMatchObject({
      project: { $ext: oidOf(project), class: 'Project' },
    });
    expect(objects.get(idOf(folder))?.state).toMatchObject({
      index: { $ref: idOf(index) },
      parent: { $ext: oidOf(parent), class: 'test.Folder' },
    });
    expect(objects.has(idOf(project))).toBe(false);
  });

  it("takes everything reachable with boundary 'reachable'", async () => {
    const db = openDb();
    const conn = db.open();
    const root = await conn.root();
    const project = new Project();
    const t1 = todo('t1', { project });
    project.todos = [t1];
    root.set('t1', t1);
    await conn.commit();

    const owned = await exported(conn, t1);
    expect(owned.header.entries).toEqual([idOf(t1)]);

    const { header, objects } = await exported(conn, t1, { boundary: 'reachable' });
    expect(header.entries).toEqual([idOf(t1), idOf(project)]);
    expect(objects.get(idOf(t1))?.state).toMatchObject({ project: { $ref: idOf(project) } });
    expect(objects.get(idOf(project))?.state).toMatchObject({ todos: [{ $ref: idOf(t1) }] });
  });

  it('asks a boundary function about each reference met inside, with the referring object', async () => {
    const db = openDb();
    const conn = db.open();
    const root = await conn.root();
    const project = new Project();
    const t1 = todo('t1', { project });
    const t2 = todo('t2', { project });
    project.todos = [t1, t2];
    root.set('project', project);
    await conn.commit();

    const asked: string[] = [];
    const { header, objects } = await exported(conn, project, {
      boundary: (ref, from) => {
        asked.push(`${from.className} ${from.oid} → ${ref.className} ${ref.oid}`);
        return ref.className === 'Todo';
      },
    });

    expect(header.entries).toEqual([project, t1, t2].map(idOf));
    expect(objects.get(idOf(t1))?.state).toMatchObject({ project: { $ref: idOf(project) } });
    expect(asked).toEqual([
      `Project ${oidOf(project)} → Todo ${oidOf(t1)}`,
      `Project ${oidOf(project)} → Todo ${oidOf(t2)}`,
      `Todo ${oidOf(t1)} → Project ${oidOf(project)}`,
      `Todo ${oidOf(t2)} → Project ${oidOf(project)}`,
    ]);
  });

  it('writes a BTree as pages of at most 1,000 items in key order, before its entry, and never its nodes', async () => {
    const db = openDb();
    const conn = db.open();
    const root = await conn.root();
    const tree = new BTree<number, unknown>({ minimumDegree: 4 }); // many small nodes
    const keys = Array.from({ length: 2_500 }, (_, i) => (i * 7_919) % 2_500); // shuffled
    const marked = new Map<number, Todo>();
    await tree.update(
      keys.map((k) => {
        if (k % 1_000 !== 7) return [k, { n: k }] as const;
        const t = todo(`t${k}`);
        marked.set(k, t);
        return [k, t] as const;
      }),
    );
    root.set('tree', tree);
    await conn.commit();

    const { entries, header, objects } = await exported(conn, tree);

    const id = idOf(tree);
    expect(entries.slice(1, 5).map((e) => e.path)).toEqual([
      `objects/${id}.page-0.json`,
      `objects/${id}.page-1.json`,
      `objects/${id}.page-2.json`,
      `objects/${id}.json`,
    ]);
    const pages = entries.slice(1, 4).map((e) => e.json as unknown as [number, Json][]);
    expect(pages.map((p) => p.length)).toEqual([1_000, 1_000, 500]);
    const items = pages.flat();
    expect(items.map(([k]) => k)).toEqual(Array.from({ length: 2_500 }, (_, i) => i));
    expect(items[8]).toEqual([8, { n: 8 }]);
    expect(items[1_007]).toEqual([1_007, { $ref: idOf(marked.get(1_007) as Todo) }]);

    const entry = objects.get(id) as { [key: string]: Json };
    expect(entry).toMatchObject({ class: 'shelfdb.BTree', pages: 3 });
    expect(entry.state).toEqual({ count: 2_500, degree: 4, kind: 'number' });
    const hashes = await Promise.all(pages.map((p) => pageHash(p as Json[])));
    expect(entry.hash).toBe(await objectHash('shelfdb.BTree', entry.state as Json, hashes));

    expect(header.entries).toEqual([
      id,
      ...[7, 1_007, 2_007].map((k) => idOf(marked.get(k) as Todo)),
    ]);
    expect(header.counts).toEqual({ objects: 4, btreeItems: 2_500 });
    expect([...objects.values()].map((e) => e.class)).not.toContain('shelfdb.BTreeNode');
    expect(await tree.nodeCount()).toBeGreaterThan(100);
  });
});

describe('exportTree: one snapshot, streamed', () => {
  it('exports the past from a read-only connection at a tid while commits go on during the read', async () => {
    const db = openDb();
    const conn = db.open();
    const root = await conn.root();
    const t = todo('v1');
    const list = new PersistentList([t]);
    root.set('list', list);
    const then = await conn.commit();
    t.title = 'v2';
    await conn.commit();

    const reader = exportTree(db.open({ at: then }), list).getReader();
    const first = await reader.read(); // the header is made: the boundary walk is done
    t.title = 'v3';
    list.push(todo('added later'));
    await conn.commit();
    const chunks = [first.value as Uint8Array];
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      chunks.push(next.value);
    }
    const { header, objects } = await collect(chunks);

    expect(header.snapshot).toBe(then);
    expect(header.entries).toEqual([idOf(list), idOf(t)]);
    expect(objects.get(idOf(t))).toMatchObject({ serial: then, state: { title: 'v1' } });
  });

  it("keeps reading the connection's snapshot when the connection moves on and a pack runs mid-export", async () => {
    const db = openDb();
    const conn = db.open();
    const root = await conn.root();
    const todos = Array.from({ length: 5 }, (_, i) => todo(`v1 ${i}`));
    const list = new PersistentList(todos);
    root.set('list', list);
    const exportedAt = await conn.commit();

    const reader = exportTree(conn, list).getReader();
    const first = await reader.read(); // pass 1 done, no object entry written yet
    const other = db.open();
    for (const t of todos) ((await other.get(oidOf(t))) as Todo).title = 'v2';
    await other.commit();
    await conn.sync(); // the exporting connection moves past the export's snapshot
    await db.pack(); // removes what no snapshot pinned reads
    const chunks = [first.value as Uint8Array];
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      chunks.push(next.value);
    }
    const { header, objects } = await collect(chunks);

    expect(header.snapshot).toBe(exportedAt);
    for (const t of todos) {
      expect(objects.get(idOf(t))).toMatchObject({ serial: exportedAt });
      expect((objects.get(idOf(t))?.state as { title: string }).title).toMatch(/^v1 /);
    }
  });

  it('does nothing until read, then loads in batches of at most 1,000 oids, never one round trip per object', async () => {
    const storage = new MemoryStorage();
    const loads: number[] = [];
    const load = storage.load.bind(storage);
    storage.load = (oids, atTid) => {
      loads.push(oids.length);
      return load(oids, atTid);
    };
    const db = openDb(storage);
    const conn = db.open();
    const root = await conn.root();
    const list = new PersistentList(Array.from({ length: 2_500 }, (_, i) => todo(`t${i}`)));
    root.set('list', list);
    await conn.commit();
    loads.length = 0;

    const stream = exportTree(conn, list);
    await Promise.resolve();
    expect(loads).toEqual([]);

    const entries = await parse(stream);
    expect(entries).toHaveLength(1 + 2_501);
    expect(Math.max(...loads)).toBeLessThanOrEqual(1_000);
    // Pass 1 and pass 2 each: the list, then 2,500 todos in 3 batches.
    expect(loads.length).toBeLessThanOrEqual(8);
  });

  it('writes gzip (1f 8b) when asked, which reads back to the same entries', async () => {
    const db = openDb();
    const conn = db.open();
    const root = await conn.root();
    const list = new PersistentList([todo('a'), todo('b')]);
    root.set('list', list);
    await conn.commit();

    const reader = exportTree(conn, list, { gzip: true }).getReader();
    const chunks: Uint8Array[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      chunks.push(next.value);
    }
    expect([...(chunks[0] as Uint8Array).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    const zipped = await parse(new Blob(chunks as BlobPart[]).stream());
    const plain = await parse(exportTree(conn, list));

    const withoutTime = (entries: Parsed[]) =>
      entries.map((e) => (e.path === 'shelfdb-archive.json' ? { ...e.json, created: 0 } : e.json));
    expect(zipped.map((e) => e.path)).toEqual(plain.map((e) => e.path));
    expect(withoutTime(zipped)).toEqual(withoutTime(plain));
  });
});
