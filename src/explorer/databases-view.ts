/**
 * <shelf-databases-view>: (being written; see shelf-explorer.ts for the properties the shell sets).
 */
import { LitElement, html, type TemplateResult } from 'lit';

export class ShelfDatabasesView extends LitElement {
  /** @internal */
  override render(): TemplateResult {
    return html`<p>…</p>`;
  }
}

if (!customElements.get('shelf-databases-view'))
  customElements.define('shelf-databases-view', ShelfDatabasesView);
