import 'fake-indexeddb/auto'; // the origin lookup reads globalThis.indexedDB, as a service worker's
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blobPath } from '../src/blob-path.js';
import { makeStoredBlob, type BlobReader } from '../src/stored-blob.js';
import { blobRoute, parseRange, type BlobSource } from '../worker/blob-route.js';
import { originBlobLookup } from '../worker/blob-route-lookup.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';

const SCOPE = 'https://app.example/notes/';
const HASH = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);
const BYTES = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 251);

/** What the route asked of the sources it was given. */
interface Calls {
  bodies: [number, number][];
  closed: number;
}

/** The route over one stored blob `bytes` under HASH, recording what it asks of its source. */
function route(bytes: Uint8Array = BYTES): {
  serve: (r: Request) => Promise<Response | undefined>;
  calls: Calls;
} {
  const calls: Calls = { bodies: [], closed: 0 };
  const lookup = async (hash: string): Promise<BlobSource | undefined> =>
    hash !== HASH
      ? undefined
      : {
          size: bytes.length,
          body: (start, end) => {
            calls.bodies.push([start, end]);
            return new Blob([bytes.slice(start, end)]);
          },
          close: () => calls.closed++,
        };
  return { serve: blobRoute({ scope: SCOPE, lookup }), calls };
}

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Request {
  return new Request(new URL(path, SCOPE), { headers, method });
}

async function bytesOf(response: Response | undefined): Promise<number[]> {
  return [...new Uint8Array(await response!.arrayBuffer())];
}

