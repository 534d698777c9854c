/**
 * One walk (worker/reachability.ts) serves pack and verify in all three storages. Checked against a naive walk: on random graphs (cycles, references to
 * oids that have no revision, a missing root), and through each storage's pack, which must keep
 * every revision a snapshot at or after `keepTid` reads of an object reachable in it.
 */
import 'fake-indexeddb/auto';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROOT_OID, type Storage, type StoredRecord } from '../src/shared/storage.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { markFromRoot, markFromRootAsync } from '../worker/reachability.js';
import { ShelfStorage } from '../worker/shelf-storage.js';

/** oid → refs of the oids that have a revision. */
type Graph = Map<number, number[]>;

/** Reachable from the root by plain depth-first search: live oids and dangling targets. */
function naive(graph: Graph): { live: Set<number>; dangling: Set<number> } {
  const live = new Set<number>();
  const dangling = new Set<number>();
  const visit = (oid: number): void => {
    const refs = graph.get(oid);
    if (refs === undefined) {
      if (oid !== ROOT_OID) dangling.add(oid);
      return;
    }
    if (live.has(oid)) return;
    live.add(oid);
    for (const ref of refs) if (!live.has(ref) && !dangling.has(ref)) visit(ref);
  };
  visit(ROOT_OID);
  return { live, dangling };
}

const N = 12;
/** A graph over oids 0..N-1: some without revisions (the root too, sometimes), refs anywhere. */
const graphs = fc
  .array(
    fc.record({
      stored: fc.boolean(),
      refs: fc.array(fc.nat({ max: N - 1 }), { maxLength: 4 }),
    }),
    { minLength: N, maxLength: N },
  )
  .map((nodes) => {
    const g: Graph = new Map();
    nodes.forEach((n, oid) => n.stored && g.set(oid, n.refs));
    return g;
  });

const refsOf = (g: Graph) => (oids: number[]) => {
  const found = new Map<number, number[]>();
  for (const oid of oids) {
    const refs = g.get(oid);
    if (refs !== undefined) found.set(oid, refs);
  }
  return found;
};

describe('The reachability walk', () => {
  it('reaches exactly what a naive walk reaches, and reports each dangling target once (property)', async () => {
    await fc.assert(
      fc.asyncProperty(graphs, async (g) => {
        const expected = naive(g);
        for (const reached of [
          markFromRoot(refsOf(g)),
          await markFromRootAsync(async (oids) => refsOf(g)(oids)),
        ]) {
          expect(reached.live).toEqual(expected.live);
          const targets = reached.dangling.map((d) => d.oid);
          expect(new Set(targets)).toEqual(expected.dangling);
          expect(targets).toHaveLength(expected.dangling.size);
          for (const { from, oid } of reached.dangling) {
            expect(expected.live.has(from)).toBe(true);
            expect(g.get(from)).toContain(oid);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('walks a chain of 100,000 objects without a deep stack', () => {
    const g: Graph = new Map();
    const n = 100_000;
    for (let oid = 0; oid < n; oid++) g.set(oid, oid + 1 < n ? [oid + 1] : [ROOT_OID]);
    expect(markFromRoot(refsOf(g)).live.size).toBe(n);
  });
});

/** One commit: the objects it writes, each with a state byte and refs (oids 1..N-1 or the root). */
const commitsArb = fc.array(
  fc.array(
    fc.record({
      oid: fc.nat({ max: N - 1 }),
      byte: fc.nat({ max: 255 }),
      refs: fc.array(fc.nat({ max: N - 1 }), { maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  { minLength: 1, maxLength: 8 },
);

let dbs = 0;
const storages: [string, () => Promise<Storage>][] = [
  ['MemoryStorage', async () => new MemoryStorage()],
  ['ShelfStorage', () => ShelfStorage.open(new MemoryBlockDirectory())],
  [
    'IndexedDBStorage',
    () => IndexedDBStorage.open(`reach-${dbs++}`, { indexedDB: new IDBFactory(), IDBKeyRange }),
  ],
];

describe.each(storages)('%s pack over the one walk', (_, open) => {
  it('keeps every revision a snapshot from keepTid on reads of the objects reachable in it, and verify reports its dangling references (property)', async () => {
    await fc.assert(
      fc.asyncProperty(commitsArb, fc.nat(), async (commits, keepPick) => {
        const s = await open();
        const oids = [ROOT_OID, ...(await s.newOids(N - 1))];
        /** The model: the graph and states after each tid. */
        const states: Map<number, { byte: number; refs: number[] }>[] = [new Map()];
        let tid = 0;
        for (const writes of commits) {
          const byOid = new Map(writes.map((w) => [oids[w.oid] as number, w]));
          const records: StoredRecord[] = [...byOid].map(([oid, w]) => ({
            oid,
            className: 'test.Node',
            state: new Uint8Array([w.byte]),
            refs: w.refs.map((r) => oids[r] as number),
          }));
          tid = await s.commit({ baseTid: tid, records });
          const next = new Map(states.at(-1));
          for (const r of records) next.set(r.oid, { byte: r.state[0] as number, refs: r.refs });
          states[tid] = next;
        }
        const keep = 1 + (keepPick % tid);
        await s.pack({ keepTid: keep });
        for (let at = keep; at <= tid; at++) {
          const state = states[at] as Map<number, { byte: number; refs: number[] }>;
          const { live } = naive(new Map([...state].map(([oid, v]) => [oid, v.refs])));
          const loaded = await s.load([...live], at);
          expect(
            new Map(loaded.map((r) => [r.oid, r.state[0]])),
            `the objects reachable at tid ${at} (kept ${keep}, newest ${tid})`,
          ).toEqual(new Map([...live].map((oid) => [oid, state.get(oid)?.byte])));
        }
        const newest = states[tid] as Map<number, { byte: number; refs: number[] }>;
        const { dangling } = naive(new Map([...newest].map(([oid, v]) => [oid, v.refs])));
        const report = await s.verify();
        expect(report.ok).toBe(dangling.size === 0);
        expect(report.problems.filter((p) => p.kind === 'dangling-ref')).toHaveLength(
          dangling.size,
        );
        await s.close();
      }),
      { numRuns: 60 },
    );
  });
});
