/**
 * Hunt 13: ShelfStorage through many packs against a model — random commits (values, links that
 * make objects unreachable and reachable again), packs keeping random snapshots, packs aborted at
 * random steps, commits landing in their slices, reopens between them, tiny segments and a small
 * `keepTransactions` (so pack drops transaction entries). After each step: every snapshot pack
 * still promises reads as the model says, history() lists those revisions, verify is clean, and
 * the counters (objects, transactions, garbage) match the files (a reopen's count) and the log.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import type { StoredRecord, Tid } from '../src/index.js';
import { reachable, type Node, type State } from './pack-model.js';

const OBJECTS = 6;

type Op =
  | { kind: 'set'; at: number; value: number; size: number }
  | { kind: 'link'; at: number; to: number }
  | { kind: 'unlink'; at: number; to: number };

type Step =
  | { kind: 'commit'; op: Op }
  | { kind: 'pack'; keepBack: number; abortAt: number; during: [number, Op][] }
  | { kind: 'reopen' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(OBJECTS),
    value: fc.nat(1000),
    size: fc.integer({ min: 1, max: 50 }),
  }),
  fc.record({ kind: fc.constant('link' as const), at: fc.nat(OBJECTS), to: fc.nat(OBJECTS - 1) }),
  fc.record({ kind: fc.constant('unlink' as const), at: fc.nat(OBJECTS), to: fc.nat(OBJECTS - 1) }),
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('commit' as const), op }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('pack' as const),
      keepBack: fc.nat(6),
      abortAt: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) }, // not aborted
        { weight: 2, arbitrary: fc.integer({ min: 1, max: 30 }) },
      ),
      during: fc.array(fc.tuple(fc.integer({ min: 1, max: 20 }), op), { maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
);

class Model {
  readonly history = new Map<Tid, State>();
  readonly serial = new Map<number, Tid>();
  /** Revisions of each object: tid → value. */
  readonly revisions = new Map<number, Map<Tid, number>>();
  /** The oldest snapshot still promised (the highest keep of any pack so far). */
  floor = 0;
  get last(): Tid {
    return Math.max(...this.history.keys());
  }
  holdable(): Set<number> {
    const out = new Set<number>();
    for (const [tid, state] of this.history)
      if (tid >= this.floor) for (const oid of reachable(state)) out.add(oid);
    return out;
  }
}

const encode = (value: number, size: number): Uint8Array =>
  new TextEncoder().encode(String(value).padEnd(size, ' '));
const decode = (bytes: Uint8Array): number => Number(new TextDecoder().decode(bytes).trim());

async function apply(s: ShelfStorage, model: Model, o: Op): Promise<void> {
  // Only objects a promised snapshot reaches can be written or linked (a client holds nothing
  // else): the op's indexes pick among them.
  const holdable = [...model.holdable()].sort((a, b) => a - b);
  const oid = holdable[o.at % holdable.length] as number;
  const targets = holdable.filter((h) => h !== 0);
  if (o.kind !== 'set' && targets.length === 0) return;
  const target = o.kind === 'set' ? oid : (targets[o.to % targets.length] as number);
  const last = model.last;
  const state = new Map(model.history.get(last));
  const node = { ...(state.get(oid) as Node) };
  let size = 6;
  if (o.kind === 'set') {
    node.value = o.value;
    size = o.size;
  } else if (o.kind === 'link' && !node.refs.includes(target)) node.refs = [...node.refs, target];
  else if (o.kind === 'unlink') node.refs = node.refs.filter((r) => r !== target);
  state.set(oid, node);
  const record: StoredRecord = {
    oid,
    className: 'test.Node',
    state: encode(node.value, size),
    refs: node.refs,
    tid: model.serial.get(oid) as Tid,
  };
  const tid = await s.commit({ baseTid: last, records: [record] });
  model.history.set(tid, state);
  model.serial.set(oid, tid);
  model.revisions.get(oid)?.set(tid, node.value);
}

