/**
 * <shelf-object-view>: (being written; see shelf-explorer.ts for the properties the shell sets).
 */
import { LitElement, html, type TemplateResult } from 'lit';

export class ShelfObjectView extends LitElement {
  /** @internal */
  override render(): TemplateResult {
    return html`<p>…</p>`;
  }
}

if (!customElements.get('shelf-object-view'))
  customElements.define('shelf-object-view', ShelfObjectView);
