/** The explorer's BTree pager (btree-pager.ts) and container pages (container-page.ts). */
import { describe, expect, it } from 'vitest';
import {
  BTree,
  Database,
  MemoryStorage,
  PersistentDict,
  PersistentList,
  PersistentSet,
} from '../src/index.js';
import { BTreePager } from '../src/explorer/btree-pager.js';
import { pageContainer } from '../src/explorer/container-page.js';
import { valueText } from '../src/explorer/value-model.js';

const ENTRIES = 10_000;
const key = (i: number): string => `k${String(i).padStart(5, '0')}`;

/** A database whose root holds a 10,000-entry BTree of string keys, and a fresh reader. */
async function bigTree() {
  const db = new Database(new MemoryStorage());
  const writer = db.open();
  const tree = new BTree<string, number>();
  (await writer.root()).set('tree', tree);
  await tree.update(Array.from({ length: ENTRIES }, (_, i) => [key(i), i] as const));
  await writer.commit();
  const nodes = await tree.nodeCount();
  const reader = db.open();
  const readTree = (await reader.root()).get('tree') as BTree<string, number>;
  return { db, writer, writerTree: tree, reader, tree: readTree, nodes };
}

const keysOf = (pager: BTreePager): unknown[] => pager.page.entries.map(([k]) => k);

describe('paging through a BTree by key range', () => {
  it('pages forward then back through the same keys in order, with the right neighbours', async () => {
    const { db, tree } = await bigTree();
    const pager = new BTreePager(tree, 50);
    await pager.first({ kind: 'all' });
    expect(pager.page.hasPrevious).toBe(false);
    expect(pager.page.hasNext).toBe(true);
    const forward: unknown[][] = [keysOf(pager)];
    for (let i = 0; i < 4; i++) forward.push(keysOf(await pager.next().then(() => pager)));
    expect(forward.flat()).toEqual(Array.from({ length: 250 }, (_, i) => key(i)));
    expect(pager.page.offset).toBe(200);
    const backward: unknown[][] = [keysOf(pager)];
    for (let i = 0; i < 4; i++) backward.unshift(keysOf(await pager.previous().then(() => pager)));
    expect(backward).toEqual(forward);
    expect(pager.page.offset).toBe(0);
    expect(pager.page.hasPrevious).toBe(false);
    await db.close();
  });

  it('loads a few nodes for a page, far fewer than the tree has', async () => {
    const { db, reader, tree, nodes } = await bigTree();
    const pager = new BTreePager(tree, 50);
    await pager.first({ kind: 'all' });
    await pager.next();
    await pager.next();
    const loaded = reader.cacheInfo().loaded;
    expect(nodes).toBeGreaterThan(150);
    expect(loaded).toBeLessThan(nodes / 4);
    await db.close();
  });

  it('ends at the last page, with no next', async () => {
    const { db, tree } = await bigTree();
    const pager = new BTreePager(tree, 50);
    await pager.first({ kind: 'range', from: key(ENTRIES - 60), to: undefined });
    await pager.next();
    expect(keysOf(pager)).toEqual(Array.from({ length: 10 }, (_, i) => key(ENTRIES - 10 + i)));
    expect(pager.page.hasNext).toBe(false);
    expect(pager.page.hasPrevious).toBe(true);
    await db.close();
  });

  it('finds just the keys starting with a prefix, page by page', async () => {
    const { db, tree } = await bigTree();
    const pager = new BTreePager(tree, 50);
    await pager.first({ kind: 'prefix', prefix: 'k012' }); // k01200 … k01299: 100 keys
    const found = keysOf(pager);
    expect(pager.page.hasNext).toBe(true);
    expect(pager.page.hasPrevious).toBe(false);
    await pager.next();
    found.push(...keysOf(pager));
    expect(pager.page.hasNext).toBe(false);
    expect(found).toEqual(Array.from({ length: 100 }, (_, i) => key(1200 + i)));
    await pager.previous();
    expect(keysOf(pager)).toEqual(found.slice(0, 50));
    await pager.first({ kind: 'prefix', prefix: 'nothing' });
    expect(pager.page.entries).toEqual([]);
    await db.close();
  });

  it('keeps to a range, both ends included', async () => {
    const { db, tree } = await bigTree();
    const pager = new BTreePager(tree, 50);
    await pager.first({ kind: 'range', from: key(10), to: key(14) });
    expect(pager.page.entries).toEqual([10, 11, 12, 13, 14].map((i) => [key(i), i]));
    expect(pager.page.hasNext).toBe(false);
    expect(pager.page.hasPrevious).toBe(false);
    await db.close();
  });

  it('reloads the page shown from its first key after another connection changed the tree', async () => {
    const { db, writer, writerTree, reader, tree } = await bigTree();
    const pager = new BTreePager(tree, 50);
    await pager.first({ kind: 'all' });
    await pager.next(); // k00050 … k00099
    await writerTree.delete(key(0));
    await writerTree.set(key(60) + 'a', -1);
    await writer.commit();
    await reader.sync();
    await pager.reload();
    const keys = keysOf(pager);
    expect(keys[0]).toBe(key(50));
    expect(keys).toContain(key(60) + 'a');
    await db.close();
  });
});

describe('a page of a persistent container', () => {
  it('shows one page of a dict, filtered by key prefix, with the count of matches', () => {
    const dict = new PersistentDict<string, number>(
      Array.from({ length: 500 }, (_, i) => [`${i % 2 ? 'odd' : 'even'}${i}`, i] as const),
    );
    const page = pageContainer(dict, 0, 50);
    expect(page.total).toBe(500);
    expect(page.rows).toHaveLength(50);
    const odd = pageContainer(dict, 200, 50, 'odd');
    expect(odd.total).toBe(250);
    expect(odd.offset).toBe(200);
    expect(odd.rows.map((r) => r.rawKey)).toEqual(
      Array.from({ length: 50 }, (_, i) => `odd${2 * (200 + i) + 1}`),
    );
    expect(pageContainer(dict, 10_000, 50).offset).toBe(450); // past the end: the last page
  });

  it('numbers a list by index and lists a set by value', () => {
    const list = new PersistentList(Array.from({ length: 120 }, (_, i) => i * 2));
    const last = pageContainer(list, 100, 50);
    expect(last.rows.map((r) => r.index)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    expect(valueText(last.rows[0]!.value)).toBe('200');
    const set = new PersistentSet(['a', 'b', 'c']);
    expect(pageContainer(set, 0, 2).rows.map((r) => valueText(r.value))).toEqual(['"a"', '"b"']);
  });
});
