/**
 * `<shelf-blobs-view>`: the Blobs tab. The database's blob files (count and bytes, from
 * `db.stats()`) and the named Blobs of `db.blobs`: their keys with each Blob's name, type, size
 * and hash, and a Download button, 50 at a time by key range over the namespace's BTree
 * (btree-pager.ts: never the whole tree), searchable by key prefix. After a change elsewhere
 * (`revision`) it reads the page shown again from its first key.
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { BTree } from '../btree.js';
import { BLOBS_KEY } from '../blob-namespace.js';
import type { Connection } from '../connection.js';
import type { Database } from '../database.js';
import { baseStyles } from './explorer-styles.js';
import { describeError } from './explorer-events.js';
import { BTreePager, type PageSearch } from './btree-pager.js';
import { formatBytes } from './byte-format.js';
import { describeValue, valueText } from './value-model.js';
import { valueStyles } from './value-view.js';
import type { BlobNode } from './blob-value.js';
import './blob-value.js';

/** Named Blobs per page. */
export const BLOBS_PAGE = 50;

/** One row: a key and its Blob, described (the tree's nodes may become ghosts; the rows stay). */
interface Row {
  key: string;
  blob: BlobNode | undefined;
  /** What the key holds when it is not a Blob (someone wrote the tree directly). */
  other: string | undefined;
}

/** The page shown. */
interface Shown {
  rows: Row[];
  offset: number;
  hasNext: boolean;
  hasPrevious: boolean;
  search: PageSearch;
  /** Names in all. */
  size: number;
}

/** The Blobs tab of the explorer. */
export class ShelfBlobsView extends LitElement {
  /** @internal */
  static override properties = {
    database: { attribute: false },
    connection: { attribute: false },
    revision: { type: Number },
    shown: { state: true },
    files: { state: true },
    busy: { state: true },
    error: { state: true },
    empty: { state: true },
  };

  /** The database shown (its stats count the blob files). */
  declare database: Database | undefined;
  /** The explorer's connection, which the view reads through. */
  declare connection: Connection | undefined;
  /** Bumped by the explorer when its snapshot moved: read the page again. */
  declare revision: number;
  declare private shown: Shown | undefined;
  /** The blob files of the storage: count and bytes. */
  declare private files: { blobs: number; blobBytes: number } | undefined;
  declare private busy: boolean;
  declare private error: string | undefined;
  /** No Blob was ever named (the namespace's tree does not exist). */
  declare private empty: boolean;
  private pager: BTreePager | undefined;
  /** The namespace's tree the pager walks (replaced when the root names another). */
  private tree: BTree | undefined;
  private search: PageSearch = { kind: 'all' };
  /** Bumped at each step, so a late page does not replace a newer one. */
  private ticket = 0;

  /** @internal */
  static override styles = [
    baseStyles,
    valueStyles,
    css`
      form {
        display: contents;
      }
      .stats span {
        margin-right: 16px;
      }
    `,
  ];

  constructor() {
    super();
    this.database = undefined;
    this.connection = undefined;
    this.revision = 0;
    this.shown = undefined;
    this.files = undefined;
    this.busy = false;
    this.error = undefined;
    this.empty = false;
  }

