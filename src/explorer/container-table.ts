/**
 * `<shelf-container-table>`: a PersistentDict (key, value; filtered by key prefix), PersistentList
 * (index, value) or PersistentSet (value) as a table, one page of 50 rows at a time, with Next /
 * Previous and a "rows a–b of n" label. In an editable explorer a dict also offers to add an entry
 * and to remove one (edit-form.ts). After a change elsewhere (`revision`) it shows the same page
 * position again.
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { Connection } from '../connection.js';
import type { Database } from '../database.js';
import type { PersistentDict } from '../persistent-dict.js';
import type { PersistentList } from '../persistent-list.js';
import type { PersistentSet } from '../persistent-set.js';
import { baseStyles } from './explorer-styles.js';
import { describeError } from './explorer-events.js';
import { pageContainer, type ContainerPage } from './container-page.js';
import type { Held } from './object-model.js';
import { valueStyles, renderValue } from './value-view.js';
import { valueText } from './value-model.js';
import type { EditAction, EditClosedEvent } from './edit-form.js';
import { dictKeys, type DictKeys } from './key-input.js';
import './edit-form.js';

/** Rows per page. */
export const PAGE_SIZE = 50;

type Container = PersistentDict | PersistentList | PersistentSet;

/** The rows label: "rows 51–100 of 1,234" (or "no rows"). */
export function rowsLabel(offset: number, shown: number, total: number, matching = false): string {
  if (shown === 0) return matching ? 'no matching rows' : 'no rows';
  const n = total.toLocaleString('en');
  return `rows ${(offset + 1).toLocaleString('en')}–${(offset + shown).toLocaleString('en')} of ${n}${matching ? ' matching' : ''}`;
}

/** A container as a paged table. */
export class ShelfContainerTable extends LitElement {
  /** @internal */
  static override properties = {
    held: { attribute: false },
    connection: { attribute: false },
    database: { attribute: false },
    editable: { type: Boolean },
    revision: { type: Number },
    page: { state: true },
    keyPrefix: { state: true },
    form: { state: true },
    error: { state: true },
    saved: { state: true },
  };

  /** The container shown (loaded in `connection`), in its holder. */
  declare held: Held<Container> | undefined;
  /** The explorer's connection, to load the container again after a change. */
  declare connection: Connection | undefined;
  /** The database edits open their connection on. */
  declare database: Database | undefined;
  /** Offer to add and remove dict entries. */
  declare editable: boolean;
  /** Bumped by the explorer when its snapshot moved: show the page again. */
  declare revision: number;
  declare private page: ContainerPage | undefined;
  declare private keyPrefix: string;
  /** The open edit form, if any. */
  declare private form: EditAction | undefined;
  declare private error: string | undefined;
  declare private saved: string | undefined;
  /**
   * How a key typed for a new entry is read (by the dict's keys), taken with each page: the dict
   * may be a ghost again when Add entry is clicked.
   */
  private keys: DictKeys | undefined = undefined;
  /** Bumped at each refresh, so a late one does not replace a newer page. */
  private ticket = 0;

  /** @internal */
  static override styles = [
    baseStyles,
    valueStyles,
    css`
      td.num {
        width: 1%;
        white-space: nowrap;
      }
    `,
  ];

  constructor() {
    super();
    this.held = undefined;
    this.connection = undefined;
    this.database = undefined;
    this.editable = false;
    this.revision = 0;
    this.page = undefined;
    this.keyPrefix = '';
    this.form = undefined;
    this.error = undefined;
    this.saved = undefined;
  }

