/**
 * Editing one note's text, in a connection of its own. Its snapshot stays put while the user types
 * (the typed text is an uncommitted change), while the page's main connection keeps following
 * other tabs live. When another tab commits the same note meanwhile, the editor's connection fires
 * 'stale' at once, and the editor says so before the user saves into a conflict.
 *
 * "Attach" adds files to the note's `files` (an uncommitted change like the text): Save commits
 * them, and the commit stores their bytes before it sends the note.
 */
import {
  WriteConflictError,
  type ConnectionErrorEvent,
  type Database,
  type Persistent,
  type StaleEvent,
} from 'shelfdb';
import { formatSize, nameOf } from './attachments.js';

/** Fired at an editor's list item when its note was deleted (in another tab, say). */
export const NOTE_DELETED = 'note-deleted';

/** What the editor needs of a note (`files` is absent in notes from before attachments). */
type Editable = Persistent & { text: string; files?: Blob[] };

function button(label: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  return b;
}

/**
 * Opens an editor for the note stored under `oid` and resolves to its list item. `closed` runs once
 * the edit is saved or cancelled (the editor's connection is closed by then).
 */
export async function openEditor(
  db: Database,
  oid: number,
  closed: () => void,
): Promise<HTMLLIElement> {
  const editor = db.open();
  // Its snapshot stays put from the start, not only once the user has typed: with autoSync, an
  // untouched editor moved silently to another tab's commit (no 'stale', and the note became a
  // ghost, so the first keystroke threw GhostError and Save closed the editor having saved nothing).
  editor.autoSync = false;
  const note = (await editor.get(oid)) as Editable | undefined;
  if (note === undefined) {
    editor.close();
    throw new Error(`Note ${oid} is gone (deleted in another tab?).`);
  }
  const li = document.createElement('li');
  li.className = 'editing';
  const input = document.createElement('input');
  input.value = note.text;
  input.setAttribute('aria-label', 'note text');
  const save = button('Save');
  const cancel = button('Cancel');
  const reload = button('Reload');
  const attach = document.createElement('input');
  attach.type = 'file';
  attach.multiple = true;
  const attachLabel = document.createElement('label');
  attachLabel.className = 'attach';
  attachLabel.append('Attach ', attach);
  const attached = document.createElement('ul');
  attached.className = 'attached';
  attached.setAttribute('aria-label', 'Attached files');
  const showFiles = (): void => {
    const files = note.files ?? [];
    attached.replaceChildren(
      ...files.map((file, i) => {
        const item = document.createElement('li');
        const drop = button('Remove');
        drop.setAttribute('aria-label', `Remove ${nameOf(file)}`);
        drop.addEventListener('click', () => {
          note.files = files.filter((_, j) => j !== i); // a new array: a change of the note
          showFiles();
        });
        item.append(`${nameOf(file)}, ${formatSize(file.size)} `, drop);
        return item;
      }),
    );
  };
  showFiles();
  attach.addEventListener('change', () => {
    const picked = [...(attach.files ?? [])];
    if (picked.length === 0) return;
    note.files = [...(note.files ?? []), ...picked]; // stored by Save's commit
    attach.value = '';
    showFiles();
  });
  const notice = document.createElement('p');
  notice.className = 'notice';
  notice.setAttribute('role', 'alert');
  const say = (text: string | undefined): void => {
    notice.textContent = text ?? '';
    notice.hidden = text === undefined;
    reload.hidden = text === undefined;
  };
  say(undefined);

  input.addEventListener('input', () => {
    note.text = input.value; // an uncommitted change: the editor's snapshot holds
  });
  editor.addEventListener('stale', (event) => {
    if (!(event as StaleEvent).oids.includes(oid)) return;
    say('Changed in another tab while you were editing. Reload to see it; saving now would fail.');
  });
  editor.addEventListener('error', (event) =>
    say(`Trouble: ${String((event as ConnectionErrorEvent).error)}`),
  );
  li.addEventListener(NOTE_DELETED, () => {
    say(
      'This note was deleted in another tab: saving cannot bring it back. Copy your text if you need it, then Cancel.',
    );
    save.disabled = true;
    reload.hidden = true;
  });
  reload.addEventListener('click', () => {
    void (async () => {
      await editor.abort(); // drops the typed text and moves to the newest snapshot
      input.value = (await editor.load(note)).text;
      showFiles();
      say(undefined);
    })().catch((error: unknown) => say(`Could not reload: ${String(error)}`));
  });
  save.addEventListener('click', () => {
    editor.commit().then(
      () => {
        editor.close();
        closed();
      },
      (error: unknown) =>
        say(
          error instanceof WriteConflictError
            ? 'Not saved: another tab changed this note first. Reload to see it, then edit again.'
            : `Not saved: ${String(error)}`,
        ),
    );
  });
  cancel.addEventListener('click', () => {
    editor.close(); // forgets the typed text
    closed();
  });
  li.append(input, save, cancel, attachLabel, attached, notice, reload);
  return li;
}