async function check(s: ShelfStorage, model: Model, label: string): Promise<void> {
  for (const [tid, state] of model.history) {
    if (tid < model.floor) continue;
    const oids = [...reachable(state)].sort((a, b) => a - b);
    const records = await s.load(oids, tid);
    expect(
      records.map((r) => [r.oid, decode(r.state), r.refs]),
      `${label}: as of tid ${tid}`,
    ).toEqual(oids.map((oid) => [oid, state.get(oid)?.value, state.get(oid)?.refs]));
  }
  // history(): every revision a promised snapshot reads, for the objects the newest root reaches.
  const newest = model.history.get(model.last) as State;
  for (const oid of reachable(newest)) {
    const revs = [...(model.revisions.get(oid) as Map<Tid, number>)].sort((a, b) => b[0] - a[0]);
    const cut = revs.findIndex(([tid]) => tid <= model.floor);
    const wanted = cut < 0 ? revs : revs.slice(0, cut + 1);
    const got = (await s.history(oid)).slice(0, wanted.length);
    expect(
      got.map((r) => [r.tid, decode(r.record.state)]),
      `${label}: history(${oid})`,
    ).toEqual(wanted);
  }
  expect((await s.verify()).problems, `${label}: verify`).toEqual([]);
  const stats = await s.stats();
  expect(stats.transactions, `${label}: transactions counted`).toBe(
    (await s.transactions()).length,
  );
}

describe('hunt 13: many packs against a model', () => {
  it('keeps every promised snapshot and history, and exact counters, through packs (kept snapshots, aborts, commits in their slices, dropped transactions) and reopens', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 150, max: 900 }),
        fc.nat(3),
        async (steps, segmentSize, keepTransactions) => {
          const dir = new MemoryBlockDirectory();
          const options = { segmentSize, packSliceMs: 0, keepTransactions };
          let s = await ShelfStorage.open(dir, options);
          const oids = await s.newOids(OBJECTS);
          const model = new Model();
          const first: State = new Map([[0, { value: 0, refs: oids.slice(0, 3) }]]);
          for (const oid of oids) first.set(oid, { value: oid, refs: [] });
          const tid0 = await s.commit({
            baseTid: 0,
            records: [...first].map(([oid, n]) => ({
              oid,
              className: 'test.Node',
              state: encode(n.value, 6),
              refs: n.refs,
            })),
          });
          model.history.set(tid0, first);
          for (const [oid, n] of first) {
            model.serial.set(oid, tid0);
            model.revisions.set(oid, new Map([[tid0, n.value]]));
          }
          for (const [i, st] of steps.entries()) {
            if (st.kind === 'commit') await apply(s, model, st.op);
            else if (st.kind === 'reopen') {
              const before = await s.stats();
              await s.close();
              s = await ShelfStorage.open(dir, options);
              const after = await s.stats();
              expect(after, `step ${i}: stats across a reopen`).toEqual(before);
            } else {
              const tids = [...model.history.keys()].sort((a, b) => a - b);
              const keep = Math.max(
                model.floor,
                tids[Math.max(0, tids.length - 1 - st.keepBack)] as Tid,
              );
              // From now on no client holds a snapshot older than `keep` (pins say so): commits
              // during the pack link only what a snapshot from `keep` on reaches.
              model.floor = keep;
              const abort = new AbortController();
              let chain = Promise.resolve();
              let n = 0;
              const outcome = await s
                .pack({
                  keepTid: keep,
                  signal: abort.signal,
                  onProgress: () => {
                    n++;
                    for (const [at, o] of st.during)
                      if (at === n) chain = chain.then(() => apply(s, model, o));
                    if (n === st.abortAt) abort.abort(new Error('hunt13 abort'));
                  },
                })
                .then(
                  () => 'packed',
                  (error: unknown) => error,
                );
              await chain;
              if (outcome !== 'packed') expect((outcome as Error).message).toBe('hunt13 abort');
            }
            await check(s, model, `step ${i} (${st.kind})`);
          }
          const before = await s.stats();
          await s.close();
          s = await ShelfStorage.open(dir, options);
          expect(await s.stats(), 'stats after the last reopen').toEqual(before);
          await check(s, model, 'reopened at the end');
          await s.close();
        },
      ),
      { numRuns: Number(process.env.H13_RUNS ?? 100) },
    );
  }, 300_000);
});
