/**
 * `<shelf-edit-form>`: one edit of one object, in a connection of its own (edit-session.ts):
 * change a scalar field, or add or remove a PersistentDict entry, with a commit note. It says at
 * once when the object changed elsewhere while it is open ('stale'), and shows a conflict as such,
 * with the other side's value, offering to retry on the current state or to discard.
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { Database } from '../database.js';
import type { PersistentDict } from '../persistent-dict.js';
import type { Persistent } from '../persistent.js';
import { baseStyles } from './explorer-styles.js';
import { describeError } from './explorer-events.js';
import {
  EditSession,
  comparable,
  parseScalar,
  scalarType,
  type ScalarType,
} from './edit-session.js';
import { describeValue } from './value-model.js';
import { parseDictKey, type DictKeys } from './key-input.js';
import { renderValue, valueStyles } from './value-view.js';

/** What the form edits. */
export type EditAction =
  | { kind: 'field'; field: string; current: unknown }
  /** `keys`: how the typed key is read, by the dict's keys (a string when not given). */
  | { kind: 'dict-set'; keys?: DictKeys }
  /** `current`: the entry's value as the row showed it, when there was one to compare. */
  | { kind: 'dict-delete'; key: unknown; current?: unknown };

/** The form is done: saved (with the tid) or cancelled/discarded (no tid). */
export class EditClosedEvent extends Event {
  constructor(readonly tid: number | undefined) {
    super('shelf-edit-closed', { bubbles: true, composed: true });
  }
}

const TYPES: ScalarType[] = ['string', 'number', 'boolean', 'null'];

