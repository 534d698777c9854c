// @vitest-environment happy-dom
/**
 * The explorer's log and maintenance views in Node: rendered by lit into happy-dom's document over
 * MemoryStorage databases. What the browser tests cannot make happen on demand is tested here: a
 * pack that is still running when Cancel is pressed, a read-only log, a load that fails.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Database, MemoryStorage, PersistentDict } from '../src/index.js';
import type { PackOptions, PackResult } from '../src/shared/storage.js';
import { ShelfLogView } from '../src/explorer/log-view.js';
import { ShelfMaintenanceView } from '../src/explorer/maintenance-view.js';
import { until } from './until.js';

afterEach(() => document.body.replaceChildren());

/** A storage whose pack reports one step of progress, then runs until its signal aborts it. */
class EndlessPackStorage extends MemoryStorage {
  override pack(options: PackOptions = {}): Promise<PackResult> {
    options.onProgress?.({ phase: 'mark', done: 3, total: 10 });
    return new Promise((_, reject) => {
      const signal = options.signal;
      if (signal === undefined) return; // never aborted: runs forever, as the test needs
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
  }
}

/** The view's shadow root's text, whitespace collapsed. */
function text(el: Element): string {
  return (el.shadowRoot?.textContent ?? '').replace(/\s+/g, ' ');
}

function button(el: Element, name: string): HTMLButtonElement {
  const found = [...(el.shadowRoot?.querySelectorAll('button') ?? [])].find(
    (b) => (b.getAttribute('aria-label') ?? b.textContent ?? '').trim() === name,
  );
  if (found === undefined) throw new Error(`no button ${name}`);
  return found;
}

/** A database of `count` transactions after the root's, each noted `edit <i>`. */
async function withTransactions(count: number): Promise<Database> {
  const db = new Database(new MemoryStorage());
  const conn = db.open();
  const root = await conn.root();
  for (let i = 0; i < count; i++) {
    root.set('n', i);
    await conn.commit({ note: `edit ${i}` });
  }
  conn.close();
  return db;
}

function mountLog(db: Database, editable: boolean, conn = db.open()): ShelfLogView {
  const view = document.createElement('shelf-log-view');
  view.database = db;
  view.connection = conn;
  view.editable = editable;
  document.body.append(view);
  return view;
}

function rows(view: Element): HTMLTableRowElement[] {
  return [...(view.shadowRoot?.querySelectorAll<HTMLTableRowElement>('tbody tr[data-tid]') ?? [])];
}

describe('<shelf-maintenance-view>', () => {
  it('Cancel stops a running pack and says the database is unchanged and valid', async () => {
    const db = new Database(new EndlessPackStorage());
    const view = document.createElement('shelf-maintenance-view') as ShelfMaintenanceView;
    view.database = db;
    document.body.append(view);
    await until(() => text(view).includes('Garbage ratio'), 'the stats');
    button(view, 'Pack').click();
    await until(() => text(view).includes('Packing: mark'), 'the progress');
    expect(text(view)).toContain('3 of 10');
    expect(button(view, 'Pack').disabled).toBe(true);
    expect(button(view, 'Verify').disabled).toBe(true);
    button(view, 'Cancel').click();
    await until(() => text(view).includes('Pack cancelled'), 'the cancellation');
    expect(text(view)).toContain('Pack cancelled; the database is unchanged and valid.');
    expect(button(view, 'Pack').disabled).toBe(false);
    expect(view.shadowRoot?.querySelector('progress')).toBe(null);
    await db.close();
  });

  it('shows a failing stats read as an alert, not a blank view', async () => {
    const db = new Database(new MemoryStorage());
    await db.close();
    const view = document.createElement('shelf-maintenance-view') as ShelfMaintenanceView;
    view.database = db;
    document.body.append(view);
    await until(() => view.shadowRoot?.querySelector('[role="alert"]') != null, 'the alert');
    expect(text(view)).toContain('DatabaseClosedError');
  });
});

describe('<shelf-log-view>', () => {
  it('offers Undo only when editable, and says why not otherwise', async () => {
    const db = await withTransactions(2);
    const readOnly = mountLog(db, false);
    await until(() => rows(readOnly).length === 3, 'the read-only log');
    expect(text(readOnly)).toContain('Read-only: undo needs the explorer');
    expect(readOnly.shadowRoot?.querySelectorAll('button[aria-label^="Undo"]')).toHaveLength(0);
    const editable = mountLog(db, true);
    await until(() => rows(editable).length === 3, 'the editable log');
    expect(editable.shadowRoot?.querySelectorAll('button[aria-label^="Undo"]')).toHaveLength(3);
    await db.close();
  });

  it('pages with Older and Newer, 50 a page, newest first', async () => {
    const db = await withTransactions(119); // 120 with the root's
    const view = mountLog(db, false);
    const tids = (): number[] => rows(view).map((r) => Number(r.dataset['tid']));
    await until(() => rows(view).length === 50, 'the first page');
    const first = tids();
    expect(button(view, 'Newer').disabled).toBe(true);
    button(view, 'Older').click();
    await until(() => tids()[0] !== first[0], 'the second page');
    const second = tids();
    button(view, 'Older').click();
    await until(() => tids()[0] !== second[0], 'the third page');
    const third = tids();
    expect(third).toHaveLength(20);
    expect(button(view, 'Older').disabled).toBe(true);
    const all = [...first, ...second, ...third];
    expect(all).toEqual([...all].sort((a, b) => b - a));
    expect(new Set(all).size).toBe(120);
    button(view, 'Newer').click();
    await until(() => tids()[0] === second[0], 'the second page again');
    await db.close();
  });

  it('shows the new transaction when the explorer bumps the revision after a commit elsewhere', async () => {
    const db = await withTransactions(1);
    const view = mountLog(db, false);
    await until(() => rows(view).length === 2, 'the log');
    const other = db.open();
    (await other.root()).set('late', new PersistentDict());
    await other.commit({ note: 'from another tab' });
    view.revision = 1;
    await until(() => rows(view).length === 3, 'the new transaction');
    expect(rows(view)[0]?.textContent).toContain('from another tab');
    await db.close();
  });

  it('says when the oid filter holds something that is not an oid, and filters by it once it is one', async () => {
    const db = await withTransactions(3);
    const view = mountLog(db, false);
    await until(() => rows(view).length === 4, 'the log');
    const input = view.shadowRoot?.querySelector<HTMLInputElement>('#log-oid');
    if (!input) throw new Error('no oid filter');
    input.value = 'x1';
    input.dispatchEvent(new Event('input'));
    await view.updateComplete;
    expect(text(view)).toContain('"x1" is not an oid');
    expect(rows(view)).toHaveLength(4);
    input.value = '1'; // the root's dict is oid 0; nothing here wrote oid 1
    input.dispatchEvent(new Event('input'));
    await until(() => rows(view).length === 0, 'the filtered log');
    expect(text(view)).not.toContain('is not an oid');
    expect(text(view)).toContain('No transaction matches here.');
    await db.close();
  });

  it('shows a failing log read as an alert', async () => {
    const db = await withTransactions(1);
    const conn = db.open();
    await db.close();
    const view = mountLog(db, false, conn);
    await until(() => view.shadowRoot?.querySelector('[role="alert"]') != null, 'the alert');
    expect(text(view)).toContain('DatabaseClosedError');
  });
});
