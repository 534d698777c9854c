/** exportTree's errors (a read of the stream rejects) and its memory on a 100,000-object BTree. */
import { describe, expect, it } from 'vitest';
import { BTree, PersistentList, ShelfError } from '../src/index.js';
import { exportTree } from '../src/archive/export-tree.js';
import { oidOf, openDb, text } from './archive-export-fixture.js';
import { todo, Todo } from './fixtures.js';

describe('exportTree: errors are the stream’s', () => {
  it('refuses an object that was never committed, saying to commit first', async () => {
    const db = openDb();
    const conn = db.open();
    const stream = exportTree(conn, todo('new'));
    await expect(stream.getReader().read()).rejects.toThrow(ShelfError);
    await expect(exportTree(conn, todo('new')).getReader().read()).rejects.toThrow(
      /never committed.*Commit it first/,
    );
  });

  it('refuses an oid that has no revision at the snapshot, naming it', async () => {
    const db = openDb();
    const conn = db.open();
    await conn.root();
    await conn.commit();
    await expect(exportTree(conn, 4_242).getReader().read()).rejects.toThrow(
      /object 4242 has no revision/,
    );
    await expect(exportTree(conn, -1).getReader().read()).rejects.toThrow(RangeError);
  });

  it('refuses a BTree node as the start, pointing to its tree', async () => {
    const db = openDb();
    const conn = db.open();
    const root = await conn.root();
    const tree = new BTree<number, number>();
    await tree.set(1, 1);
    root.set('tree', tree);
    await conn.commit();
    const node = oidOf(tree.root);
    await expect(exportTree(conn, node).getReader().read()).rejects.toThrow(
      /node of a BTree.*Export the BTree itself/,
    );
  });

  it('stops with the signal’s reason when aborted, before or during the read', async () => {
    const db = openDb();
    const conn = db.open();
    const root = await conn.root();
    const list = new PersistentList([todo('a')]);
    root.set('list', list);
    await conn.commit();

    const early = new AbortController();
    early.abort(new Error('user cancelled'));
    await expect(
      exportTree(conn, list, { signal: early.signal }).getReader().read(),
    ).rejects.toThrow('user cancelled');

    const late = new AbortController();
    const reader = exportTree(conn, list, { signal: late.signal }).getReader();
    await reader.read();
    late.abort(new Error('user cancelled later'));
    await expect(reader.read()).rejects.toThrow('user cancelled later');
  });
});

describe('exportTree: memory', () => {
  it('streams a BTree of 100,000 small persistent objects chunk by chunk (peak heap measured)', async () => {
    const db = openDb();
    const build = db.open();
    const root = await build.root();
    const tree = new BTree<number, Todo>();
    root.set('tree', tree);
    for (let at = 0; at < 100_000; at += 10_000) {
      await tree.update(
        Array.from({ length: 10_000 }, (_, i) => [at + i, todo(`todo ${at + i}`)] as const),
      );
      await build.commit();
    }
    const treeOid = oidOf(tree);
    build.close(); // what the builder cached is garbage now: the export starts from the storage

    const conn = db.open();
    // Vitest runs with --expose-gc (vite.config.ts): the live heap is measured after a collection,
    // so the bound below does not depend on when V8 chooses to collect.
    const gc = (globalThis as { gc?: () => void }).gc as () => void;
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = base;
    let live = base;
    const started = performance.now();
    const reader = exportTree(conn, treeOid).getReader();
    let bytes = 0;
    let chunks = 0;
    let last: Uint8Array = new Uint8Array(0);
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      peak = Math.max(peak, process.memoryUsage().heapUsed);
      bytes += next.value.byteLength;
      chunks += 1;
      last = next.value;
      if (chunks % 20_000 === 1) {
        gc();
        live = Math.max(live, process.memoryUsage().heapUsed);
      }
    }
    const seconds = (performance.now() - started) / 1_000;
    const mib = (n: number): string => (n / 2 ** 20).toFixed(1);
    // eslint-disable-next-line no-console -- the measurement the lead puts in BENCHMARKS.md
    console.info(
      `exportTree of a BTree of 100,000 persistent objects: ${mib(bytes)} MiB in ${chunks} chunks, ${seconds.toFixed(1)} s with ${Math.ceil(chunks / 20_000)} forced collections (${Math.round(100_001 / seconds)} objects/s); heap at start ${mib(base)} MiB, live after collection at most +${mib(live - base)} MiB, heapUsed peak +${mib(peak - base)} MiB (uncollected garbage included)`,
    );
    // 100 pages, the tree and 100,000 todos, each one chunk (its header line and bytes together:
    // a read per entry, not two); the header (its list of 100,102 ids is over 1 MiB, not copied)
    // and the end entry, each its line and its bytes.
    expect(chunks).toBe(2 + 100 + 1 + 100_000 + 2);
    expect(JSON.parse(text.decode(last))).toMatchObject({ entries: 100_102 });
    // Streamed: what the export holds live (the oids inside, one batch) stays far below the
    // archive (34 MiB); holding the archive, or its entries as objects, would exceed it.
    expect(live - base).toBeLessThan(bytes / 2);
    await db.close();
  }, 180_000);
});
