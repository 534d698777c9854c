/**
 * `<shelf-log-view>`: the transaction log, newest first, 50 a page ("Older" / "Newer"),
 * filterable by note or user and by an oid (transaction-filter.ts scans a bounded number per page);
 * undo of a transaction when the explorer is editable (undo-panel.ts); and one object's history
 * with a diff between two revisions (history-view.ts).
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { Connection } from '../connection.js';
import type { Database } from '../database.js';
import type { Tid, TransactionInfo } from '../shared/storage.js';
import { baseStyles } from './explorer-styles.js';
import { describeError, NavigateEvent } from './explorer-events.js';
import { isEmptyFilter, readLogPage, type LogFilter, type LogPage } from './transaction-filter.js';
import type { UndoEvent, UndoRunningEvent } from './undo-panel.js';
import './history-view.js';
import './undo-panel.js';

/** Transactions per page. */
const PAGE_SIZE = 50;
/** Transactions a filtered page reads at most before it shows what it found. */
const SCAN_LIMIT = 2000;
/** Oids of a transaction shown as links before "+N". */
const OIDS_SHOWN = 4;

/** The transaction log of the database shown, with undo and object histories. */
export class ShelfLogView extends LitElement {
  /** @internal */
  static override properties = {
    database: { attribute: false },
    connection: { attribute: false },
    editable: { attribute: false },
    revision: { attribute: false },
    page: { state: true },
    starts: { state: true },
    filter: { state: true },
    loading: { state: true },
    error: { state: true },
    undoing: { state: true },
    undoRunning: { state: true },
    historyOid: { state: true },
    oidProblem: { state: true },
  };

  /** The database whose log is shown. */
  declare database: Database | undefined;
  /** The explorer's connection: histories are read through it. */
  declare connection: Connection | undefined;
  /** Offers undo (the explorer's `editable`). */
  declare editable: boolean;
  /** Bumped by the explorer when the snapshot moves: the page is read again. */
  declare revision: number;
  /** The page shown; undefined before the first read. */
  declare private page: LogPage | undefined;
  /**
   * Where each page read so far starts (`before`, exclusive; undefined for the newest): the last
   * is the page shown, "Newer" drops it, "Older" pushes the shown page's `next`.
   */
  declare private starts: (Tid | undefined)[];
  declare private filter: LogFilter;
  declare private loading: boolean;
  declare private error: string | undefined;
  /** The transaction whose undo is being confirmed or reported. */
  declare private undoing: TransactionInfo | undefined;
  /**
   * The undo of `undoing` runs: every row's Undo is disabled meanwhile, since another panel in its
   * place would drop this one's outcome (its new tid, or its conflict) unseen.
   */
  declare private undoRunning: boolean;
  /** The object whose history is shown. */
  declare private historyOid: number | undefined;
  /** Why the text in the oid filter is not an oid (the filter keeps its last valid oid meanwhile). */
  declare private oidProblem: string | undefined;
  /** Bumped at each read, so a read that finishes late does not replace a newer one. */
  private reading = 0;

  /** @internal */
  static override styles = [
    baseStyles,
    css`
      .oids {
        display: flex;
        flex-wrap: wrap;
        gap: 2px 8px;
      }
      .oids button.small {
        font-size: 11px;
        padding: 0 4px;
      }
      td.num {
        text-align: right;
        font-variant-numeric: tabular-nums;
      }
      input[type='search'] {
        min-width: 14em;
      }
    `,
  ];

  constructor() {
    super();
    this.database = undefined;
    this.connection = undefined;
    this.editable = false;
    this.revision = 0;
    this.page = undefined;
    this.starts = [undefined];
    this.filter = { text: '', oid: undefined };
    this.loading = false;
    this.error = undefined;
    this.undoing = undefined;
    this.undoRunning = false;
    this.historyOid = undefined;
    this.oidProblem = undefined;
  }

  /** @internal */
  override willUpdate(changed: PropertyValues): void {
    if (changed.has('database')) {
      this.starts = [undefined];
      this.undoing = undefined;
      this.undoRunning = false;
    }
    if (
      changed.has('database') ||
      changed.has('revision') ||
      changed.has('starts') ||
      changed.has('filter')
    ) {
      void this.read();
    }
  }

  /** Reads the page that starts at the last of `starts`, with the filter as it is now. */
  private async read(): Promise<void> {
    const ticket = ++this.reading;
    const db = this.database;
    if (db === undefined) return;
    this.loading = true;
    try {
      const page = await readLogPage((options) => db.transactions(options), {
        before: this.starts.at(-1),
        filter: this.filter,
        pageSize: PAGE_SIZE,
        scanLimit: SCAN_LIMIT,
      });
      if (ticket !== this.reading) return;
      this.page = page;
      this.error = undefined;
    } catch (error) {
      if (ticket === this.reading) this.error = describeError(error);
    } finally {
      if (ticket === this.reading) this.loading = false;
    }
  }

  private setFilter(change: Partial<LogFilter>): void {
    this.filter = { ...this.filter, ...change };
    this.starts = [undefined];
  }

  private onOidFilter(input: HTMLInputElement): void {
    const text = input.value.trim();
    const oid = Number(text);
    const valid = text !== '' && Number.isSafeInteger(oid) && oid >= 0;
    this.oidProblem =
      text === '' || valid ? undefined : `"${text}" is not an oid (a whole number ≥ 0).`;
    input.setCustomValidity(this.oidProblem ?? '');
    if (this.oidProblem === undefined) this.setFilter({ oid: valid ? oid : undefined });
  }

  private older(): void {
    if (this.page?.next !== undefined) this.starts = [...this.starts, this.page.next];
  }

  private newer(): void {
    if (this.starts.length > 1) this.starts = this.starts.slice(0, -1);
  }

