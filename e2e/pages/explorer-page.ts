/**
 * The explorer in a page, for the browser tests (e2e/explorer*.spec.ts). It opens the database named
 * by `?db=` (OPFS, shared with the other tabs) and shows it in `<shelf-explorer>`:
 *
 * - `?classes=no` registers no app class (its records load as BrokenObjects); by default the page
 *   registers `e2e.Note` (below);
 * - `?mode=name` lets the element open the database itself by its `name` attribute (read-only
 *   unless `&editable=yes`); by default the page opens it and sets `explorer.database`, editable.
 *
 * `window.shelf` hands the tests the database, a connection of their own, the package and the Note
 * class, so they build data with `page.evaluate` as an app would. `body[data-ready]` says when.
 */
import * as shelfdb from 'shelfdb';
import 'shelfdb/explorer';

class Note extends shelfdb.Persistent {
  static _p_name = 'e2e.Note';
  title = '';
  done = false;
  created = new Date(0);
  next: Note | null = null;
}

declare global {
  interface Window {
    shelf: {
      db: shelfdb.Database | undefined;
      conn: shelfdb.Connection | undefined;
      shelfdb: typeof shelfdb;
      Note: typeof Note;
    };
  }
}

const params = new URLSearchParams(location.search);
const name = params.get('db') ?? 'explorer';
const explorer = document.querySelector(
  'shelf-explorer',
) as HTMLElementTagNameMap['shelf-explorer'];

async function main(): Promise<void> {
  window.shelf = { db: undefined, conn: undefined, shelfdb, Note };
  if (params.get('mode') === 'name') {
    explorer.editable = params.get('editable') === 'yes';
    explorer.storage = 'opfs';
    explorer.name = name;
  } else {
    const classes = params.get('classes') === 'no' ? [] : [Note];
    const db = await shelfdb.openDatabase(name, { storage: 'opfs', classes });
    window.shelf.db = db;
    window.shelf.conn = db.open();
    explorer.editable = true;
    explorer.database = db;
  }
  document.body.dataset.ready = 'yes';
}

main().catch((error: unknown) => {
  document.body.dataset.ready = 'failed';
  document.body.append(`explorer page failed: ${String(error)}`);
});
