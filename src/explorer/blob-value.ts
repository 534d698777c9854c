/**
 * `<shelf-blob-value>`: a Blob (File) value in the explorer: its name, type, size and hash (and
 * its blob record, as a link), a small preview of an image, and a Download button.
 *
 * Bytes are read only for what is shown: the preview is an object URL of `await blob.file()` (a
 * disk-backed File where the storage keeps files: nothing read until the image decodes), made when
 * the element is connected and revoked when it goes; Download makes its URL on the click. An image
 * larger than PREVIEW_LIMIT gets no preview (an IndexedDB storage reads a blob whole to hand it
 * out). A Blob described without its storage (a BlobReference: history, diffs) shows what its
 * tag says, with no preview and no download.
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { baseStyles } from './explorer-styles.js';
import { describeError, NavigateEvent } from './explorer-events.js';
import { formatBytes } from './byte-format.js';
import type { ValueNode } from './value-model.js';

/** Images up to this size get a preview. */
export const PREVIEW_LIMIT = 16 * 1024 * 1024;

/** A described Blob. */
export type BlobNode = Extract<ValueNode, { kind: 'blob' }>;

/** The name a download of `node` is saved under: the File's, else one made of its hash. */
export function downloadName(node: BlobNode): string {
  if (node.name !== null && node.name !== '') return node.name;
  return `blob-${(node.hash ?? 'new').slice(0, 12)}`;
}

/** True when `node` is an image small enough to preview, with bytes at hand. */
export function wantsPreview(node: BlobNode): boolean {
  return node.blob !== undefined && node.type.startsWith('image/') && node.size <= PREVIEW_LIMIT;
}

/** A Blob value: what it is, a preview of an image, a download. */
export class ShelfBlobValue extends LitElement {
  /** @internal */
  static override properties = {
    node: { attribute: false },
    compact: { type: Boolean },
    preview: { state: true },
    error: { state: true },
  };

  /** The Blob shown, described (value-model.ts). */
  declare node: BlobNode | undefined;
  /** No preview (a row of a list of many). */
  declare compact: boolean;
  /** The preview's object URL, while connected. */
  declare private preview: string | undefined;
  declare private error: string | undefined;
  /** Object URLs made for downloads, revoked when the element goes. */
  private downloads: string[] = [];
  /** Bumped when the preview asked for is no longer wanted (another node, disconnected). */
  private ticket = 0;

  /** @internal */
  static override styles = [
    baseStyles,
    css`
      :host {
        display: inline-block;
        background: transparent;
      }
      .blob {
        display: inline-flex;
        align-items: center;
        gap: 8px;
        flex-wrap: wrap;
      }
      img {
        max-width: 96px;
        max-height: 64px;
        border: 1px solid var(--shelf-border);
        border-radius: 3px;
      }
      .hash {
        font-family: var(--shelf-mono);
      }
    `,
  ];

  constructor() {
    super();
    this.node = undefined;
    this.compact = false;
    this.preview = undefined;
    this.error = undefined;
  }

  /** @internal */
  override connectedCallback(): void {
    super.connectedCallback();
    // Moved back into the page (lit reuses elements): the preview revoked when it left is made again.
    if (this.hasUpdated) void this.makePreview();
  }

  /** @internal */
  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.dropPreview();
    for (const url of this.downloads) URL.revokeObjectURL(url);
    this.downloads = [];
  }

  /** @internal */
  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('node') || changed.has('compact')) {
      this.error = undefined;
      void this.makePreview();
    }
  }

  /** Makes the preview's object URL, if one is wanted (revoking the one shown). */
  private async makePreview(): Promise<void> {
    this.dropPreview();
    const node = this.node;
    if (node === undefined || this.compact || !wantsPreview(node) || !this.isConnected) return;
    const ticket = this.ticket;
    try {
      const file = await platformFile(node.blob as Blob);
      const url = URL.createObjectURL(file);
      if (ticket !== this.ticket)
        URL.revokeObjectURL(url); // not wanted any more
      else this.preview = url;
    } catch (error) {
      if (ticket === this.ticket) this.error = `No preview: ${describeError(error)}`;
    }
  }

  private dropPreview(): void {
    this.ticket++;
    if (this.preview !== undefined) URL.revokeObjectURL(this.preview);
    this.preview = undefined;
  }

  /** Saves the Blob: an `<a download>` of an object URL of its file, clicked. */
  private async download(): Promise<void> {
    const node = this.node;
    if (node?.blob === undefined) return;
    try {
      const url = URL.createObjectURL(await platformFile(node.blob));
      this.downloads.push(url);
      const link = document.createElement('a');
      link.href = url;
      link.download = downloadName(node);
      link.hidden = true;
      this.renderRoot.append(link);
      link.click();
      link.remove();
      this.error = undefined;
    } catch (error) {
      this.error = `Could not download: ${describeError(error)}`;
    }
  }

  /** @internal */
  override render(): TemplateResult {
    const node = this.node;
    if (node === undefined) return html``;
    const label = node.name === null ? 'Blob' : node.name;
    return html`<span class="blob">
      ${
        this.preview !== undefined
          ? html`<img src=${this.preview} alt="Preview of ${label}" />`
          : nothing
      }
      <span class="mono">${node.name === null ? 'Blob' : `File ${JSON.stringify(node.name)}`}</span>
      <span class="mono">${node.type || '(no type)'}</span>
      <span>${formatBytes(node.size)}</span>
      ${
        node.hash === undefined
          ? html`<span class="muted">not stored yet</span>`
          : html`<span class="hash muted" title=${node.hash}>${node.hash.slice(0, 12)}…</span>`
      }
      ${
        node.oid === undefined
          ? nothing
          : html`<button
              class="link"
              type="button"
              title="Show its blob record"
              @click=${(event: Event) =>
                (event.currentTarget as HTMLElement).dispatchEvent(
                  new NavigateEvent(node.oid as number),
                )}
            >
              record #${node.oid}
            </button>`
      }
      ${
        node.blob === undefined
          ? nothing
          : html`<button
              type="button"
              aria-label="Download ${downloadName(node)}"
              @click=${() => void this.download()}
            >
              Download
            </button>`
      }
      ${this.error ? html`<span class="error" role="alert">${this.error}</span>` : nothing}
    </span>`;
  }
}

/** The platform's own Blob of `blob`'s bytes: a StoredBlob's file, or the Blob itself. */
async function platformFile(blob: Blob): Promise<Blob> {
  const file = (blob as { file?: () => Promise<Blob> }).file;
  return typeof file === 'function' ? file.call(blob) : blob;
}

if (!customElements.get('shelf-blob-value'))
  customElements.define('shelf-blob-value', ShelfBlobValue);

declare global {
  interface HTMLElementTagNameMap {
    'shelf-blob-value': ShelfBlobValue;
  }
}
