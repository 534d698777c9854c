/**
 * The sample app: a notes list kept in shelfdb. It uses only the public package.
 *
 * The main connection follows other tabs live ('change' re-renders); a note being edited lives in
 * an editor connection of its own (note-editor.ts), which warns on 'stale' when another tab
 * changes that note before the edit is saved.
 */
import { openDatabase, Persistent, PersistentList, type Connection } from 'shelfdb';
import { openEditor } from './note-editor.js';

class Note extends Persistent {
  // The name its records are stored under: the same in every build, whatever the minifier calls
  // the class.
  static _p_name = 'demo.Note';
  text = '';
  done = false;
  created = new Date();
}

const $ = <T extends HTMLElement>(selector: string): T => document.querySelector(selector) as T;

async function main(): Promise<void> {
  // 'auto': OPFS in the storage worker where the browser has sync access handles, else IndexedDB.
  const db = await openDatabase('notes', { classes: [Note] });
  const conn = db.open();
  const notes = await conn.transact(async () => {
    const root = await conn.root();
    if (!root.has('notes')) root.set('notes', new PersistentList<Note>());
    return root.get('notes') as PersistentList<Note>;
  });

  /** The note being edited, and its editor (kept across renders). */
  let editing: { oid: number; li: HTMLLIElement } | undefined;

  async function render(c: Connection): Promise<void> {
    const list = await c.load(notes);
    const items = list.length > 0 ? await c.load(...list.toArray()) : [];
    const loaded = Array.isArray(items) ? items : [items];
    const ul = $<HTMLUListElement>('#notes');
    ul.replaceChildren(
      ...loaded.map((note, i) => {
        if (editing !== undefined && editing.oid === note._p_oid) return editing.li;
        const li = document.createElement('li');
        li.className = note.done ? 'done' : '';
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.checked = note.done;
        box.setAttribute('aria-label', `done: ${note.text}`);
        box.addEventListener('change', () => {
          void c
            .transact(() => {
              note.done = box.checked;
            })
            .then(() => render(c));
        });
        const span = document.createElement('span');
        span.textContent = note.text;
        const remove = document.createElement('button');
        remove.textContent = 'Delete';
        remove.addEventListener('click', () => {
          void c
            .transact(() => {
              notes.splice(i, 1);
            })
            .then(() => render(c));
        });
        const edit = document.createElement('button');
        edit.textContent = 'Edit';
        edit.addEventListener('click', () => {
          const oid = note._p_oid as number;
          const closed = (): void => {
            editing = undefined;
            void render(c);
          };
          openEditor(db, oid, closed).then(
            (editor) => {
              editing = { oid, li: editor };
              void render(c);
            },
            (error: unknown) => {
              $('#status').textContent = String(error);
            },
          );
        });
        li.append(box, span, edit, remove);
        return li;
      }),
    );
    const stats = await db.stats();
    $('#status').textContent =
      `${loaded.length} note(s) · ${stats.objects} objects · ${stats.transactions} transactions · storage: ${stats.storage}`;
  }

  $<HTMLFormElement>('#add').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $<HTMLInputElement>('#text');
    const text = input.value.trim();
    if (text === '') return;
    input.value = '';
    void conn
      .transact(
        () => {
          const note = new Note();
          note.text = text;
          notes.push(note);
        },
        { note: 'add note' },
      )
      .then(() => render(conn));
  });
  conn.addEventListener('change', () => void render(conn));
  await render(conn);
  document.body.dataset.ready = 'yes';
}

main().catch((error: unknown) => {
  $('#status').textContent = `shelfdb failed to start: ${String(error)}`;
  throw error;
});
