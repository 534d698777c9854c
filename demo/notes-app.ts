/**
 * The notes list of the sample app: one page of notes at a time (newest first, "Older" and
 * "Newer" move by key range), every edit through `conn.transact`, re-rendered on 'change' when
 * another tab (or the explorer, or the seeding) commits.
 *
 * Renders and edits run one at a time, in the order asked: a connection runs one `transact` at a
 * time, and a render never reads the tree while an edit of this page is half done.
 */
import type { Connection, Database } from 'shelfdb';
import { AttachmentUrls, attachmentList } from './attachments.js';
import { NOTE_DELETED, openEditor } from './note-editor.js';
import {
  PAGE_SIZE,
  filesOf,
  insertNote,
  newerAnchor,
  readPage,
  type NoteEntry,
  type NoteKey,
  type NotesTree,
} from './notes-store.js';

/** The elements of index.html the list lives in. */
export interface NotesElements {
  list: HTMLUListElement;
  count: HTMLElement;
  newer: HTMLButtonElement;
  older: HTMLButtonElement;
  pageLabel: HTMLElement;
  status: HTMLElement;
  error: HTMLElement;
}

const numbers = new Intl.NumberFormat('en');
const dates = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });

/** The notes list over `tree`, read and changed through `conn`. */
export class NotesApp {
  /** The newest key of the page shown, or undefined for the newest page. */
  private anchor: NoteKey | undefined = undefined;
  /** Where "Older" goes: the first key after the page shown. */
  private older: NoteKey | undefined = undefined;
  /** How many pages back from the newest the page shown is (for the label only). */
  private pageNumber = 1;
  /**
   * The notes being edited, by oid, and their editors (kept across renders). Each editor keeps its
   * own connection and typed text until it is saved or cancelled, so opening another one must not
   * drop it: a dropped editor lost its text and left its connection open for good.
   */
  private readonly editing = new Map<number, { li: HTMLLIElement; key: NoteKey }>();
  /** Notes whose editor is opening (a second click on Edit meanwhile opens no second one). */
  private readonly opening = new Set<number>();
  /** The tail of the queue of renders and edits. */
  private queue: Promise<void> = Promise.resolve();
  /** A render is queued and has not started: another request joins it. */
  private renderQueued = false;
  /** The URLs of the attachments shown (object URLs revoked drawing after drawing). */
  private readonly urls = new AttachmentUrls();

  constructor(
    private readonly db: Database,
    private readonly conn: Connection,
    private readonly tree: NotesTree,
    private readonly el: NotesElements,
  ) {
    conn.addEventListener('change', () => void this.render());
    el.older.addEventListener('click', () => {
      if (this.older === undefined) return;
      const anchor = this.older;
      void this.enqueue(async () => {
        this.anchor = anchor;
        this.pageNumber++;
        await this.draw();
      });
    });
    el.newer.addEventListener('click', () => {
      const from = this.anchor;
      if (from === undefined) return;
      void this.enqueue(async () => {
        this.anchor = await newerAnchor(this.tree, from);
        this.pageNumber = this.anchor === undefined ? 1 : Math.max(2, this.pageNumber - 1);
        await this.draw();
      });
    });
  }

  /** Adds a note (now) and shows the newest page, where it is. */
  add(text: string): Promise<void> {
    const created = new Date();
    return this.enqueue(async () => {
      await this.conn.transact(
        async () => {
          await insertNote(this.tree, { text, created });
        },
        { note: 'add note' },
      );
      this.anchor = undefined;
      this.pageNumber = 1;
      await this.draw();
    });
  }

  /** Shows the newest page. */
  top(): Promise<void> {
    return this.enqueue(async () => {
      this.anchor = undefined;
      this.pageNumber = 1;
      await this.draw();
    });
  }

  /** Renders the page shown again (once, however many ask before it starts). */
  render(): Promise<void> {
    if (this.renderQueued) return this.queue;
    this.renderQueued = true;
    return this.enqueue(async () => {
      this.renderQueued = false;
      await this.draw();
    });
  }

