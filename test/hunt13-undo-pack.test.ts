/**
 * Hunt 13: undo racing a pack. An undo (src/undo.ts: transactions(), load, load as of tid - 1,
 * commit) runs while an incremental pack compacts between its slices, keeping random snapshots.
 * Whatever the interleaving: either the undo lands whole — every object the undone transaction
 * changed is back to its value before it, nothing else changed — or it is refused with a conflict
 * (pack removed what it needs, or a later transaction changed an object) and nothing is stored.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { undoTransaction } from '../src/undo.js';
import { ConflictError, ReadConflictError, ShelfError, type Tid } from '../src/index.js';

const OBJECTS = 4;
const enc = new TextEncoder();
const dec = new TextDecoder();

describe('hunt 13: undo racing a pack', () => {
  it('refuses with ReadConflictError the undo of a transaction whose every revision pack removed (its entry kept, listing no object)', async () => {
    const s = await ShelfStorage.open(new MemoryBlockDirectory(), {});
    const [x] = (await s.newOids(1)) as [number];
    const node = (text: string, tid?: Tid) => ({
      oid: x,
      className: 'N',
      state: enc.encode(text),
      refs: [],
      ...(tid === undefined ? {} : { tid }),
    });
    const t1 = await s.commit({
      baseTid: 0,
      records: [{ oid: 0, className: 'N', state: enc.encode('root'), refs: [x] }, node('x1')],
    });
    const t2 = await s.commit({ baseTid: t1, records: [node('x2', t1)] });
    await s.commit({ baseTid: t2, records: [node('x3', t2)] });
    await s.pack(); // t2's revision of x is superseded garbage: removed, t2's entry stays
    const [info] = await s.transactions({ before: t2 + 1, limit: 1 });
    expect(info).toMatchObject({ tid: t2, oids: [] });
    const error: unknown = await undoTransaction(s, t2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadConflictError);
    expect((error as Error).message).toMatch(/pack removed/);
    await s.close();
  });

  it('an undo that runs while a pack compacts lands whole or is refused with nothing stored', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.nat(OBJECTS - 1), { minLength: 1, maxLength: 3 }), {
          minLength: 2,
          maxLength: 12,
        }),
        fc.nat(20),
        fc.nat(20),
        fc.integer({ min: 1, max: 25 }),
        async (writes, keepBack, undoBack, undoAt) => {
          const s = await ShelfStorage.open(new MemoryBlockDirectory(), {
            segmentSize: 200,
            packSliceMs: 0,
          });
          const oids = await s.newOids(OBJECTS);
          const values = new Map<Tid, Map<number, string>>(); // state after each tid
          const serial = new Map<number, Tid>();
          let last = await s.commit({
            baseTid: 0,
            records: [
              { oid: 0, className: 'N', state: enc.encode('root'), refs: oids },
              ...oids.map((oid) => ({
                oid,
                className: 'N',
                state: enc.encode(`${oid}:0`),
                refs: [],
              })),
            ],
          });
          values.set(last, new Map([[0, 'root'], ...oids.map((o) => [o, `${o}:0`] as const)]));
          for (const o of oids) serial.set(o, last);
          for (const [k, w] of writes.entries()) {
            const touched = [...new Set(w)].map((i) => oids[i] as number);
            const state = new Map(values.get(last));
            const tid = await s.commit({
              baseTid: last,
              records: touched.map((oid) => {
                state.set(oid, `${oid}:${k + 1}`);
                return {
                  oid,
                  className: 'N',
                  state: enc.encode(`${oid}:${k + 1}`),
                  refs: [],
                  tid: serial.get(oid) as Tid,
                };
              }),
            });
            for (const oid of touched) serial.set(oid, tid);
            values.set(tid, state);
            last = tid;
          }
          const tids = [...values.keys()].sort((a, b) => a - b);
          const keep = tids[Math.max(0, tids.length - 1 - (keepBack % tids.length))] as Tid;
          const target = tids[Math.max(1, tids.length - 1 - (undoBack % tids.length))] as Tid;
          const before = last;
          let undo: Promise<Tid | unknown> | undefined;
          let step = 0;
          await s.pack({
            keepTid: keep,
            onProgress: () => {
              if (++step === undoAt) {
                undo = undoTransaction(s, target).catch((error: unknown) => error);
              }
            },
          });
          undo ??= undoTransaction(s, target).catch((error: unknown) => error);
          const outcome = await undo;
          const newest = async (): Promise<Map<number, string>> => {
            const records = await s.load([0, ...oids]);
            return new Map(records.map((r) => [r.oid, dec.decode(r.state)]));
          };
          if (typeof outcome === 'number') {
            const prior = values.get(target - 1) as Map<number, string>;
            const after = values.get(before) as Map<number, string>;
            const changed = new Set(
              [...(values.get(target) as Map<number, string>)]
                .filter(([oid, v]) => prior.get(oid) !== v)
                .map(([oid]) => oid),
            );
            const want = new Map(
              [...after].map(([oid, v]) => [oid, changed.has(oid) ? prior.get(oid) : v]),
            );
            expect(await newest()).toEqual(want);
          } else {
            // A conflict (a later transaction changed an object, or pack removed what undo needs),
            // or no such transaction any more (pack dropped its entry).
            expect(
              outcome instanceof ConflictError ||
                (outcome instanceof ShelfError && /there is no transaction/.test(outcome.message)),
              `refused with ${String(outcome)}`,
            ).toBe(true);
            expect(s.lastTid, `refused (${String(outcome)}) yet stored`).toBe(before);
            expect(await newest()).toEqual(values.get(before));
          }
          expect((await s.verify()).problems).toEqual([]);
          await s.close();
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);
});
