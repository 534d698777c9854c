/**
 * The blob route of a service worker: `GET <scope>shelfdb/blob/<hash>` answers the stored blob
 * file `<hash>` from this origin's shelfdb databases, so a page can write `<img src>`, `<video
 * src>` or `<a href download>` of a stored Blob with a plain URL: no object URL to make and revoke,
 * the same address after a reload, and Range requests (video seeking, resumed downloads) served
 * from the file itself.
 *
 * A blob file is named by its bytes' SHA-256, so a hash is the same file in whichever database
 * holds it, and the answer never changes: it is cached for good (`immutable`) and revalidated by
 * its ETag (the hash). The bytes are streamed from the file (a disk-backed File's slice for OPFS,
 * 1 MiB reads for IndexedDB): a response never holds the blob in memory.
 *
 * An app chains the route with its own:
 * ```ts
 * self.addEventListener('fetch', (event) => {
 *   const url = new URL(event.request.url);
 *   if (url.pathname.includes('/shelfdb/blob/')) event.respondWith(serveBlobOrFetch(event.request));
 * });
 * ```
 * (`serveBlob` answers undefined for any other URL, so `(await serveBlob(request)) ?? fetch(request)`
 * passes the rest on.) The page writes the URLs with `blobPath(blob)` (src/blob-path.ts).
 * @module shelfdb/service-worker
 */
import { originBlobLookup } from './blob-route-lookup.js';

/** The path below the service worker's scope that the route answers. */
export const BLOB_ROUTE = 'shelfdb/blob/';

/** A stored blob file the route can answer from. */
export interface BlobSource {
  /** Its length in bytes. */
  readonly size: number;
  /** Bytes `[start, end)` as a response body, read as the response is consumed. */
  body(start: number, end: number): Blob | ReadableStream<Uint8Array>;
  /** Releases what the source holds (a database connection) when no body was asked for. */
  close?(): void;
}

/** Finds blob file `hash` (64 lowercase hex digits); undefined when no database stores it. */
export type BlobLookup = (hash: string) => Promise<BlobSource | undefined>;

/** Where the route lives and where it looks. */
export interface BlobRouteOptions {
  /** The service worker's scope (an absolute URL ending in '/'): the route is `<scope>shelfdb/blob/`. */
  scope: string;
  /** Finds a blob file by its hash (default: every shelfdb database of the origin). */
  lookup?: BlobLookup;
}

/** The part of a ServiceWorkerGlobalScope the route reads (the WebWorker lib does not type it). */
interface ServiceWorkerScope {
  registration?: { scope?: string };
}

/**
 * Answers a service worker's `request` for `<scope>shelfdb/blob/<hash>` from the blob files of
 * this origin's shelfdb databases (OPFS first, then IndexedDB); undefined for any other URL, so
 * the app answers it. The scope is the service worker's registration's.
 * @example
 * self.addEventListener('fetch', (event) => {
 *   if (new URL(event.request.url).pathname.includes('/shelfdb/blob/'))
 *     event.respondWith(serveBlob(event.request).then((r) => r ?? fetch(event.request)));
 * });
 */
export function serveBlob(request: Request): Promise<Response | undefined> {
  const scope =
    (globalThis as ServiceWorkerScope).registration?.scope ?? new URL('/', request.url).href;
  return blobRoute({ scope })(request);
}

/**
 * The route over `options.lookup` and `options.scope` (serveBlob is this over the origin's
 * databases and the registration's scope): for tests, and for apps that keep blobs elsewhere.
 */
export function blobRoute(
  options: BlobRouteOptions,
): (request: Request) => Promise<Response | undefined> {
  const prefix = new URL(BLOB_ROUTE, options.scope);
  const lookup = options.lookup ?? originBlobLookup;
  return async (request) => {
    const url = new URL(request.url);
    if (url.origin !== prefix.origin || !url.pathname.startsWith(prefix.pathname)) return undefined;
    const hash = url.pathname.slice(prefix.pathname.length);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return refusal(
        405,
        `${request.method} ${url.pathname}: blob URLs answer GET and HEAD only.`,
        {
          Allow: 'GET, HEAD',
        },
      );
    }
    if (!/^[0-9a-f]{64}$/.test(hash)) {
      return refusal(
        400,
        `${url.pathname}: "${hash}" is not a blob hash (64 lowercase hexadecimal digits). Write blob URLs with blobPath(blob).`,
      );
    }
    const type = url.searchParams.get('type') ?? 'application/octet-stream';
    if (!isHeaderValue(type) || type === '') {
      return refusal(
        400,
        `${url.pathname}: the type ${JSON.stringify(type)} is not a media type (like image/png). Pass blob.type, or leave ?type= out.`,
      );
    }
    const source = await lookup(hash);
    if (source === undefined) {
      return refusal(
        404,
        `No shelfdb database of this origin stores blob ${hash}: it was never stored here, or pack removed it once nothing referenced it.`,
      );
    }
    const response = answer(request, hash, type, source);
    if (response.body === null) source.close?.();
    return response;
  };
}