  /** @internal */
  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('held')) {
      this.keyPrefix = '';
      this.form = undefined;
      this.saved = undefined;
      void this.refresh(0);
    } else if (changed.has('revision')) {
      void this.refresh(this.page?.offset ?? 0);
    }
  }

  private get obj(): Container | undefined {
    return this.held?.obj;
  }

  /** Shows the page at `offset`, loading the container first if it became a ghost. */
  private async refresh(offset: number): Promise<void> {
    const obj = this.obj;
    const ticket = ++this.ticket;
    if (obj === undefined) return;
    try {
      // Made a ghost by a 'change': load it (a load hands it over loaded, whatever moves).
      if (obj._p_status === 'ghost') await this.connection?.load(obj);
      if (ticket !== this.ticket) return;
      this.page = pageContainer(obj, offset, PAGE_SIZE, this.keyPrefix);
      // Only for a form that may add an entry: it walks the keys (stopping where kinds mix).
      this.keys =
        this.editable && this.page.kind === 'dict'
          ? dictKeys((obj as PersistentDict).data.keys())
          : undefined;
      this.error = undefined;
    } catch (error) {
      if (ticket === this.ticket) this.error = `Could not read the rows: ${describeError(error)}`;
    }
  }

  private filter(event: Event): void {
    this.keyPrefix = (event.target as HTMLInputElement).value;
    void this.refresh(0);
  }

  private closed(event: EditClosedEvent): void {
    this.form = undefined;
    if (event.tid !== undefined) this.saved = `Saved as transaction ${event.tid}.`;
  }

  private renderForm(): TemplateResult | typeof nothing {
    if (this.form === undefined || this.obj?._p_oid === undefined) return nothing;
    return html`<shelf-edit-form
      .database=${this.database}
      .oid=${this.obj._p_oid}
      .action=${this.form}
      @shelf-edit-closed=${(e: EditClosedEvent) => this.closed(e)}
    ></shelf-edit-form>`;
  }

  private renderRow(page: ContainerPage, row: ContainerPage['rows'][number]): TemplateResult {
    const removable =
      this.editable &&
      page.kind === 'dict' &&
      ['string', 'number', 'bigint', 'boolean'].includes(typeof row.rawKey);
    const first =
      page.kind === 'dict'
        ? html`<td>${row.key ? renderValue(row.key) : nothing}</td>`
        : page.kind === 'list'
          ? html`<td class="num mono">${row.index}</td>`
          : nothing;
    return html`<tr>
      ${first}
      <td>${renderValue(row.value)}</td>
      ${
        page.kind === 'dict' && this.editable
          ? html`<td class="num">
              ${
                removable
                  ? html`<button
                      type="button"
                      aria-label="Remove entry ${row.key ? valueText(row.key) : ''}"
                      @click=${() => {
                        this.saved = undefined;
                        this.form = { kind: 'dict-delete', key: row.rawKey, current: row.rawValue };
                      }}
                    >
                      Remove
                    </button>`
                  : nothing
              }
            </td>`
          : nothing
      }
    </tr>`;
  }

  /** @internal */
  override render(): TemplateResult {
    const page = this.page;
    if (this.error) return html`<p class="error" role="alert">${this.error}</p>`;
    if (page === undefined) return html`<p class="muted">Loading…</p>`;
    const name = page.kind === 'dict' ? 'Entries' : page.kind === 'list' ? 'Items' : 'Members';
    const label = rowsLabel(page.offset, page.rows.length, page.total, this.keyPrefix !== '');
    return html`
      <h3>${name}</h3>
      <div class="toolbar">
        ${
          page.kind === 'dict'
            ? html`<label
                >Key prefix
                <input
                  aria-label="Filter keys by prefix"
                  .value=${this.keyPrefix}
                  @input=${(e: Event) => this.filter(e)}
              /></label>`
            : nothing
        }
        <button
          type="button"
          ?disabled=${page.offset === 0}
          @click=${() => void this.refresh(page.offset - PAGE_SIZE)}
        >
          Previous
        </button>
        <button
          type="button"
          ?disabled=${page.offset + page.rows.length >= page.total}
          @click=${() => void this.refresh(page.offset + PAGE_SIZE)}
        >
          Next
        </button>
        <span class="muted" role="status">${label}</span>
        ${
          page.kind === 'dict' && this.editable
            ? html`<button
                type="button"
                @click=${() => {
                  this.saved = undefined;
                  this.form = { kind: 'dict-set', keys: this.keys };
                }}
              >
                Add entry
              </button>`
            : nothing
        }
      </div>
      ${this.saved ? html`<p class="ok" role="status">${this.saved}</p>` : nothing}
      ${this.renderForm()}
      <table aria-label=${name}>
        <thead>
          <tr>
            ${page.kind === 'dict' ? html`<th scope="col">Key</th>` : nothing}
            ${page.kind === 'list' ? html`<th scope="col">Index</th>` : nothing}
            <th scope="col">Value</th>
            ${
              page.kind === 'dict' && this.editable
                ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>`
                : nothing
            }
          </tr>
        </thead>
        <tbody>
          ${page.rows.map((row) => this.renderRow(page, row))}
        </tbody>
      </table>
    `;
  }
}

if (!customElements.get('shelf-container-table'))
  customElements.define('shelf-container-table', ShelfContainerTable);
