/**
 * `blobPath(blob)`: the URL path at which a service worker running the blob route
 * (worker/blob-route.ts, `serveBlob`) answers a stored Blob's bytes. Unlike an object URL it needs
 * nothing made or revoked, is the same after a reload and in every tab, and takes Range requests;
 * it works only in pages a service worker with the route controls.
 */
import { StoredBlob, StoredFile } from './stored-blob.js';

/** What `blobPath` writes into the path. */
export interface BlobPathOptions {
  /** The Content-Type the route answers with (default: the blob's own type, if it has one). */
  type?: string;
  /** The service worker's scope path, ending in '/' (default '/'): the route is below it. */
  base?: string;
}

/**
 * The path `<base>shelfdb/blob/<hash>?type=<type>` of a stored Blob (one loaded from the
 * database: a StoredBlob or StoredFile), for `<img src>`, `<video src>`, `<a href download>`.
 * @throws TypeError for a Blob that is not a stored one (commit it, then use the loaded value),
 *   and for a base that is not a path ending in '/'.
 * @example
 * img.src = blobPath(note.photo); // '/shelfdb/blob/9f86d0…?type=image%2Fpng'
 */
export function blobPath(blob: Blob, options: BlobPathOptions = {}): string {
  if (!(blob instanceof StoredBlob) && !(blob instanceof StoredFile)) {
    throw new TypeError(
      `blobPath(blob): the Blob is not one loaded from a database (got ${describe(blob)}), so it has no stored hash yet. Commit it, then use the value loaded back (conn.get, a reload); for a Blob not stored yet use URL.createObjectURL(blob).`,
    );
  }
  const base = options.base ?? '/';
  if (!base.startsWith('/') || !base.endsWith('/')) {
    throw new TypeError(
      `blobPath(blob, { base: ${JSON.stringify(base)} }): base must be the service worker's scope path, starting and ending with '/' (like '/' or '/app/').`,
    );
  }
  const type = options.type ?? blob.type;
  const query = type === '' ? '' : `?type=${encodeURIComponent(type)}`;
  return `${base}shelfdb/blob/${blob.hash}${query}`;
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' ? `a ${name}` : 'an object';
}
