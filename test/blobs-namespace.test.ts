/**
 * db.blobs, the named-Blob namespace, over MemoryStorage and ShelfStorage on Node files: put, get,
 * delete and list(prefix) through a connection, committed with it; object URLs revoked when the
 * connection closes; bad arguments refused with a message naming them.
 */
import { describe, expect, it } from 'vitest';
import { StoredFile } from '../src/stored-blob.js';
import { BACKENDS, open } from './blobs-fixture.js';

const collect = async (keys: AsyncIterable<string>): Promise<string[]> => {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
};

describe.each(BACKENDS)('db.blobs over %s', (_name, make) => {
  it('put, get, list(prefix) and delete go through a connection and its commit', async () => {
    const db = open(await make());
    const conn = db.open();
    expect(await db.blobs.get(conn, 'a')).toBeUndefined();
    expect(await collect(db.blobs.list(conn))).toEqual([]);
    expect(await db.blobs.delete(conn, 'a')).toBe(false);
    await db.blobs.put(conn, 'img/b.png', new File(['b'], 'b.png', { type: 'image/png' }));
    await db.blobs.put(conn, 'img/a.png', new Blob(['a']));
    await db.blobs.put(conn, 'imgs', new Blob(['not in img/']));
    await db.blobs.put(conn, 'doc/c.txt', new Blob(['c']));
    // Not committed: another connection sees nothing yet.
    const other = db.open();
    expect(await db.blobs.get(other, 'img/a.png')).toBeUndefined();
    await conn.commit();
    await other.sync();
    expect(await collect(db.blobs.list(other, 'img/'))).toEqual(['img/a.png', 'img/b.png']);
    expect(await collect(db.blobs.list(other))).toEqual([
      'doc/c.txt',
      'img/a.png',
      'img/b.png',
      'imgs',
    ]);
    const b = await db.blobs.get(other, 'img/b.png');
    expect(b).toBeInstanceOf(StoredFile);
    expect([(b as File).name, b?.type, await b?.text()]).toEqual(['b.png', 'image/png', 'b']);
    expect(await db.blobs.delete(conn, 'img/b.png')).toBe(true);
    await conn.commit();
    await other.sync();
    expect(await db.blobs.get(other, 'img/b.png')).toBeUndefined();
    expect(await collect(db.blobs.list(other, 'img/'))).toEqual(['img/a.png']);
    await db.close();
  });

  it('url() makes an object URL of the stored bytes, revoked when the connection closes', async () => {
    const db = open(await make());
    const conn = db.open();
    await db.blobs.put(conn, 'k', new Blob(['served'], { type: 'text/plain' }));
    await conn.commit();
    const reader = db.open();
    const blob = (await db.blobs.get(reader, 'k')) as Blob;
    const url = await db.blobs.url(reader, blob);
    const { resolveObjectURL } = await import('node:buffer');
    expect(await resolveObjectURL(url)?.text()).toBe('served');
    reader.close();
    expect(resolveObjectURL(url)).toBeUndefined();
    await expect(db.blobs.url(reader, blob)).rejects.toMatchObject({
      name: 'DatabaseClosedError',
    });
    await db.close();
  });

  it('bad arguments are refused with a message naming them, and nothing is written', async () => {
    const db = open(await make());
    const conn = db.open();
    const other = open(await make());
    await expect(db.blobs.put(conn, 'k', 'text' as never)).rejects.toThrow(
      /db\.blobs\.put\(conn, "k", blob\): blob must be a Blob or File, got a string/,
    );
    await expect(db.blobs.put(conn, 7 as never, new Blob([]))).rejects.toThrow(
      /the key must be a string, got a number/,
    );
    await expect(db.blobs.get({} as never, 'k')).rejects.toThrow(/must be a connection/);
    await expect(db.blobs.get(other.open(), 'k')).rejects.toThrow(/another database/);
    expect(conn.cacheInfo().changed).toBe(0);
    await conn.commit();
    expect(await collect(db.blobs.list(conn))).toEqual([]);
    await Promise.all([db.close(), other.close()]);
  });
});
