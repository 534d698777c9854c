import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BTree,
  checkBTree,
  openDatabase,
  WriteConflictError,
  type BTreeRange,
  type Connection,
} from '../src/index.js';
import { Todo, makeDb, todo } from './fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-btree-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The sorted-array model of a tree of number keys. */
class Model {
  entries: [number, string][] = [];
  set(k: number, v: string): void {
    const i = this.entries.findIndex(([x]) => x >= k);
    if (i >= 0 && this.entries[i]?.[0] === k) this.entries[i] = [k, v];
    else if (i < 0) this.entries.push([k, v]);
    else this.entries.splice(i, 0, [k, v]);
  }
  delete(k: number): boolean {
    const i = this.entries.findIndex(([x]) => x === k);
    if (i < 0) return false;
    this.entries.splice(i, 1);
    return true;
  }
  range(r: BTreeRange<number>): [number, string][] {
    const out = this.entries.filter(
      ([k]) =>
        (r.min === undefined || (r.excludeMin ? k > r.min : k >= r.min)) &&
        (r.max === undefined || (r.excludeMax ? k < r.max : k <= r.max)),
    );
    return r.reverse ? out.reverse() : out;
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

type Op =
  | { op: 'set'; k: number; v: string }
  | { op: 'delete'; k: number }
  | { op: 'get'; k: number }
  | { op: 'range'; r: BTreeRange<number> }
  | { op: 'commit' }
  | { op: 'fresh' };

const key = fc.integer({ min: 0, max: 300 });
const opArb = (withCommits: boolean): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('set' as const),
        k: key,
        v: fc.string({ maxLength: 4 }),
      }),
    },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('delete' as const), k: key }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), k: key }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('range' as const),
        r: fc.record(
          {
            min: key,
            max: key,
            excludeMin: fc.boolean(),
            excludeMax: fc.boolean(),
            reverse: fc.boolean(),
          },
          { requiredKeys: [] },
        ),
      }),
    },
    { weight: withCommits ? 1 : 0, arbitrary: fc.constant({ op: 'commit' as const }) },
    { weight: withCommits ? 1 : 0, arbitrary: fc.constant({ op: 'fresh' as const }) },
  );

async function runOps(degree: number, ops: Op[], check: boolean): Promise<void> {
  const { db } = makeDb();
  let conn: Connection = db.open();
  let root = await conn.root();
  let tree = new BTree<number, string>({ minimumDegree: degree });
  root.set('tree', tree);
  await conn.commit();
  const model = new Model();
  for (const step of ops) {
    switch (step.op) {
      case 'set':
        await tree.set(step.k, step.v);
        model.set(step.k, step.v);
        break;
      case 'delete':
        expect(await tree.delete(step.k)).toBe(model.delete(step.k));
        break;
      case 'get':
        expect(await tree.get(step.k)).toBe(model.entries.find(([k]) => k === step.k)?.[1]);
        expect(await tree.has(step.k)).toBe(model.entries.some(([k]) => k === step.k));
        break;
      case 'range':
        expect(await collect(tree.entries(step.r))).toEqual(model.range(step.r));
        break;
      case 'commit':
        await conn.commit();
        break;
      case 'fresh':
        // Everything committed so far, read through a new connection with a cold cache.
        await conn.commit();
        conn = db.open();
        root = await conn.root();
        tree = await conn.load(root.get('tree') as BTree<number, string>); // size needs it loaded
        break;
    }
    expect(tree.size).toBe(model.entries.length);
    if (check) expect(await checkBTree(tree)).toEqual([]);
  }
  expect(await collect(tree.entries())).toEqual(model.entries);
  expect(await tree.min()).toEqual(model.entries[0]);
  expect(await tree.max()).toEqual(model.entries.at(-1));
}

// Long property runs: a generous timeout, so a loaded machine slows them without failing them.
describe('BTree (model-based)', { timeout: 60_000 }, () => {
  for (const degree of [2, 3, 4, 16]) {
    it(`matches a sorted array under random set/delete/get/range with minimum degree ${degree}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArb(false), { minLength: 100, maxLength: 400, size: 'max' }),
          (ops) => runOps(degree, ops, true),
        ),
        { seed: 1000 + degree, numRuns: 25 },
      );
    });
  }

  for (const degree of [2, 4]) {
    it(`keeps contents, order and size across commits and cold connections (degree ${degree})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArb(true), { minLength: 50, maxLength: 200, size: 'max' }),
          (ops) => runOps(degree, ops, true),
        ),
        { seed: 2000 + degree, numRuns: 20 },
      );
    });
  }
});

