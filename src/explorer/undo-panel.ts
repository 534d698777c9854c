/**
 * `<shelf-undo-panel>`: the inline confirmation of an undo from the log (with a note for the
 * undoing transaction), then its outcome: the new tid, or why it could not be done. A
 * WriteConflictError names the objects changed again since; they are shown as links.
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { Database } from '../database.js';
import { WriteConflictError } from '../shared/errors.js';
import type { Tid, TransactionInfo } from '../shared/storage.js';
import { baseStyles } from './explorer-styles.js';
import { describeError, NavigateEvent } from './explorer-events.js';

/** Fired ('shelf-undo-done') by the panel when the undo committed, with the new transaction's tid. */
export class UndoEvent extends Event {
  constructor(
    /** The tid of the undoing transaction. */
    readonly tid: Tid,
  ) {
    super('shelf-undo-done');
  }
}

/**
 * Fired ('shelf-undo-running') by the panel when its undo starts (`running` true) and when it ends,
 * either way: the log keeps every Undo button disabled meanwhile, since opening another panel
 * would drop this one's outcome unseen.
 */
export class UndoRunningEvent extends Event {
  constructor(
    /** The undo is running now. */
    readonly running: boolean,
  ) {
    super('shelf-undo-running');
  }
}

/** Where the panel is: asking, running, done, or failed (with the conflicting oids, if any). */
type Step =
  | { step: 'ask' }
  | { step: 'running' }
  | { step: 'done'; tid: Tid }
  | { step: 'failed'; message: string; oids: number[] };

/** Confirms and runs `db.undo` of one transaction; fires 'shelf-undo-close' to be dismissed. */
export class ShelfUndoPanel extends LitElement {
  /** @internal */
  static override properties = {
    database: { attribute: false },
    transaction: { attribute: false },
    state: { state: true },
  };

  /** The database to undo in. */
  declare database: Database | undefined;
  /** The transaction to undo. */
  declare transaction: TransactionInfo | undefined;
  declare private state: Step;

  /** @internal */
  static override styles = [
    baseStyles,
    css`
      :host {
        border: 1px solid var(--shelf-border);
        background: var(--shelf-panel);
        border-radius: 4px;
        padding: 6px 10px;
        margin: 6px 0;
      }
      p {
        margin: 4px 0;
      }
      input {
        min-width: 20em;
      }
    `,
  ];

  constructor() {
    super();
    this.database = undefined;
    this.transaction = undefined;
    this.state = { step: 'ask' };
  }

  /** @internal */
  override willUpdate(changed: PropertyValues): void {
    if (changed.has('transaction')) this.state = { step: 'ask' };
  }

  /** @internal */
  override firstUpdated(): void {
    this.renderRoot.querySelector<HTMLInputElement>('#undo-note')?.focus();
  }

  private async run(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const db = this.database;
    const txn = this.transaction;
    if (db === undefined || txn === undefined) return;
    const input = (event.target as HTMLFormElement).elements.namedItem('note') as HTMLInputElement;
    this.state = { step: 'running' };
    this.dispatchEvent(new UndoRunningEvent(true));
    try {
      const tid = await db.undo(txn.tid, { note: input.value });
      if (this.transaction !== txn) return;
      this.state = { step: 'done', tid };
      this.dispatchEvent(new UndoEvent(tid));
    } catch (error) {
      if (this.transaction !== txn) return;
      this.state =
        error instanceof WriteConflictError
          ? {
              step: 'failed',
              message: `Cannot undo transaction ${txn.tid}: later transactions changed these objects again.`,
              oids: error.oids,
            }
          : { step: 'failed', message: describeError(error), oids: [] };
    } finally {
      this.dispatchEvent(new UndoRunningEvent(false));
    }
  }

  private close(): void {
    this.dispatchEvent(new Event('shelf-undo-close'));
  }

  /** @internal */
  override render(): TemplateResult {
    const txn = this.transaction;
    if (txn === undefined) return html``;
    const state = this.state;
    switch (state.step) {
      case 'ask':
      case 'running':
        return html`<form
          aria-label="Undo transaction ${txn.tid}"
          @submit=${(e: SubmitEvent) => void this.run(e)}
        >
          <p>
            Undo transaction
            <span class="mono">${txn.tid}</span>${txn.note ? ` (“${txn.note}”)` : ''}? A new
            transaction puts
            ${
              txn.oids.length === 1
                ? 'the object it wrote back as it was'
                : `the ${txn.oids.length} objects it wrote back as they were`
            }
            before it.
          </p>
          <div class="toolbar">
            <label for="undo-note">Note</label>
            <input id="undo-note" name="note" .value=${`undo of transaction ${txn.tid}`} />
            <button type="submit" ?disabled=${state.step === 'running'}>Confirm undo</button>
            <!-- Not while it runs: the undo cannot be stopped, and its outcome must be seen. -->
            <button type="button" ?disabled=${state.step === 'running'} @click=${this.close}>
              Cancel
            </button>
            ${state.step === 'running' ? html`<span class="muted" role="status">Undoing…</span>` : nothing}
          </div>
        </form>`;
      case 'done':
        return html`<div class="toolbar">
          <span class="ok" role="status"
            >Transaction ${txn.tid} undone by transaction
            <span class="mono">${state.tid}</span>.</span
          >
          <button type="button" @click=${this.close}>Dismiss</button>
        </div>`;
      case 'failed':
        return html`<div role="alert">
          <p class="error">${state.message}</p>
          ${
            state.oids.length > 0
              ? html`<p>
                    Changed since:
                    ${state.oids.map(
                      (oid) =>
                        html`<button
                          class="link"
                          type="button"
                          aria-label="Open object ${oid}"
                          @click=${() => this.dispatchEvent(new NavigateEvent(oid))}
                        >
                          ${oid}
                        </button> `,
                    )}
                  </p>
                  <p class="muted">
                    Undo the later transactions that wrote them first (newest first; filter the log
                    by one of these oids to find them), or change the objects back by hand.
                  </p>`
              : nothing
          }
          <div class="toolbar"><button type="button" @click=${this.close}>Dismiss</button></div>
        </div>`;
    }
  }
}

if (!customElements.get('shelf-undo-panel'))
  customElements.define('shelf-undo-panel', ShelfUndoPanel);

declare global {
  interface HTMLElementTagNameMap {
    'shelf-undo-panel': ShelfUndoPanel;
  }
}