  private showHistory(oid: number): void {
    this.historyOid = oid;
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector('shelf-history-view')?.scrollIntoView({ block: 'nearest' }),
    );
  }

  /** @internal */
  override render(): TemplateResult {
    const page = this.page;
    return html`
      <div class="toolbar" role="search" aria-label="Filter the log">
        <label for="log-text">Note or user</label>
        <input
          id="log-text"
          type="search"
          .value=${this.filter.text}
          @input=${(e: Event) => this.setFilter({ text: (e.target as HTMLInputElement).value })}
        />
        <label for="log-oid">Wrote oid</label>
        <input
          id="log-oid"
          type="search"
          inputmode="numeric"
          size="8"
          .value=${this.filter.oid === undefined ? '' : String(this.filter.oid)}
          @input=${(e: Event) => this.onOidFilter(e.target as HTMLInputElement)}
        />
        ${this.oidProblem ? html`<span class="error" role="alert">${this.oidProblem}</span>` : nothing}
        <button type="button" @click=${() => void this.read()}>Refresh</button>
        ${this.loading ? html`<span class="muted" role="status">Reading…</span>` : nothing}
      </div>
      ${
        this.editable
          ? nothing
          : html`<p class="muted">Read-only: undo needs the explorer's editable attribute.</p>`
      }
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${
        this.undoing && this.database
          ? html`<shelf-undo-panel
              .database=${this.database}
              .transaction=${this.undoing}
              @shelf-undo-done=${(e: UndoEvent) => this.onUndone(e)}
              @shelf-undo-running=${(e: UndoRunningEvent) => this.onUndoRunning(e)}
              @shelf-undo-close=${() => (this.undoing = undefined)}
            ></shelf-undo-panel>`
          : nothing
      }
      ${page ? this.renderPage(page) : nothing}
      <shelf-history-view
        .connection=${this.connection}
        .oid=${this.historyOid}
        .revision=${this.revision}
      ></shelf-history-view>
    `;
  }

  private onUndoRunning(event: UndoRunningEvent): void {
    // A panel removed meanwhile (the database switched) no longer speaks for the rows.
    if ((event.target as Element).isConnected) this.undoRunning = event.running;
  }

  private onUndone(event: UndoEvent): void {
    // The new transaction shows at the top: go to the newest page (the change event follows).
    event.stopPropagation();
    this.starts = [undefined];
  }

  private renderPage(page: LogPage): TemplateResult {
    const filtered = !isEmptyFilter(this.filter);
    const status = filtered
      ? `Scanned ${page.scanned}, showing ${page.transactions.length}${page.limited ? '; Older to scan more' : ''}.`
      : `Showing ${page.transactions.length}${page.next === undefined ? '' : ' (Older for more)'}.`;
    return html`
      <div class="toolbar">
        <button type="button" ?disabled=${this.starts.length <= 1} @click=${this.newer}>
          Newer
        </button>
        <button type="button" ?disabled=${page.next === undefined} @click=${this.older}>
          Older
        </button>
        <span class="muted" id="log-status">${status}</span>
      </div>
      ${
        page.transactions.length === 0
          ? html`<p class="muted">
              ${filtered ? 'No transaction matches here.' : 'No transactions.'}
            </p>`
          : html`<table aria-label="Transactions, newest first">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Tid</th>
                  <th scope="col">Note</th>
                  <th scope="col">User</th>
                  <th scope="col">Objects written</th>
                  <th scope="col">Bytes</th>
                  ${this.editable ? html`<th scope="col"><span class="visually-hidden">Undo</span></th>` : nothing}
                </tr>
              </thead>
              <tbody>
                ${page.transactions.map((txn) => this.renderRow(txn))}
              </tbody>
            </table>`
      }
    `;
  }

  private renderRow(txn: TransactionInfo): TemplateResult {
    const time = new Date(txn.time);
    const hidden = txn.oids.length - OIDS_SHOWN;
    return html`<tr data-tid=${txn.tid}>
      <td title=${time.toISOString()}>${time.toLocaleString()}</td>
      <td class="num">${txn.tid}</td>
      <td>
        ${txn.note || html`<span class="muted">(no note)</span>`}
        ${txn.undoes !== undefined ? html`<span class="muted">undoes ${txn.undoes}</span>` : nothing}
      </td>
      <td>${txn.user}</td>
      <td>
        <span class="oids">
          ${txn.oids.slice(0, OIDS_SHOWN).map(
            (oid) =>
              html`<span>
                <button
                  class="link"
                  type="button"
                  aria-label="Open object ${oid}"
                  @click=${() => this.dispatchEvent(new NavigateEvent(oid))}
                >
                  ${oid}
                </button>
                <button
                  class="small"
                  type="button"
                  aria-label="History of object ${oid}"
                  title="History of object ${oid}"
                  @click=${() => this.showHistory(oid)}
                >
                  history
                </button>
              </span>`,
          )}
          ${hidden > 0 ? html`<span class="muted">+${hidden}</span>` : nothing}
        </span>
      </td>
      <td class="num">${txn.bytes}</td>
      ${
        this.editable
          ? html`<td>
              <button
                type="button"
                aria-label="Undo transaction ${txn.tid}"
                ?disabled=${this.undoRunning}
                title=${this.undoRunning ? 'Another undo is running' : nothing}
                @click=${() => (this.undoing = txn)}
              >
                Undo
              </button>
            </td>`
          : nothing
      }
    </tr>`;
  }
}

if (!customElements.get('shelf-log-view')) customElements.define('shelf-log-view', ShelfLogView);

declare global {
  interface HTMLElementTagNameMap {
    'shelf-log-view': ShelfLogView;
  }
}
