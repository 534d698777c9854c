// @vitest-environment happy-dom
/**
 * Four defects a review of the explorer found (issue 14), each shown in happy-dom over MemoryStorage
 * databases whose calls the tests hold back (a gate) to make the race happen on demand: an undo
 * still running when another row's Undo is clicked, a dict entry added to a dict keyed by numbers
 * or bigints, an open edit form while the object's fields shift, and stats reads that a steady
 * stream of commits keeps reissuing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Database, MemoryStorage } from '../src/index.js';
import type { CommitRequest, Tid } from '../src/shared/storage.js';
import { ShelfLogView } from '../src/explorer/log-view.js';
import { until } from './until.js';

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
