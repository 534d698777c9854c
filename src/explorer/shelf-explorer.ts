/**
 * `<shelf-explorer>`: the shell of the explorer. It holds the database shown (given as the
 * `database` property, or opened by the `name` attribute), one connection that follows other tabs
 * live, the tabs (Objects, Blobs, Log, Maintenance, Databases) and the object trail (back and
 * forward). Each tab is a view of its own (object-view.ts, blobs-view.ts, log-view.ts,
 * maintenance-view.ts, databases-view.ts); views ask for navigation with the events of explorer-events.ts.
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { openDatabase } from '../open-database.js';
import { listDatabases } from '../origin-databases.js';
import { ShelfError } from '../shared/errors.js';
import { ROOT_OID } from '../shared/storage.js';
import type { Connection } from '../connection.js';
import type { Database } from '../database.js';
import { baseStyles } from './explorer-styles.js';
import { describeError, NavigateEvent, OpenDatabaseEvent } from './explorer-events.js';
import './object-view.js';
import './blobs-view.js';
import './log-view.js';
import './maintenance-view.js';
import './archive-panel.js';
import './databases-view.js';

const TABS = [
  ['objects', 'Objects'],
  ['blobs', 'Blobs'],
  ['log', 'Log'],
  ['maintenance', 'Maintenance'],
  ['databases', 'Databases'],
] as const;
type Tab = (typeof TABS)[number][0];

/** Views reload at most this often while commits stream in (ms). */
const REFRESH_MS = 50;

/** The database shown: the app's (not ours to close) or one this element opened by name. */
interface Shown {
  db: Database;
  owned: boolean;
  label: string;
  conn: Connection;
  /** Stops listening to the database (the connection's listener goes with it). */
  unlisten?: () => void;
}

/**
 * The shelfdb explorer, a custom element: `el.database = db` shows the app's database, or
 * `<shelf-explorer name="notes">` opens a database of this origin by name. Editing (fields, dict
 * entries, undo) needs the `editable` attribute; without it the explorer only reads (pack and
 * verify are offered either way: they change no object).
 * @example
 * import 'shelfdb/explorer';
 * const explorer = document.createElement('shelf-explorer');
 * explorer.database = db;
 * explorer.editable = true;
 * document.body.append(explorer);
 */
export class ShelfExplorer extends LitElement {
  /** @internal */
  static override properties = {
    database: { attribute: false },
    name: { type: String, reflect: true },
    storage: { type: String },
    editable: { type: Boolean, reflect: true },
    tab: { type: String, reflect: true },
    shown: { state: true },
    trail: { state: true },
    at: { state: true },
    revision: { state: true },
    error: { state: true },
  };

  /** The database to show (the app's own); it wins over `name`. The explorer never closes it. */
  declare database: Database | undefined;
  /**
   * The name of a database of this origin to open and show (when `database` is not set). It must
   * exist: the explorer never creates a database, it says there is none of that name.
   */
  declare name: string;
  /** Where the database named by `name` lives: 'opfs', 'indexeddb' or 'auto' (default). */
  declare storage: 'auto' | 'opfs' | 'indexeddb';
  /** Allows changes: editing fields and dict entries, undo. Off by default. */
  declare editable: boolean;
  /** The tab shown: 'objects' (default), 'blobs', 'log', 'maintenance' or 'databases'. */
  declare tab: Tab;
  declare private shown: Shown | undefined;
  /** Oids visited, and the index of the one shown: back and forward move along it. */
  declare private trail: number[];
  declare private at: number;
  /** Bumped whenever the connection's snapshot moves: views reload what they show. */
  declare private revision: number;
  declare private error: string | undefined;
  /** Bumped at each switch, so an open that finishes late does not replace a newer one. */
  private switching = 0;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;

