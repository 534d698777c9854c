/**
 * `<shelf-maintenance-view>`: the database's stats (`db.stats()`), Verify (`db.verify()`, each
 * problem linking to its object) and Pack (`db.pack()` with a progress bar fed by its 'pack'
 * events, cancellable). Export, back up and import are the archive panel beside it (archive-panel.ts).
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { Database } from '../database.js';
import type { PackEvent } from '../events.js';
import type { PackResult, StorageStats, VerifyReport } from '../shared/storage.js';
import { baseStyles } from './explorer-styles.js';
import { describeError, NavigateEvent } from './explorer-events.js';
import { formatBytes, garbageRatio } from './byte-format.js';

/** A pack's progress as the last 'pack' event told it. */
interface Progress {
  phase: PackEvent['phase'];
  done: number;
  total: number;
}

/** What the last pack came to. */
type PackOutcome =
  | {
      kind: 'done';
      result: PackResult;
      before: StorageStats | undefined;
      after: StorageStats | undefined;
    }
  | { kind: 'cancelled' }
  | { kind: 'failed'; message: string };

/** What the last verify came to. */
type VerifyOutcome =
  { kind: 'done'; report: VerifyReport; ms: number } | { kind: 'failed'; message: string };

/** Stats, verify and pack of the database shown. */
export class ShelfMaintenanceView extends LitElement {
  /** @internal */
  static override properties = {
    database: { attribute: false },
    revision: { attribute: false },
    stats: { state: true },
    statsError: { state: true },
    busy: { state: true },
    progress: { state: true },
    verified: { state: true },
    packed: { state: true },
  };

  /** The database shown. */
  declare database: Database | undefined;
  /** Bumped by the explorer when the snapshot moves: the stats are read again. */
  declare revision: number;
  declare private stats: StorageStats | undefined;
  declare private statsError: string | undefined;
  /** What runs now: buttons are disabled meanwhile. */
  declare private busy: 'verify' | 'pack' | undefined;
  declare private progress: Progress | undefined;
  declare private verified: VerifyOutcome | undefined;
  declare private packed: PackOutcome | undefined;
  /**
   * Cancels the running pack. Switching tabs does not: the pack the user asked for goes on (its
   * result is then seen in the stats, not here).
   */
  private packAbort: AbortController | undefined;
  /** Numbers the stats reads in the order they start. */
  private reading = 0;
  /**
   * The number of the read whose outcome is shown: a read that completes is shown unless a read
   * started after it was shown already. Results thus show in start order, and under a steady stream
   * of commits (a read started at every refresh) each completed read still shows; dropping every
   * read but the newest left the stats unread for good.
   */
  private shownRead = 0;

  /** @internal */
  static override styles = [
    baseStyles,
    css`
      table.stats {
        width: auto;
      }
      td.num {
        text-align: right;
        font-variant-numeric: tabular-nums;
      }
      h3 {
        font-size: 15px;
        margin: 14px 0 4px;
      }
      progress {
        width: 16em;
      }
    `,
  ];

  constructor() {
    super();
    this.database = undefined;
    this.revision = 0;
    this.stats = undefined;
    this.statsError = undefined;
    this.busy = undefined;
    this.progress = undefined;
    this.verified = undefined;
    this.packed = undefined;
  }

  /** @internal */
  override willUpdate(changed: PropertyValues): void {
    if (changed.has('database')) {
      // What runs on the old database ends unreported: its outcome is not this one's.
      this.packAbort?.abort();
      this.packAbort = undefined;
      this.busy = undefined;
      this.progress = undefined;
      this.verified = undefined;
      this.packed = undefined;
      // No read started before the switch shows (even after switching back to that database).
      this.shownRead = this.reading + 1;
    }
    if (changed.has('database') || changed.has('revision')) void this.readStats();
  }

