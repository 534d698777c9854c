// @vitest-environment happy-dom
/**
 * Hunt 14: an explorer edit changes what the user saw, or says it cannot. The form's value and the
 * row it was opened from are taken from the explorer's view; its session loads the object again in
 * a connection of its own, possibly at a newer state (another tab committed between the view's
 * read and the click: the view refreshes at most every 50 ms; or the form is made again by a
 * re-render). A save must then show the other side's value as a conflict, not write over it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Database, MemoryStorage, Persistent, PersistentDict } from '../src/index.js';
import { StorageBusyError } from '../src/shared/errors.js';
import type { CommitRequest, Tid } from '../src/shared/storage.js';
import type { EditAction, ShelfEditForm } from '../src/explorer/edit-form.js';
import '../src/explorer/edit-form.js';
import { until } from './until.js';

afterEach(() => document.body.replaceChildren());

class Note extends Persistent {
  static _p_name = 'hunt14.Note';
  title = '';
}

/**
 * A storage whose commit, once armed, answers StorageBusyError at once (as when the tab that owns
 * the files is frozen) and lands afterwards, with no broadcast telling this page before it answers.
 */
class LostAnswerStorage extends MemoryStorage {
  armed = false;
  landed: Promise<Tid> | undefined;
  override commit(txn: CommitRequest): Promise<Tid> {
    if (!this.armed) return super.commit(txn);
    this.armed = false;
    const busy = Promise.reject(
      new StorageBusyError('The storage did not answer in time: not known whether it ran.'),
    );
    this.landed = busy.catch(() => super.commit(txn));
    return busy;
  }
}

async function seeded(storage = new MemoryStorage()) {
  const db = new Database(storage, { classes: [Note] });
  const app = db.open();
  const root = await app.root();
  const note = new Note();
  note.title = 'as the explorer showed it';
  const tags = new PersistentDict<string, unknown>([['a', 1]]);
  root.set('note', note);
  root.set('tags', tags);
  await app.commit();
  return { db, app, note, tags };
}

function text(el: Element): string {
  return (el.shadowRoot?.textContent ?? '').replace(/\s+/g, ' ');
}

function button(el: Element, name: string): HTMLButtonElement | undefined {
  return [...(el.shadowRoot?.querySelectorAll('button') ?? [])].find(
    (b) => (b.textContent ?? '').trim() === name,
  );
}

function input(el: Element, name: string): HTMLInputElement {
  return el.shadowRoot?.querySelector(`[name="${name}"]`) as HTMLInputElement;
}

async function mount(db: Database, oid: number, action: EditAction) {
  const form = document.createElement('shelf-edit-form') as ShelfEditForm;
  form.database = db;
  form.oid = oid;
  form.action = action;
  const closed: (number | undefined)[] = [];
  form.addEventListener('shelf-edit-closed', (e) =>
    closed.push((e as Event & { tid?: number }).tid),
  );
  document.body.append(form);
  await until(() => button(form, 'Save')?.disabled === false, 'the form to be ready');
  return { form, closed };
}

async function submit(form: ShelfEditForm, label: 'Save' | 'Retry'): Promise<void> {
  button(form, label)?.click();
  await until(
    () => !(button(form, label)?.disabled ?? false) && form.shadowRoot !== null,
    'the save to settle',
  );
  await form.updateComplete;
}

async function stored(db: Database, oid: number): Promise<Persistent | undefined> {
  const reader = db.open();
  try {
    return await reader.get(oid);
  } finally {
    reader.close();
  }
}

describe('an explorer edit whose commit answer is lost (StorageBusyError)', () => {
  it('says it is not known whether it saved, not "Not saved", and Save again lands it once', async () => {
    const storage = new LostAnswerStorage();
    const { db, note } = await seeded(storage);
    const oid = note._p_oid as number;
    const { form, closed } = await mount(db, oid, {
      kind: 'field',
      field: 'title',
      current: note.title,
    });
    input(form, 'value').value = 'my edit';
    storage.armed = true;
    await submit(form, 'Save');
    await until(
      () =>
        closed.length > 0 ||
        text(form).includes('StorageBusyError') ||
        text(form).includes('Not known'),
      'an outcome',
    );
    await storage.landed;
    // It landed: the form must not claim otherwise.
    expect(((await stored(db, oid)) as Note).title).toBe('my edit');
    expect(text(form)).not.toContain('Not saved');
    expect(text(form)).toContain('Not known whether it was saved');
    await submit(form, 'Save');
    await until(() => closed.length > 0, 'the resend to answer');
    const edits = [];
    for await (const txn of db.transactions()) if (txn.oids.includes(oid)) edits.push(txn.tid);
    expect(edits).toHaveLength(2); // the note's creation and the one edit, not two edits
    await db.close();
  });
});

describe('an explorer edit of a value that changed before the form loaded it', () => {
  it("shows the other side's field value as a conflict instead of silently writing over it", async () => {
    const { db, app, note } = await seeded();
    const oid = note._p_oid as number;
    // The view took 'as the explorer showed it'; then another tab commits, then the user clicks Edit.
    const shownValue = note.title;
    note.title = 'written by another tab';
    await app.commit();
    const { form, closed } = await mount(db, oid, {
      kind: 'field',
      field: 'title',
      current: shownValue,
    });
    expect(input(form, 'value').value).toBe('as the explorer showed it');
    input(form, 'value').value = 'my edit';
    await submit(form, 'Save');
    await until(() => closed.length > 0 || text(form).includes('Their value'), 'an outcome');
    expect(((await stored(db, oid)) as Note).title).toBe('written by another tab');
    expect(closed).toEqual([]);
    expect(text(form)).toContain('Their value: "written by another tab"');
    // Having seen theirs, Retry writes the user's value.
    await submit(form, 'Retry');
    await until(() => closed.length > 0, 'the retry to save');
    expect(((await stored(db, oid)) as Note).title).toBe('my edit');
    await db.close();
  });

  it('Add entry with a key the dict already has shows the existing value instead of replacing it', async () => {
    const { db, tags } = await seeded();
    const oid = tags._p_oid as number;
    const { form, closed } = await mount(db, oid, { kind: 'dict-set' });
    input(form, 'key').value = 'a';
    input(form, 'value').value = 'replaced';
    await submit(form, 'Save');
    await until(() => closed.length > 0 || text(form).includes('Their value'), 'an outcome');
    expect(((await stored(db, oid)) as PersistentDict).get('a')).toBe(1);
    expect(closed).toEqual([]);
    expect(text(form)).toContain('Their value: 1');
    await db.close();
  });

  it('Remove of an entry whose value another tab changed shows their value and removes nothing', async () => {
    const { db, app, tags } = await seeded();
    const oid = tags._p_oid as number;
    tags.set('a', 'changed by another tab');
    await app.commit();
    const { form, closed } = await mount(db, oid, { kind: 'dict-delete', key: 'a', current: 1 });
    await submit(form, 'Save');
    await until(() => closed.length > 0 || text(form).includes('Their value'), 'an outcome');
    expect(((await stored(db, oid)) as PersistentDict).get('a')).toBe('changed by another tab');
    expect(text(form)).toContain('Their value: "changed by another tab"');
    await db.close();
  });
});
