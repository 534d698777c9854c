/**
 * `<shelf-history-view>`: one object's stored revisions, newest first (`conn.history`), and the
 * diff between two of them (revision-diff.ts) as a table. The log view shows it under the log; the
 * oid comes from the log (a row's "history" button) or is typed here.
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { Connection } from '../connection.js';
import type { Revision } from '../loader.js';
import { baseStyles } from './explorer-styles.js';
import { describeError, NavigateEvent } from './explorer-events.js';
import { diffStates, type DiffRow } from './revision-diff.js';
import { describeValue } from './value-model.js';
import { renderValue, valueStyles } from './value-view.js';

/** Revisions loaded per step ("More" loads this many more). */
const STEP = 50;
/** Diff rows rendered at most: a big container's state may differ in thousands of places. */
const MAX_ROWS = 500;

/** The history of one object and a diff between two of its revisions. */
export class ShelfHistoryView extends LitElement {
  /** @internal */
  static override properties = {
    connection: { attribute: false },
    oid: { attribute: false },
    revision: { attribute: false },
    revisions: { state: true },
    limit: { state: true },
    from: { state: true },
    to: { state: true },
    showUnchanged: { state: true },
    loading: { state: true },
    error: { state: true },
  };

  /** The connection the history is read through. */
  declare connection: Connection | undefined;
  /** The object shown; undefined shows only the oid input. */
  declare oid: number | undefined;
  /** Bumped by the explorer when the snapshot moves: the history is read again. */
  declare revision: number;
  /** The revisions read (newest first); undefined before the first read or for no object. */
  declare private revisions: Revision[] | undefined;
  /** How many revisions to read. */
  declare private limit: number;
  /** The tids of the two revisions compared: `from` the older side, `to` the newer. */
  declare private from: number | undefined;
  declare private to: number | undefined;
  declare private showUnchanged: boolean;
  declare private loading: boolean;
  declare private error: string | undefined;
  /** Bumped at each read, so a read that finishes late does not replace a newer one. */
  private reading = 0;

  /** @internal */
  static override styles = [
    baseStyles,
    valueStyles,
    css`
      h3 {
        font-size: 15px;
        margin: 12px 0 4px;
      }
      .added {
        color: var(--shelf-ok);
      }
      .removed {
        color: var(--shelf-danger);
      }
      .changed {
        color: var(--shelf-warn);
      }
      .unchanged {
        color: var(--shelf-muted);
      }
      table.revisions {
        width: auto;
        min-width: 50%;
      }
      td.num {
        font-variant-numeric: tabular-nums;
      }
      td.value {
        max-width: 30em;
        overflow-wrap: anywhere;
      }
    `,
  ];

  constructor() {
    super();
    this.connection = undefined;
    this.oid = undefined;
    this.revision = 0;
    this.revisions = undefined;
    this.limit = STEP;
    this.from = undefined;
    this.to = undefined;
    this.showUnchanged = false;
    this.loading = false;
    this.error = undefined;
  }

  /** @internal */
  override willUpdate(changed: PropertyValues): void {
    if (changed.has('oid')) {
      this.limit = STEP;
      this.from = undefined;
      this.to = undefined;
    }
    if (
      changed.has('oid') ||
      changed.has('connection') ||
      changed.has('revision') ||
      changed.has('limit')
    ) {
      void this.read();
    }
  }

  private async read(): Promise<void> {
    const ticket = ++this.reading;
    const conn = this.connection;
    const oid = this.oid;
    if (conn === undefined || oid === undefined) {
      this.revisions = undefined;
      this.error = undefined;
      return;
    }
    this.loading = true;
    try {
      const obj = await conn.get(oid);
      const revisions = obj === undefined ? [] : await conn.history(obj, this.limit);
      if (ticket !== this.reading) return;
      this.revisions = revisions;
      this.error =
        obj === undefined
          ? `No object ${oid}: it was never stored, or pack removed it.`
          : undefined;
      const tids = revisions.map((r) => r.tid);
      // Compare the two newest unless the picks are still there.
      if (this.to === undefined || !tids.includes(this.to)) this.to = tids[0];
      if (this.from === undefined || !tids.includes(this.from)) this.from = tids[1];
    } catch (error) {
      if (ticket !== this.reading) return;
      this.revisions = undefined;
      this.error = describeError(error);
    } finally {
      if (ticket === this.reading) this.loading = false;
    }
  }

  private onPick(event: SubmitEvent): void {
    event.preventDefault();
    const input = (event.target as HTMLFormElement).elements.namedItem('oid') as HTMLInputElement;
    const oid = Number(input.value);
    if (input.value.trim() === '' || !Number.isSafeInteger(oid) || oid < 0) {
      this.error = `"${input.value}" is not an oid (a whole number ≥ 0).`;
      return;
    }
    this.oid = oid;
  }

