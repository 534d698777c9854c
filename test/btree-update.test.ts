import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BTree, BTreeNode, checkBTree, type Connection, type Persistent } from '../src/index.js';
import { makeDb } from './fixtures.js';

type Entry = [number, string];

/** Loads `obj` if it is a ghost (through its own connection). */
async function loaded<T extends Persistent>(obj: T): Promise<T> {
  if (obj._p_status === 'ghost') await (obj._p_connection as Connection).load(obj);
  return obj;
}

/** The tree's shape: every node's keys, nested as the nodes are. */
async function shape(tree: BTree<number, string>): Promise<unknown> {
  const walk = async (node: BTreeNode<number, string>): Promise<unknown> => {
    await loaded(node);
    if (node.children === null) return [...node.keys];
    return { keys: [...node.keys], children: await Promise.all(node.children.map(walk)) };
  };
  return walk((await loaded(tree)).root);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function* slowly(entries: Entry[]): AsyncGenerator<Entry> {
  for (const e of entries) {
    await Promise.resolve();
    yield e;
  }
}

/** A segment of an update's entries: a run of keys above the tree's maximum, or any keys. */
type Segment = { append: number; gap: number } | { keys: number[] };
type Op =
  | { op: 'update'; segments: Segment[]; async: boolean; v: string }
  | { op: 'set'; k: number; v: string }
  | { op: 'delete'; k: number }
  | { op: 'commit' }
  | { op: 'fresh' };

const anyKey = fc.integer({ min: 0, max: 400 });
const segment: fc.Arbitrary<Segment> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      append: fc.integer({ min: 1, max: 40 }),
      gap: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ keys: fc.array(anyKey, { maxLength: 10 }) }) },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('update' as const),
      segments: fc.array(segment, { minLength: 1, maxLength: 4 }),
      async: fc.boolean(),
      v: fc.string({ maxLength: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      k: anyKey,
      v: fc.string({ maxLength: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), k: anyKey }) },
  { weight: 1, arbitrary: fc.constant({ op: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'fresh' as const }) },
);

/** One database, its connection and its tree, reopened cold on 'fresh'. */
async function openTree(degree: number) {
  const { db } = makeDb();
  const state = { conn: db.open(), tree: new BTree<number, string>({ minimumDegree: degree }) };
  (await state.conn.root()).set('tree', state.tree);
  await state.conn.commit();
  return {
    state,
    async fresh(): Promise<void> {
      await state.conn.commit();
      state.conn = db.open();
      // The tree as found: a ghost, which update and set load themselves.
      state.tree = (await state.conn.root()).get('tree') as BTree<number, string>;
    },
  };
}

/**
 * Runs `ops` on two trees: `bulk` takes each update through `tree.update`, `twin` through `set`
 * in a loop. Both must hold the model's entries, be valid B-trees, and have the same shape.
 */
async function runOps(degree: number, ops: Op[]): Promise<void> {
  const bulk = await openTree(degree);
  const twin = await openTree(degree);
  const model = new Map<number, string>();
  const maxKey = (): number => Math.max(-1, ...model.keys());
  for (const step of ops) {
    switch (step.op) {
      case 'update': {
        const entries: Entry[] = [];
        let max = maxKey();
        for (const s of step.segments) {
          if ('append' in s) {
            for (let j = 0; j < s.append; j++) {
              max += s.gap;
              entries.push([max, step.v]);
            }
          } else {
            for (const k of s.keys) {
              entries.push([k, step.v]);
              max = Math.max(max, k);
            }
          }
        }
        await bulk.state.tree.update(step.async ? slowly(entries) : entries);
        for (const [k, v] of entries) await twin.state.tree.set(k, v);
        for (const [k, v] of entries) model.set(k, v);
        break;
      }
      case 'set':
        await bulk.state.tree.set(step.k, step.v);
        await twin.state.tree.set(step.k, step.v);
        model.set(step.k, step.v);
        break;
      case 'delete':
        expect(await bulk.state.tree.delete(step.k)).toBe(model.delete(step.k));
        await twin.state.tree.delete(step.k);
        break;
      case 'commit':
        await bulk.state.conn.commit();
        await twin.state.conn.commit();
        break;
      case 'fresh':
        await bulk.fresh();
        await twin.fresh();
        break;
    }
    const tree = await loaded(bulk.state.tree);
    expect(tree.size).toBe(model.size);
    expect(await checkBTree(tree)).toEqual([]);
    expect(await shape(tree)).toEqual(await shape(twin.state.tree));
  }
  // Everything, read back cold from storage.
  await bulk.fresh();
  const expected = [...model].sort(([a], [b]) => a - b);
  expect(await collect(bulk.state.tree.entries())).toEqual(expected);
  expect(await checkBTree(bulk.state.tree)).toEqual([]);
}

describe('BTree.update (model-based)', { timeout: 60_000 }, () => {
  for (const degree of [2, 3, 5]) {
    it(`builds node for node the tree set in a loop builds, across commits and cold reloads (degree ${degree})`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), (ops) =>
          runOps(degree, ops),
        ),
        { seed: 3000 + degree, numRuns: 30 },
      );
    });
  }
});

