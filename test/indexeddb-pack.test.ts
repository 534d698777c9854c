/**
 * IndexedDBStorage's incremental pack (worker/indexeddb-pack.ts) and the storage-agnostic sliced
 * marker it runs (IncrementalMark, worker/reachability.ts).
 */
import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReadConflictError } from '../src/shared/errors.js';
import {
  ROOT_OID,
  type PackProgress,
  type Storage,
  type StoredRecord,
} from '../src/shared/storage.js';
import { packIncrementally, type PackDatabase } from '../worker/indexeddb-pack.js';
import { requested } from '../worker/indexeddb-newest.js';
import { IndexedDBStorage, type IndexedDBPlatform } from '../worker/indexeddb-storage.js';
import { PackRun } from '../worker/pack-run.js';
import { MemoryStorage } from '../worker/memory-storage.js';
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

// ---------------------------------------------------------------------------------------------
// IndexedDBStorage's pack

const platformOf = (): IndexedDBPlatform => ({ indexedDB: new IDBFactory(), IDBKeyRange });
let names = 0;

/** A fresh storage, with what reopening it and a second connection to its database need. */
async function fresh(): Promise<{
  s: IndexedDBStorage;
  platform: IndexedDBPlatform;
  name: string;
}> {
  const platform = platformOf();
  const name = `pack-${names++}`;
  return { s: await IndexedDBStorage.open(name, platform), platform, name };
}

/** A second, raw connection to the storage's database (as another tab's would be). */
async function connect(platform: IndexedDBPlatform, name: string): Promise<IDBDatabase> {
  const request = platform.indexedDB.open(`shelfdb:${name}`, 1);
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('open failed'));
  });
}

/** The raw connection as the pack module's database. */
const packDatabase = (db: IDBDatabase): PackDatabase => ({
  begin: (mode) => db.transaction(['records', 'txns', 'meta'], mode),
  keys: IDBKeyRange,
});

/** What the records store holds, counted: bytes, garbage (all but each newest), objects. */
async function recount(
  db: IDBDatabase,
): Promise<{ bytes: number; garbageBytes: number; objects: number; tids: Map<number, number[]> }> {
  const store = db.transaction('records').objectStore('records');
  const [keys, values] = await Promise.all([
    requested(store.getAllKeys()) as Promise<[number, number][]>,
    requested(store.getAll()) as Promise<{ state: Uint8Array }[]>,
  ]);
  const tids = new Map<number, number[]>();
  let bytes = 0;
  let garbageBytes = 0;
  keys.forEach(([oid, tid], i) => {
    const size = (values[i] as { state: Uint8Array }).state.byteLength;
    bytes += size;
    if ((keys[i + 1] as [number, number] | undefined)?.[0] === oid) garbageBytes += size;
    tids.set(oid, [...(tids.get(oid) ?? []), tid]);
  });
  return { bytes, garbageBytes, objects: tids.size, tids };
}

/** The stats of `s` match what its records store holds. */
async function expectExactStats(s: IndexedDBStorage, db: IDBDatabase): Promise<void> {
  const stats = await s.stats();
  const counted = await recount(db);
  expect({ bytes: stats.bytes, garbageBytes: stats.garbageBytes, objects: stats.objects }).toEqual({
    bytes: counted.bytes,
    garbageBytes: counted.garbageBytes,
    objects: counted.objects,
  });
}

/** A record of `oid` whose state is `size` bytes of `byte`. */
const rec = (oid: number, refs: number[], byte = 1, size = 1): StoredRecord => ({
  oid,
  className: 'test.Node',
  state: new Uint8Array(size).fill(byte),
  refs,
});

/** Commits `records` blindly on the newest snapshot. */
async function put(s: Storage, ...records: StoredRecord[]): Promise<number> {
  const { tid } = await s.sync(0);
  return s.commit({ baseTid: tid, records });
}

