// @vitest-environment happy-dom
/**
 * Four defects a review of the explorer found (issue 14), each shown in happy-dom over MemoryStorage
 * databases whose calls the tests hold back (a gate) to make the race happen on demand: an undo
 * still running when another row's Undo is clicked, a dict entry added to a dict keyed by numbers
 * or bigints, an open edit form while the object's fields shift, and stats reads that a steady
 * stream of commits keeps reissuing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Database, MemoryStorage, Persistent, PersistentDict } from '../src/index.js';
import type { CommitRequest, StorageStats, Tid } from '../src/shared/storage.js';
import { ShelfLogView } from '../src/explorer/log-view.js';
import { ShelfMaintenanceView } from '../src/explorer/maintenance-view.js';
import { ShelfObjectView } from '../src/explorer/object-view.js';
import { ShelfContainerTable } from '../src/explorer/container-table.js';
import { turn, until } from './until.js';

afterEach(() => document.body.replaceChildren());

/** A promise and the function that settles it: what a held-back call waits for. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** A storage whose commits wait for `commitGate` while it is set. */
class HeldCommitStorage extends MemoryStorage {
  commitGate: Promise<void> | undefined;
  override async commit(txn: CommitRequest): Promise<Tid> {
    if (this.commitGate !== undefined) await this.commitGate;
    return super.commit(txn);
  }
}

/**
 * A storage whose every stats() call waits for its own gate (opened by the test, in any order) and
 * then answers with `objects` set to the call's number (1, 2, …): the view shows which read it is.
 */
class HeldStatsStorage extends MemoryStorage {
  readonly statsGates: { open: () => void }[] = [];
  /** How many calls have answered. */
  answered = 0;
  override async stats(): Promise<StorageStats> {
    const g = gate();
    this.statsGates.push(g);
    const number = this.statsGates.length;
    await g.opened;
    const stats = { ...(await super.stats()), objects: number };
    this.answered++;
    return stats;
  }
}

/** The element's shadow root's text, whitespace collapsed. */
function text(el: Element): string {
  return (el.shadowRoot?.textContent ?? '').replace(/\s+/g, ' ');
}

function button(root: Element, name: string): HTMLButtonElement {
  const found = [...(root.shadowRoot?.querySelectorAll('button') ?? [])].find(
    (b) => (b.getAttribute('aria-label') ?? b.textContent ?? '').trim() === name,
  );
  if (found === undefined) throw new Error(`no button ${name}`);
  return found;
}

function shadow(root: Element, selector: string): HTMLElement {
  const found = root.shadowRoot?.querySelector<HTMLElement>(selector);
  if (!found) throw new Error(`no ${selector}`);
  return found;
}

/** Types `value` into an input as a user does (the input event follows). */
function type(input: HTMLElement, value: string): void {
  (input as HTMLInputElement).value = value;
  input.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
}

describe('the log while an undo runs', () => {
  it("disables the other rows' Undo while one undo runs, and shows its result", async () => {
    const storage = new HeldCommitStorage();
    const db = new Database(storage);
    const conn = db.open();
    const root = await conn.root();
    for (const n of [1, 2]) {
      root.set('n', n);
      await conn.commit({ note: `edit ${n}` });
    }
    const view = document.createElement('shelf-log-view') as ShelfLogView;
    view.database = db;
    view.connection = conn;
    view.editable = true;
    document.body.append(view);
    const undoButtons = (): HTMLButtonElement[] => [
      ...(view.shadowRoot?.querySelectorAll<HTMLButtonElement>('button[aria-label^="Undo"]') ?? []),
    ];
    await until(() => undoButtons().length === 3, 'the log');
    const [newest, older] = undoButtons().map((b) => b.getAttribute('aria-label') ?? '');
    button(view, newest as string).click();
    await view.updateComplete;
    const panel = shadow(view, 'shelf-undo-panel');
    await until(() => panel.shadowRoot?.querySelector('form') != null, 'the confirmation');
    const held = gate();
    storage.commitGate = held.opened;
    button(panel, 'Confirm undo').click();
    await until(() => text(panel).includes('Undoing…'), 'the undo running');
    await view.updateComplete;
    expect(undoButtons().every((b) => b.disabled)).toBe(true);
    // A click on a disabled button does nothing: the running undo's panel stays.
    button(view, older as string).click();
    await view.updateComplete;
    expect(shadow(view, 'shelf-undo-panel')).toBe(panel);
    storage.commitGate = undefined;
    held.open();
    await until(() => text(panel).includes('undone by transaction'), 'the result');
    await view.updateComplete;
    expect(undoButtons().every((b) => !b.disabled)).toBe(true);
    await db.close();
  });
});

