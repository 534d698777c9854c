/**
 * <shelf-maintenance-view>: (being written; see shelf-explorer.ts for the properties the shell sets).
 */
import { LitElement, html, type TemplateResult } from 'lit';

export class ShelfMaintenanceView extends LitElement {
  /** @internal */
  override render(): TemplateResult {
    return html`<p>…</p>`;
  }
}

if (!customElements.get('shelf-maintenance-view'))
  customElements.define('shelf-maintenance-view', ShelfMaintenanceView);
