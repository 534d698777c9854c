/**
 * `<shelf-archive-panel>`: the Maintenance tab's Export, Back up and Import (issue 15, fssync's
 * model). Export downloads an archive of one object and what it owns (`exportTree`), Back up one of
 * the whole database (`db.backup()`); Import reads an archive the user picks, shows what
 * `checkArchive` says of each entry before anything is written, then — in an editable explorer —
 * commits it back (`commitArchive`, with the conflict policy chosen) or stores a copy under a name
 * in the root (`importCopy`).
 *
 * The archive code is loaded when first used: most visits to the explorer never export.
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { Connection } from '../connection.js';
import type { Database } from '../database.js';
import type { CheckEntry } from '../archive/check-archive.js';
import { ROOT_OID } from '../shared/storage.js';
import { baseStyles } from './explorer-styles.js';
import { describeError, NavigateEvent } from './explorer-events.js';

/** What a download or an import came to, as shown under the buttons. */
type Outcome = { kind: 'ok'; message: string } | { kind: 'failed'; message: string };

/** A picked archive and what checking it found. */
interface Checked {
  file: File;
  entries: CheckEntry[];
}

/** Conflict policies offered, as commitArchive names them. */
const POLICIES = [
  ['fail', 'Stop on a conflict'],
  ['archive', 'Archive wins'],
  ['live', 'Live wins'],
] as const;

/** Saves `stream` as a download named `name`. */
async function download(stream: ReadableStream<Uint8Array>, name: string): Promise<number> {
  const blob = await new Response(stream).blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  // The click has started the download; the URL is only needed until the browser has read it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return blob.size;
}

/** A file name made of a database name: what a file system accepts. */
const fileStem = (name: string): string => name.replace(/[^\w.-]+/g, '_') || 'database';

/** Export, back up and import for the database shown. */
export class ShelfArchivePanel extends LitElement {
  /** @internal */
  static override properties = {
    database: { attribute: false },
    connection: { attribute: false },
    oid: { attribute: false },
    editable: { attribute: false },
    name: { attribute: false },
    busy: { state: true },
    outcome: { state: true },
    checked: { state: true },
  };

  /** The database shown. */
  declare database: Database | undefined;
  /** The explorer's connection: exports read at its snapshot, imports commit through it. */
  declare connection: Connection | undefined;
  /** The object Export starts from (the one shown in the Objects tab). */
  declare oid: number;
  /** Whether Commit and Import copy are offered. */
  declare editable: boolean;
  /** The database's name, for file names. */
  declare name: string;
  declare private busy: string | undefined;
  declare private outcome: Outcome | undefined;
  declare private checked: Checked | undefined;
  private policy: (typeof POLICIES)[number][0] = 'fail';
  /** The name typed for Import copy (not state: typing need not re-render). */
  private copyName = '';

  /** @internal */
  static override styles = [
    baseStyles,
    css`
      h3 {
        font-size: 15px;
        margin: 14px 0 4px;
      }
      input[type='number'] {
        width: 7em;
      }
      td.status {
        font-weight: 600;
      }
    `,
  ];

  constructor() {
    super();
    this.database = undefined;
    this.connection = undefined;
    this.oid = ROOT_OID;
    this.editable = false;
    this.name = 'database';
    this.busy = undefined;
    this.outcome = undefined;
    this.checked = undefined;
  }

  /** @internal */
  override willUpdate(changed: PropertyValues): void {
    if (changed.has('database')) {
      this.outcome = undefined;
      this.checked = undefined;
    }
  }

  /** Runs one action with the buttons disabled, showing how it ended. */
  private async run(what: string, action: () => Promise<string>): Promise<void> {
    if (this.busy !== undefined) return;
    this.busy = what;
    this.outcome = undefined;
    try {
      this.outcome = { kind: 'ok', message: await action() };
    } catch (error) {
      this.outcome = { kind: 'failed', message: describeError(error) };
    } finally {
      this.busy = undefined;
    }
  }

  private exportObject(): Promise<void> {
    return this.run('export', async () => {
      const conn = this.need(this.connection);
      const { exportTree } = await import('../archive/export-tree.js');
      const oid = this.oid;
      const size = await download(
        exportTree(conn, oid, { gzip: true }),
        `${fileStem(this.name)}-${oid}.shelf.gz`,
      );
      return `Exported object ${oid} and what it owns (${size.toLocaleString()} bytes).`;
    });
  }

  private backUp(): Promise<void> {
    return this.run('backup', async () => {
      const db = this.need(this.database);
      const size = await download(
        db.backup({ gzip: true }),
        `${fileStem(this.name)}.shelfbackup.gz`,
      );
      return `Backed up the whole database (${size.toLocaleString()} bytes).`;
    });
  }

  private check(file: File): Promise<void> {
    this.checked = undefined;
    return this.run('check', async () => {
      const conn = this.need(this.connection);
      const { checkArchive } = await import('../archive/check-archive.js');
      const report = await checkArchive(conn, file);
      this.checked = { file, entries: report.entries };
      const changed = report.entries.filter((e) => e.status !== 'unchanged').length;
      return `Checked ${file.name}: ${report.entries.length.toLocaleString()} entries, ${changed.toLocaleString()} not as they are in the database.`;
    });
  }

