/**
 * `<shelf-object-view>`: the Objects tab. It shows one object of the explorer's connection (the
 * shell sets `oid`, the trail's `canBack` / `canForward`, `editable` and `revision`): its oid,
 * stored class, stored size and serial, its fields described generically (no app class needed),
 * references as links, PersistentDict/List/Set as paged tables (container-table.ts), BTrees paged
 * by key range (btree-view.ts), and, when editable, forms that change a scalar field in a
 * connection of their own (edit-form.ts). It loads again whenever `oid` or `revision` changes.
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type { Connection } from '../connection.js';
import type { Database } from '../database.js';
import type { BTree } from '../btree.js';
import type { PersistentDict } from '../persistent-dict.js';
import { ROOT_OID } from '../shared/storage.js';
import { baseStyles } from './explorer-styles.js';
import { describeError, NavigateEvent } from './explorer-events.js';
import { describeObject, type FieldModel, type Held, type ObjectModel } from './object-model.js';
import { renderValue, valueStyles } from './value-view.js';
import { parseOid } from './key-input.js';
import type { EditAction, EditClosedEvent } from './edit-form.js';
import './edit-form.js';
import './container-table.js';
import './btree-view.js';

/** The object view of the explorer's Objects tab. */
export class ShelfObjectView extends LitElement {
  /** @internal */
  static override properties = {
    database: { attribute: false },
    connection: { attribute: false },
    oid: { type: Number },
    canBack: { type: Boolean },
    canForward: { type: Boolean },
    editable: { type: Boolean },
    revision: { type: Number },
    model: { state: true },
    held: { state: true },
    missing: { state: true },
    error: { state: true },
    openError: { state: true },
    editing: { state: true },
    saved: { state: true },
  };

  /** The database shown (edits open their own connection on it). */
  declare database: Database | undefined;
  /** The explorer's connection, which the view reads through. */
  declare connection: Connection | undefined;
  /** The object shown. */
  declare oid: number;
  /** The trail has an object before / after this one. */
  declare canBack: boolean;
  declare canForward: boolean;
  /** Offer edits (the explorer's `editable`). */
  declare editable: boolean;
  /** Bumped by the explorer when its snapshot moved: load again. */
  declare revision: number;
  /** The object as shown (taken when it was loaded). */
  declare private model: ObjectModel | undefined;
  /** The object itself, for the container and tree views (which load it again as needed). */
  declare private held: Held | undefined;
  /** The oid shown names no object. */
  declare private missing: boolean;
  declare private error: string | undefined;
  declare private openError: string | undefined;
  /** The field being edited and the form's action (made once, so a re-render keeps the form). */
  declare private editing: { name: string; action: EditAction } | undefined;
  declare private saved: string | undefined;
  /** Bumped at each load, so a late load does not replace a newer one. */
  private ticket = 0;

  /** @internal */
  static override styles = [
    baseStyles,
    valueStyles,
    css`
      h2.title {
        font-family: var(--shelf-mono);
        font-size: 17px;
        margin: 10px 0 4px;
      }
      dl.identity {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 2px 12px;
        margin: 8px 0;
      }
      dl.identity dt {
        color: var(--shelf-muted);
      }
      dl.identity dd {
        margin: 0;
      }
      td.name {
        width: 1%;
        white-space: nowrap;
      }
      td.actions {
        width: 1%;
      }
      #oid-input {
        width: 8em;
      }
    `,
  ];

  constructor() {
    super();
    this.database = undefined;
    this.connection = undefined;
    this.oid = 0;
    this.canBack = false;
    this.canForward = false;
    this.editable = false;
    this.revision = 0;
    this.model = undefined;
    this.held = undefined;
    this.missing = false;
    this.error = undefined;
    this.openError = undefined;
    this.editing = undefined;
    this.saved = undefined;
    this.addEventListener('keydown', (event) => this.onKey(event));
  }

