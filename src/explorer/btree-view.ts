/**
 * `<shelf-btree-view>`: a BTree's size and depth, and its entries one page of 50 at a time by key
 * range (btree-pager.ts), never the whole tree; searchable by key prefix (string keys) and by
 * range (From / To, typed as keys of the tree's kind: key-input.ts). After a change elsewhere
 * (`revision`) it reads the page shown again from its first key.
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { BTree } from '../btree.js';
import type { Connection } from '../connection.js';
import { baseStyles } from './explorer-styles.js';
import { describeError } from './explorer-events.js';
import { BTreePager, type PageSearch } from './btree-pager.js';
import { describeKind, parseKey, treeKeyKind } from './key-input.js';
import type { BTreeKey, KeyKind } from '../btree-keys.js';
import type { Held } from './object-model.js';
import { describeValue, type ValueNode } from './value-model.js';
import { renderValue, valueStyles } from './value-view.js';
import { rowsLabel } from './container-table.js';

/** The page shown, described (the tree's nodes may become ghosts; the rows stay). */
interface Shown {
  rows: [ValueNode, ValueNode][];
  offset: number;
  hasNext: boolean;
  hasPrevious: boolean;
  search: PageSearch;
}

/** A BTree, paged by key range. */
export class ShelfBTreeView extends LitElement {
  /** @internal */
  static override properties = {
    held: { attribute: false },
    kind: { state: true },
    revision: { type: Number },
    shown: { state: true },
    depth: { state: true },
    size: { state: true },
    busy: { state: true },
    error: { state: true },
  };

  /** The tree shown, in its holder (loaded or a ghost: its methods load what they need). */
  declare held: Held<BTree> | undefined;
  /** The kind of the tree's keys, read with each page (the tree may be a ghost at render). */
  declare private kind: KeyKind | null;
  /** Bumped by the explorer when its snapshot moved: read the page again. */
  declare revision: number;
  declare private shown: Shown | undefined;
  declare private depth: number | undefined;
  declare private size: number | undefined;
  declare private busy: boolean;
  declare private error: string | undefined;
  private pager: BTreePager | undefined;
  /** The search the page belongs to. */
  private search: PageSearch = { kind: 'all' };
  /** Bumped at each step, so a late page does not replace a newer one. */
  private ticket = 0;

  /** @internal */
  static override styles = [
    baseStyles,
    valueStyles,
    css`
      form {
        display: contents;
      }
      .stats span {
        margin-right: 16px;
      }
    `,
  ];

  constructor() {
    super();
    this.held = undefined;
    this.kind = null;
    this.revision = 0;
    this.shown = undefined;
    this.depth = undefined;
    this.size = undefined;
    this.busy = false;
    this.error = undefined;
  }

