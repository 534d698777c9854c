/** Small builders for tests; no module-level state beyond class declarations. */
import { Database, MemoryStorage, Persistent, type DatabaseOptions } from '../src/index.js';

// Stable stored names, as apps give them (the same as the JavaScript names, so that messages and
// paths in the tests read `Todo 3 → .tags[2]`).
export class Todo extends Persistent {
  static _p_name = 'Todo';
  title = '';
  done = false;
  project: Project | null = null;
  tags: string[] = [];
}

export class Project extends Persistent {
  static _p_name = 'Project';
  name = '';
  owner: unknown = null;
  todos: Todo[] = [];
}

export const CLASSES = [Todo, Project];

export function makeDb(options: DatabaseOptions = {}): { db: Database; storage: MemoryStorage } {
  const storage = new MemoryStorage();
  const db = new Database(storage, { classes: CLASSES, ...options });
  return { db, storage };
}

export function todo(title: string, fields: Partial<Todo> = {}): Todo {
  const t = new Todo();
  t.title = title;
  Object.assign(t, fields);
  return t;
}

/** A connection of `db` whose root holds the todos 'a' and 'b', committed. */
export async function seededTodos(db: Database) {
  const conn = db.open();
  const root = await conn.root();
  const a = todo('a');
  const b = todo('b');
  root.set('a', a);
  root.set('b', b);
  await conn.commit();
  return { db, conn, root, a, b };
}