  /** @internal */
  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('connection') || changed.has('database')) {
      this.pager = undefined;
      this.tree = undefined;
      this.search = { kind: 'all' };
      this.shown = undefined;
      void this.step((pager) => pager.first(this.search));
    } else if (changed.has('revision')) {
      void this.step((pager) => pager.reload());
    }
  }

  /** Finds the namespace's tree (again: a first put makes it), runs one paging step, shows it. */
  private async step(move: (pager: BTreePager) => Promise<unknown>): Promise<void> {
    const conn = this.connection;
    if (conn === undefined) return;
    const ticket = ++this.ticket;
    this.busy = true;
    try {
      const files = await this.database?.stats();
      const found: unknown = (await conn.root()).get(BLOBS_KEY);
      if (found !== undefined && !(found instanceof BTree)) {
        throw new Error(
          `the root key '${BLOBS_KEY}' holds ${valueText(describeValue(found))}, not the BTree of named Blobs`,
        );
      }
      if (found !== this.tree) {
        this.tree = found;
        this.pager = found === undefined ? undefined : new BTreePager(found, BLOBS_PAGE);
        move = (pager) => pager.first(this.search);
      }
      const pager = this.pager;
      if (pager !== undefined) await move(pager);
      if (ticket !== this.ticket) return;
      this.files =
        files === undefined ? undefined : { blobs: files.blobs, blobBytes: files.blobBytes };
      this.empty = pager === undefined;
      this.shown =
        pager === undefined || found === undefined
          ? undefined
          : {
              rows: pager.page.entries.map(([key, value]) => row(String(key), value)),
              offset: pager.page.offset,
              hasNext: pager.page.hasNext,
              hasPrevious: pager.page.hasPrevious,
              search: this.search,
              size: found.size,
            };
      this.error = undefined;
    } catch (error) {
      if (ticket === this.ticket)
        this.error = `Could not read the named Blobs: ${describeError(error)}`;
    } finally {
      if (ticket === this.ticket) this.busy = false;
    }
  }

  private searchPrefix(event: Event): void {
    event.preventDefault();
    const prefix = this.renderRoot.querySelector<HTMLInputElement>('input[name="prefix"]')?.value;
    this.search = prefix ? { kind: 'prefix', prefix } : { kind: 'all' };
    void this.step((pager) => pager.first(this.search));
  }

  /** @internal */
  override render(): TemplateResult {
    const shown = this.shown;
    const files = this.files;
    return html`
      <h3>Blobs</h3>
      <p class="stats">
        <span
          >blob files
          <strong class="mono">${files ? files.blobs.toLocaleString('en') : '…'}</strong></span
        >
        <span
          >bytes <strong class="mono">${files ? formatBytes(files.blobBytes) : '…'}</strong></span
        >
        <span
          >named
          <strong class="mono"
            >${shown?.size.toLocaleString('en') ?? (this.empty ? 0 : '…')}</strong
          ></span
        >
      </p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${
        this.empty
          ? html`<p class="muted">
              No named Blobs: <code>db.blobs.put(conn, key, blob)</code> names one. Blobs kept in
              objects' fields are shown with those objects (Objects tab).
            </p>`
          : this.table(shown)
      }
    `;
  }

  private table(shown: Shown | undefined): TemplateResult {
    return html`<div class="toolbar">
        <form @submit=${(e: Event) => this.searchPrefix(e)} aria-label="Search by key prefix">
          <label>Key prefix <input name="prefix" aria-label="Key prefix" /></label>
          <button type="submit">Search</button>
        </form>
        <button
          type="button"
          ?disabled=${!shown?.hasPrevious || this.busy}
          @click=${() => void this.step((pager) => pager.previous())}
        >
          Previous
        </button>
        <button
          type="button"
          ?disabled=${!shown?.hasNext || this.busy}
          @click=${() => void this.step((pager) => pager.next())}
        >
          Next
        </button>
        <span class="muted" role="status">${shown ? label(shown) : 'Loading…'}</span>
      </div>
      <table aria-label="Named Blobs">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Size</th>
            <th scope="col">Type</th>
            <th scope="col">Blob</th>
          </tr>
        </thead>
        <tbody>
          ${(shown?.rows ?? []).map(
            (r) =>
              html`<tr>
                <td class="mono">${r.key}</td>
                <td class="mono">${r.blob ? formatBytes(r.blob.size) : '—'}</td>
                <td class="mono">${r.blob ? r.blob.type || '(no type)' : '—'}</td>
                <td>
                  ${
                    r.blob
                      ? html`<shelf-blob-value compact .node=${r.blob}></shelf-blob-value>`
                      : html`<span class="warn">not a Blob:</span>
                          <span class="mono">${r.other}</span>`
                  }
                </td>
              </tr>`,
          )}
        </tbody>
      </table>`;
  }
}

/** The row of `key`: its Blob described, or what else it holds. */
function row(key: string, value: unknown): Row {
  const node = describeValue(value);
  return node.kind === 'blob'
    ? { key, blob: node, other: undefined }
    : { key, blob: undefined, other: valueText(node) };
}

/** Which rows are shown, of how many. */
function label(shown: Shown): string {
  if (shown.rows.length === 0) return shown.search.kind === 'all' ? 'none' : 'no matching keys';
  const range = `${shown.offset + 1}–${shown.offset + shown.rows.length}`;
  return shown.search.kind === 'all'
    ? `${range} of ${shown.size.toLocaleString('en')}`
    : `${range} of the keys with this prefix${shown.hasNext ? ' (more follow)' : ''}`;
}

if (!customElements.get('shelf-blobs-view'))
  customElements.define('shelf-blobs-view', ShelfBlobsView);
