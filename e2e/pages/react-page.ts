/**
 * A React app on shelfdb/react, as an app would write one: it opens the database named by `?db=`
 * (OPFS, shared with the other tabs), and shows the root's 'note' (a PersistentDict, useObject)
 * and the entries of the BTree 'tree' from 'b' on (useRange, at most 5), under StrictMode. Its
 * button '#edit' writes both through the app's own connection, the one the hooks read.
 * e2e/react.spec.ts commits from another tab, or clicks the button, and watches this one re-render.
 */
import { StrictMode, createElement as h, useState, type FunctionComponent } from 'react';
import { createRoot } from 'react-dom/client';
import { openDatabase, type BTree, type Database, type PersistentDict } from 'shelfdb';
import { useConnection, useObject, useRange, useRoot } from 'shelfdb/react';

const App: FunctionComponent<{ db: Database }> = ({ db }) => {
  const conn = useConnection(db);
  const root = useRoot(conn);
  const note = useObject(conn, root?.get('note') as PersistentDict<string, string> | undefined);
  const tree = root?.get('tree') as BTree<string, string> | undefined;
  const { entries, loading, error } = useRange(tree, { min: 'b' }, { limit: 5 });
  const [writeError, setWriteError] = useState<unknown>(undefined);
  const edit = (): void => {
    if (conn === undefined || note === undefined || tree === undefined) return;
    (async () => {
      note.set('text', 'edited in tab A');
      await tree.set('f', '6');
      await conn.commit();
    })().catch(setWriteError);
  };
  const failure = error ?? writeError;
  return h(
    'main',
    null,
    h('p', { id: 'note' }, note === undefined ? 'loading' : String(note.get('text'))),
    h(
      'ul',
      { id: 'entries', 'data-loading': String(loading) },
      entries.map(([k, v]) => h('li', { key: k }, `${k}=${v}`)),
    ),
    h('button', { id: 'edit', disabled: note === undefined, onClick: edit }, 'Edit here'),
    failure === undefined ? null : h('p', { id: 'error' }, String(failure)),
  );
};

const name = new URLSearchParams(location.search).get('db') ?? 'react';
const db = await openDatabase(name, { storage: 'opfs' });
const container = document.getElementById('app');
if (container === null) throw new Error('react.html has no #app element.');
createRoot(container).render(h(StrictMode, null, h(App, { db })));
document.body.dataset.ready = 'yes';