describe('BTree.update', () => {
  it('appends 10,000 increasing keys into a tree with the default degree, the same tree set builds', async () => {
    const bulk = new BTree<number, number>();
    const twin = new BTree<number, number>();
    const entries = Array.from({ length: 10_000 }, (_, i): [number, number] => [i * 2, i]);
    await bulk.update(entries);
    for (const [k, v] of entries) await twin.set(k, v);
    expect(bulk.size).toBe(10_000);
    expect(await checkBTree(bulk)).toEqual([]);
    expect(await bulk.nodeCount()).toBe(await twin.nodeCount());
    expect(await collect(bulk.keys())).toEqual(await collect(twin.keys()));
    expect(await bulk.get(1998)).toBe(999);
  });

  it('loads the right edge of a tree found as a ghost and writes what it appends there', async () => {
    const { db } = makeDb();
    const conn = db.open();
    const tree = new BTree<number, string>({ minimumDegree: 2 });
    (await conn.root()).set('tree', tree);
    await tree.update(Array.from({ length: 50 }, (_, i): Entry => [i, `a${i}`]));
    await conn.commit();
    const cold = db.open();
    const found = (await cold.root()).get('tree') as BTree<number, string>;
    expect(found._p_status).toBe('ghost');
    await found.update(Array.from({ length: 50 }, (_, i): Entry => [50 + i, `b${i}`]));
    await cold.commit();
    const reader = db.open();
    const again = await reader.load((await reader.root()).get('tree') as BTree<number, string>);
    expect(again.size).toBe(100);
    expect(await collect(again.keys())).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(await again.get(99)).toBe('b49');
    expect(await checkBTree(again)).toEqual([]);
  });

  it('keeps appending after a commit between two entries of an async iterable, and the later entries are written', async () => {
    const { db } = makeDb();
    const conn = db.open();
    const tree = new BTree<number, number>({ minimumDegree: 3 });
    (await conn.root()).set('tree', tree);
    await conn.commit();
    async function* withCommits(): AsyncGenerator<[number, number]> {
      for (let i = 0; i < 40; i++) {
        if (i % 7 === 3) await conn.commit(); // the leaf being filled becomes saved
        yield [i, i];
      }
    }
    await tree.update(withCommits());
    await conn.commit();
    const reader = db.open();
    const again = await reader.load((await reader.root()).get('tree') as BTree<number, number>);
    expect(await collect(again.keys())).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(await checkBTree(again)).toEqual([]);
  });

  it('takes the entries in order when its iterator changes the tree between them', async () => {
    const tree = new BTree<number, string>({ minimumDegree: 2 });
    function* entries(): Generator<Entry> {
      for (let i = 0; i < 30; i++) {
        yield [i, 'update'];
        // set finishes synchronously on a loaded tree: the next append must see this key.
        if (i === 10) void tree.set(100, 'set');
        if (i === 20) void tree.set(5, 'set again');
      }
    }
    await tree.update(entries());
    expect(await checkBTree(tree)).toEqual([]);
    expect(tree.size).toBe(31);
    expect(await tree.get(5)).toBe('set again');
    expect(await tree.get(100)).toBe('set');
    expect(await tree.max()).toEqual([100, 'set']);
    expect(await collect(tree.keys())).toEqual([...Array.from({ length: 30 }, (_, i) => i), 100]);
  });

  it('throws TypeError at a key of another kind, keeping the entries before it', async () => {
    const tree = new BTree<number, number>({ minimumDegree: 2 });
    await expect(
      tree.update([
        [1, 1],
        [2, 2],
        ['3' as never, 3],
        [4, 4],
      ]),
    ).rejects.toThrow(/"3" is a string, but this tree's keys are number/);
    expect(tree.size).toBe(2);
    expect(await collect(tree.keys())).toEqual([1, 2]);
    expect(await checkBTree(tree)).toEqual([]);
  });

  it('makes a running iterator throw, as set does', async () => {
    const tree = new BTree<number, number>({ minimumDegree: 2 });
    await tree.update(Array.from({ length: 20 }, (_, i): [number, number] => [i, i]));
    const viaUpdate = (async () => {
      for await (const k of tree.keys()) if (k === 3) await tree.update([[50, 50]]);
    })();
    await expect(viaUpdate).rejects.toThrow(/changed while it was being iterated/);
    const viaSet = (async () => {
      for await (const k of tree.keys()) if (k === 3) await tree.set(3, 30);
    })();
    await expect(viaSet).rejects.toThrow(/changed while it was being iterated/);
  });

  it('replaces a value without counting it or marking the tree changed', async () => {
    const { db } = makeDb();
    const conn = db.open();
    const tree = new BTree<number, string>({ minimumDegree: 2 });
    (await conn.root()).set('tree', tree);
    await tree.update([
      [1, 'a'],
      [2, 'b'],
    ]);
    await conn.commit();
    await tree.update([[1, 'c']]);
    await tree.set(2, 'd');
    expect(tree.size).toBe(2);
    expect(tree._p_status).toBe('saved');
    expect(tree.root._p_status).toBe('unsaved');
    await conn.commit();
    const reader = db.open();
    const again = (await reader.root()).get('tree') as BTree<number, string>;
    expect(await collect(again.entries())).toEqual([
      [1, 'c'],
      [2, 'd'],
    ]);
  });
});
