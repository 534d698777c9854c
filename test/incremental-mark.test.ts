/**
 * The storage-agnostic sliced marker (IncrementalMark, worker/reachability.ts) that both storages'
 * incremental packs run: a tri-color mark stepped in slices, with commits shading what they write.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROOT_OID } from '../src/shared/storage.js';
import { IncrementalMark, type RefsFound } from '../worker/reachability.js';

/** oid → every refs list it ever had (a pack keeps every revision a snapshot since it began reads). */
type History = Map<number, number[][]>;

/** Reachable from the root over the union of every version's refs. */
function reachable(graph: History): Set<number> {
  const live = new Set<number>();
  const stack = [ROOT_OID];
  while (stack.length > 0) {
    const oid = stack.pop() as number;
    const versions = graph.get(oid);
    if (versions === undefined || live.has(oid)) continue;
    live.add(oid);
    for (const refs of versions) stack.push(...refs);
  }
  return live;
}

/** Reachable from the root over each object's newest refs only. */
function reachableNow(graph: History): Set<number> {
  const now: History = new Map([...graph].map(([oid, v]) => [oid, [v.at(-1) as number[]]]));
  return reachable(now);
}

/** Time for a long test (a big database, many runs) on a machine shared by others. */
const BIG = 60_000;

const N = 16;

describe('The incremental marker', () => {
  it(
    'marks everything reachable at the start and at the end when commits land between its steps, and nothing never reachable (property)',
    () => {
      const node = fc.array(fc.nat({ max: N - 1 }), { maxLength: 3 });
      fc.assert(
        fc.property(
          fc.array(fc.option(node, { nil: undefined }), { minLength: N, maxLength: N }),
          // Commits: an object written with new refs, landing before mark step `at`.
          fc.array(
            fc.record({ at: fc.nat({ max: 20 }), oid: fc.nat({ max: N - 1 }), refs: node }),
            {
              maxLength: 12,
            },
          ),
          fc.integer({ min: 1, max: 4 }),
          (nodes, commits, batch) => {
            const graph: History = new Map();
            nodes.forEach((refs, oid) => refs !== undefined && graph.set(oid, [refs]));
            const atStart = reachable(graph);
            const mark = new IncrementalMark();
            const shaded = new Set<number>();
            const refsOf = (oids: number[]): RefsFound => {
              const found = new Map<number, number[]>();
              for (const oid of oids) {
                const versions = graph.get(oid);
                if (versions !== undefined) found.set(oid, versions.flat());
              }
              return found;
            };
            const land = (step: number): void => {
              for (const c of commits.filter((x) => x.at === step)) {
                graph.set(c.oid, [...(graph.get(c.oid) ?? []), c.refs]);
                mark.shade([c.oid, ...c.refs]); // the write barrier
                for (const oid of [c.oid, ...c.refs]) shaded.add(oid);
              }
            };
            // Asked oids are answered one step later: a commit lands between a read and its answer.
            let pending: { oids: number[]; found: RefsFound } | undefined;
            for (let step = 0; step <= 20 || !mark.done || pending !== undefined; step++) {
              land(step);
              if (pending !== undefined) mark.found(pending.oids, pending.found);
              const oids = mark.take(batch);
              pending = oids.length > 0 ? { oids, found: refsOf(oids) } : undefined;
            }
            expect(mark.done).toBe(true);
            for (const oid of atStart) expect(mark.live).toContain(oid);
            for (const oid of reachableNow(graph)) expect(mark.live).toContain(oid);
            // Sound: only objects with a revision, reachable over every version from the root or
            // from what the barrier shaded.
            const from = new Set([...reachable(graph)]);
            for (const s of shaded) {
              const g = new Map(graph);
              g.set(ROOT_OID, [[s]]);
              for (const oid of reachable(g))
                if (oid !== ROOT_OID || graph.has(ROOT_OID)) from.add(oid);
            }
            for (const oid of mark.live) {
              expect(graph.has(oid)).toBe(true);
              expect(from).toContain(oid);
            }
            expect(mark.marked).toBe(mark.live.size);
            expect(mark.known).toBe(mark.live.size);
          },
        ),
        { numRuns: 500 },
      );
    },
    BIG,
  );

  it('marks again after done when the barrier shades an oid it has not reached', () => {
    const graph = new Map<number, number[]>([
      [ROOT_OID, [1]],
      [1, []],
      [2, [3]],
      [3, []],
    ]);
    const refsOf = (oids: number[]): RefsFound =>
      new Map(oids.filter((o) => graph.has(o)).map((o) => [o, graph.get(o) as number[]]));
    const mark = new IncrementalMark();
    expect(mark.step(refsOf, () => false)).toBe(true);
    expect([...mark.live].sort()).toEqual([0, 1]);
    mark.shade([1]); // black already: nothing to do
    expect(mark.done).toBe(true);
    mark.shade([2]); // a commit made object 2 reachable again
    expect(mark.done).toBe(false);
    expect(mark.step(refsOf, () => false)).toBe(true);
    expect([...mark.live].sort()).toEqual([0, 1, 2, 3]);
  });

  it('reads an oid again that a commit stored after it was asked about and found missing', () => {
    const graph = new Map<number, number[]>([[ROOT_OID, [5]]]);
    const mark = new IncrementalMark();
    mark.found(mark.take(10), new Map([[ROOT_OID, [5]]]));
    const asked = mark.take(10);
    expect(asked).toEqual([5]);
    graph.set(5, []);
    mark.shade([5]); // the commit storing 5 lands while 5 is asked (answered 'none' below)
    mark.found(asked, new Map());
    expect(mark.done).toBe(false);
    mark.found(mark.take(10), new Map([[5, []]]));
    expect(mark.done).toBe(true);
    expect(mark.live).toContain(5);
  });

  it('stops a step when its slice is over and goes on where it stopped', () => {
    const chain = new Map<number, number[]>(
      Array.from({ length: 10 }, (_, i) => [i, i < 9 ? [i + 1] : []]),
    );
    const refsOf = (oids: number[]): RefsFound =>
      new Map(oids.map((o) => [o, chain.get(o) as number[]]));
    const mark = new IncrementalMark();
    let steps = 0;
    const slices = [];
    while (!mark.step(refsOf, () => steps++ % 3 === 2)) slices.push(mark.marked);
    expect(slices.length).toBeGreaterThan(2);
    expect(mark.live.size).toBe(10);
  });
});
