/**
 * The standalone explorer: any shelfdb database of this origin, opened by name. The address says
 * which (`?db=notes&storage=opfs&editable=yes`), so a reload or a bookmark opens it again; without
 * a name the explorer starts on its Databases tab, where one is picked. Read-only unless the user
 * ticks "Editable".
 */
import { listDatabases } from 'shelfdb';
import 'shelfdb/explorer';
import type { OpenDatabaseEvent } from 'shelfdb/explorer';
import { registerServiceWorker } from './offline.js';

type StorageChoice = 'auto' | 'opfs' | 'indexeddb';

const $ = <T extends HTMLElement>(selector: string): T => document.querySelector(selector) as T;

const explorer = $<HTMLElementTagNameMap['shelf-explorer']>('shelf-explorer');
const form = $<HTMLFormElement>('#open');
const nameInput = $<HTMLInputElement>('#db-name');
const storageSelect = $<HTMLSelectElement>('#db-storage');
const editableBox = $<HTMLInputElement>('#db-editable');

function showError(message: string): void {
  const notice = $('#notice');
  notice.textContent = message;
  notice.hidden = false;
}

function storageOf(value: string | null): StorageChoice {
  return value === 'opfs' || value === 'indexeddb' ? value : 'auto';
}

/** Shows the database the form names, and puts it in the address. */
function open(name: string, storage: StorageChoice, editable: boolean): void {
  nameInput.value = name;
  storageSelect.value = storage;
  editableBox.checked = editable;
  const params = new URLSearchParams({ db: name, storage });
  if (editable) params.set('editable', 'yes');
  history.replaceState(null, '', `?${params}`);
  explorer.editable = editable;
  explorer.storage = storage;
  explorer.name = name;
  explorer.tab = 'objects';
}

/** Offers the origin's databases as the name input's suggestions. */
async function suggest(): Promise<void> {
  const databases = await listDatabases();
  $('#db-names').replaceChildren(
    ...databases.map((db) => {
      const option = document.createElement('option');
      option.value = db.name;
      option.label = `${db.name} (${db.storage})`;
      return option;
    }),
  );
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = nameInput.value.trim();
  if (name !== '') open(name, storageOf(storageSelect.value), editableBox.checked);
});
// The Databases tab opens one: the form and the address follow (read-only, as the tab opens it).
explorer.addEventListener('shelf-open-database', (event) => {
  const { name, storage } = event as OpenDatabaseEvent;
  open(name, storage, false);
});

registerServiceWorker(showError);
const params = new URLSearchParams(location.search);
const name = params.get('db');
if (name) open(name, storageOf(params.get('storage')), params.get('editable') === 'yes');
else explorer.tab = 'databases';
suggest()
  .catch((error: unknown) => showError(`Could not list this origin's databases: ${String(error)}`))
  .finally(() => {
    document.body.dataset.ready = 'yes';
  });