  /** @internal */
  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('held')) {
      this.pager = this.tree ? new BTreePager(this.tree) : undefined;
      this.search = { kind: 'all' };
      this.shown = undefined;
      void this.step((pager) => pager.first(this.search));
    } else if (changed.has('revision')) {
      void this.step((pager) => pager.reload());
    }
  }

  private get tree(): BTree | undefined {
    return this.held?.obj;
  }

  /** Runs one paging step and shows its page (or its error). */
  private async step(move: (pager: BTreePager) => Promise<unknown>): Promise<void> {
    const pager = this.pager;
    const tree = this.tree;
    if (pager === undefined || tree === undefined) return;
    const ticket = ++this.ticket;
    this.busy = true;
    try {
      await move(pager);
      const depth = await tree.depth();
      // The connection may have moved (and made the tree a ghost) while the page loaded.
      if (tree._p_status === 'ghost') await (tree._p_connection as Connection).load(tree);
      if (ticket !== this.ticket) return;
      const page = pager.page;
      this.shown = {
        rows: page.entries.map(([k, v]) => [describeValue(k), describeValue(v)]),
        offset: page.offset,
        hasNext: page.hasNext,
        hasPrevious: page.hasPrevious,
        search: this.search,
      };
      this.size = tree.size;
      this.kind = treeKeyKind(tree);
      this.depth = depth;
      this.error = undefined;
    } catch (error) {
      if (ticket === this.ticket) this.error = `Could not read the tree: ${describeError(error)}`;
    } finally {
      if (ticket === this.ticket) this.busy = false;
    }
  }

  private field(name: string): string {
    return this.renderRoot.querySelector<HTMLInputElement>(`input[name="${name}"]`)?.value ?? '';
  }

  private searchPrefix(event: Event): void {
    event.preventDefault();
    const kind = this.kind;
    if (kind !== null && kind !== 'string') {
      this.error = `A prefix search needs string keys; this tree's keys are ${describeKind(kind)}. Use From / To.`;
      return;
    }
    const prefix = this.field('prefix');
    this.search = prefix === '' ? { kind: 'all' } : { kind: 'prefix', prefix };
    void this.step((pager) => pager.first(this.search));
  }

  private searchRange(event: Event): void {
    event.preventDefault();
    const kind = this.kind;
    const bounds: (BTreeKey | undefined)[] = [];
    for (const [label, name] of [
      ['From', 'from'],
      ['To', 'to'],
    ]) {
      const text = this.field(name as string);
      if (text === '') {
        bounds.push(undefined);
        continue;
      }
      const parsed = parseKey(text, kind);
      if (!parsed.ok) {
        this.error = `${label}: ${parsed.error}`;
        return;
      }
      bounds.push(parsed.key);
    }
    const [from, to] = bounds;
    this.search =
      from === undefined && to === undefined ? { kind: 'all' } : { kind: 'range', from, to };
    void this.step((pager) => pager.first(this.search));
  }

  private clear(): void {
    for (const input of this.renderRoot.querySelectorAll('input')) input.value = '';
    this.search = { kind: 'all' };
    void this.step((pager) => pager.first(this.search));
  }

  /** @internal */
  override render(): TemplateResult {
    const shown = this.shown;
    const kind = this.kind;
    return html`
      <h3>BTree entries</h3>
      <p class="stats">
        <span>size <strong class="mono">${this.size?.toLocaleString('en') ?? '…'}</strong></span>
        <span>depth <strong class="mono">${this.depth ?? '…'}</strong></span>
        <span>keys: ${describeKind(kind)}</span>
      </p>
      <div class="toolbar">
        <form @submit=${(e: Event) => this.searchPrefix(e)} aria-label="Search by key prefix">
          <label>Key prefix <input name="prefix" aria-label="Key prefix" /></label>
          <button type="submit">Search</button>
        </form>
      </div>
      <div class="toolbar">
        <form @submit=${(e: Event) => this.searchRange(e)} aria-label="Search by key range">
          <label>From <input name="from" aria-label="From key" /></label>
          <label>To <input name="to" aria-label="To key" /></label>
          <button type="submit">Range</button>
        </form>
        <button type="button" @click=${() => this.clear()}>Clear search</button>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <div class="toolbar">
        <button
          type="button"
          ?disabled=${!shown?.hasPrevious || this.busy}
          @click=${() => void this.step((pager) => pager.previous())}
        >
          Previous
        </button>
        <button
          type="button"
          ?disabled=${!shown?.hasNext || this.busy}
          @click=${() => void this.step((pager) => pager.next())}
        >
          Next
        </button>
        <span class="muted" role="status">${shown ? this.label(shown) : 'Loading…'}</span>
      </div>
      <table aria-label="BTree entries">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          ${(shown?.rows ?? []).map(
            ([k, v]) =>
              html`<tr>
                <td>${renderValue(k)}</td>
                <td>${renderValue(v)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    `;
  }

  private label(shown: Shown): string {
    if (shown.search.kind === 'all') {
      return rowsLabel(shown.offset, shown.rows.length, this.size ?? 0);
    }
    if (shown.rows.length === 0) return 'no matching keys';
    const what = shown.search.kind === 'prefix' ? 'keys with this prefix' : 'keys in this range';
    return `rows ${shown.offset + 1}–${shown.offset + shown.rows.length} of the ${what}${shown.hasNext ? ' (more follow)' : ''}`;
  }
}

if (!customElements.get('shelf-btree-view'))
  customElements.define('shelf-btree-view', ShelfBTreeView);
