// A Node script that installed shelfdb: `node node-app.mjs <dir> add <title>` commits a todo to a
// 'file' database in <dir>; `node node-app.mjs <dir> list` prints the stored todos as JSON.
import { openDatabase, Persistent, PersistentList } from 'shelfdb';

class Todo extends Persistent {
  static _p_name = 'app.Todo';
  title = '';
  /** A Blob: its bytes go to a blob file of the database's directory. */
  attachment = null;
}

const [path, command, title] = process.argv.slice(2);
const db = await openDatabase('todos', { storage: 'file', path, classes: [Todo] });
try {
  const conn = db.open();
  const root = await conn.root();
  if (command === 'add') {
    await conn.transact(() => {
      let list = root.get('todos');
      if (list === undefined) root.set('todos', (list = new PersistentList()));
      const todo = new Todo();
      todo.title = title;
      todo.attachment = new File([`notes on ${title}`], 'notes.txt', { type: 'text/plain' });
      list.push(todo);
    });
  } else {
    const list = root.get('todos');
    const items = list === undefined ? [] : (await conn.load(list)).toArray();
    if (items.length > 0) await conn.load(...items);
    const report = await db.verify();
    console.log(
      JSON.stringify({
        storage: (await db.stats()).storage,
        verified: report.ok,
        todos: await Promise.all(
          items.map(async (t) => ({
            title: t.title,
            isTodo: t instanceof Todo,
            attachment: `${t.attachment.name}: ${await t.attachment.text()}`,
          })),
        ),
        blobs: (await db.stats()).blobs,
      }),
    );
  }
} finally {
  await db.close();
}
