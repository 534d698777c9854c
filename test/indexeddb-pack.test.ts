/**
 * IndexedDBStorage's incremental pack (worker/indexeddb-pack.ts); the sliced marker it runs is
 * tested in incremental-mark.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReadConflictError } from '../src/shared/errors.js';
import { ROOT_OID, type PackProgress, type Storage } from '../src/shared/storage.js';
import { packIncrementally } from '../worker/indexeddb-pack.js';
import {
  connect,
  expectExactStats,
  fresh,
  packDatabase,
  put,
  rec,
  recount,
} from './indexeddb-pack-fixture.js';
import { PackRun } from '../worker/pack-run.js';

/** A run whose every step is a slice, and whose pauses await `between` (commits, loads...). */
class SteppedRun extends PackRun {
  phases: string[] = [];
  constructor(
    private readonly between: () => Promise<void>,
    signal?: AbortSignal,
  ) {
    super({ signal });
  }
  /** Every report, before the run's own throttling. */
  override progress(
    phase: PackProgress['phase'],
    done: number,
    total: number,
    force = false,
  ): void {
    this.phases.push(phase);
    super.progress(phase, done, total, force);
  }
  override get sliceOver(): boolean {
    return true;
  }
  override async pause(): Promise<void> {
    this.check();
    await this.between();
    this.check();
  }
}

/** What every commit wrote, by tid: the model the storage is checked against. */
class Model {
  readonly commits: { tid: number; writes: Map<number, { refs: number[]; byte: number }> }[] = [];

  /** Each object's newest write at or before `tid`, with that write's tid. */
  stateAt(tid: number): Map<number, { tid: number; refs: number[]; byte: number }> {
    const state = new Map<number, { tid: number; refs: number[]; byte: number }>();
    for (const c of this.commits) {
      if (c.tid > tid) break;
      for (const [oid, w] of c.writes) state.set(oid, { tid: c.tid, ...w });
    }
    return state;
  }

  /** Oids reachable from the root at `tid`. */
  reachableAt(tid: number): Set<number> {
    const state = this.stateAt(tid);
    const live = new Set<number>();
    const stack = [ROOT_OID];
    while (stack.length > 0) {
      const oid = stack.pop() as number;
      const w = state.get(oid);
      if (w === undefined || live.has(oid)) continue;
      live.add(oid);
      stack.push(...w.refs);
    }
    return live;
  }

  get lastTid(): number {
    return this.commits.at(-1)?.tid ?? 0;
  }

  /** Commits `writes` through `s` and records them. */
  async commit(s: Storage, writes: { oid: number; refs: number[]; byte: number }[]): Promise<void> {
    const records = writes.map((w) => rec(w.oid, w.refs, w.byte));
    const tid = await s.commit({ baseTid: this.lastTid, records });
    const map = new Map(writes.map((w) => [w.oid, { refs: w.refs, byte: w.byte }]));
    this.commits.push({ tid, writes: map });
  }

  /** Every object reachable at `tid` loads as the model says, at `tid`. */
  async check(s: Storage, tid: number): Promise<void> {
    const state = this.stateAt(tid);
    const oids = [...this.reachableAt(tid)];
    const loaded = await s.load(oids, tid);
    expect(loaded.map((r) => [r.oid, r.tid, r.state[0]])).toEqual(
      oids.map((oid) => [oid, state.get(oid)?.tid, state.get(oid)?.byte]),
    );
  }
}

