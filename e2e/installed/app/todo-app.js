/* global location, URLSearchParams */
// The todo app in plain JavaScript, as a page without a bundler loads it (plain.html, through an
// import map) and as webpack bundles it (webpack.html). The test drives it through window.app.
import { openDatabase, Persistent, PersistentList } from 'shelfdb';

class Todo extends Persistent {
  static _p_name = 'app.Todo';
  title = '';
}

// ?storage=indexeddb: the worker loads its IndexedDB storage, a chunk of its own, on demand.
const storage = new URLSearchParams(location.search).get('storage') ?? 'auto';
const db = await openDatabase(document.body.dataset.database ?? 'plain-page', {
  storage,
  classes: [Todo],
});
const conn = db.open();
const root = await conn.root();
const todos = () =>
  conn.transact(() => {
    let list = root.get('todos');
    if (list === undefined) root.set('todos', (list = new PersistentList()));
    return list;
  });

window.app = {
  storage: (await db.stats()).storage,
  async add(title) {
    const list = await todos();
    await conn.transact(() => {
      const todo = new Todo();
      todo.title = title;
      list.push(todo);
    });
  },
  async list() {
    const items = (await conn.load(await todos())).toArray();
    if (items.length > 0) await conn.load(...items);
    return items.map((item) => ({
      title: item.title,
      isTodo: item instanceof Todo,
      broken: false,
    }));
  },
};
document.body.dataset.ready = 'yes';