  /** Runs `fn` in a transaction with `note`, after whatever is queued; then renders. */
  private edit(note: string, fn: () => void | Promise<void>): Promise<void> {
    return this.enqueue(async () => {
      await this.conn.transact(fn, { note });
      await this.draw();
    });
  }

  /** Queues `task`; its failure is shown on the page, and the queue goes on. */
  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task).then(
      () => this.say(undefined),
      (error: unknown) => this.say(`Something went wrong: ${String(error)}`),
    );
    this.queue = run;
    return run;
  }

  private say(message: string | undefined): void {
    this.el.error.textContent = message ?? '';
    this.el.error.hidden = message === undefined;
  }

  private async draw(): Promise<void> {
    const page = await readPage(this.tree, this.anchor);
    this.older = page.older;
    const gone = await this.deletedEditors(page.notes);
    this.urls.begin();
    this.el.list.replaceChildren(...gone, ...page.notes.map((entry) => this.item(entry)));
    this.urls.shown();
    this.el.older.disabled = page.older === undefined;
    this.el.newer.disabled = !page.newer;
    const size = this.tree.size;
    this.el.count.textContent = `${numbers.format(size)} ${size === 1 ? 'note' : 'notes'}`;
    this.el.pageLabel.textContent =
      size <= PAGE_SIZE ? '' : `page ${numbers.format(this.pageNumber)}, ${PAGE_SIZE} per page`;
    const stats = await this.db.stats();
    this.el.status.textContent =
      `${numbers.format(stats.objects)} objects · ${numbers.format(stats.transactions)} ` +
      `transactions · storage: ${stats.storage}`;
  }

  private item({ key, note }: NoteEntry): HTMLLIElement {
    const oid = note._p_oid as number;
    const editor = this.editing.get(oid);
    if (editor !== undefined) return editor.li;
    const li = document.createElement('li');
    li.dataset.oid = String(oid);
    li.className = note.done ? 'done' : '';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = note.done;
    box.setAttribute('aria-label', `done: ${note.text}`);
    box.addEventListener('change', () => {
      const done = box.checked;
      void this.edit(done ? 'note done' : 'note not done', () => {
        note.done = done;
      });
    });
    const text = document.createElement('span');
    text.textContent = note.text;
    const when = document.createElement('time');
    when.dateTime = note.created.toISOString();
    when.textContent = dates.format(note.created);
    const edit = document.createElement('button');
    edit.type = 'button';
    edit.textContent = 'Edit';
    edit.addEventListener('click', () => this.openEditor(oid, key));
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Delete';
    remove.addEventListener('click', () => {
      void this.edit('delete note', async () => {
        await this.tree.delete(key);
      });
    });
    li.append(box, text, when, edit, remove);
    const files = filesOf(note);
    if (files.length > 0) li.append(attachmentList(files, this.urls));
    return li;
  }

  /**
   * The editors of notes another tab deleted (their key no longer leads to them), told so: shown
   * above the page, since the user's typed text is in them and their connection is open until
   * they are cancelled. An editor of a note that is only on another page stays out of sight.
   */
  private async deletedEditors(shown: readonly NoteEntry[]): Promise<HTMLLIElement[]> {
    const onPage = new Set(shown.map((entry) => entry.note._p_oid));
    const gone: HTMLLIElement[] = [];
    for (const [oid, { li, key }] of this.editing) {
      if (onPage.has(oid) || (await this.tree.get(key))?._p_oid === oid) continue;
      li.dispatchEvent(new Event(NOTE_DELETED));
      gone.push(li);
    }
    return gone;
  }

  /** Edits a note's text in a connection of its own (note-editor.ts: it warns on 'stale'). */
  private openEditor(oid: number, key: NoteKey): void {
    if (this.editing.has(oid) || this.opening.has(oid)) return;
    this.opening.add(oid);
    const closed = (): void => {
      this.editing.delete(oid);
      void this.render();
    };
    openEditor(this.db, oid, closed)
      .then(
        (li) => {
          this.editing.set(oid, { li, key });
          void this.render();
        },
        (error: unknown) => this.say(String(error)),
      )
      .finally(() => this.opening.delete(oid));
  }
}
