/**
 * A note's attachments in the list: images as thumbnails, other files as download links with their
 * name and size.
 *
 * Their URLs, two ways:
 *   1. a page the built app's service worker controls (sw.ts): `blobPath(file)`, the blob route's
 *      URL. Nothing is read or made in the page, the address is the same after a reload, the
 *      browser caches it for good (the hash is the ETag), and it works offline.
 *   2. anywhere else (the dev server and the browser tests' server have no service worker, and the
 *      very first load of the built app is not controlled yet): an object URL of `await
 *      file.file()`, the disk-backed platform File. The list is drawn again on every change, so
 *      each drawing's URLs are revoked when the next one replaces it (`db.blobs.url` revokes only
 *      when the connection closes, and the list's connection lives as long as the page).
 */
import { blobPath } from 'shelfdb';

const numbers = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

/** `bytes` for people: 12 B, 3.4 kB, 5.6 MB. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${numbers.format(bytes / 1e3)} kB`;
  return `${numbers.format(bytes / 1e6)} MB`;
}

/** A file's name: a File's own, else what its type says it is. */
export function nameOf(blob: Blob): string {
  return blob instanceof File && blob.name !== '' ? blob.name : `file (${blob.type || 'bytes'})`;
}

/**
 * The scope path of the service worker controlling this page (the built app's, with the blob
 * route: sw.js sits at the app's base), or undefined when none does (the dev server has none).
 */
function workerBase(): string | undefined {
  const controller = typeof navigator === 'undefined' ? null : navigator.serviceWorker?.controller;
  return controller == null ? undefined : new URL('.', controller.scriptURL).pathname;
}

/** The URLs of one list's attachments, drawing after drawing. */
export class AttachmentUrls {
  /** Object URLs of the drawing being built (then shown). */
  private current: string[] = [];
  /** Object URLs of drawings replaced, revoked once the new one is shown. */
  private previous: string[] = [];
  /** Counts drawings: an object URL made after its drawing was replaced is revoked at once. */
  private drawing = 0;

  /** A new drawing starts: the URLs assigned from now on are its. */
  begin(): void {
    this.drawing++;
    this.previous.push(...this.current);
    this.current = [];
  }

  /** The new drawing is shown: the replaced ones' object URLs are revoked. */
  shown(): void {
    for (const url of this.previous) URL.revokeObjectURL(url);
    this.previous = [];
  }

  /** Sets `element`'s src (an img) or href (a link) to `blob`'s URL, now or once it is made. */
  assign(element: HTMLImageElement | HTMLAnchorElement, blob: Blob): void {
    const set = (url: string): void => {
      if (element instanceof HTMLImageElement) element.src = url;
      else element.href = url;
    };
    const base = workerBase();
    if (base !== undefined && typeof (blob as { hash?: unknown }).hash === 'string') {
      set(blobPath(blob, { base }));
      return;
    }
    const drawing = this.drawing;
    const platform = (blob as { file?: () => Promise<Blob> }).file;
    const file = typeof platform === 'function' ? platform.call(blob) : Promise.resolve(blob);
    file.then(
      (bytes) => {
        const url = URL.createObjectURL(bytes);
        if (drawing !== this.drawing) {
          URL.revokeObjectURL(url); // its drawing was replaced meanwhile
          return;
        }
        this.current.push(url);
        set(url);
      },
      (error: unknown) => {
        element.title = `Cannot show ${nameOf(blob)}: ${String(error)}`;
        element.dataset.error = 'yes';
      },
    );
  }
}

/** The attachments of a note as a list: image thumbnails, download links for the rest. */
export function attachmentList(files: readonly Blob[], urls: AttachmentUrls): HTMLUListElement {
  const list = document.createElement('ul');
  list.className = 'attachments';
  list.setAttribute('aria-label', 'Attachments');
  for (const file of files) {
    const item = document.createElement('li');
    const name = nameOf(file);
    const label = `${name}, ${formatSize(file.size)}`;
    if (file.type.startsWith('image/')) {
      const img = document.createElement('img');
      img.alt = name;
      img.title = label;
      img.className = 'thumb';
      urls.assign(img, file);
      item.append(img);
    } else {
      const link = document.createElement('a');
      link.download = name;
      link.textContent = label;
      urls.assign(link, file);
      item.append(link);
    }
    list.append(item);
  }
  return list;
}