describe('BTree', () => {
  it('answers every range edge case', async () => {
    const tree = new BTree<number, number>({ minimumDegree: 2 });
    expect(await collect(tree.entries())).toEqual([]);
    expect(await tree.min()).toBeUndefined();
    expect(await tree.max()).toBeUndefined();
    expect(await collect(tree.keys({ min: 1, max: 5 }))).toEqual([]);
    await tree.set(5, 50);
    expect(await collect(tree.keys({ min: 5, max: 5 }))).toEqual([5]);
    expect(await collect(tree.keys({ min: 5, max: 5, excludeMin: true }))).toEqual([]);
    for (let i = 0; i < 40; i += 2) await tree.set(i, i * 10);
    const model = new Model();
    for (let i = 0; i < 40; i += 2) model.set(i, String(i * 10));
    model.set(5, '50');
    const bounds = [undefined, -10, 0, 5, 6, 7, 21, 38, 39, 100];
    for (const min of bounds) {
      for (const max of bounds) {
        for (const excludeMin of [false, true]) {
          for (const excludeMax of [false, true]) {
            for (const reverse of [false, true]) {
              const r: BTreeRange<number> = { excludeMin, excludeMax, reverse };
              if (min !== undefined) r.min = min;
              if (max !== undefined) r.max = max;
              expect(await collect(tree.keys(r)), JSON.stringify(r)).toEqual(
                model.range(r).map(([k]) => k),
              );
            }
          }
        }
      }
    }
  });

  it('orders strings by UTF-16 code units, bigints, Dates and arrays naturally', async () => {
    const s = new BTree<string, number>({ minimumDegree: 2 });
    for (const k of ['b', 'a', 'B', 'é', '😀', 'aa', '']) await s.set(k, 1);
    expect(await collect(s.keys())).toEqual(['', 'B', 'a', 'aa', 'b', 'é', '😀']);
    const b = new BTree<bigint, number>();
    for (const k of [10n, -5n, 2n ** 70n]) await b.set(k, 1);
    expect(await collect(b.keys())).toEqual([-5n, 10n, 2n ** 70n]);
    const d = new BTree<Date, number>();
    await d.set(new Date(2000, 0, 1), 1);
    await d.set(new Date(1990, 0, 1), 2);
    expect(await collect(d.values())).toEqual([2, 1]);
    const a = new BTree<[string, number], number>();
    for (const k of [
      ['b', 1],
      ['a', 2],
      ['a', 1],
      ['a', 10],
    ] as [string, number][])
      await a.set(k, 1);
    expect(await collect(a.keys())).toEqual([
      ['a', 1],
      ['a', 2],
      ['a', 10],
      ['b', 1],
    ]);
  });

  it('refuses NaN, undefined, null, objects and mixed kinds at set, naming the key', async () => {
    const tree = new BTree<number, number>();
    await tree.set(1, 1);
    for (const bad of [NaN, undefined, null, {}, 'one', 1n, new Date(NaN), [1]]) {
      await expect(tree.set(bad as never, 1)).rejects.toBeInstanceOf(TypeError);
    }
    await expect(tree.set('x' as never, 1)).rejects.toThrow(
      /"x" is a string, but this tree's keys are number/,
    );
    expect(tree.size).toBe(1);
    const pairs = new BTree<[string, number], number>();
    await pairs.set(['a', 1], 1);
    await expect(pairs.set([1, 'a'] as never, 1)).rejects.toThrow(/position 0/);
  });

  it('returns persistent values loaded, and marks a node changed with noteChange', async () => {
    const { db } = makeDb();
    const conn = db.open();
    const root = await conn.root();
    const tree = new BTree<number, Todo | { tags: string[] }>({ minimumDegree: 2 });
    root.set('tree', tree);
    for (let i = 0; i < 30; i++) await tree.set(i, todo(`t${i}`));
    await tree.set(100, { tags: [] });
    await conn.commit();
    const other = db.open();
    const t2 = (await other.root()).get('tree') as BTree<number, Todo | { tags: string[] }>;
    const t7 = (await t2.get(7)) as Todo;
    expect(t7._p_status).toBe('saved');
    expect(t7.title).toBe('t7');
    const all = await collect(t2.values({ max: 29 }));
    expect(all.every((x) => (x as Todo)._p_status === 'saved')).toBe(true);
    const plain = (await t2.get(100)) as { tags: string[] };
    plain.tags.push('x');
    await t2.noteChange(100);
    await other.commit();
    const third = db.open();
    const t3 = (await third.root()).get('tree') as BTree<number, { tags: string[] }>;
    expect((await t3.get(100))?.tags).toEqual(['x']);
    await expect(t3.noteChange(555)).rejects.toBeInstanceOf(RangeError);
  });

  it('gets many keys a level at a time, in a few round trips', async () => {
    const { db, storage } = makeDb();
    const conn = db.open();
    const tree = new BTree<number, Todo>({ minimumDegree: 4 });
    (await conn.root()).set('tree', tree);
    for (let i = 0; i < 2000; i++) await tree.set(i, todo(`t${i}`));
    await conn.commit();
    const cold = db.open();
    const t = await cold.load((await cold.root()).get('tree') as BTree<number, Todo>);
    let loads = 0;
    const load = storage.load.bind(storage);
    storage.load = (oids, at) => {
      loads++;
      return load(oids, at);
    };
    const keys = [5, 1999, 700, 12345, 0, 700];
    const got = await t.getMany(keys);
    expect(got.map((x) => x?.title)).toEqual(['t5', 't1999', 't700', undefined, 't0', 't700']);
    expect(got.every((x) => x === undefined || x._p_status === 'saved')).toBe(true);
    expect(loads).toBe((await t.depth()) + 1); // one per level, then one for the values
  });

  it('throws a clear error when the tree changes during iteration', async () => {
    const tree = new BTree<number, number>({ minimumDegree: 2 });
    for (let i = 0; i < 20; i++) await tree.set(i, i);
    await expect(
      (async () => {
        for await (const k of tree.keys()) if (k === 3) await tree.delete(10);
      })(),
    ).rejects.toThrow(/changed while it was being iterated/);
  });

  it('reports depth and node count', async () => {
    const tree = new BTree<number, number>({ minimumDegree: 2 });
    expect(await tree.depth()).toBe(1);
    expect(await tree.nodeCount()).toBe(1);
    for (let i = 0; i < 100; i++) await tree.set(i, i);
    expect(await tree.depth()).toBeGreaterThan(2);
    expect(await tree.nodeCount()).toBeGreaterThan(20);
    expect(() => new BTree({ minimumDegree: 1 })).toThrow(RangeError);
    const updated = new BTree<string, number>();
    await updated.update([
      ['a', 1],
      ['b', 2],
    ]);
    expect(await updated.setDefault('a', 9)).toBe(1);
    expect(await updated.setDefault('c', 3)).toBe(3);
    expect(updated.size).toBe(3);
  });

  it('makes two connections inserting into one tree conflict, and transact lands both', async () => {
    const { db } = makeDb();
    const conn = db.open();
    (await conn.root()).set('tree', new BTree<number, string>());
    await conn.commit();
    const a = db.open();
    const b = db.open();
    a.autoSync = false;
    b.autoSync = false;
    const ta = (await a.root()).get('tree') as BTree<number, string>;
    const tb = (await b.root()).get('tree') as BTree<number, string>;
    await ta.set(1, 'a');
    await tb.set(2, 'b');
    await a.commit();
    await expect(b.commit()).rejects.toBeInstanceOf(WriteConflictError);
    await b.abort();
    await Promise.all([
      a.transact(async () => {
        const t = (await a.root()).get('tree') as BTree<number, string>;
        await t.set(3, 'a');
      }),
      b.transact(async () => {
        const t = (await b.root()).get('tree') as BTree<number, string>;
        await t.set(4, 'b');
      }),
    ]);
    const check = db.open();
    const tree = (await check.root()).get('tree') as BTree<number, string>;
    expect(await collect(tree.keys())).toEqual([1, 3, 4]);
    expect(await checkBTree(tree)).toEqual([]);
  });

  it('holds 100,000 keys committed in batches, read back through a reopened file database', async () => {
    const path = join(scratch, 'big');
    const db = await openDatabase('big', { storage: 'file', path });
    const conn = db.open();
    const tree = new BTree<number, string>();
    (await conn.root()).set('tree', tree);
    for (let batch = 0; batch < 100; batch++) {
      for (let i = 0; i < 1000; i++) {
        const k = ((batch * 1000 + i) * 7919) % 100_000; // every key once, in scattered order
        await tree.set(k, `v${k}`);
      }
      await conn.commit();
    }
    await db.close();
    const again = await openDatabase('big', { storage: 'file', path });
    const c = again.open();
    const t = (await c.root()).get('tree') as BTree<number, string>;
    await c.load(t);
    expect(t.size).toBe(100_000);
    expect(await t.get(31_337)).toBe('v31337');
    let expected = 0;
    for await (const k of t.keys()) expect(k).toBe(expected++);
    expect(expected).toBe(100_000);
    expect(await checkBTree(t)).toEqual([]);
    await again.close();
  }, 120_000);
});
