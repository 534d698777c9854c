// @vitest-environment happy-dom
/**
 * Hunt 14: the sample app's list (demo/notes-app.ts) over a MemoryStorage database in happy-dom:
 * what happens to an open note editor when the user opens another one.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Database, MemoryStorage } from '../src/index.js';
import { until } from './until.js';

// The demo imports the package by name; here it is the source under test.
vi.mock('shelfdb', () => import('../src/index.js'));
const { Note, openNotes } = await import('../demo/notes-store.js');
const { NotesApp } = await import('../demo/notes-app.js');

afterEach(() => document.body.replaceChildren());

type AppDatabase = ConstructorParameters<typeof NotesApp>[0];
type AppConnection = ConstructorParameters<typeof NotesApp>[1];

async function mountApp() {
  const db = new Database(new MemoryStorage(), { classes: [Note] });
  const conn = db.open();
  const tree = await openNotes(conn as unknown as AppConnection, [{ text: 'A' }, { text: 'B' }]);
  const el = (tag: string) => document.body.appendChild(document.createElement(tag));
  const list = el('ul') as HTMLUListElement;
  const count = el('span');
  const app = new NotesApp(db as unknown as AppDatabase, conn as unknown as AppConnection, tree, {
    list,
    count,
    newer: el('button') as HTMLButtonElement,
    older: el('button') as HTMLButtonElement,
    pageLabel: el('span'),
    status: el('span'),
    error: el('p'),
  });
  await app.render();
  return { db, list, count };
}

function item(list: HTMLElement, text: string): HTMLLIElement {
  const li = [...list.querySelectorAll('li')].find(
    (l) => l.querySelector('span')?.textContent === text,
  );
  if (li === undefined) throw new Error(`no note ${text}`);
  return li;
}

function clickButton(li: HTMLElement, name: string): void {
  [...li.querySelectorAll('button')].find((b) => b.textContent === name)?.click();
}

describe('the demo list with note editors', () => {
  it("opening a second note's editor keeps the first one open with what the user typed", async () => {
    const { db, list } = await mountApp();
    clickButton(item(list, 'A'), 'Edit');
    await until(() => list.querySelector('li.editing') !== null, "A's editor");
    const first = list.querySelector<HTMLInputElement>('li.editing input') as HTMLInputElement;
    first.value = 'A, typed and not saved yet';
    first.dispatchEvent(new Event('input'));

    clickButton(item(list, 'B'), 'Edit');
    await until(() => list.querySelectorAll('li.editing').length === 2, 'both editors');
    expect(first.isConnected).toBe(true);
    expect(first.value).toBe('A, typed and not saved yet');

    // Saving A's editor still saves A's words.
    clickButton(first.closest('li') as HTMLLIElement, 'Save');
    await until(() => !first.isConnected, "A's editor to close after saving");
    const check = db.open();
    const texts = [];
    const root = await check.root();
    for await (const [, note] of (
      root.get('notesByDate') as InstanceType<typeof Note> & {
        entries(): AsyncIterable<[unknown, InstanceType<typeof Note>]>;
      }
    ).entries())
      texts.push(note.text);
    expect(texts).toContain('A, typed and not saved yet');
    await db.close();
  });

  it('an editor whose note another tab deletes stays on screen with what the user typed, and says the note is gone', async () => {
    const { db, list, count } = await mountApp();
    clickButton(item(list, 'A'), 'Edit');
    await until(() => list.querySelector('li.editing') !== null, "A's editor");
    const input = list.querySelector<HTMLInputElement>('li.editing input') as HTMLInputElement;
    input.value = 'words the user is typing';
    input.dispatchEvent(new Event('input'));

    // Another tab deletes note A.
    const other = db.open();
    const tree = (await other.root()).get('notesByDate') as {
      entries(): AsyncIterable<[unknown, InstanceType<typeof Note>]>;
      delete(key: unknown): Promise<boolean>;
    };
    for await (const [key, n] of tree.entries()) if (n.text === 'A') await tree.delete(key);
    await other.commit();
    await until(() => count.textContent === '1 note', 'the list to show the deletion');

    expect(input.isConnected).toBe(true);
    expect(input.value).toBe('words the user is typing');
    const li = input.closest('li') as HTMLLIElement;
    expect(li.querySelector('[role="alert"]')?.textContent).toContain('deleted in another tab');
    const save = [...li.querySelectorAll('button')].find((b) => b.textContent === 'Save');
    expect(save?.disabled).toBe(true);
    clickButton(li, 'Cancel');
    await until(() => !input.isConnected, 'the editor to close');
    await db.close();
  });
});
