// An app that installed shelfdb from its tarball, built by Vite (dev server, or `vite build`).
// The test drives it through window.app.
import { BrokenObject, openDatabase, Persistent, PersistentList } from 'shelfdb';

export class Todo extends Persistent {
  static _p_name = 'app.Todo';
  title = '';
}

export interface Listed {
  title: string;
  isTodo: boolean;
  broken: boolean;
}

const db = await openDatabase('installed-app', { classes: [Todo] });
const conn = db.open();

async function todos(): Promise<PersistentList<Todo | BrokenObject>> {
  const root = await conn.root();
  return conn.transact(() => {
    let list = root.get('todos') as PersistentList<Todo | BrokenObject> | undefined;
    if (list === undefined) root.set('todos', (list = new PersistentList()));
    return list;
  });
}

const app = {
  storage: (await db.stats()).storage,
  /** The class's name in this build: a minifier renames it, the stored name stays 'app.Todo'. */
  className: Todo.name,
  async add(title: string): Promise<void> {
    const list = await todos();
    await conn.transact(() => {
      const todo = new Todo();
      todo.title = title;
      list.push(todo);
    });
  },
  async list(): Promise<Listed[]> {
    const list = await conn.load(await todos());
    const items = list.toArray();
    if (items.length > 0) await conn.load(...items);
    return items.map((item) => ({
      title: item instanceof Todo ? item.title : String(item.state.title),
      isTodo: item instanceof Todo,
      broken: item instanceof BrokenObject,
    }));
  },
};

(window as unknown as { app: typeof app }).app = app;
document.body.dataset.ready = 'yes';