describe('adding a dict entry', () => {
  /** A table over the dict `root.d` (filled by `fill`), editable, with an Add entry form open. */
  async function addForm(fill: (d: PersistentDict<unknown, unknown>) => void) {
    const db = new Database(new MemoryStorage());
    const app = db.open();
    const dict = new PersistentDict<unknown, unknown>();
    fill(dict);
    (await app.root()).set('d', dict);
    await app.commit();
    const conn = db.open();
    const table = document.createElement('shelf-container-table') as ShelfContainerTable;
    table.held = { obj: (await conn.get(dict._p_oid as number)) as PersistentDict };
    table.connection = conn;
    table.database = db;
    table.editable = true;
    document.body.append(table);
    await until(() => text(table).includes('Add entry'), 'the table');
    button(table, 'Add entry').click();
    await table.updateComplete;
    const form = shadow(table, 'shelf-edit-form');
    await until(
      () => !!form.shadowRoot?.querySelector('button[type="submit"]:not([disabled])'),
      'the form',
    );
    const save = async (key: string, value: string): Promise<void> => {
      type(shadow(form, '[name="key"]'), key);
      type(shadow(form, '[name="value"]'), value);
      shadow(form, 'form').dispatchEvent(new Event('submit', { cancelable: true }));
      await until(
        () =>
          !table.shadowRoot?.contains(form) || !!form.shadowRoot?.querySelector('[role="alert"]'),
        'the save',
      );
    };
    const keys = async (): Promise<unknown[]> => {
      await app.sync();
      await app.load(dict);
      return [...dict.keys()];
    };
    return { db, table, form, save, keys };
  }

  it('stores a number key in a dict keyed by numbers, and says the kind beside the key', async () => {
    const { db, form, save, keys } = await addForm((d) => d.set(1, 'one'));
    expect(text(form)).toContain('keys are numbers');
    await save('2', 'two');
    expect(await keys()).toEqual([1, 2]);
    await db.close();
  });

  it('says a typed key that is not a number is not one, and stores nothing', async () => {
    const { db, form, save, keys } = await addForm((d) => d.set(1, 'one'));
    await save('two', 'x');
    expect(form.shadowRoot?.querySelector('[role="alert"]')?.textContent).toContain(
      '"two" is not a number',
    );
    expect(await keys()).toEqual([1]);
    await db.close();
  });

  it('stores a bigint key typed as 123n in a dict keyed by bigints', async () => {
    const { db, form, save, keys } = await addForm((d) => d.set(1n, 'one'));
    expect(text(form)).toContain('keys are bigints');
    await save('123n', 'x');
    expect(await keys()).toEqual([1n, 123n]);
    await db.close();
  });

  it('stores the key as typed in an empty or mixed dict, and says so', async () => {
    const empty = await addForm(() => undefined);
    expect(text(empty.form)).toContain('key is a string');
    await empty.save('2', 'x');
    expect(await empty.keys()).toEqual(['2']);
    await empty.db.close();
    const mixed = await addForm((d) => {
      d.set(1, 'one');
      d.set('b', 'bee');
    });
    await mixed.save('3', 'x');
    expect(await mixed.keys()).toEqual([1, 'b', '3']);
    await mixed.db.close();
  });
});

class Pair extends Persistent {
  static _p_name = 'test.Pair';
  a: string | undefined = 'first';
  b = 'second';
}

describe('the object view while its fields shift', () => {
  it('keeps an open edit form and its typed text when a field before it is removed elsewhere', async () => {
    const db = new Database(new MemoryStorage(), { classes: [Pair] });
    const app = db.open();
    const pair = new Pair();
    (await app.root()).set('pair', pair);
    await app.commit();
    const conn = db.open();
    const view = document.createElement('shelf-object-view') as ShelfObjectView;
    conn.addEventListener('change', () => view.revision++);
    view.database = db;
    view.connection = conn;
    view.editable = true;
    view.oid = pair._p_oid as number;
    document.body.append(view);
    await until(() => text(view).includes('second'), 'the object');
    button(view, 'Edit field b').click();
    await view.updateComplete;
    const form = shadow(view, 'shelf-edit-form');
    await until(
      () => !!form.shadowRoot?.querySelector('button[type="submit"]:not([disabled])'),
      'the form',
    );
    type(shadow(form, '[name="value"]'), 'typed by the user');
    delete pair.a;
    await app.commit();
    const fieldNames = (): string[] =>
      [...(view.shadowRoot?.querySelectorAll('td.name') ?? [])].map((td) => td.textContent ?? '');
    await until(() => fieldNames().length === 1, 'the field gone');
    expect(fieldNames()).toEqual(['b']);
    expect(shadow(view, 'shelf-edit-form')).toBe(form);
    expect((shadow(form, '[name="value"]') as HTMLInputElement).value).toBe('typed by the user');
    await db.close();
  });
});

describe('the maintenance stats while commits keep coming', () => {
  it('shows a stats read that completes after a later one started, but not after a later one showed', async () => {
    const storage = new HeldStatsStorage();
    const db = new Database(storage);
    const view = document.createElement('shelf-maintenance-view') as ShelfMaintenanceView;
    view.database = db;
    document.body.append(view);
    await until(() => storage.statsGates.length === 1, 'the first read');
    view.revision = 1; // a commit elsewhere: a second read starts before the first completes
    await until(() => storage.statsGates.length === 2, 'the second read');
    const objects = (): string =>
      view.shadowRoot?.querySelector('table.stats tr:nth-child(2) td')?.textContent ?? '';
    storage.statsGates[0]?.open();
    await until(() => objects() !== '', 'the first read shown');
    expect(objects()).toBe('1');
    view.revision = 2;
    await until(() => storage.statsGates.length === 3, 'the third read');
    storage.statsGates[2]?.open();
    await until(() => objects() === '3', 'the third read shown');
    storage.statsGates[1]?.open(); // started before the third, which is shown: not shown
    await until(() => storage.answered === 3, 'the second read answered');
    await turn(); // the view's continuation after the answer
    await view.updateComplete;
    expect(objects()).toBe('3');
    expect(storage.statsGates).toHaveLength(3);
    await db.close();
  });
});
