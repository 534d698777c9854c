/** Setup for the CLI archive tests: scratch folders, a todo list database, what the CLI shows. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { BTree, openDatabase, PersistentList } from '../src/index.js';
import { cli } from './cli-fixture.js';
import { CLASSES, Project, todo, Todo } from './fixtures.js';

/** A scratch folder, and a maker of fresh paths under it. */
export interface Scratch {
  scratch: string;
  /** A fresh path under the scratch folder (not created). */
  fresh: (name: string) => string;
}

/**
 * Makes a scratch folder under the temp directory, removed after the calling file's tests (call it
 * at a test file's top level: it registers the cleanup with `afterAll`).
 */
export function scratchDir(prefix: string): Scratch {
  const scratch = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  let made = 0;
  return { scratch, fresh: (name) => join(scratch, `${name}-${++made}`) };
}

/** The oids of `makeTodoList`'s objects. */
export interface TodoList {
  path: string;
  /** The PersistentList of todos (the checkout's start). */
  listOid: number;
  aOid: number;
  bOid: number;
  /** The project both todos point at: outside the list's boundary (an `$ext`). */
  projectOid: number;
  /** A BTree of 30 numbered titles, beside the list in the root. */
  indexOid: number;
}

/**
 * A closed 'file' database: root → 'todos' (a PersistentList of todos 'a' and 'b', each pointing
 * at the project), 'project', and 'index' (a BTree).
 */
export async function makeTodoList(path: string): Promise<TodoList> {
  const db = await openDatabase('archive-test', { storage: 'file', path, classes: CLASSES });
  try {
    const conn = db.open();
    const root = await conn.root();
    const project = new Project();
    project.name = 'home';
    const a = todo('a', { project, tags: ['urgent'] });
    const b = todo('b', { project, done: true });
    const list = new PersistentList<Todo>([a, b]);
    const index = new BTree<number, string>();
    for (let i = 0; i < 30; i++) await index.set(i, `item ${i}`);
    root.set('todos', list);
    root.set('project', project);
    root.set('index', index);
    await conn.commit({ note: 'make the list' });
    return {
      path,
      listOid: list._p_oid as number,
      aOid: a._p_oid as number,
      bOid: b._p_oid as number,
      projectOid: project._p_oid as number,
      indexOid: index._p_oid as number,
    };
  } finally {
    await db.close();
  }
}

/** An object's stored fields, as `show --json` prints them. */
export async function fields(path: string, oid: number): Promise<Record<string, unknown>> {
  const shown = await cli(['show', path, String(oid), '--json']);
  expect(shown.code, shown.stderr).toBe(0);
  return (JSON.parse(shown.stdout) as { fields: Record<string, unknown> }).fields;
}

/** The transactions, as `log --json` prints them. */
export async function logOf(path: string): Promise<unknown[]> {
  const listed = await cli(['log', path, '--json']);
  expect(listed.code, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout) as unknown[];
}

/** Sets the title in a checked-out todo's file, as a person in an editor would. */
export function editTitle(dir: string, oid: number, title: string): void {
  const file = join(dir, 'objects', `${oid}.json`);
  const entry = JSON.parse(readFileSync(file, 'utf8')) as { state: { title: string } };
  expect(entry.state.title).not.toBe(title);
  entry.state.title = title;
  writeFileSync(file, `${JSON.stringify(entry, null, 2)}\n`);
}

/** Commits a new title for todo `oid` from a program (another process, meanwhile). */
export async function retitleLive(path: string, oid: number, title: string): Promise<void> {
  const db = await openDatabase('archive-test', { storage: 'file', path, classes: CLASSES });
  try {
    const conn = db.open();
    const t = (await conn.get(oid)) as Todo;
    t.title = title;
    await conn.commit({ note: `retitle ${oid}` });
  } finally {
    await db.close();
  }
}

/** check --json's entries, by oid → status (unchanged ones too). */
export async function statuses(
  path: string,
  source: string,
): Promise<{ code: number; byOid: Map<number, string> }> {
  const checked = await cli(['check', path, source, '--json']);
  const report = JSON.parse(checked.stdout) as { entries: { oid?: number; status: string }[] };
  const byOid = new Map<number, string>();
  for (const e of report.entries) if (e.oid !== undefined) byOid.set(e.oid, e.status);
  return { code: checked.code, byOid };
}
