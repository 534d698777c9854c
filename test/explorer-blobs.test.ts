// @vitest-environment happy-dom
/**
 * Blobs in the explorer: a Blob value described (value-model.ts) and shown (blob-value.ts: type,
 * size, name, hash, an image's preview, Download), and the Blobs tab (blobs-view.ts: the named
 * Blobs of db.blobs, paged).
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { render } from 'lit';
import { Database, MemoryStorage, Persistent } from '../src/index.js';
import { BlobReference } from '../src/blob-tag.js';
import { blobText, describeValue, valueText, type ValueNode } from '../src/explorer/value-model.js';
import { renderValue } from '../src/explorer/value-view.js';
import { PREVIEW_LIMIT, type ShelfBlobValue } from '../src/explorer/blob-value.js';
import { BLOBS_PAGE, type ShelfBlobsView } from '../src/explorer/blobs-view.js';
import { until } from './until.js';

class Doc extends Persistent {
  static _p_name = 'test.Doc';
  photo: Blob | null = null;
  files: Blob[] = [];
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

afterEach(() => {
  document.body.replaceChildren();
  vi.restoreAllMocks();
});

/** A database with a Doc holding `photo`, committed, and the Doc loaded back in a new connection. */
async function storedDoc(photo: Blob): Promise<{ db: Database; doc: Doc }> {
  const db = new Database(new MemoryStorage(), { classes: [Doc] });
  const writer = db.open();
  const doc = new Doc();
  doc.photo = photo;
  (await writer.root()).set('doc', doc);
  await writer.commit();
  const reader = db.open();
  return { db, doc: (await reader.get(doc._p_oid as number)) as Doc };
}

/** The `<shelf-blob-value>` of `value`, rendered as the explorer renders a field's value. */
async function shownBlob(value: unknown): Promise<ShelfBlobValue> {
  const host = document.createElement('div');
  document.body.append(host);
  render(renderValue(describeValue(value)), host);
  const element = host.querySelector('shelf-blob-value') as ShelfBlobValue;
  await element.updateComplete;
  return element;
}

const textOf = (element: Element): string =>
  (element.shadowRoot?.textContent ?? '').replace(/\s+/g, ' ').trim();

describe('Blob values in the explorer', () => {
  it('describes a File not stored yet with its name, type and size, and says it is not stored', () => {
    const node = describeValue(new File(['hello'], 'a.txt', { type: 'text/plain' }));
    expect(node).toMatchObject({ kind: 'blob', name: 'a.txt', type: 'text/plain', size: 5 });
    expect(valueText(node)).toBe('File "a.txt" text/plain, 5 bytes, not stored yet');
    expect(valueText(describeValue(new Blob([])))).toBe('Blob (no type), 0 bytes, not stored yet');
  });

  it('describes a stored File loaded back with the hash of its bytes and its blob record', async () => {
    const { db, doc } = await storedDoc(
      new File(['photo bytes'], 'cat.png', { type: 'image/png' }),
    );
    const node = describeValue(doc.photo) as Extract<ValueNode, { kind: 'blob' }>;
    expect(node).toMatchObject({ kind: 'blob', name: 'cat.png', type: 'image/png', size: 11 });
    expect(node.hash).toBe(sha256('photo bytes'));
    expect(typeof node.oid).toBe('number');
    expect(blobText(node)).toBe(
      `File "cat.png" image/png, 11 bytes, ${sha256('photo bytes').slice(0, 12)}…`,
    );
    await db.close();
  });

  it('describes a Blob read without its storage (history, diffs) from its tag alone', () => {
    const hash = sha256('x');
    const reference = new BlobReference({
      oid: 7,
      hash,
      size: 1,
      type: '',
      name: null,
      lastModified: null,
    });
    expect(describeValue(reference)).toMatchObject({ kind: 'blob', blob: undefined, hash, oid: 7 });
  });

  it('shows a stored Blob value with its type, size, name, hash and record, and a Download button that saves its file', async () => {
    const { db, doc } = await storedDoc(
      new File(['a,b\n1,2\n'], 'table.csv', { type: 'text/csv' }),
    );
    const element = await shownBlob(doc.photo);
    const text = textOf(element);
    for (const part of [
      'File "table.csv"',
      'text/csv',
      '8 bytes',
      `${sha256('a,b\n1,2\n').slice(0, 12)}…`,
    ]) {
      expect(text).toContain(part);
    }
    expect(element.shadowRoot?.querySelector('.hash')?.getAttribute('title')).toBe(
      sha256('a,b\n1,2\n'),
    );
    expect(element.shadowRoot?.querySelector('img')).toBeNull(); // not an image: no preview

    const clicked: { download: string; href: string; bytes: string }[] = [];
    const made = new Map<string, Blob>();
    vi.spyOn(URL, 'createObjectURL').mockImplementation((blob) => {
      const url = `blob:test/${made.size}`;
      made.set(url, blob as Blob);
      return url;
    });
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      clicked.push({ download: this.download, href: this.href, bytes: '' });
    });
    const download = [...element.shadowRoot!.querySelectorAll('button')].find(
      (b) => b.textContent?.trim() === 'Download',
    );
    expect(download?.getAttribute('aria-label')).toBe('Download table.csv');
    download!.click();
    await until(() => clicked.length === 1, 'the download link to be clicked');
    expect(clicked[0]).toMatchObject({ download: 'table.csv', href: 'blob:test/0' });
    expect(await made.get('blob:test/0')!.text()).toBe('a,b\n1,2\n');
    await db.close();
  });

  it('previews an image by an object URL of its file, and revokes it when the view goes', async () => {
    const { db, doc } = await storedDoc(
      new File(['not really a png'], 'cat.png', { type: 'image/png' }),
    );
    const made: string[] = [];
    const revoked: string[] = [];
    vi.spyOn(URL, 'createObjectURL').mockImplementation(() => {
      made.push(`blob:test/${made.length}`);
      return made.at(-1)!;
    });
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation((url) => void revoked.push(url));
    const element = await shownBlob(doc.photo);
    await until(() => element.shadowRoot?.querySelector('img') !== null, 'the preview');
    const img = element.shadowRoot!.querySelector('img')!;
    expect(img.getAttribute('src')).toBe('blob:test/0');
    expect(img.getAttribute('alt')).toBe('Preview of cat.png');
    expect(revoked).toEqual([]);
    element.remove();
    expect(revoked).toEqual(['blob:test/0']);
    await db.close();
  });

  it('gives no preview to an image larger than the limit, nor to one known only by its tag', async () => {
    const big = new File([new Uint8Array(PREVIEW_LIMIT + 1)], 'huge.png', { type: 'image/png' });
    const spy = vi.spyOn(URL, 'createObjectURL');
    const element = await shownBlob(big);
    await element.updateComplete;
    expect(element.shadowRoot?.querySelector('img')).toBeNull();
    const reference = new BlobReference({
      oid: 3,
      hash: sha256('r'),
      size: 1,
      type: 'image/png',
      name: 'r.png',
      lastModified: null,
    });
    const tagged = await shownBlob(reference);
    expect(tagged.shadowRoot?.querySelector('img')).toBeNull();
    expect(textOf(tagged)).not.toContain('Download');
    expect(spy).not.toHaveBeenCalled();
  });
});

