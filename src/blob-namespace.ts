/**
 * `db.blobs`: a flat namespace of named Blobs (KoboldFS's model), committed with the app's objects.
 *
 * The names live in an ordinary persistent BTree (string key → Blob) under the root key
 * 'shelfdb.blobs', so a put, get, delete or list goes through a connection like any other change:
 * it is part of that connection's next commit, conflicts as BTree changes do, and what it stored
 * is kept by pack exactly as long as the name holds it. The Blob's bytes are stored by that commit
 * (blob-uploads.ts); `get` gives back a StoredBlob (a StoredFile for a File).
 *
 * Object URLs: `url(conn, blob)` makes one of the blob's platform file and revokes it when the
 * connection closes (with the database, at the latest).
 */
import { DatabaseClosedError, ShelfError } from './shared/errors.js';
import { BTree } from './btree.js';
import { Connection } from './connection.js';
import { storedBlobState, type StoredBlob } from './stored-blob.js';

/** The root key under which the namespace's BTree is stored. */
export const BLOBS_KEY = 'shelfdb.blobs';

/** The named-Blob namespace of one database: `db.blobs`. */
export class BlobNamespace {
  /** The object URLs made per connection, revoked when it closes. */
  private readonly urls = new Map<Connection, string[]>();

  /** @internal `owns(conn)`: the connection is one of this database's, open. */
  constructor(private readonly owns: (conn: Connection) => boolean) {}

  /**
   * Names `blob` `key` (replacing what the key named), as a change of `conn`: its next commit
   * stores the bytes (if not stored yet) and the name.
   * @throws TypeError when `key` is not a string or `blob` not a Blob.
   * @example
   * await db.blobs.put(conn, 'avatars/ada.png', file);
   * await conn.commit();
   */
  async put(conn: Connection, key: string, blob: Blob): Promise<void> {
    this.check(conn, 'put', key);
    if (!(blob instanceof Blob)) {
      throw new TypeError(
        `db.blobs.put(conn, ${JSON.stringify(key)}, blob): blob must be a Blob or File, got ${describe(blob)}.`,
      );
    }
    let tree = await this.tree(conn, 'put');
    if (tree === undefined) {
      tree = new BTree<string, Blob>();
      (await conn.root()).set(BLOBS_KEY, tree); // a change of conn, as the put itself
    }
    await tree.set(key, blob);
  }

  /**
   * The Blob named `key` as `conn` sees it (its snapshot, its own uncommitted changes), or
   * undefined. Its bytes are read when asked for.
   */
  async get(conn: Connection, key: string): Promise<Blob | undefined> {
    this.check(conn, 'get', key);
    const tree = await this.tree(conn, 'get');
    return tree === undefined ? undefined : tree.get(key);
  }

  /** Removes the name `key`, as a change of `conn`. Resolves to whether it named a Blob. */
  async delete(conn: Connection, key: string): Promise<boolean> {
    this.check(conn, 'delete', key);
    const tree = await this.tree(conn, 'delete');
    return tree === undefined ? false : tree.delete(key);
  }

  /**
   * The names, in order, as `conn` sees them; with `prefix`, only those starting with it.
   * @example
   * for await (const key of db.blobs.list(conn, 'avatars/')) console.log(key);
   */
  async *list(conn: Connection, prefix = ''): AsyncGenerator<string> {
    this.check(conn, 'list', prefix);
    const tree = await this.tree(conn, 'list');
    if (tree === undefined) return;
    for await (const key of tree.keys({ min: prefix })) {
      if (!key.startsWith(prefix)) return; // keys with the prefix are next to each other
      yield key;
    }
  }

  /**
   * An object URL of `blob` (a StoredBlob's platform file: disk-backed where the storage keeps
   * files), for `<img src>`, `<a download>`, `<video>`. Revoked when `conn` closes.
   * @throws ShelfError where the platform has no URL.createObjectURL.
   * @throws StorageError when the storage no longer has the blob's file.
   * @example
   * img.src = await db.blobs.url(conn, doc.photo);
   */
  async url(conn: Connection, blob: Blob): Promise<string> {
    this.check(conn, 'url', '');
    if (!(blob instanceof Blob)) {
      throw new TypeError(`db.blobs.url(conn, blob): blob must be a Blob, got ${describe(blob)}.`);
    }
    const api = (globalThis as { URL?: Partial<typeof URL> }).URL;
    if (typeof api?.createObjectURL !== 'function' || typeof api.revokeObjectURL !== 'function') {
      throw new ShelfError(
        'db.blobs.url: this platform has no URL.createObjectURL. Read the bytes with blob.stream() or await blob.file() instead.',
      );
    }
    const file = storedBlobState(blob) === undefined ? blob : await (blob as StoredBlob).file();
    // Closed while the file was fetched: an URL made now would never be revoked.
    this.check(conn, 'url', '');
    const url = api.createObjectURL(file);
    const made = this.urls.get(conn) ?? [];
    made.push(url);
    this.urls.set(conn, made);
    return url;
  }

  /** @internal The connection closed: its object URLs are revoked. */
  closed(conn: Connection): void {
    const made = this.urls.get(conn);
    if (made === undefined) return;
    this.urls.delete(conn);
    for (const url of made) URL.revokeObjectURL(url);
  }

  /**
   * @throws TypeError for a `conn` that is not a Connection or a key that is not a string;
   *   ShelfError for another database's connection; DatabaseClosedError for a closed one.
   */
  private check(conn: Connection, call: string, key: unknown): void {
    if (!(conn instanceof Connection)) {
      throw new TypeError(
        `db.blobs.${call}: the first argument must be a connection (db.open()), got ${describe(conn)}.`,
      );
    }
    if (conn.isClosed) {
      throw new DatabaseClosedError(
        `db.blobs.${call}: this connection is closed. Open a new one with db.open().`,
      );
    }
    if (!this.owns(conn)) {
      throw new ShelfError(
        `db.blobs.${call}: the connection belongs to another database. Use one of this database's (db.open()).`,
      );
    }
    if (typeof key !== 'string') {
      throw new TypeError(`db.blobs.${call}: the key must be a string, got ${describe(key)}.`);
    }
  }

  /**
   * The namespace's BTree as `conn` sees it; undefined before the first put.
   * @throws ShelfError when the root key holds something else.
   */
  private async tree(conn: Connection, call: string): Promise<BTree<string, Blob> | undefined> {
    const found: unknown = (await conn.root()).get(BLOBS_KEY);
    if (found === undefined) return undefined;
    if (!(found instanceof BTree)) {
      throw new ShelfError(
        `db.blobs.${call}: the root key '${BLOBS_KEY}' holds ${describe(found)}, not the BTree of named Blobs. The key is shelfdb's: move that value elsewhere.`,
      );
    }
    return found as BTree<string, Blob>;
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== 'object') return `a ${typeof value}`;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object';
}