  /** @internal */
  static override styles = [
    baseStyles,
    css`
      header {
        display: flex;
        flex-wrap: wrap;
        align-items: baseline;
        gap: 12px;
        padding: 8px 12px;
        border-bottom: 1px solid var(--shelf-border);
        background: var(--shelf-panel);
      }
      header h2 {
        font-size: 16px;
        margin: 0;
      }
      [role='tablist'] {
        display: flex;
        gap: 2px;
      }
      [role='tab'] {
        border-radius: 4px 4px 0 0;
        border-bottom: none;
      }
      [role='tab'][aria-selected='true'] {
        background: var(--shelf-bg);
        font-weight: 600;
      }
      [role='tabpanel'] {
        padding: 8px 12px;
      }
      .badge {
        font-size: 12px;
        border: 1px solid var(--shelf-border);
        border-radius: 10px;
        padding: 0 8px;
      }
    `,
  ];

  constructor() {
    super();
    this.database = undefined;
    this.name = '';
    this.storage = 'auto';
    this.editable = false;
    this.tab = 'objects';
    this.shown = undefined;
    this.trail = [ROOT_OID];
    this.at = 0;
    this.revision = 0;
    this.error = undefined;
    this.addEventListener('shelf-navigate', (event) => this.go((event as NavigateEvent).oid));
    this.addEventListener('shelf-open-database', (event) => {
      const { name, storage } = event as OpenDatabaseEvent;
      this.database = undefined;
      this.storage = storage;
      this.name = name;
      this.tab = 'objects';
    });
  }

  /** The connection the views read through (undefined until a database is shown). */
  get connection(): Connection | undefined {
    return this.shown?.conn;
  }

