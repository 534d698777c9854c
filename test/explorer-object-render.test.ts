// @vitest-environment happy-dom
/** The explorer's rendering of described values (value-view.ts) in a DOM. */
import { describe, expect, it } from 'vitest';
import { render } from 'lit';
import { Database, MemoryStorage, Persistent } from '../src/index.js';
import { describeValue } from '../src/explorer/value-model.js';
import { renderValue } from '../src/explorer/value-view.js';
import { NavigateEvent } from '../src/explorer/explorer-events.js';

class Note extends Persistent {
  static _p_name = 'test.Note';
  title = '';
  next: Note | null = null;
}

function shown(value: unknown): HTMLElement {
  const host = document.createElement('div');
  document.body.append(host);
  render(renderValue(describeValue(value)), host);
  return host;
}

describe('rendering values in the explorer', () => {
  it('renders a reference as a link button that asks to show that object, without loading it', async () => {
    const db = new Database(new MemoryStorage(), { classes: [Note] });
    const writer = db.open();
    const note = new Note();
    note.next = new Note();
    (await writer.root()).set('n', note);
    await writer.commit();
    const reader = db.open();
    const loaded = (await reader.get(note._p_oid as number)) as Note;
    const ghost = loaded.next as Note;
    const host = shown(ghost);
    const link = host.querySelector('button.link') as HTMLButtonElement;
    expect(link.textContent?.trim()).toBe(`test.Note #${ghost._p_oid}`);
    const asked: number[] = [];
    host.addEventListener('shelf-navigate', (e) => asked.push((e as NavigateEvent).oid));
    link.click();
    expect(asked).toEqual([ghost._p_oid]);
    expect(ghost._p_status).toBe('ghost');
    await db.close();
  });

  it('cuts a long string and offers the whole of it in a disclosure', () => {
    const host = shown('y'.repeat(1000));
    expect(host.querySelector('summary')?.textContent).toBe('show all 1000 characters');
    expect(host.querySelector('pre')?.textContent).toBe('y'.repeat(1000));
  });

  it('nests collections in details, collapsed when large, with the count of what is not shown', () => {
    const host = shown(Array.from({ length: 30 }, (_, i) => i));
    const details = host.querySelector('details') as HTMLDetailsElement;
    expect(details.open).toBe(false);
    expect(details.querySelector('summary')?.textContent).toBe('Array(30)');
    expect(details.querySelectorAll('li')).toHaveLength(21);
    expect(details.textContent).toContain('… 10 more (30 in all)');
    const small = shown({ a: 1 }).querySelector('details') as HTMLDetailsElement;
    expect(small.open).toBe(true);
  });
});
