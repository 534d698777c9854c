// @vitest-environment happy-dom
/**
 * Hunt 14: the sample app's note editor (demo/note-editor.ts) over a MemoryStorage database in
 * happy-dom. Another tab's commit of the note while the editor is open, before the user types:
 * the typed text must be kept (saved, or refused with the editor still holding it), never thrown
 * away while the editor closes as if it had saved.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Database, MemoryStorage, type Connection } from '../src/index.js';
import { until } from './until.js';

// The demo imports the package by name; here it is the source under test.
vi.mock('shelfdb', () => import('../src/index.js'));
const { Note } = await import('../demo/notes-store.js');
const { openEditor } = await import('../demo/note-editor.js');

afterEach(() => document.body.replaceChildren());

async function withNote(): Promise<{ db: Database; other: Connection; oid: number }> {
  const db = new Database(new MemoryStorage(), { classes: [Note] });
  const other = db.open();
  const note = new Note();
  note.text = 'before';
  (await other.root()).set('note', note);
  await other.commit();
  return { db, other, oid: note._p_oid as number };
}

describe('the demo note editor', () => {
  it('keeps what the user types after another tab changed the note, and does not save over it', async () => {
    const { db, other, oid } = await withNote();
    let closed = 0;
    // The demo's types name the built package's Database; at run time it is this one (vi.mock).
    const li = await openEditor(
      db as unknown as Parameters<typeof openEditor>[0],
      oid,
      () => closed++,
    );
    document.body.append(li);
    const input = li.querySelector('input') as HTMLInputElement;
    const notice = li.querySelector('[role="alert"]') as HTMLElement;
    expect(input.value).toBe('before');

    // Another tab edits the same note while this editor is open and untouched.
    const theirs = (await other.get(oid)) as InstanceType<typeof Note>;
    theirs.text = 'from another tab';
    await other.commit();
    await until(() => !notice.hidden, 'the editor to say the note changed elsewhere');

    const thrown: unknown[] = [];
    const onError = (event: Event): void => void thrown.push((event as ErrorEvent).error);
    window.addEventListener('error', onError);
    input.value = 'my words';
    input.dispatchEvent(new Event('input'));
    window.removeEventListener('error', onError);
    expect(thrown).toEqual([]);

    const save = [...li.querySelectorAll('button')].find((b) => b.textContent === 'Save');
    save?.click();
    await until(
      () => closed > 0 || (notice.textContent ?? '').startsWith('Not saved'),
      'the save to end',
    );
    const check = db.open();
    const stored = ((await check.get(oid)) as InstanceType<typeof Note>).text;
    // Either the user's words landed, or they are still in the editor with the reason shown.
    if (closed > 0) expect(stored).toBe('my words');
    else {
      expect(stored).toBe('from another tab');
      expect(input.value).toBe('my words');
      expect(notice.textContent).toContain('another tab changed this note first');
    }
    await db.close();
  });
});