describe('the blob route', () => {
  it('answers a stored blob with 200, its bytes, the type from ?type=, its length, its hash as ETag, immutable caching and byte ranges', async () => {
    const { serve } = route();
    const response = await serve(get(`shelfdb/blob/${HASH}?type=image%2Fpng`));
    expect(response?.status).toBe(200);
    expect(Object.fromEntries(response!.headers)).toMatchObject({
      'content-type': 'image/png',
      'content-length': '1000',
      etag: `"${HASH}"`,
      'cache-control': 'max-age=31536000, immutable',
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
    });
    expect(response!.headers.get('content-security-policy')).toBeNull();
    expect(await bytesOf(response)).toEqual([...BYTES]);
  });

  it('answers application/octet-stream when the URL names no type', async () => {
    const response = await route().serve(get(`shelfdb/blob/${HASH}`));
    expect(response?.headers.get('content-type')).toBe('application/octet-stream');
  });

  it('sandboxes markup types, so a stored HTML or SVG page opened by its URL runs no script as the origin', async () => {
    for (const type of ['text/html', 'image/svg+xml', 'application/xhtml+xml; charset=utf-8']) {
      const response = await route().serve(
        get(`shelfdb/blob/${HASH}?type=${encodeURIComponent(type)}`),
      );
      expect(response?.headers.get('content-security-policy'), type).toBe('sandbox');
    }
  });

  it('answers undefined for URLs that are not blob URLs under its scope, so the app answers them', async () => {
    const { serve } = route();
    for (const url of [
      `${SCOPE}index.html`,
      `${SCOPE}shelfdb/blobs/${HASH}`,
      `https://app.example/shelfdb/blob/${HASH}`, // outside the scope /notes/
      `https://cdn.example/notes/shelfdb/blob/${HASH}`, // another origin
    ]) {
      expect(await serve(new Request(url)), url).toBeUndefined();
    }
  });

  it('answers 404 naming the hash when no database stores the blob', async () => {
    const response = await route().serve(get(`shelfdb/blob/${OTHER}`));
    expect(response?.status).toBe(404);
    expect(await response!.text()).toContain(`stores blob ${OTHER}`);
  });

  it('refuses a malformed hash with 400 naming it, and other methods than GET and HEAD with 405', async () => {
    const { serve, calls } = route();
    const bad = await serve(get(`shelfdb/blob/${HASH.toUpperCase()}`));
    expect(bad?.status).toBe(400);
    expect(await bad!.text()).toContain(`"${HASH.toUpperCase()}" is not a blob hash`);
    const post = await serve(get(`shelfdb/blob/${HASH}`, {}, 'POST'));
    expect(post?.status).toBe(405);
    expect(post!.headers.get('allow')).toBe('GET, HEAD');
    expect(calls.bodies).toEqual([]);
  });

  it('refuses a type that cannot be a header value with 400 naming it', async () => {
    const response = await route().serve(
      get(`shelfdb/blob/${HASH}?type=text%2Fplain%0D%0AX-Evil%3A%201`),
    );
    expect(response?.status).toBe(400);
    expect(await response!.text()).toContain('"text/plain\\r\\nX-Evil: 1" is not a media type');
  });

  it('answers 304 without a body when If-None-Match names the hash (strong, weak, in a list or *), and releases the source', async () => {
    for (const tag of [`"${HASH}"`, `W/"${HASH}"`, `"x", "${HASH}"`, '*']) {
      const { serve, calls } = route();
      const response = await serve(get(`shelfdb/blob/${HASH}`, { 'If-None-Match': tag }));
      expect(response?.status, tag).toBe(304);
      expect(response!.body).toBeNull();
      expect(response!.headers.get('etag')).toBe(`"${HASH}"`);
      expect(calls).toEqual({ bodies: [], closed: 1 });
    }
    const other = await route().serve(
      get(`shelfdb/blob/${HASH}`, { 'If-None-Match': `"${OTHER}"` }),
    );
    expect(other?.status).toBe(200);
  });

  it('answers Range a-b, a- and -n with 206, exactly those bytes, Content-Range and Content-Length, reading only that range', async () => {
    const cases: [string, number, number][] = [
      ['bytes=10-19', 10, 20],
      ['bytes=990-', 990, 1000],
      ['bytes=-5', 995, 1000],
      ['bytes=-5000', 0, 1000], // more than there is: all of it
      ['bytes=995-2000', 995, 1000], // past the end: up to the end
      ['bytes=0-0', 0, 1],
    ];
    for (const [range, start, end] of cases) {
      const { serve, calls } = route();
      const response = await serve(get(`shelfdb/blob/${HASH}`, { Range: range }));
      expect(response?.status, range).toBe(206);
      expect(response!.headers.get('content-range'), range).toBe(`bytes ${start}-${end - 1}/1000`);
      expect(response!.headers.get('content-length'), range).toBe(String(end - start));
      expect(await bytesOf(response), range).toEqual([...BYTES.slice(start, end)]);
      expect(calls.bodies, range).toEqual([[start, end]]);
    }
  });

  it('answers 416 with the size for an unsatisfiable range, and releases the source', async () => {
    for (const range of [
      'bytes=1000-',
      'bytes=5000-6000',
      'bytes=-0',
      'bytes=20-10',
      'bytes=x-y',
    ]) {
      const { serve, calls } = route();
      const response = await serve(get(`shelfdb/blob/${HASH}`, { Range: range }));
      expect(response?.status, range).toBe(416);
      expect(response!.headers.get('content-range'), range).toBe('bytes */1000');
      expect(calls, range).toEqual({ bodies: [], closed: 1 });
    }
    const empty = await route(new Uint8Array()).serve(
      get(`shelfdb/blob/${HASH}`, { Range: 'bytes=0-' }),
    );
    expect(empty?.status).toBe(416);
  });

  it('answers the whole blob for a range it may ignore: another unit, several ranges, an If-Range naming another version', async () => {
    const ignored: Record<string, string>[] = [
      { Range: 'items=0-5' },
      { Range: 'bytes=0-5, 10-20' },
      { Range: 'bytes=0-5', 'If-Range': `"${OTHER}"` },
    ];
    for (const headers of ignored) {
      const response = await route().serve(get(`shelfdb/blob/${HASH}`, headers));
      expect(response?.status, JSON.stringify(headers)).toBe(200);
      expect((await bytesOf(response)).length).toBe(1000);
    }
    const same = await route().serve(
      get(`shelfdb/blob/${HASH}`, { Range: 'bytes=0-5', 'If-Range': `"${HASH}"` }),
    );
    expect(same?.status).toBe(206);
  });

  it('answers HEAD with the headers a GET would have and no body', async () => {
    const { serve, calls } = route();
    const response = await serve(get(`shelfdb/blob/${HASH}`, { Range: 'bytes=0-9' }, 'HEAD'));
    expect(response?.status).toBe(206);
    expect(response!.headers.get('content-length')).toBe('10');
    expect(response!.body).toBeNull();
    expect(calls).toEqual({ bodies: [], closed: 1 });
  });

  it('answers any satisfiable single range with exactly the bytes Content-Range names', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }),
        fc.option(fc.nat(400)),
        fc.option(fc.nat(400)),
        async (size, first, last) => {
          if (first === null && last === null) return;
          const bytes = Uint8Array.from({ length: size }, (_, i) => i % 256);
          const header = `bytes=${first ?? ''}-${last ?? ''}`;
          const response = await route(bytes).serve(get(`shelfdb/blob/${HASH}`, { Range: header }));
          if (response!.status === 416) {
            expect(parseRange(header, size)).toBe('unsatisfiable');
            return;
          }
          expect(response!.status).toBe(206);
          const [, a, b, total] = /^bytes (\d+)-(\d+)\/(\d+)$/
            .exec(response!.headers.get('content-range')!)!
            .map(Number);
          expect(total).toBe(size);
          expect(await bytesOf(response)).toEqual([...bytes.slice(a, b! + 1)]);
          expect(Number(response!.headers.get('content-length'))).toBe(b! + 1 - a!);
        },
      ),
    );
  });
});

