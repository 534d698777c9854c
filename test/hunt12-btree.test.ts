// Hunt (issue 12): the BTree insert fast paths (raw node fields, nodes marked changed by hand, the
// append cursor of `update`) against a model, with two connections of one database writing the
// same tree, commits that conflict, aborts, a tiny cache (nodes ghosted between calls) and cold
// reloads. An entry lost, or a change not committed, is data loss.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BTree,
  ConflictError,
  Database,
  MemoryStorage,
  checkBTree,
  type Connection,
} from '../src/index.js';
import { CLASSES } from './fixtures.js';

type Entry = [number, string];
type Op =
  | { op: 'append'; who: number; n: number; v: string }
  | { op: 'update'; who: number; keys: number[]; v: string }
  | { op: 'set'; who: number; k: number; v: string }
  | { op: 'delete'; who: number; k: number }
  | { op: 'commit'; who: number }
  | { op: 'abort'; who: number }
  | { op: 'check'; who: number };

const who = fc.integer({ min: 0, max: 1 });
const key = fc.integer({ min: 0, max: 300 });
const v = fc.string({ maxLength: 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('append' as const),
      who,
      n: fc.integer({ min: 1, max: 30 }),
      v,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('update' as const),
      who,
      keys: fc.array(key, { maxLength: 8 }),
      v,
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('set' as const), who, k: key, v }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), who, k: key }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('commit' as const), who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('abort' as const), who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('check' as const), who }) },
);

async function entriesOf(tree: BTree<number, string>): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const e of tree.entries()) out.push(e);
  return out;
}

const sorted = (m: Map<number, string>): Entry[] => [...m].sort((a, b) => a[0] - b[0]);

/** A connection, its view of the tree, and the changes it made since its snapshot. */
interface Side {
  conn: Connection;
  tree: BTree<number, string>;
  view: Map<number, string>;
  ops: ((m: Map<number, string>) => void)[];
}

async function run(degree: number, cacheSize: number, ops: Op[]): Promise<void> {
  const storage = new MemoryStorage();
  const db = new Database(storage, { classes: CLASSES, cacheSize });
  const first = db.open();
  (await first.root()).set('tree', new BTree<number, string>({ minimumDegree: degree }));
  await first.commit();
  let committed = new Map<number, string>();
  const open = async (): Promise<Side> => {
    const conn = db.open();
    conn.autoSync = false;
    const tree = (await conn.root()).get('tree') as BTree<number, string>;
    return { conn, tree, view: new Map(committed), ops: [] };
  };
  const sides = [await open(), await open()];
  /** The side moved to the newest snapshot with nothing of its own. */
  const fresh = (s: Side): void => {
    s.view = new Map(committed);
    s.ops = [];
  };
  for (const step of ops) {
    const s = sides[step.who] as Side;
    const change = (f: (m: Map<number, string>) => void): void => {
      f(s.view);
      s.ops.push(f);
    };
    switch (step.op) {
      case 'append': {
        const max = Math.max(-1, ...s.view.keys());
        const entries: Entry[] = [];
        for (let i = 1; i <= step.n; i++) entries.push([max + i, step.v]);
        await s.tree.update(entries);
        change((m) => entries.forEach(([k, x]) => m.set(k, x)));
        break;
      }
      case 'update': {
        const entries: Entry[] = step.keys.map((k) => [k, step.v]);
        await s.tree.update(entries);
        change((m) => entries.forEach(([k, x]) => m.set(k, x)));
        break;
      }
      case 'set':
        await s.tree.set(step.k, step.v);
        change((m) => m.set(step.k, step.v));
        break;
      case 'delete': {
        const had = s.view.has(step.k);
        expect(await s.tree.delete(step.k)).toBe(had);
        // A key it does not see is no change of its own (another connection may have added it).
        if (had) change((m) => m.delete(step.k));
        break;
      }
      case 'commit':
        try {
          await s.conn.commit();
          // Landed: its changes on top of what others committed (it did not conflict, so they
          // touched other nodes; the tree object itself is written by every insert or delete).
          const next = new Map(committed);
          for (const f of s.ops) f(next);
          committed = next;
          fresh(s);
        } catch (error) {
          if (!(error instanceof ConflictError)) throw error;
          await s.conn.abort();
          fresh(s);
        }
        break;
      case 'abort':
        await s.conn.abort();
        fresh(s);
        break;
      case 'check':
        expect(await entriesOf(s.tree)).toEqual(sorted(s.view));
        expect(s.tree.size).toBe(s.view.size);
        break;
    }
  }
  for (const s of sides) {
    expect(await entriesOf(s.tree)).toEqual(sorted(s.view));
  }
  // What is stored: a cold connection reads the model's committed entries, in a valid tree.
  const cold = db.open();
  const tree = (await cold.root()).get('tree') as BTree<number, string>;
  expect(await entriesOf(tree)).toEqual(sorted(committed));
  await cold.load(tree);
  await checkBTree(tree);
  await db.close();
}

describe('BTree inserts with two connections, conflicts, aborts and a tiny cache', () => {
  it('holds exactly the entries each connection set, and stores exactly what landed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(opArb, { minLength: 1, maxLength: 30 }),
        (degree, cacheSize, ops) => run(degree, cacheSize, ops),
      ),
      { numRuns: 150 },
    );
  }, 60_000);
});
