/**
 * <shelf-log-view>: (being written; see shelf-explorer.ts for the properties the shell sets).
 */
import { LitElement, html, type TemplateResult } from 'lit';

export class ShelfLogView extends LitElement {
  /** @internal */
  override render(): TemplateResult {
    return html`<p>…</p>`;
  }
}

if (!customElements.get('shelf-log-view')) customElements.define('shelf-log-view', ShelfLogView);
