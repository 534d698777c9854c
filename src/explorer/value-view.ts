/**
 * Renders a described value (value-model.ts) as lit templates: scalars as text, long strings cut
 * with a "show all" disclosure, collections nested in <details> (collapsed when deep or large),
 * binary data as length and hex, Blobs as `<shelf-blob-value>` (blob-value.ts: what it is, a preview,
 * a download), and references as links that ask the explorer to show the object (NavigateEvent). Functions, not elements: a table of a thousand cells stays cheap.
 */
import { css, html, nothing, type TemplateResult } from 'lit';
import { NavigateEvent } from './explorer-events.js';
import { valueText, type ValueNode } from './value-model.js';
import './blob-value.js';

/** Styles the rendered values need; include them in the view that renders values. */
export const valueStyles = css`
  .v-string {
    white-space: pre-wrap;
    word-break: break-word;
  }
  .v-number,
  .v-bigint {
    color: var(--shelf-accent);
  }
  .v-null,
  .v-undefined,
  .v-summary {
    color: var(--shelf-muted);
    font-style: italic;
  }
  details.v-nested > summary {
    cursor: pointer;
    color: var(--shelf-muted);
  }
  ul.v-items {
    list-style: none;
    margin: 0;
    padding-left: 16px;
  }
  pre.v-full {
    white-space: pre-wrap;
    word-break: break-word;
    max-height: 240px;
    overflow: auto;
    margin: 4px 0;
  }
`;

function follow(event: Event, oid: number): void {
  (event.currentTarget as HTMLElement).dispatchEvent(new NavigateEvent(oid));
}

/** A reference: a link when it names a stored object (ghosts know their oid and class). */
function renderRef(node: Extract<ValueNode, { kind: 'ref' }>): TemplateResult {
  const oid = node.oid;
  if (oid === undefined) return html`<span class="mono muted">${node.text}</span>`;
  return html`<button
    class="link"
    type="button"
    title="Show ${node.text}"
    @click=${(event: Event) => follow(event, oid)}
  >
    ${node.text}
  </button>`;
}

function more(count: number, shown: number): TemplateResult | typeof nothing {
  return count > shown
    ? html`<li class="muted">… ${count - shown} more (${count} in all)</li>`
    : nothing;
}

function renderNested(node: Extract<ValueNode, { kind: 'list' | 'entries' }>): TemplateResult {
  const label =
    node.type === 'Object'
      ? `Object {${node.count} ${node.count === 1 ? 'field' : 'fields'}}`
      : `${node.type}(${node.count})`;
  if (node.count === 0) return html`<span class="mono muted">${valueText(node)}</span>`;
  const body =
    node.kind === 'list'
      ? html`<ul class="v-items">
          ${node.items.map((item) => html`<li>${renderValue(item)}</li>`)}
          ${more(node.count, node.items.length)}
        </ul>`
      : html`<ul class="v-items">
          ${node.entries.map(
            ([k, v]) =>
              html`<li>
                ${renderValue(k)}<span class="muted">${node.type === 'Map' ? ' → ' : ': '}</span
                >${renderValue(v)}
              </li>`,
          )}
          ${more(node.count, node.entries.length)}
        </ul>`;
  return html`<details class="v-nested mono" ?open=${node.open}>
    <summary>${label}</summary>
    ${body}
  </details>`;
}

/** The template of one described value. */
export function renderValue(node: ValueNode): TemplateResult {
  switch (node.kind) {
    case 'scalar':
      return html`<span class="mono v-${node.type}">${node.text}</span>`;
    case 'string':
      if (node.full === undefined) return html`<span class="mono v-string">${node.text}</span>`;
      return html`<span class="mono v-string">${node.text}</span>
        <details class="v-nested">
          <summary>show all ${node.length} characters</summary>
          <pre class="v-full mono">${node.full}</pre>
        </details>`;
    case 'ref':
      return renderRef(node);
    case 'bytes':
      return html`<span class="mono"
        >${node.type}(${node.length})
        <span class="muted">${node.hex}${node.more ? ' …' : ''}</span></span
      >`;
    case 'summary':
      return html`<span class="mono v-summary">${node.text}</span>`;
    case 'blob':
      // An element of its own: its preview's object URL lives exactly as long as it is shown.
      return html`<shelf-blob-value .node=${node}></shelf-blob-value>`;
    default:
      return renderNested(node);
  }
}
