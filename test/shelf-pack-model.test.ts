/**
 * ShelfStorage's incremental pack against a model of the history: random commits change values
 * and links among a few objects (making some unreachable, and reachable again, while a snapshot
 * held from before still reaches them), a pack runs on tiny segments with a pause after every step,
 * and more random commits land at random steps of it. Afterwards, and after a reopen: every
 * snapshot from the one held onward reads exactly what the model says for every object it reaches,
 * verify finds nothing wrong, and a second, quiet pack leaves exactly the reachable objects.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import type { StoredRecord, Tid } from '../src/index.js';
import { reachable, type Node, type State } from './pack-model.js';

const OBJECTS = 8;

/** A change: the object `at` (an index into the oids, or the root) gets a value or loses/gains a link. */
type Op =
  | { kind: 'set'; at: number; value: number; size: number }
  | { kind: 'link'; at: number; to: number }
  | { kind: 'unlink'; at: number; to: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(OBJECTS),
    value: fc.nat(1000),
    size: fc.integer({ min: 1, max: 60 }),
  }),
  fc.record({ kind: fc.constant('link' as const), at: fc.nat(OBJECTS), to: fc.nat(OBJECTS - 1) }),
  fc.record({ kind: fc.constant('unlink' as const), at: fc.nat(OBJECTS), to: fc.nat(OBJECTS - 1) }),
);

class Model {
  /** The state after each tid. */
  readonly history = new Map<Tid, State>();
  /** The tid of each object's newest revision. */
  readonly serial = new Map<number, Tid>();
  /** Objects some snapshot from `since` on reaches: a client may hold them and change them. */
  holdable(since: Tid): Set<number> {
    const out = new Set<number>();
    for (const [tid, state] of this.history) {
      if (tid >= since) for (const oid of reachable(state)) out.add(oid);
    }
    return out;
  }
  get last(): Tid {
    return Math.max(...this.history.keys());
  }
}

const encode = (n: Node, size: number): Uint8Array =>
  new TextEncoder().encode(JSON.stringify(n.value).padEnd(size, ' '));
const decode = (bytes: Uint8Array): number => Number(new TextDecoder().decode(bytes).trim());

/** Applies `o` to the model and commits it; ops on objects no held snapshot reaches are skipped. */
async function apply(
  s: ShelfStorage,
  model: Model,
  oids: number[],
  o: Op,
  keep: Tid,
): Promise<void> {
  const oid = o.at === OBJECTS ? 0 : (oids[o.at] as number);
  const holdable = model.holdable(keep);
  const target = o.kind === 'set' ? oid : (oids[o.to] as number);
  if (!holdable.has(oid) || !holdable.has(target)) return;
  const last = model.last;
  const state = new Map(model.history.get(last));
  const node = { ...(state.get(oid) as Node) };
  let size = 8;
  if (o.kind === 'set') {
    node.value = o.value;
    size = o.size;
  } else if (o.kind === 'link' && !node.refs.includes(target)) node.refs = [...node.refs, target];
  else if (o.kind === 'unlink') node.refs = node.refs.filter((r) => r !== target);
  state.set(oid, node);
  const record: StoredRecord = {
    oid,
    className: 'test.Node',
    state: encode(node, size),
    refs: node.refs,
    tid: model.serial.get(oid) as Tid,
  };
  const tid = await s.commit({ baseTid: last, records: [record] });
  model.history.set(tid, state);
  model.serial.set(oid, tid);
}

/** Every snapshot from `keep` on reads what the model says for every object it reaches. */
async function checkReads(s: ShelfStorage, model: Model, keep: Tid): Promise<void> {
  for (const [tid, state] of model.history) {
    if (tid < keep) continue;
    const oids = [...reachable(state)].sort((a, b) => a - b);
    const records = await s.load(oids, tid);
    expect(
      records.map((r) => [r.oid, decode(r.state), r.refs]),
      `as of tid ${tid}`,
    ).toEqual(oids.map((oid) => [oid, state.get(oid)?.value, state.get(oid)?.refs]));
  }
}

describe('ShelfStorage incremental pack, against a model', () => {
  it('keeps what every kept snapshot reads, with commits landing at random steps of the pack', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 25 }),
        fc.nat(30),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 60 }), op), { maxLength: 8 }),
        fc.integer({ min: 120, max: 1500 }),
        async (before, keepAt, during, segmentSize) => {
          const dir = new MemoryBlockDirectory();
          const options = { segmentSize, packSliceMs: 0, keepTransactions: 0 };
          const s = await ShelfStorage.open(dir, options);
          const oids = await s.newOids(OBJECTS);
          const model = new Model();
          const first = new Map<number, Node>([[0, { value: 0, refs: oids.slice(0, 4) }]]);
          for (const oid of oids) first.set(oid, { value: oid, refs: [] });
          const tid0 = await s.commit({
            baseTid: 0,
            records: [...first].map(([oid, n]) => ({
              oid,
              className: 'test.Node',
              state: encode(n, 8),
              refs: n.refs,
            })),
          });
          model.history.set(tid0, first);
          for (const oid of [0, ...oids]) model.serial.set(oid, tid0);
          for (const o of before) await apply(s, model, oids, o, tid0);
          // The snapshot a connection holds through the pack.
          const tids = [...model.history.keys()];
          const keep = tids[keepAt % tids.length] as Tid;
          let chain = Promise.resolve();
          let step = 0;
          await s.pack({
            keepTid: keep,
            onProgress: () => {
              step++;
              for (const [at, o] of during) {
                if (at === step) chain = chain.then(() => apply(s, model, oids, o, keep));
              }
            },
          });
          await chain;
          await checkReads(s, model, keep);
          expect((await s.verify()).problems).toEqual([]);
          await s.close();

          const again = await ShelfStorage.open(dir, options);
          await checkReads(again, model, keep);
          expect((await again.verify()).problems).toEqual([]);
          // Nothing held any more: a quiet pack leaves the objects the newest root reaches.
          await again.pack();
          const newest = model.history.get(model.last) as State;
          expect((await again.stats()).objects).toBe(reachable(newest).size);
          await checkReads(again, model, model.last);
          await again.close();
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
