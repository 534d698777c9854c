/**
 * Builders for the archive check/commit/import tests: a small app (projects, todos, people), a
 * database with one project, its archive, and edits of an archive's entries as JSON.
 */
import { Database } from '../src/database.js';
import { Persistent } from '../src/persistent.js';
import { PersistentList } from '../src/persistent-list.js';
import { exportTree } from '../src/archive/export-tree.js';
import {
  archiveBytes,
  readArchive,
  writeArchive,
  type ArchiveEntry,
} from '../src/archive/snarf.js';
import type { Json, JsonObject } from '../src/archive/json-value.js';
import { canonicalJson } from '../src/archive/json-value.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import type { Connection } from '../src/connection.js';
import type { Storage } from '../src/shared/storage.js';

export class Person extends Persistent {
  static _p_name = 'app.Person';
  name = '';
}

export class Todo extends Persistent {
  static _p_name = 'app.Todo';
  title = '';
  done = false;
  project: Project | null = null;
  tags: string[] = [];
}

/** A class with a Todo's fields under another name (for 'class-changed'). */
export class Note extends Persistent {
  static _p_name = 'app.Note';
  title = '';
  done = false;
  project: Project | null = null;
  tags: string[] = [];
}

export class Project extends Persistent {
  static _p_name = 'app.Project';
  title = '';
  owner: Person | null = null;
  todos = new PersistentList<Todo>();
  meta: Record<string, unknown> = {};
}

export const classes = [Person, Todo, Note, Project];

/** A database over `storage` (a MemoryStorage by default) with the app's classes. */
export function makeDb(storage: Storage = new MemoryStorage()): Database {
  return new Database(storage, { classes });
}

/**
 * A project with `n` todos (each pointing back at it; shared tags array in meta and a cycle),
 * owned by a person outside it, stored at root.project. Returns the committed objects.
 */
export async function seedProject(
  conn: Connection,
  n = 7,
): Promise<{ project: Project; todos: Todo[]; owner: Person }> {
  const root = await conn.root();
  const owner = new Person();
  owner.name = 'Ada';
  root.set('owner', owner);
  const project = new Project();
  project.title = 'shelfdb';
  project.owner = owner;
  const shared = { label: 'shared' };
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  project.meta = { a: shared, b: shared, cyclic, when: new Date(0), big: 10n ** 30n };
  const todos: Todo[] = [];
  for (let i = 0; i < n; i++) {
    const todo = new Todo();
    todo.title = `todo ${i}`;
    todo.project = project;
    todo.tags = ['t', String(i)];
    project.todos.push(todo);
    todos.push(todo);
  }
  root.set('project', project);
  await conn.commit({ note: 'seed' });
  return { project, todos, owner };
}

/** The archive of `start` (exportTree), as bytes. */
export async function archiveOf(conn: Connection, start: Persistent): Promise<Uint8Array> {
  return archiveBytes(exportTree(conn, start));
}

/** Every entry of an archive. */
export async function entriesOf(bytes: Uint8Array): Promise<ArchiveEntry[]> {
  const out: ArchiveEntry[] = [];
  for await (const entry of readArchive(bytes)) out.push(entry);
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The JSON of an entry. */
export function jsonOf(entry: ArchiveEntry): JsonObject {
  return JSON.parse(decoder.decode(entry.bytes)) as JsonObject;
}

/** An entry holding `json` (pretty canonical, as a checkout writes). */
export function entry(path: string, json: Json): ArchiveEntry {
  return { path, bytes: encoder.encode(canonicalJson(json, { pretty: true })) };
}

/**
 * A new archive from `bytes` with its entries edited by `edit`, which gets them in order and
 * returns those to write (change a JSON with `editEntry`).
 */
export async function editArchive(
  bytes: Uint8Array,
  edit: (entries: ArchiveEntry[]) => ArchiveEntry[] | void,
): Promise<Uint8Array> {
  const entries = await entriesOf(bytes);
  const out = edit(entries) ?? entries;
  return archiveBytes(writeArchive(out));
}

/** Replaces entry `path` by `change(json)` (change may edit in place and return nothing). */
export function editEntry(
  entries: ArchiveEntry[],
  path: string,
  change: (json: JsonObject) => JsonObject | void,
): void {
  const i = entries.findIndex((e) => e.path === path);
  if (i < 0) throw new Error(`no entry ${path}`);
  const json = jsonOf(entries[i] as ArchiveEntry);
  entries[i] = entry(path, change(json) ?? json);
}

/** The path of object `obj`'s entry. */
export const pathOf = (obj: Persistent): string => `objects/${obj._p_oid}.json`;

/** How many transactions the database lists. */
export async function transactionCount(db: Database): Promise<number> {
  let n = 0;
  for await (const _ of db.transactions()) n++;
  return n;
}