describe("the blob route over the origin's databases", () => {
  it('serves a blob stored in an IndexedDB database from its chunks, a range across a chunk boundary included', async () => {
    const bytes = Uint8Array.from({ length: 2.5 * (1 << 20) }, (_, i) => (i * 31) % 253);
    const storage = await IndexedDBStorage.open('route-photos', { indexedDB, IDBKeyRange });
    const { hash } = await storage.putBlob(new Blob([bytes]));
    await storage.close();
    const serve = blobRoute({ scope: SCOPE, lookup: originBlobLookup });

    const whole = await serve(get(`shelfdb/blob/${hash}?type=image%2Fjpeg`));
    expect(whole?.status).toBe(200);
    expect(whole!.headers.get('content-length')).toBe(String(bytes.length));
    expect(Buffer.from(await whole!.arrayBuffer()).equals(bytes)).toBe(true); // toEqual is slow on MiBs

    const start = (1 << 20) - 3;
    const part = await serve(get(`shelfdb/blob/${hash}`, { Range: `bytes=${start}-${start + 9}` }));
    expect(part?.status).toBe(206);
    expect(new Uint8Array(await part!.arrayBuffer())).toEqual(bytes.slice(start, start + 10));

    expect((await serve(get(`shelfdb/blob/${OTHER}`)))?.status).toBe(404);
  });

  it('skips an IndexedDB database from before blobs (no blob stores) and shelfdb-unrelated ones', async () => {
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.open('shelfdb:old', 1);
      request.onupgradeneeded = () => request.result.createObjectStore('records');
      request.onsuccess = () => {
        request.result.close();
        resolve();
      };
      request.onerror = () => reject(request.error ?? new Error('open failed'));
    });
    expect(await originBlobLookup(OTHER)).toBeUndefined();
    const names = (await indexedDB.databases()).map((d) => d.name);
    expect(names).toContain('shelfdb:old');
  });
});

describe('blobPath', () => {
  const reader: BlobReader = {
    readBlob: () => Promise.reject(new Error('blobPath reads no bytes')),
    blobFile: () => Promise.reject(new Error('blobPath reads no bytes')),
  };
  const fields = { oid: 9, hash: HASH, size: 1000, lastModified: null };

  it("writes the route's path of a stored Blob with its own type, or the type asked for, under the scope's path", async () => {
    const photo = makeStoredBlob(reader, { ...fields, type: 'image/png', name: 'a.png' });
    const raw = makeStoredBlob(reader, { ...fields, type: '', name: null });
    expect(blobPath(photo)).toBe(`/shelfdb/blob/${HASH}?type=image%2Fpng`);
    expect(blobPath(raw)).toBe(`/shelfdb/blob/${HASH}`);
    expect(blobPath(raw, { type: 'text/plain; charset=utf-8', base: '/notes/' })).toBe(
      `/notes/shelfdb/blob/${HASH}?type=text%2Fplain%3B%20charset%3Dutf-8`,
    );
    // What the route answers for the path it wrote.
    const { serve } = route();
    const response = await serve(new Request(new URL(blobPath(photo, { base: '/notes/' }), SCOPE)));
    expect(response?.headers.get('content-type')).toBe('image/png');
  });

  it('refuses a Blob not loaded from a database, and a base that is not a path ending in /, saying what to do', () => {
    expect(() => blobPath(new Blob(['x']))).toThrow(
      /not one loaded from a database \(got a Blob\).*Commit it/,
    );
    const raw = makeStoredBlob(reader, { ...fields, type: '', name: null });
    expect(() => blobPath(raw, { base: 'notes' })).toThrow(
      /base must be the service worker's scope path/,
    );
  });
});