/** The value input's text for a current value. */
function textOf(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

function keyText(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : String(key);
}

/** An edit form; the object view places it under the field or dict it edits. */
export class ShelfEditForm extends LitElement {
  /** @internal */
  static override properties = {
    database: { attribute: false },
    oid: { type: Number },
    action: { attribute: false },
    session: { state: true },
    stale: { state: true },
    busy: { state: true },
    error: { state: true },
    conflict: { state: true },
    type: { state: true },
  };

  /** The database to open the edit's connection on. */
  declare database: Database | undefined;
  /** The object edited. */
  declare oid: number;
  /** What to change. */
  declare action: EditAction;
  declare private session: EditSession | undefined;
  declare private stale: boolean;
  declare private busy: boolean;
  declare private error: string | undefined;
  /** The other side's value after a conflict (described), until retried or discarded. */
  declare private conflict: { theirs: TemplateResult; message: string } | undefined;
  /**
   * The value the user started from, which a save expects to find (undefined: not checked): the
   * one the form was opened with, then the other side's value a conflict showed. An added dict
   * entry expects no entry of its key.
   */
  private basis: { value: unknown } | undefined = undefined;
  /** The type the value input is read as. */
  declare private type: ScalarType;

  /** @internal */
  static override styles = [
    baseStyles,
    valueStyles,
    css`
      form {
        border: 1px solid var(--shelf-border);
        border-radius: 6px;
        padding: 6px 10px;
        margin: 4px 0;
        background: var(--shelf-panel);
      }
      .conflict {
        border-left: 3px solid var(--shelf-danger);
        padding-left: 8px;
        margin: 6px 0;
      }
      label {
        display: inline-flex;
        gap: 4px;
        align-items: center;
      }
    `,
  ];

  constructor() {
    super();
    this.database = undefined;
    this.oid = 0;
    this.action = { kind: 'dict-set' };
    this.session = undefined;
    this.stale = false;
    this.busy = false;
    this.error = undefined;
    this.conflict = undefined;
    this.type = 'string';
  }

  /** @internal */
  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('action')) {
      const a = this.action;
      if (a.kind === 'field') this.type = scalarType(a.current) ?? 'string';
      this.basis =
        a.kind === 'dict-set'
          ? { value: undefined }
          : 'current' in a && comparable(a.current)
            ? { value: a.current }
            : undefined;
    }
  }

  /** @internal */
  override connectedCallback(): void {
    super.connectedCallback();
    void this.open();
  }

  /** @internal */
  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.session?.close();
    this.session = undefined;
  }

  private async open(): Promise<void> {
    if (this.database === undefined || this.session !== undefined) return;
    try {
      const session = await EditSession.open(this.database, this.oid, () => {
        this.stale = true;
      });
      if (!this.isConnected) session.close();
      else this.session = session;
    } catch (error) {
      this.error = `Cannot edit: ${describeError(error)}`;
    }
  }

  private input(name: string): HTMLInputElement | undefined {
    return this.renderRoot.querySelector<HTMLInputElement>(`[name="${name}"]`) ?? undefined;
  }

  /** The change to make and how to read the other side's value, from the inputs; or an error. */
  private planned():
    { change: (obj: Persistent) => void; read: (obj: Persistent) => unknown } | string {
    const action = this.action;
    if (action.kind === 'dict-delete') {
      return {
        change: (obj) => void (obj as PersistentDict).delete(action.key),
        read: (obj) => (obj as PersistentDict).get(action.key),
      };
    }
    const parsed = parseScalar(this.input('value')?.value ?? '', this.type);
    if (!parsed.ok) return parsed.error;
    if (action.kind === 'field') {
      return {
        change: (obj) =>
          void ((obj as unknown as Record<string, unknown>)[action.field] = parsed.value),
        read: (obj) => (obj as unknown as Record<string, unknown>)[action.field],
      };
    }
    const typed = this.input('key')?.value ?? '';
    if (typed === '') return 'Type a key for the new entry.';
    const parsedKey = parseDictKey(typed, action.keys?.kind ?? 'string');
    if (!parsedKey.ok) return parsedKey.error;
    const key = parsedKey.key;
    return {
      change: (obj) => void (obj as PersistentDict).set(key, parsed.value),
      read: (obj) => (obj as PersistentDict).get(key),
    };
  }

  private async save(event: Event): Promise<void> {
    event.preventDefault();
    const session = this.session;
    if (session === undefined || this.busy) return;
    const plan = this.planned();
    if (typeof plan === 'string') {
      this.error = plan;
      return;
    }
    this.busy = true;
    this.error = undefined;
    try {
      const result = await session.save(
        plan.change,
        plan.read,
        this.input('note')?.value ?? '',
        this.basis,
      );
      if (result.kind === 'saved') {
        this.dispatchEvent(new EditClosedEvent(result.tid));
        return;
      }
      if (result.kind === 'unknown') {
        this.error = `Not known whether it was saved (${result.message}) Save again to send the same change again: it lands once.`;
        return;
      }
      this.stale = false;
      // The user sees theirs now: a Retry writes over it, and over nothing newer.
      this.basis = comparable(result.theirs) ? { value: result.theirs } : undefined;
      this.conflict = {
        theirs: renderValue(describeValue(result.theirs)),
        message:
          this.action.kind === 'dict-set' && result.theirs !== undefined
            ? 'Not saved: the dict already has an entry of this key.'
            : 'Not saved: changed elsewhere since you opened it.',
      };
    } catch (error) {
      this.error = `Not saved: ${describeError(error)}`;
    } finally {
      this.busy = false;
    }
  }

  private cancel(): void {
    this.dispatchEvent(new EditClosedEvent(undefined));
  }

  private heading(): TemplateResult {
    const a = this.action;
    if (a.kind === 'field') return html`Edit field <code>${a.field}</code>`;
    if (a.kind === 'dict-delete') return html`Remove the entry <code>${keyText(a.key)}</code>`;
    return html`Add an entry`;
  }

  private valueInputs(): TemplateResult | typeof nothing {
    const a = this.action;
    if (a.kind === 'dict-delete') return nothing;
    const current = a.kind === 'field' ? a.current : '';
    return html`
      ${
        a.kind === 'dict-set'
          ? html`<label
                >Key
                <input name="key" aria-label="Key" aria-describedby="key-kind" required /></label
              ><span class="muted" id="key-kind">${a.keys?.text ?? 'key is a string'}</span>`
          : nothing
      }
      <label
        >Type
        <select
          aria-label="Type"
          @change=${(e: Event) => (this.type = (e.target as HTMLSelectElement).value as ScalarType)}
        >
          ${TYPES.map((t) => html`<option value=${t} ?selected=${t === this.type}>${t}</option>`)}
        </select></label
      >
      <label
        >Value
        <input
          name="value"
          aria-label="Value"
          .value=${textOf(current)}
          ?disabled=${this.type === 'null'}
          placeholder=${this.type === 'boolean' ? 'true or false' : this.type === 'null' ? 'null' : ''}
      /></label>
    `;
  }

  /** @internal */
  override render(): TemplateResult {
    const ready = this.session !== undefined;
    return html`<form @submit=${(e: Event) => void this.save(e)} aria-label="Edit">
      <div><strong>${this.heading()}</strong></div>
      ${
        this.stale
          ? html`<p class="warn" role="alert">
              This object was changed elsewhere; saving will conflict.
            </p>`
          : nothing
      }
      ${
        this.conflict
          ? html`<div class="conflict" role="alert">
              <p class="error">${this.conflict.message}</p>
              <p>Their value: ${this.conflict.theirs}</p>
              <p class="muted">Retry saves your value over theirs; Discard keeps theirs.</p>
              <div class="toolbar">
                <button type="submit" ?disabled=${this.busy}>Retry</button>
                <button type="button" @click=${() => this.cancel()}>Discard</button>
              </div>
            </div>`
          : nothing
      }
      <div class="toolbar">
        ${this.valueInputs()}
        <label>Commit note <input name="note" aria-label="Commit note" /></label>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${
        this.conflict
          ? nothing
          : html`<div class="toolbar">
              <button type="submit" ?disabled=${!ready || this.busy}>Save</button>
              <button type="button" @click=${() => this.cancel()}>Cancel</button>
              ${ready ? nothing : html`<span class="muted">Opening…</span>`}
            </div>`
      }
    </form>`;
  }
}

if (!customElements.get('shelf-edit-form')) customElements.define('shelf-edit-form', ShelfEditForm);