/** A run whose every step is a slice, and whose pauses await `between` (commits, loads...). */
class SteppedRun extends PackRun {
  phases: string[] = [];
  constructor(
    private readonly between: () => Promise<void>,
    signal?: AbortSignal,
  ) {
    super(signal);
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

/**
 * A database of `n` objects (and the root): the even ones reachable from the root, the odd ones
 * garbage since the second commit (interleaved: every sweep chunk finds some). Returns the tids.
 */
async function halfGarbage(
  s: Storage,
  n: number,
): Promise<{ all: number; half: number; live: number[] }> {
  const oids = await s.newOids(n);
  const bytes = (oid: number): StoredRecord => rec(oid, [], oid % 250, 16);
  const all = await put(s, rec(ROOT_OID, oids), ...oids.map(bytes));
  const live = oids.filter((oid) => oid % 2 === 0);
  const half = await put(s, rec(ROOT_OID, live, 2));
  return { all, half, live };
}

describe('IndexedDBStorage pack beside the app', () => {
  it(
    'serves a commit issued after the pack started before the pack ends',
    async () => {
      const { s, platform, name } = await fresh();
      const { live } = await halfGarbage(s, 2000);
      const order: string[] = [];
      let during: Promise<unknown> | undefined;
      const [a] = (await s.newOids(1)) as [number];
      const packing = s
        .pack({
          onProgress: () => {
            during ??= Promise.all([
              put(s, rec(a, [], 7), rec(ROOT_OID, [...live, a], 3)),
              s.load(live.slice(0, 10)),
            ]).then(() => order.push('commit and load'));
          },
        })
        .then(() => order.push('pack'));
      await packing;
      await during;
      expect(order).toEqual(['commit and load', 'pack']);
      expect((await s.load([a]))[0]?.state[0]).toBe(7);
      await expectExactStats(s, await connect(platform, name));
      await s.close();
    },
    BIG,
  );

  it(
    'reports mark and copy progress to every listener, done last',
    async () => {
      const { s } = await fresh();
      await halfGarbage(s, 300);
      const seen: PackProgress[] = [];
      const joined: PackProgress[] = [];
      const first = s.pack({ onProgress: (p) => seen.push(p) });
      const second = s.pack({ onProgress: (p) => joined.push(p) });
      await Promise.all([first, second]);
      expect(seen.map((p) => p.phase)).toContain('mark');
      expect(seen.map((p) => p.phase)).toContain('copy');
      expect(seen.at(-1)).toEqual({ phase: 'done', done: 1, total: 1 });
      expect(joined.at(-1)?.phase).toBe('done');
      const phases = seen.map((p) => p.phase);
      expect(phases.lastIndexOf('mark')).toBeLessThan(phases.indexOf('copy'));
      for (const p of seen) expect(p.done).toBeLessThanOrEqual(p.total);
      const copied = seen.filter((p) => p.phase === 'copy');
      expect(copied.at(-1)).toMatchObject({ done: 301 + 1 }); // every record: the root's two, 300 objects
      await s.close();
    },
    BIG,
  );

  it(
    'stops between chunks when aborted, with its reason, and leaves a valid database with exact stats that a later pack finishes',
    async () => {
      const { s, platform, name } = await fresh();
      const { all, half, live } = await halfGarbage(s, 2000);
      const db = await connect(platform, name);
      const stop = new AbortController();
      const reason = new Error('the user cancelled the pack');
      const packing = s.pack({
        signal: stop.signal,
        onProgress: (p) => {
          if (p.phase === 'copy' && p.done > 0 && p.done < p.total) stop.abort(reason);
        },
      });
      await expect(packing).rejects.toBe(reason);
      const counted = await recount(db);
      expect(counted.objects).toBeGreaterThan(live.length + 1); // it stopped midway...
      expect(counted.objects).toBeLessThan(2001); // ...after deleting some
      await expectExactStats(s, db);
      // What it deleted, a snapshot from before the pack can no longer read: it hears so.
      expect(await s.sync(all)).toMatchObject({ reset: true });
      expect((await s.sync(half)).reset).toBeUndefined();
      expect((await s.load(live)).length).toBe(live.length);
      await s.pack();
      expect((await recount(db)).objects).toBe(live.length + 1);
      await expectExactStats(s, db);
      db.close();
      await s.close();
    },
    BIG,
  );

  it(
    'stops when the storage is closed midway; reopened, the database is valid, its stats exact, and a pack finishes the job',
    async () => {
      const { s, platform, name } = await fresh();
      const { live } = await halfGarbage(s, 2000);
      let closing: Promise<void> | undefined;
      const packing = s.pack({
        onProgress: (p) => {
          if (p.phase === 'copy' && p.done > 0 && p.done < p.total) closing ??= s.close();
        },
      });
      await expect(packing).rejects.toThrow(/closed/);
      await closing;
      const again = await IndexedDBStorage.open(name, platform);
      const db = await connect(platform, name);
      const counted = await recount(db);
      expect(counted.objects).toBeGreaterThan(live.length + 1);
      expect(counted.objects).toBeLessThan(2001);
      await expectExactStats(again, db);
      await again.pack();
      expect((await recount(db)).objects).toBe(live.length + 1);
      expect((await again.load(live)).length).toBe(live.length);
      await expectExactStats(again, db);
      db.close();
      await again.close();
    },
    BIG,
  );
});

describe('MemoryStorage pack progress', () => {
  it('reports mark, then copy, then done, once each', async () => {
    const s = new MemoryStorage();
    await halfGarbage(s, 10);
    const seen: PackProgress[] = [];
    await s.pack({ onProgress: (p) => seen.push(p) });
    expect(seen).toEqual([
      { phase: 'mark', done: 6, total: 6 },
      { phase: 'copy', done: 11, total: 11 },
      { phase: 'done', done: 1, total: 1 },
    ]);
  });
});

describe('IndexedDBStorage transactions', () => {
  it('lists the tid an undoing transaction undoes, and no undoes key on the others', async () => {
    const { s } = await fresh();
    const first = await put(s, rec(ROOT_OID, [], 1));
    const { tid } = await s.sync(0);
    await s.commit({ baseTid: tid, records: [rec(ROOT_OID, [], 2)], undoes: first, note: 'undo' });
    const [undoing, undone] = await s.transactions();
    expect(undoing).toMatchObject({ undoes: first, note: 'undo' });
    expect(undone).not.toHaveProperty('undoes');
    await s.close();
  });
});

describe('IndexedDBStorage pack, aborted without a reason', () => {
  it(
    'rejects with the signal’s own AbortError, not a storage failure',
    async () => {
      const { s } = await fresh();
      await halfGarbage(s, 500);
      const stop = new AbortController();
      const packing = s.pack({ signal: stop.signal, onProgress: () => stop.abort() });
      const error: unknown = await packing.then(
        () => 'resolved',
        (e: unknown) => e,
      );
      expect(error).toBe(stop.signal.reason);
      expect(error).toBeInstanceOf(DOMException);
      await s.close();
    },
    BIG,
  );
});
