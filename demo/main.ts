/**
 * The sample app: notes kept in shelfdb, an offline-first PWA. It uses only the public package.
 *
 * The notes live in a BTree by date (notes-store.ts), shown a page at a time (notes-app.ts); the
 * main connection follows other tabs live ('change' re-renders); a note being edited lives in an
 * editor connection of its own (note-editor.ts), which warns on 'stale'. "Seed 10,000" adds notes
 * in batches (seed.ts); the explorer opens beside the app (explorer-panel.ts); the built app
 * registers a service worker that keeps it working offline (offline.ts).
 */
import { openDatabase } from 'shelfdb';
import { mountExplorerPanel } from './explorer-panel.js';
import { NotesApp } from './notes-app.js';
import { Note, openNotes } from './notes-store.js';
import { EXAMPLE_NOTES, seedNotes } from './seed.js';
import { registerServiceWorker } from './offline.js';

const $ = <T extends HTMLElement>(selector: string): T => document.querySelector(selector) as T;

/** Shows a message of the page's own (not the list's: that is '#error', owned by NotesApp). */
function showError(message: string): void {
  const error = $('#notice');
  error.textContent = message;
  error.hidden = false;
}

async function main(): Promise<void> {
  registerServiceWorker(showError);
  // 'auto': OPFS in the storage worker where the browser has sync access handles, else IndexedDB.
  const db = await openDatabase('notes', { classes: [Note] });
  const conn = db.open();
  const tree = await openNotes(conn, EXAMPLE_NOTES);
  const app = new NotesApp(db, conn, tree, {
    list: $('#notes'),
    count: $('#count'),
    newer: $('#newer'),
    older: $('#older'),
    pageLabel: $('#page-label'),
    status: $('#status'),
    error: $('#error'),
  });

  $<HTMLFormElement>('#add').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $<HTMLInputElement>('#text');
    const text = input.value.trim();
    if (text === '') return;
    input.value = '';
    void app.add(text);
  });

  const seed = $<HTMLButtonElement>('#seed');
  const progress = $<HTMLProgressElement>('#seed-progress');
  const seedStatus = $('#seed-status');
  seed.addEventListener('click', () => {
    seed.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    seedStatus.textContent = 'Seeding…';
    seedNotes(db, {
      onProgress: ({ done, total }) => {
        progress.max = total;
        progress.value = done;
        seedStatus.textContent = `Seeded ${done.toLocaleString('en')} of ${total.toLocaleString('en')}`;
      },
    })
      .then(
        () => {
          seedStatus.textContent = 'Seeded 10,000 notes';
        },
        (error: unknown) => {
          seedStatus.textContent = '';
          showError(`Seeding stopped: ${String(error)}`);
        },
      )
      .finally(() => {
        seed.disabled = false;
        progress.hidden = true;
      });
  });

  mountExplorerPanel(db, $('#explorer-toggle'), $('#explorer-panel'), showError);
  await app.render();
  document.body.dataset.ready = 'yes';
}

main().catch((error: unknown) => {
  showError(`shelfdb failed to start: ${String(error)}`);
  document.body.dataset.ready = 'failed';
});