describe('IndexedDBStorage pack', () => {
  it('keeps chains and cycles reachable from the root and deletes garbage chains, garbage cycles and revisions no snapshot reads', async () => {
    const { s, platform, name } = await fresh();
    const [a, b, c, g1, g2, g3, h1, h2] = (await s.newOids(8)) as number[] as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    await put(s, rec(ROOT_OID, [a]), rec(a, [b], 1), rec(b, [c]), rec(c, [a]));
    await put(s, rec(g1, [g2]), rec(g2, [g3]), rec(g3, []), rec(h1, [h2]), rec(h2, [h1]));
    await put(s, rec(a, [b], 2, 10));
    const last = await put(s, rec(a, [b], 3, 5));
    const result = await s.pack();
    expect(result).toMatchObject({ objectsRemoved: 5, revisionsRemoved: 7 });
    const db = await connect(platform, name);
    const { tids } = await recount(db);
    expect([...tids]).toEqual([
      [ROOT_OID, [1]],
      [a, [last]],
      [b, [1]],
      [c, [1]],
    ]);
    await expectExactStats(s, db);
    expect(result.bytesAfter).toBe((await s.stats()).bytes);
    expect((await s.load([a, b, c])).map((r) => r.state[0])).toEqual([3, 1, 1]);
    expect(await s.load([g1, h2])).toEqual([]); // gone, and no snapshot at or after the floor reads them
    db.close();
    await s.close();
  });

  it('keeps what a snapshot held at keepTid reads, and a snapshot older than it hears it was packed', async () => {
    const { s, platform, name } = await fresh();
    const [a, b] = (await s.newOids(2)) as [number, number];
    const t1 = await put(s, rec(ROOT_OID, [a]), rec(a, [], 1));
    const held = await put(s, rec(ROOT_OID, [a, b], 2), rec(a, [], 2), rec(b, [], 2));
    await put(s, rec(ROOT_OID, [a], 3), rec(a, [], 3));
    await s.pack({ keepTid: held });
    // The held snapshot reads what it read before.
    expect((await s.load([ROOT_OID, a, b], held)).map((r) => [r.oid, r.tid])).toEqual([
      [ROOT_OID, held],
      [a, held],
      [b, held],
    ]);
    await expect(s.load([a], t1)).rejects.toBeInstanceOf(ReadConflictError);
    expect(await s.sync(t1)).toMatchObject({ reset: true });
    expect((await s.sync(held)).reset).toBeUndefined();
    await expectExactStats(s, await connect(platform, name));
    // Once nothing holds it, b goes.
    await s.pack();
    expect(await s.load([b])).toEqual([]);
    await s.close();
  });

  it('keeps an object that a commit made reachable again during the mark, and one during the sweep before it got there', async () => {
    const { s, platform, name } = await fresh();
    const oids = (await s.newOids(12)) as number[];
    const low = oids[0] as number;
    const high = oids[11] as number;
    const chain = oids.slice(1, 11); // live: marking it takes a slice per object
    const links = chain.map((o, i) => rec(o, i + 1 < chain.length ? [chain[i + 1] as number] : []));
    await put(
      s,
      rec(ROOT_OID, [low, high, chain[0] as number]),
      rec(low, []),
      rec(high, []),
      ...links,
    );
    await put(s, rec(ROOT_OID, [chain[0] as number], 2)); // low and high are garbage now
    const db = await connect(platform, name);
    let pauses = 0;
    const run: SteppedRun = new SteppedRun(async () => {
      pauses++;
      if (pauses === 1) {
        expect(run.phases.at(-1)).toBe('mark');
        await put(s, rec(ROOT_OID, [low, chain[0] as number], 3)); // low, again, while marking
      }
      if (run.phases.includes('copy') && !run.phases.includes('resurrected')) {
        run.phases.push('resurrected');
        // high, before the sweep reached it
        await put(s, rec(ROOT_OID, [low, high, chain[0] as number], 4));
      }
    });
    await packIncrementally(packDatabase(db), undefined, run, { markBatch: 1, chunk: 2 });
    expect(run.phases).toContain('resurrected');
    expect((await s.load([low, high])).map((r) => r.oid)).toEqual([low, high]);
    await expectExactStats(s, db);
    // And a quiet pack keeps them: they are reachable.
    await s.pack();
    expect([...(await recount(db)).tids.keys()]).toEqual([ROOT_OID, ...oids]);
    db.close();
    await s.close();
  });
});

/** Oids of the model test: the root and 1..POOL. */
const POOL = 6;
const write = fc.record({
  oid: fc.nat({ max: POOL }),
  refs: fc.uniqueArray(fc.integer({ min: 1, max: POOL }), { maxLength: 3 }),
  byte: fc.integer({ min: 1, max: 255 }),
});
const writes = fc.uniqueArray(write, { minLength: 1, maxLength: 3, selector: (w) => w.oid });
/** What happens at a pause of the pack: a commit, a load of the newest, of the held snapshot. */
const action = fc.oneof(
  writes.map((w) => ({ kind: 'commit' as const, writes: w })),
  fc.constant({ kind: 'load-newest' as const }),
  fc.constant({ kind: 'load-held' as const }),
  fc.constant({ kind: 'none' as const }),
);

describe('IndexedDBStorage pack, interleaved with commits and loads (model)', () => {
  it('keeps every acknowledged commit readable and everything reachable at or after keepTid, and a quiet pack after leaves only what is reachable (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(writes, { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.array(action, { maxLength: 25 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        async (before, heldAt, during, markBatch, chunk) => {
          const { s, platform, name } = await fresh();
          await s.newOids(POOL);
          const model = new Model();
          await model.commit(s, [{ oid: ROOT_OID, refs: [1], byte: 1 }]);
          for (const w of before) await model.commit(s, w);
          // A snapshot held somewhere: the pack keeps what it reads.
          const held = (model.commits[heldAt % model.commits.length] as { tid: number }).tid;
          const db = await connect(platform, name);
          const queue = [...during];
          const run: SteppedRun = new SteppedRun(async () => {
            const next = queue.shift();
            if (next === undefined || next.kind === 'none') return;
            if (next.kind === 'load-newest') return model.check(s, model.lastTid);
            if (next.kind === 'load-held') return model.check(s, held);
            // Once the sweep runs, a commit names only objects a snapshot it may hold reads
            // (or writes in itself): the others may be deleted already.
            let list = next.writes;
            if (run.phases.includes('copy')) {
              const readable = new Set(list.map((w) => w.oid));
              for (const c of model.commits)
                if (c.tid >= held) for (const oid of model.reachableAt(c.tid)) readable.add(oid);
              list = list.map((w) => ({ ...w, refs: w.refs.filter((r) => readable.has(r)) }));
            }
            await model.commit(s, list);
          });
          await packIncrementally(packDatabase(db), held, run, { markBatch, chunk });
          for (const c of model.commits) if (c.tid >= held) await model.check(s, c.tid);
          await expectExactStats(s, db);
          // A quiet pack: exactly the newest revision of each reachable object is left.
          await s.pack();
          await model.check(s, model.lastTid);
          const { tids } = await recount(db);
          const state = model.stateAt(model.lastTid);
          expect(new Map([...tids].sort(([x], [y]) => x - y))).toEqual(
            new Map(
              [...model.reachableAt(model.lastTid)]
                .sort((x, y) => x - y)
                .map((oid) => [oid, [state.get(oid)?.tid]]),
            ),
          );
          await expectExactStats(s, db);
          db.close();
          await s.close();
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});
