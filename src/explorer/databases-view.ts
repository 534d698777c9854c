/**
 * `<shelf-databases-view>`: the shelfdb databases of this origin (`listDatabases()`: OPFS and
 * IndexedDB, with their size), the objects and garbage of the one shown (`db.stats()`: the others
 * are not opened just to count theirs, since opening one starts its storage worker and joins its
 * tabs), an Open button per database, and the origin's quota and persistence with a Persist button.
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { Database } from '../database.js';
import { listDatabases, type OriginDatabase } from '../origin-databases.js';
import type { StorageStats } from '../shared/storage.js';
import { baseStyles } from './explorer-styles.js';
import { describeError, OpenDatabaseEvent } from './explorer-events.js';
import { formatBytes, garbageRatio } from './byte-format.js';

/** The origin's storage as the browser tells it. */
interface Quota {
  usage: number | undefined;
  quota: number | undefined;
  persisted: boolean;
}

/** A value read once per refresh, or why it could not be. */
type Loaded<T> = { ok: true; value: T } | { ok: false; message: string } | undefined;

/** The databases of this origin, the quota, and persistence. */
export class ShelfDatabasesView extends LitElement {
  /** @internal */
  static override properties = {
    database: { attribute: false },
    current: { attribute: false },
    revision: { attribute: false },
    list: { state: true },
    stats: { state: true },
    quota: { state: true },
    persistAnswer: { state: true },
  };

  /** The database the explorer shows (undefined when none is). */
  declare database: Database | undefined;
  /** Its name when the explorer opened it by name; undefined for the app's own database. */
  declare current: string | undefined;
  /** Bumped by the explorer when the snapshot moves: the figures are read again. */
  declare revision: number;
  declare private list: Loaded<OriginDatabase[]>;
  declare private stats: Loaded<StorageStats>;
  declare private quota: Loaded<Quota>;
  /** What the browser answered to the last Persist, as shown. */
  declare private persistAnswer: string | undefined;
  /** Bumped at each refresh, so one that finishes late does not replace a newer one. */
  private reading = 0;

  /** @internal */
  static override styles = [
    baseStyles,
    css`
      h3 {
        font-size: 15px;
        margin: 14px 0 4px;
      }
      td.num {
        text-align: right;
        font-variant-numeric: tabular-nums;
      }
      table.quota {
        width: auto;
      }
      tr.shown td:first-child {
        font-weight: 600;
      }
    `,
  ];

  constructor() {
    super();
    this.database = undefined;
    this.current = undefined;
    this.revision = 0;
    this.list = undefined;
    this.stats = undefined;
    this.quota = undefined;
    this.persistAnswer = undefined;
  }

  /** @internal */
  override willUpdate(changed: PropertyValues): void {
    if (changed.has('database') || changed.has('current') || changed.has('revision')) {
      void this.refresh();
    }
  }

  private async refresh(): Promise<void> {
    const ticket = ++this.reading;
    const db = this.database;
    const [list, stats, quota] = await Promise.all([
      settle(listDatabases()),
      db === undefined ? Promise.resolve(undefined) : settle(db.stats()),
      settle(db === undefined ? originQuota() : db.quota()),
    ]);
    if (ticket !== this.reading) return;
    this.list = list;
    this.stats = stats;
    this.quota = quota;
  }

  private async persist(): Promise<void> {
    this.persistAnswer = 'Asking the browser…';
    try {
      const granted =
        this.database !== undefined ? await this.database.persist() : await originPersist();
      this.persistAnswer = granted
        ? 'The browser answered: persistent (granted). It will not evict this origin’s data silently.'
        : 'The browser answered: not persistent (false). It may evict this origin’s data under storage pressure; browsers grant it to installed or often used sites.';
    } catch (error) {
      this.persistAnswer = `Persist failed: ${describeError(error)}`;
    }
    void this.refresh();
  }

  /** @internal */
  override render(): TemplateResult {
    return html`
      <div class="toolbar">
        <button type="button" @click=${() => void this.refresh()}>Refresh</button>
      </div>
      ${this.renderShown()} ${this.renderList()} ${this.renderQuota()}
    `;
  }

  /** The row of the list that is the database shown, when the explorer knows its name. */
  private isShown(entry: OriginDatabase): boolean {
    const stats = this.stats;
    return (
      this.current !== undefined &&
      entry.name === this.current &&
      (stats === undefined || !stats.ok || stats.value.storage === entry.storage)
    );
  }