  /** @internal */
  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('database') || changed.has('name') || changed.has('storage')) {
      void this.switchDatabase();
    }
  }

  /** @internal */
  override connectedCallback(): void {
    super.connectedCallback();
    if (this.shown === undefined && this.hasUpdated) void this.switchDatabase();
  }

  /** @internal */
  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.switching++;
    void this.release(this.shown);
    this.shown = undefined;
  }

  /** Shows object `oid` in the Objects tab, after the one shown (forward is dropped). */
  go(oid: number): void {
    this.trail = [...this.trail.slice(0, this.at + 1), oid];
    this.at = this.trail.length - 1;
    this.tab = 'objects';
  }

  private async switchDatabase(): Promise<void> {
    const ticket = ++this.switching;
    const previous = this.shown;
    this.shown = undefined;
    this.error = undefined;
    this.trail = [ROOT_OID];
    this.at = 0;
    await this.release(previous);
    try {
      let shown: Shown | undefined;
      if (this.database !== undefined) {
        shown = { db: this.database, owned: false, label: 'this app', conn: this.database.open() };
      } else if (this.name !== '') {
        const storage = await this.findStorage(this.name, this.storage);
        const db = await openDatabase(this.name, { storage });
        shown = { db, owned: true, label: this.name, conn: db.open() };
      }
      if (ticket !== this.switching || !this.isConnected) {
        await this.release(shown);
        return;
      }
      if (shown !== undefined) {
        // Views reload on any transaction (the log, the stats) and on 'change' (the objects shown
        // moved to their new state), at most once per REFRESH_MS: a burst of commits is one reload.
        const refresh = (): void => this.scheduleRefresh();
        shown.conn.addEventListener('change', refresh);
        shown.db.addEventListener('transaction', refresh);
        shown.unlisten = () => shown.db.removeEventListener('transaction', refresh);
      }
      this.shown = shown;
    } catch (error) {
      if (ticket === this.switching) this.error = describeError(error);
    }
  }

  /**
   * Where database `name` lives, found among the origin's: an explorer shows databases, it never
   * creates one (opening a name that is not there would).
   * @throws ShelfError naming the database when the origin has none of that name (in `storage`).
   */
  private async findStorage(
    name: string,
    storage: 'auto' | 'opfs' | 'indexeddb',
  ): Promise<'opfs' | 'indexeddb'> {
    const found = (await listDatabases()).find(
      (d) => d.name === name && (storage === 'auto' || d.storage === storage),
    );
    if (found === undefined) {
      const where =
        storage === 'auto' ? 'OPFS or IndexedDB' : storage === 'opfs' ? 'OPFS' : 'IndexedDB';
      throw new ShelfError(
        `No shelfdb database named "${name}" in this origin's ${where}. Pick one in the Databases tab.`,
      );
    }
    return found.storage;
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer !== undefined) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.revision++;
    }, REFRESH_MS);
  }

  private async release(shown: Shown | undefined): Promise<void> {
    if (shown === undefined) return;
    shown.unlisten?.();
    shown.conn.close();
    if (shown.owned) {
      try {
        await shown.db.close();
      } catch (error) {
        this.error = `Closing ${shown.label}: ${describeError(error)}`;
      }
    }
  }

  private select(tab: Tab): void {
    this.tab = tab;
  }

  /** Arrow keys move between tabs (the WAI-ARIA tabs pattern). */
  private onTabKey(event: KeyboardEvent): void {
    const i = TABS.findIndex(([id]) => id === this.tab);
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) return;
    event.preventDefault();
    const next = TABS[(i + step + TABS.length) % TABS.length] as (typeof TABS)[number];
    this.select(next[0]);
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector<HTMLElement>(`#tab-${next[0]}`)?.focus(),
    );
  }

  /** @internal */
  override render(): TemplateResult {
    const shown = this.shown;
    return html`
      <header>
        <h2>shelfdb explorer</h2>
        <span>${shown ? shown.label : this.name || 'no database'}</span>
        ${
          shown
            ? html`<span class="badge">${this.editable ? 'editable' : 'read-only'}</span>`
            : nothing
        }
        <div role="tablist" aria-label="Explorer views" @keydown=${this.onTabKey}>
          ${TABS.map(
            ([id, label]) => html`
              <button
                role="tab"
                id="tab-${id}"
                aria-selected=${this.tab === id ? 'true' : 'false'}
                aria-controls="panel-${id}"
                tabindex=${this.tab === id ? 0 : -1}
                @click=${() => this.select(id)}
              >
                ${label}
              </button>
            `,
          )}
        </div>
      </header>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <section role="tabpanel" id="panel-${this.tab}" aria-labelledby="tab-${this.tab}">
        ${this.renderTab(shown)}
      </section>
    `;
  }

  private renderTab(shown: Shown | undefined): TemplateResult {
    if (this.tab === 'databases') {
      return html`<shelf-databases-view
        .database=${shown?.db}
        .current=${shown?.owned ? this.name : undefined}
        .revision=${this.revision}
      ></shelf-databases-view>`;
    }
    if (shown === undefined) {
      return html`<p class="muted">
        ${
          this.error
            ? 'Pick a database in the Databases tab.'
            : this.name || this.database
              ? 'Opening…'
              : 'No database: set the database property or the name attribute, or pick one in the Databases tab.'
        }
      </p>`;
    }
    switch (this.tab) {
      case 'blobs':
        return html`<shelf-blobs-view
          .database=${shown.db}
          .connection=${shown.conn}
          .revision=${this.revision}
        ></shelf-blobs-view>`;
      case 'log':
        return html`<shelf-log-view
          .database=${shown.db}
          .connection=${shown.conn}
          .editable=${this.editable}
          .revision=${this.revision}
        ></shelf-log-view>`;
      case 'maintenance':
        return html`<shelf-maintenance-view
            .database=${shown.db}
            .revision=${this.revision}
          ></shelf-maintenance-view>
          <shelf-archive-panel
            .database=${shown.db}
            .connection=${shown.conn}
            .oid=${this.trail[this.at] ?? ROOT_OID}
            .editable=${this.editable}
            .name=${shown.owned ? shown.label : 'app'}
          ></shelf-archive-panel>`;
      default:
        return html`<shelf-object-view
          .database=${shown.db}
          .connection=${shown.conn}
          .oid=${this.trail[this.at] ?? ROOT_OID}
          .canBack=${this.at > 0}
          .canForward=${this.at < this.trail.length - 1}
          .editable=${this.editable}
          .revision=${this.revision}
          @shelf-back=${() => (this.at = Math.max(0, this.at - 1))}
          @shelf-forward=${() => (this.at = Math.min(this.trail.length - 1, this.at + 1))}
        ></shelf-object-view>`;
    }
  }
}

if (!customElements.get('shelf-explorer')) customElements.define('shelf-explorer', ShelfExplorer);

declare global {
  interface HTMLElementTagNameMap {
    'shelf-explorer': ShelfExplorer;
  }
}