describe('the Blobs tab', () => {
  async function blobsView(db: Database): Promise<ShelfBlobsView> {
    await import('../src/explorer/blobs-view.js');
    const view = document.createElement('shelf-blobs-view') as ShelfBlobsView;
    view.database = db;
    view.connection = db.open();
    document.body.append(view);
    return view;
  }

  const status = (view: ShelfBlobsView): string =>
    view.shadowRoot?.querySelector('[role="status"]')?.textContent?.trim() ?? '';
  const keys = (view: ShelfBlobsView): string[] =>
    [...(view.shadowRoot?.querySelectorAll('tbody tr td:first-child') ?? [])].map(
      (td) => td.textContent?.trim() ?? '',
    );
  const button = (view: ShelfBlobsView, name: string): HTMLButtonElement =>
    [...view.shadowRoot!.querySelectorAll('button')].find((b) => b.textContent?.trim() === name)!;

  it('lists the named Blobs a page at a time with their size and type, and the blob files counted', async () => {
    const db = new Database(new MemoryStorage(), { classes: [Doc] });
    const writer = db.open();
    const count = BLOBS_PAGE * 2 + 3;
    for (let i = 0; i < count; i++) {
      const key = `photos/${String(i).padStart(3, '0')}.txt`;
      await db.blobs.put(writer, key, new Blob([`photo ${i % 10}`], { type: 'text/plain' }));
    }
    await writer.commit();
    const view = await blobsView(db);
    await until(() => status(view) === `1–${BLOBS_PAGE} of ${count}`, 'the first page');
    expect(keys(view)).toHaveLength(BLOBS_PAGE);
    expect(keys(view)[0]).toBe('photos/000.txt');
    const first = view.shadowRoot!.querySelector('tbody tr')!;
    expect(
      [...first.querySelectorAll('td')].slice(1, 3).map((td) => td.textContent?.trim()),
    ).toEqual(['7 bytes', 'text/plain']);
    // Ten distinct contents: ten blob files for 103 names.
    const stats = view.shadowRoot!.querySelector('.stats')!.textContent!.replace(/\s+/g, ' ');
    expect(stats).toContain('blob files 10');
    expect(stats).toContain(`named ${count}`);

    button(view, 'Next').click();
    await until(
      () => status(view) === `${BLOBS_PAGE + 1}–${BLOBS_PAGE * 2} of ${count}`,
      'the second page',
    );
    expect(keys(view)[0]).toBe(`photos/${String(BLOBS_PAGE).padStart(3, '0')}.txt`);

    const prefix = view.shadowRoot!.querySelector<HTMLInputElement>('input[name="prefix"]')!;
    prefix.value = 'photos/10';
    view
      .shadowRoot!.querySelector('form')!
      .dispatchEvent(new Event('submit', { cancelable: true }));
    await until(() => keys(view).length === 3, 'the keys with the prefix');
    expect(keys(view)).toEqual(['photos/100.txt', 'photos/101.txt', 'photos/102.txt']);
    await db.close();
  });

  it('says there are no named Blobs in a database that never named one, and shows one put later', async () => {
    const db = new Database(new MemoryStorage(), { classes: [Doc] });
    const view = await blobsView(db);
    await until(
      () => (view.shadowRoot?.textContent ?? '').includes('No named Blobs'),
      'the empty state',
    );
    const writer = db.open();
    await db.blobs.put(writer, 'readme', new File(['hi'], 'readme.md', { type: 'text/markdown' }));
    await writer.commit();
    view.revision++;
    await until(() => keys(view).join() === 'readme', 'the named Blob');
    expect(textOf(view.shadowRoot!.querySelector('shelf-blob-value')!)).toContain(
      'File "readme.md"',
    );
    await db.close();
  });
});