  private async readStats(): Promise<StorageStats | undefined> {
    const ticket = ++this.reading;
    const db = this.database;
    if (db === undefined) return undefined;
    // Shown unless a read started later has been shown (or the database switched since).
    const show = (): boolean => {
      if (ticket < this.shownRead) return false;
      this.shownRead = ticket;
      return true;
    };
    try {
      const stats = await db.stats();
      if (show()) {
        this.stats = stats;
        this.statsError = undefined;
      }
      return stats;
    } catch (error) {
      if (show()) this.statsError = describeError(error);
      return undefined;
    }
  }

  private async verify(): Promise<void> {
    const db = this.database;
    if (db === undefined || this.busy) return;
    this.busy = 'verify';
    this.verified = undefined;
    const started = performance.now();
    let outcome: VerifyOutcome;
    try {
      const report = await db.verify();
      outcome = { kind: 'done', report, ms: performance.now() - started };
    } catch (error) {
      outcome = { kind: 'failed', message: describeError(error) };
    }
    if (this.database !== db) return; // switched meanwhile: not the database shown
    this.verified = outcome;
    this.busy = undefined;
    void this.readStats();
  }

  private async pack(): Promise<void> {
    const db = this.database;
    if (db === undefined || this.busy) return;
    this.busy = 'pack';
    this.packed = undefined;
    this.progress = undefined;
    const abort = new AbortController();
    this.packAbort = abort;
    const onProgress = (event: Event): void => {
      const { phase, done, total } = event as PackEvent;
      this.progress = { phase, done, total };
    };
    db.addEventListener('pack', onProgress);
    try {
      const before = await this.readStats();
      const result = await db.pack({ signal: abort.signal });
      if (this.database !== db) return; // switched meanwhile: not the database shown
      const after = await this.readStats();
      this.packed = { kind: 'done', result, before, after };
    } catch (error) {
      if (this.database !== db) return;
      this.packed = abort.signal.aborted
        ? { kind: 'cancelled' }
        : { kind: 'failed', message: describeError(error) };
      void this.readStats();
    } finally {
      db.removeEventListener('pack', onProgress);
      if (this.packAbort === abort) {
        this.packAbort = undefined;
        this.busy = undefined;
      }
    }
  }

  /** @internal */
  override render(): TemplateResult {
    return html`
      <div class="toolbar">
        <button
          type="button"
          ?disabled=${this.busy !== undefined}
          @click=${() => void this.verify()}
        >
          Verify
        </button>
        <button type="button" ?disabled=${this.busy !== undefined} @click=${() => void this.pack()}>
          Pack
        </button>
        ${
          this.busy === 'pack'
            ? html`<button type="button" @click=${() => this.packAbort?.abort()}>Cancel</button>`
            : nothing
        }
        <button type="button" @click=${() => void this.readStats()}>Refresh</button>
      </div>
      ${this.renderStats()} ${this.renderVerify()} ${this.renderPack()}
    `;
  }

  private renderStats(): TemplateResult {
    if (this.statsError) return html`<p class="error" role="alert">${this.statsError}</p>`;
    const s = this.stats;
    if (s === undefined) return html`<p class="muted">Reading the stats…</p>`;
    const rows: [string, string][] = [
      ['Storage', s.storage],
      ['Objects', s.objects.toLocaleString()],
      ['Bytes', formatBytes(s.bytes)],
      ['Garbage bytes', formatBytes(s.garbageBytes)],
      ['Garbage ratio', garbageRatio(s.garbageBytes, s.bytes)],
      ['Transactions', s.transactions.toLocaleString()],
      ['Last pack', s.lastPack === undefined ? 'never' : new Date(s.lastPack).toLocaleString()],
    ];
    return html`<h3>Stats</h3>
      ${nameValueTable('Database stats', rows)}`;
  }