  private commit(): Promise<void> {
    return this.run('commit', async () => {
      const conn = this.need(this.connection);
      const checked = this.need(this.checked);
      const { commitArchive } = await import('../archive/commit-archive.js');
      const tid = await commitArchive(conn, checked.file, {
        onConflict: this.policy,
        note: `explorer: commit ${checked.file.name}`,
      });
      this.checked = undefined;
      return `Committed ${checked.file.name} as transaction ${tid}.`;
    });
  }

  private importCopy(name: string): Promise<void> {
    return this.run('import', async () => {
      const conn = this.need(this.connection);
      const checked = this.need(this.checked);
      if (name === '') throw new Error('Give the name the copy gets in the root.');
      const { importCopy } = await import('../archive/import-copy.js');
      const root = await conn.root();
      if (root.has(name)) {
        throw new Error(
          `The root has an entry named ${JSON.stringify(name)} already: pick another name.`,
        );
      }
      const oids = await importCopy(conn, checked.file, root, name);
      this.checked = undefined;
      return `Imported a copy of ${checked.file.name} as root[${JSON.stringify(name)}] (${oids.size.toLocaleString()} exported objects copied, each with a new oid).`;
    });
  }

  private need<T>(value: T | undefined): T {
    if (value === undefined) throw new Error('No database is shown.');
    return value;
  }

  /** @internal */
  override render(): TemplateResult {
    const idle = this.busy === undefined;
    return html`
      <h3>Export and back up</h3>
      <div class="toolbar">
        <label
          >Object
          <input
            type="number"
            min="0"
            step="1"
            aria-label="Object to export"
            .value=${String(this.oid)}
            @change=${(e: Event) => {
              const value = Number((e.target as HTMLInputElement).value);
              if (Number.isSafeInteger(value) && value >= 0) this.oid = value;
            }}
        /></label>
        <button type="button" ?disabled=${!idle} @click=${() => void this.exportObject()}>
          Export
        </button>
        <button type="button" ?disabled=${!idle} @click=${() => void this.backUp()}>Back up</button>
      </div>
      <h3>Import</h3>
      <div class="toolbar">
        <label
          >Archive
          <input
            type="file"
            aria-label="Archive to import"
            ?disabled=${!idle}
            @change=${(e: Event) => {
              const file = (e.target as HTMLInputElement).files?.[0];
              if (file !== undefined) void this.check(file);
            }}
        /></label>
      </div>
      ${this.busy === undefined ? nothing : html`<p class="muted" role="status">Working: ${this.busy}…</p>`}
      ${this.renderOutcome()} ${this.renderChecked()}
    `;
  }

  private renderOutcome(): TemplateResult | typeof nothing {
    const o = this.outcome;
    if (o === undefined) return nothing;
    return o.kind === 'ok'
      ? html`<p class="ok" role="status">${o.message}</p>`
      : html`<p class="error" role="alert">${o.message}</p>`;
  }

  private renderChecked(): TemplateResult | typeof nothing {
    const c = this.checked;
    if (c === undefined) return nothing;
    const shown = c.entries.filter((e) => e.status !== 'unchanged').slice(0, 200);
    const idle = this.busy === undefined;
    return html`
      ${
        shown.length === 0
          ? html`<p class="muted">Every entry is as it is in the database.</p>`
          : html`<table aria-label="Archive check">
              <thead>
                <tr>
                  <th scope="col">Entry</th>
                  <th scope="col">Object</th>
                  <th scope="col">Class</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                ${shown.map(
                  (e) =>
                    html`<tr>
                      <td class="mono">${e.path}</td>
                      <td>
                        ${
                          e.oid === undefined || e.status === 'added'
                            ? '—'
                            : html`<button
                                type="button"
                                class="link"
                                @click=${() => this.dispatchEvent(new NavigateEvent(e.oid as number))}
                              >
                                ${e.oid}
                              </button>`
                        }
                      </td>
                      <td class="mono">${e.className}</td>
                      <td
                        class=${`status ${e.status === 'conflict' || e.status === 'unresolved-external' ? 'warn' : ''}`}
                      >
                        ${e.status}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
      ${
        this.editable
          ? html`<div class="toolbar">
              <label
                >On a conflict
                <select
                  aria-label="On a conflict"
                  @change=${(e: Event) => {
                    this.policy = (e.target as HTMLSelectElement).value as typeof this.policy;
                  }}
                >
                  ${POLICIES.map(
                    ([value, label]) =>
                      html`<option value=${value} ?selected=${this.policy === value}>
                        ${label}
                      </option>`,
                  )}
                </select></label
              >
              <button type="button" ?disabled=${!idle} @click=${() => void this.commit()}>
                Commit
              </button>
              <label
                >Copy name
                <input
                  type="text"
                  aria-label="Name of the copy in the root"
                  @input=${(e: Event) => (this.copyName = (e.target as HTMLInputElement).value)}
              /></label>
              <button
                type="button"
                ?disabled=${!idle}
                @click=${() => void this.importCopy(this.copyName)}
              >
                Import copy
              </button>
            </div>`
          : html`<p class="muted">Read-only: open the explorer editable to commit or import.</p>`
      }
    `;
  }
}

if (!customElements.get('shelf-archive-panel')) {
  customElements.define('shelf-archive-panel', ShelfArchivePanel);
}

declare global {
  interface HTMLElementTagNameMap {
    'shelf-archive-panel': ShelfArchivePanel;
  }
}