  /** @internal */
  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('oid') || changed.has('connection')) {
      this.editing = undefined;
      this.saved = undefined;
      this.openError = undefined;
      void this.load(true);
    } else if (changed.has('revision')) {
      void this.load(false);
    }
  }

  /**
   * Loads the object shown and takes its model. `fresh`: another object (clear the view while it
   * loads); otherwise the same one again after a change (keep showing it meanwhile).
   */
  private async load(fresh: boolean): Promise<void> {
    const conn = this.connection;
    const oid = this.oid;
    const ticket = ++this.ticket;
    if (fresh) {
      this.model = undefined;
      this.held = undefined;
    }
    if (conn === undefined) return;
    try {
      // Loaded as handed over: autoSync moves the snapshot (and ghosts it) in a later task.
      const obj = await conn.get(oid);
      if (ticket !== this.ticket) return;
      this.missing = obj === undefined;
      this.model = obj === undefined ? undefined : describeObject(obj, conn);
      // The same holder while the object is the same: the child views keep their page.
      if (obj === undefined) this.held = undefined;
      else if (this.held?.obj !== obj) this.held = { obj };
      this.error = undefined;
    } catch (error) {
      if (ticket === this.ticket)
        this.error = `Could not load object ${oid}: ${describeError(error)}`;
    }
  }

  /** @internal */
  override updated(): void {
    // Back (or Forward) turns disabled at the end of the trail: a disabled button drops the focus
    // to the page, where Alt+Arrow keys no longer reach this view. Keep the focus in the toolbar.
    const focused = this.renderRoot instanceof ShadowRoot ? this.renderRoot.activeElement : null;
    if (focused instanceof HTMLButtonElement && focused.disabled) {
      this.renderRoot.querySelector<HTMLElement>('[role="toolbar"]')?.focus();
    }
  }

  private onKey(event: KeyboardEvent): void {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (event.key === 'ArrowLeft' && this.canBack) {
      event.preventDefault();
      this.back();
    } else if (event.key === 'ArrowRight' && this.canForward) {
      event.preventDefault();
      this.forward();
    }
  }

  private back(): void {
    this.dispatchEvent(new Event('shelf-back', { bubbles: true, composed: true }));
  }

  private forward(): void {
    this.dispatchEvent(new Event('shelf-forward', { bubbles: true, composed: true }));
  }

  private async open(event: Event): Promise<void> {
    event.preventDefault();
    const input = this.renderRoot.querySelector<HTMLInputElement>('#oid-input');
    const oid = parseOid(input?.value ?? '');
    if (typeof oid === 'string') {
      this.openError = oid;
      return;
    }
    try {
      const obj = await this.connection?.get(oid);
      if (obj === undefined) {
        this.openError = `There is no object ${oid}: no object ${oid} was ever stored, or pack removed it.`;
        return;
      }
      this.openError = undefined;
      this.dispatchEvent(new NavigateEvent(oid));
    } catch (error) {
      this.openError = `Could not open object ${oid}: ${describeError(error)}`;
    }
  }

  private toolbar(): TemplateResult {
    return html`<div class="toolbar" role="toolbar" aria-label="Object navigation" tabindex="-1">
        <button type="button" ?disabled=${!this.canBack} @click=${() => this.back()} title="Alt+←">
          Back
        </button>
        <button
          type="button"
          ?disabled=${!this.canForward}
          @click=${() => this.forward()}
          title="Alt+→"
        >
          Forward
        </button>
        <button
          type="button"
          @click=${(e: Event) => e.target?.dispatchEvent(new NavigateEvent(ROOT_OID))}
        >
          Root
        </button>
        <form @submit=${(e: Event) => void this.open(e)} class="toolbar" style="margin:0">
          <label for="oid-input">Object id</label>
          <input id="oid-input" inputmode="numeric" autocomplete="off" />
          <button type="submit">Open</button>
        </form>
      </div>
      ${this.openError ? html`<p class="error" role="alert">${this.openError}</p>` : nothing}`;
  }

  private identity(model: ObjectModel): TemplateResult {
    return html`<dl class="identity" aria-label="Object">
        <dt>oid</dt>
        <dd class="mono">${model.oid}</dd>
        <dt>class</dt>
        <dd class="mono">
          ${model.className}
          ${
            model.kind === 'broken'
              ? html`<span class="warn"
                  >class not registered in this page: shown as stored, read-only</span
                >`
              : nothing
          }
        </dd>
        <dt>stored size</dt>
        <dd class="mono">
          ${model.size === undefined ? '—' : `${model.size.toLocaleString('en')} bytes`}
        </dd>
        <dt>serial</dt>
        <dd class="mono">${model.serial ?? '—'}</dd>
      </dl>
      ${
        this.editable
          ? model.readOnly && model.kind !== 'broken'
            ? html`<p class="muted">Read-only: ${model.readOnly}.</p>`
            : nothing
          : html`<p class="muted">Read-only: the explorer was opened without editing.</p>`
      }`;
  }

  private fieldRow(model: ObjectModel, field: FieldModel): TemplateResult {
    const canEdit = this.editable && model.readOnly === undefined && field.scalar !== undefined;
    const editing = this.editing?.name === field.name;
    return html`<tr>
        <td class="name mono">${field.name}</td>
        <td>${renderValue(field.value)}</td>
        ${
          this.editable && model.readOnly === undefined
            ? html`<td class="actions">
                ${
                  canEdit
                    ? html`<button
                        type="button"
                        aria-label="Edit field ${field.name}"
                        ?disabled=${editing}
                        @click=${() => {
                          this.saved = undefined;
                          this.editing = {
                            name: field.name,
                            action: {
                              kind: 'field',
                              field: field.name,
                              current: field.scalar?.current,
                            },
                          };
                        }}
                      >
                        Edit
                      </button>`
                    : nothing
                }
              </td>`
            : nothing
        }
      </tr>
      ${
        editing
          ? html`<tr>
              <td colspan="3">
                <shelf-edit-form
                  .database=${this.database}
                  .oid=${model.oid}
                  .action=${this.editing?.action}
                  @shelf-edit-closed=${(e: EditClosedEvent) => {
                    this.editing = undefined;
                    if (e.tid !== undefined) this.saved = `Saved as transaction ${e.tid}.`;
                  }}
                ></shelf-edit-form>
              </td>
            </tr>`
          : nothing
      }`;
  }

  private fields(model: ObjectModel): TemplateResult {
    if (model.fields.length === 0) {
      return model.kind === 'object' || model.kind === 'broken'
        ? html`<p class="muted">No fields.</p>`
        : html``;
    }
    const actions = this.editable && model.readOnly === undefined;
    return html`<h3>Fields</h3>
      <table aria-label="Fields">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Value</th>
            ${actions ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${repeat(
            model.fields,
            // Keyed by name: when fields come or go elsewhere, an open edit form keeps its row
            // (and what is typed in it) instead of being rebuilt at another position.
            (f) => f.name,
            (f) => this.fieldRow(model, f),
          )}
        </tbody>
      </table>
      ${
        model.moreFields > 0
          ? html`<p class="muted">… and ${model.moreFields} more fields, not shown.</p>`
          : nothing
      }`;
  }

  private contents(model: ObjectModel): TemplateResult | typeof nothing {
    const held = this.held;
    if (held === undefined) return nothing;
    if (model.kind === 'btree') {
      return html`<shelf-btree-view
        .held=${held as Held<BTree>}
        .revision=${this.revision}
      ></shelf-btree-view>`;
    }
    if (model.kind === 'dict' || model.kind === 'list' || model.kind === 'set') {
      return html`<shelf-container-table
        .held=${held as Held<PersistentDict>}
        .connection=${this.connection}
        .database=${this.database}
        .editable=${this.editable}
        .revision=${this.revision}
      ></shelf-container-table>`;
    }
    return nothing;
  }

  /** @internal */
  override render(): TemplateResult {
    const model = this.model;
    let body: TemplateResult;
    if (this.error) body = html`<p class="error" role="alert">${this.error}</p>`;
    else if (this.missing) {
      body = html`<p class="error" role="alert">
        ${
          this.oid === ROOT_OID
            ? 'There is no object 0: the database is empty (no root yet).'
            : `There is no object ${this.oid}: no object ${this.oid} was ever stored, or pack removed it.`
        }
      </p>`;
    } else if (model === undefined) body = html`<p class="muted">Loading object ${this.oid}…</p>`;
    else {
      body = html`<h2 class="title">${model.className} #${model.oid}</h2>
        ${this.identity(model)}
        ${this.saved ? html`<p class="ok" role="status">${this.saved}</p>` : nothing}
        ${this.fields(model)} ${this.contents(model)}`;
    }
    return html`${this.toolbar()}${body}`;
  }
}

if (!customElements.get('shelf-object-view'))
  customElements.define('shelf-object-view', ShelfObjectView);