  private renderVerify(): TemplateResult | typeof nothing {
    if (this.busy === 'verify') return html`<p class="muted" role="status">Verifying…</p>`;
    const v = this.verified;
    if (v === undefined) return nothing;
    if (v.kind === 'failed') {
      return html`<h3>Verify</h3>
        <p class="error" role="alert">Verify failed: ${v.message}</p>`;
    }
    const took = `${Math.round(v.ms)} ms`;
    if (v.report.problems.length === 0) {
      return html`<h3>Verify</h3>
        <p class="ok" role="status">No problems (took ${took}).</p>`;
    }
    return html`<h3>Verify</h3>
      <p class="error" role="alert">
        ${v.report.problems.length} problem${v.report.problems.length === 1 ? '' : 's'} found (took
        ${took}).
      </p>
      <table aria-label="Problems verify found">
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Message</th>
            <th scope="col">Object</th>
          </tr>
        </thead>
        <tbody>
          ${v.report.problems.map(
            (p) =>
              html`<tr>
                <td class="mono">${p.kind}</td>
                <td>${p.message}${p.offset === undefined ? '' : ` (offset ${p.offset})`}</td>
                <td>
                  ${
                    p.oid === undefined
                      ? nothing
                      : html`<button
                          class="link"
                          type="button"
                          aria-label="Open object ${p.oid}"
                          @click=${() => this.dispatchEvent(new NavigateEvent(p.oid as number))}
                        >
                          ${p.oid}
                        </button>`
                  }
                </td>
              </tr>`,
          )}
        </tbody>
      </table>`;
  }

  private renderPack(): TemplateResult | typeof nothing {
    if (this.busy === 'pack') {
      const p = this.progress;
      return html`<h3>Pack</h3>
        <p role="status">
          <label for="pack-progress">${p ? `Packing: ${p.phase}` : 'Packing…'}</label>
          <progress
            id="pack-progress"
            max=${p && p.total > 0 ? p.total : 1}
            .value=${p ? (p.total > 0 ? Math.min(p.done, p.total) : 0) : 0}
          ></progress>
          ${p ? html`<span class="muted">${p.done.toLocaleString()} of ${p.total.toLocaleString()}</span>` : nothing}
        </p>`;
    }
    const o = this.packed;
    if (o === undefined) return nothing;
    if (o.kind === 'cancelled') {
      return html`<h3>Pack</h3>
        <p class="warn" role="status">Pack cancelled; the database is unchanged and valid.</p>`;
    }
    if (o.kind === 'failed') {
      return html`<h3>Pack</h3>
        <p class="error" role="alert">Pack failed: ${o.message}</p>`;
    }
    const r = o.result;
    const rows: [string, string][] = [
      ['Objects removed', r.objectsRemoved.toLocaleString()],
      ['Revisions removed', r.revisionsRemoved.toLocaleString()],
      ['Bytes before', formatBytes(r.bytesBefore)],
      ['Bytes after', formatBytes(r.bytesAfter)],
      ['Finished', new Date(r.time).toLocaleString()],
    ];
    if (o.before && o.after) {
      // The stats around the pack: what the garbage was, and what is left of it.
      const line = (s: StorageStats): string =>
        `${formatBytes(s.garbageBytes)} of ${formatBytes(s.bytes)} (${garbageRatio(s.garbageBytes, s.bytes)})`;
      rows.push(['Garbage before', line(o.before)], ['Garbage after', line(o.after)]);
    }
    return html`<h3>Pack</h3>
      <p class="ok" role="status">Pack finished.</p>
      ${nameValueTable('Pack result', rows)}`;
  }
}

/** A table of name → value rows (stats, a pack's result), labelled `label`. */
function nameValueTable(label: string, rows: [string, string][]): TemplateResult {
  return html`<table class="stats" aria-label=${label}>
    <tbody>
      ${rows.map(
        ([name, value]) =>
          html`<tr>
            <th scope="row">${name}</th>
            <td class="num">${value}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

if (!customElements.get('shelf-maintenance-view'))
  customElements.define('shelf-maintenance-view', ShelfMaintenanceView);

declare global {
  interface HTMLElementTagNameMap {
    'shelf-maintenance-view': ShelfMaintenanceView;
  }
}