/** The 200, 206, 304 or 416 answer of a GET or HEAD of blob `hash`, found as `source`. */
function answer(request: Request, hash: string, type: string, source: BlobSource): Response {
  const etag = `"${hash}"`;
  const headers: Record<string, string> = {
    ETag: etag,
    'Cache-Control': 'max-age=31536000, immutable',
    'Accept-Ranges': 'bytes',
    'Content-Type': type,
    // The type comes from the URL: never let the browser guess a more dangerous one.
    'X-Content-Type-Options': 'nosniff',
  };
  // A stored HTML or SVG page opened by its URL would run its scripts as this origin: sandboxed.
  if (isMarkup(type)) headers['Content-Security-Policy'] = 'sandbox';
  if (matchesEtag(request.headers.get('If-None-Match'), hash)) {
    return new Response(null, { status: 304, headers });
  }
  const head = request.method === 'HEAD';
  const ifRange = request.headers.get('If-Range');
  const rangeHeader = ifRange === null || ifRange === etag ? request.headers.get('Range') : null;
  const range = rangeHeader === null ? 'whole' : parseRange(rangeHeader, source.size);
  if (range === 'unsatisfiable') {
    headers['Content-Range'] = `bytes */${source.size}`;
    return new Response(null, { status: 416, headers });
  }
  const [start, end] = range === 'whole' ? [0, source.size] : range;
  headers['Content-Length'] = String(end - start);
  if (range !== 'whole') headers['Content-Range'] = `bytes ${start}-${end - 1}/${source.size}`;
  const status = range === 'whole' ? 200 : 206;
  return new Response(head ? null : source.body(start, end), { status, headers });
}

/**
 * What a `Range` header asks of a representation of `size` bytes: `[start, end)`, 'unsatisfiable',
 * or 'whole' where the header is to be ignored (another unit, several ranges: RFC 9110 lets a
 * server answer those with the whole representation).
 */
export function parseRange(
  header: string,
  size: number,
): [number, number] | 'whole' | 'unsatisfiable' {
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (match === null) return 'whole';
  const specs = match[1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (specs.length !== 1) return specs.length === 0 ? 'unsatisfiable' : 'whole';
  const spec = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (spec === null) return 'unsatisfiable';
  const [, first, last] = spec as unknown as [string, string, string];
  if (first === '') {
    // `-n`: the last n bytes (all of them when the file is shorter).
    const n = Number(last);
    if (last === '' || n === 0 || size === 0) return 'unsatisfiable';
    return [Math.max(0, size - n), size];
  }
  const start = Number(first);
  const end = last === '' ? size : Math.min(Number(last) + 1, size);
  if (last !== '' && Number(last) < start) return 'unsatisfiable';
  if (start >= size) return 'unsatisfiable';
  return [start, end];
}

/** True when an If-None-Match list names this blob's ETag (strong, weak or `*`). */
function matchesEtag(header: string | null, hash: string): boolean {
  if (header === null) return false;
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === `"${hash}"`);
}

/** Types a browser renders as a page that can run scripts. */
function isMarkup(type: string): boolean {
  const essence = type.split(';')[0]!.trim().toLowerCase();
  return /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml)$/.test(
    essence,
  );
}

/** A value a header may carry: visible ASCII and spaces (no line breaks to split it). */
function isHeaderValue(value: string): boolean {
  return /^[\x20-\x7e]*$/.test(value);
}

/** A plain-text error answer. */
function refusal(status: number, message: string, extra: Record<string, string> = {}): Response {
  return new Response(message, {
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', ...extra },
  });
}