  /** @internal */
  override render(): TemplateResult {
    return html`
      <h3 id="history-heading">Object history</h3>
      <form class="toolbar" @submit=${this.onPick}>
        <label for="history-oid">Oid</label>
        <input
          id="history-oid"
          name="oid"
          inputmode="numeric"
          size="8"
          .value=${this.oid === undefined ? '' : String(this.oid)}
        />
        <button type="submit">Show history</button>
        ${
          this.oid !== undefined
            ? html`<button
                type="button"
                @click=${() => this.dispatchEvent(new NavigateEvent(this.oid as number))}
              >
                Open object ${this.oid}
              </button>`
            : nothing
        }
        ${this.loading ? html`<span class="muted" role="status">Reading…</span>` : nothing}
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.revisions && this.revisions.length > 0 ? this.renderRevisions(this.revisions) : nothing}
    `;
  }

  private renderRevisions(revisions: Revision[]): TemplateResult {
    const more = revisions.length === this.limit;
    return html`
      <table class="revisions" aria-label="Revisions of object ${this.oid}">
        <thead>
          <tr>
            <th scope="col">Old</th>
            <th scope="col">New</th>
            <th scope="col">Tid</th>
            <th scope="col">Time</th>
            <th scope="col">Note</th>
          </tr>
        </thead>
        <tbody>
          ${revisions.map(
            (r) =>
              html`<tr>
                <td>
                  <input
                    type="radio"
                    name="from"
                    aria-label="Compare from revision ${r.tid}"
                    .checked=${this.from === r.tid}
                    @change=${() => (this.from = r.tid)}
                  />
                </td>
                <td>
                  <input
                    type="radio"
                    name="to"
                    aria-label="Compare to revision ${r.tid}"
                    .checked=${this.to === r.tid}
                    @change=${() => (this.to = r.tid)}
                  />
                </td>
                <td class="num">${r.tid}</td>
                <td title=${new Date(r.time).toISOString()}>
                  ${new Date(r.time).toLocaleString()}
                </td>
                <td>${r.note || html`<span class="muted">(no note)</span>`}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${
        more
          ? html`<div class="toolbar">
              <button type="button" @click=${() => (this.limit += STEP)}>More revisions</button>
            </div>`
          : nothing
      }
      ${this.renderDiff(revisions)}
    `;
  }

  private renderDiff(revisions: Revision[]): TemplateResult {
    const older = revisions.find((r) => r.tid === this.from);
    const newer = revisions.find((r) => r.tid === this.to);
    if (older === undefined || newer === undefined) {
      return html`<p class="muted">
        ${
          revisions.length < 2
            ? 'Only one revision is stored: nothing to compare.'
            : 'Pick two revisions to compare.'
        }
      </p>`;
    }
    const all = diffStates(older.state, newer.state);
    const rows = this.showUnchanged ? all : all.filter((r) => r.change !== 'unchanged');
    const hidden = all.length - rows.length;
    return html`
      <h3>Revision ${older.tid} → revision ${newer.tid}</h3>
      <div class="toolbar">
        <label
          ><input
            type="checkbox"
            .checked=${this.showUnchanged}
            @change=${(e: Event) => (this.showUnchanged = (e.target as HTMLInputElement).checked)}
          />
          Show unchanged fields</label
        >
        ${hidden > 0 ? html`<span class="muted">${hidden} unchanged hidden</span>` : nothing}
      </div>
      ${
        rows.length === 0
          ? html`<p class="muted">No differences.</p>`
          : html`<table aria-label="Differences from revision ${older.tid} to ${newer.tid}">
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">Change</th>
                  <th scope="col">Revision ${older.tid}</th>
                  <th scope="col">Revision ${newer.tid}</th>
                </tr>
              </thead>
              <tbody>
                ${rows.slice(0, MAX_ROWS).map((row) => this.renderRow(row))}
              </tbody>
            </table>`
      }
      ${
        rows.length > MAX_ROWS
          ? html`<p class="muted">${rows.length - MAX_ROWS} more rows not shown.</p>`
          : nothing
      }
    `;
  }

  private renderRow(row: DiffRow): TemplateResult {
    return html`<tr>
      <td class="mono">${row.path}</td>
      <td class=${row.change}>${row.change}</td>
      <td class="value">${'before' in row ? this.renderValue(row.before) : nothing}</td>
      <td class="value">${'after' in row ? this.renderValue(row.after) : nothing}</td>
    </tr>`;
  }

  /** A cell's value, as the object view shows values (references are links). */
  private renderValue(value: unknown): TemplateResult {
    return renderValue(describeValue(value));
  }
}

if (!customElements.get('shelf-history-view'))
  customElements.define('shelf-history-view', ShelfHistoryView);

declare global {
  interface HTMLElementTagNameMap {
    'shelf-history-view': ShelfHistoryView;
  }
}