  private renderShown(): TemplateResult | typeof nothing {
    const stats = this.stats;
    if (this.database === undefined) {
      return html`<p class="muted">No database shown: open one below.</p>`;
    }
    if (stats === undefined) return html`<p class="muted">Reading its stats…</p>`;
    if (!stats.ok) return html`<p class="error" role="alert">Stats: ${stats.message}</p>`;
    const s = stats.value;
    return html`<p>
      Shown: <strong>${this.current ?? 'this app’s database'}</strong> (${s.storage}):
      ${s.objects.toLocaleString()} object${s.objects === 1 ? '' : 's'}, ${formatBytes(s.bytes)},
      garbage ${garbageRatio(s.garbageBytes, s.bytes)}.
    </p>`;
  }

  private renderList(): TemplateResult {
    const list = this.list;
    if (list === undefined) return html`<p class="muted">Listing the databases…</p>`;
    if (!list.ok)
      return html`<p class="error" role="alert">Listing the databases: ${list.message}</p>`;
    if (list.value.length === 0) {
      return html`<p class="muted">This origin holds no shelfdb database in OPFS or IndexedDB.</p>`;
    }
    const stats = this.stats?.ok ? this.stats.value : undefined;
    return html`<h3>Databases of this origin</h3>
      <table aria-label="Databases of this origin">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Storage</th>
            <th scope="col">Size</th>
            <th scope="col">Objects</th>
            <th scope="col">Garbage</th>
            <th scope="col"><span class="visually-hidden">Open</span></th>
          </tr>
        </thead>
        <tbody>
          ${list.value.map((entry) => {
            const shown = this.isShown(entry) && stats !== undefined;
            return html`<tr class=${shown ? 'shown' : ''}>
              <td>${entry.name}${shown ? html` <span class="muted">(shown)</span>` : nothing}</td>
              <td>${entry.storage === 'opfs' ? 'OPFS' : 'IndexedDB'}</td>
              <td class="num">${formatBytes(entry.bytes)}</td>
              <td class="num">
                ${shown ? stats.objects.toLocaleString() : html`<span class="muted" title="Open it to count">—</span>`}
              </td>
              <td class="num">
                ${shown ? garbageRatio(stats.garbageBytes, stats.bytes) : html`<span class="muted">—</span>`}
              </td>
              <td>
                <button
                  type="button"
                  aria-label="Open ${entry.name} (${entry.storage})"
                  @click=${() => this.dispatchEvent(new OpenDatabaseEvent(entry.name, entry.storage))}
                >
                  Open
                </button>
              </td>
            </tr>`;
          })}
        </tbody>
      </table>
      <p class="muted">
        Objects and garbage are counted for the database shown only: open one to see its own.
      </p>`;
  }

  private renderQuota(): TemplateResult {
    const quota = this.quota;
    let body: TemplateResult;
    if (quota === undefined) body = html`<p class="muted">Asking the browser…</p>`;
    else if (!quota.ok)
      body = html`<p class="error" role="alert">Storage estimate: ${quota.message}</p>`;
    else {
      const q = quota.value;
      const available =
        q.usage !== undefined && q.quota !== undefined ? Math.max(0, q.quota - q.usage) : undefined;
      const rows: [string, string][] = [
        ['Used', formatBytes(q.usage)],
        ['Quota', formatBytes(q.quota)],
        ['Available', formatBytes(available)],
        ['Persistent', q.persisted ? 'yes' : 'no'],
      ];
      body = html`<table class="quota" aria-label="Storage of this origin">
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
    return html`<h3>Storage of this origin</h3>
      ${body}
      <div class="toolbar">
        <button type="button" @click=${() => void this.persist()}>Persist</button>
        ${this.persistAnswer ? html`<span role="status">${this.persistAnswer}</span>` : nothing}
      </div>`;
  }
}

/** A promise's outcome as a value: the view shows each part's failure on its own. */
async function settle<T>(promise: Promise<T>): Promise<Loaded<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, message: describeError(error) };
  }
}

function storageManager(): StorageManager | undefined {
  return (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
}

/** The quota with no database shown (what `db.quota()` reads). */
async function originQuota(): Promise<Quota> {
  const storage = storageManager();
  if (!storage?.estimate) return { usage: undefined, quota: undefined, persisted: false };
  const estimate = await storage.estimate();
  const persisted = storage.persisted ? await storage.persisted() : false;
  return { usage: estimate.usage, quota: estimate.quota, persisted };
}

/** `navigator.storage.persist()` with no database shown (what `db.persist()` calls). */
async function originPersist(): Promise<boolean> {
  const storage = storageManager();
  return storage?.persist ? storage.persist() : false;
}

if (!customElements.get('shelf-databases-view'))
  customElements.define('shelf-databases-view', ShelfDatabasesView);

declare global {
  interface HTMLElementTagNameMap {
    'shelf-databases-view': ShelfDatabasesView;
  }
}
