/**
 * Hunt 13: the fault harness (fault-injection.test.ts) checks the newest state of every object
 * after a crash; this checks what pack promised besides: every snapshot it kept. Two packs keep an
 * old snapshot (the first relocates revisions that commits landed during it still point at, the
 * manifest's `relocated`); a crash at every operation of the second pack (with commits landing in
 * its slices) is reopened under every crash model, and every snapshot from the kept one on must
 * read what the model says, for every object.
 */
import { describe, expect, it } from 'vitest';
import { CRASH_MODELS, FaultDirectory } from './fault-directory.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import type { StoredRecord, Tid } from '../src/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const OPTIONS = { segmentSize: 160, packSliceMs: 0 };

/** Acknowledged history: for each tid, the value of each object written then. */
class History {
  readonly writes: { tid: Tid; oid: number; text: string }[] = [];
  readonly serial = new Map<number, Tid>();
  get last(): Tid {
    return Math.max(0, ...this.writes.map((w) => w.tid));
  }
  /** The value of `oid` as of `tid` (undefined: not created yet). */
  at(oid: number, tid: Tid): string | undefined {
    let best: { tid: Tid; text: string } | undefined;
    for (const w of this.writes)
      if (w.oid === oid && w.tid <= tid && (best === undefined || w.tid > best.tid)) best = w;
    return best?.text;
  }
  tids(from: Tid): Tid[] {
    return [...new Set(this.writes.map((w) => w.tid))]
      .filter((t) => t >= from)
      .sort((a, b) => a - b);
  }
}

async function commit(
  s: ShelfStorage,
  h: History,
  writes: [number, string, number[]][],
): Promise<void> {
  const records: StoredRecord[] = writes.map(([oid, text, refs]) => {
    const tid = h.serial.get(oid);
    return {
      oid,
      className: 'test.Node',
      state: enc.encode(text),
      refs,
      ...(tid === undefined ? {} : { tid }),
    };
  });
  const tid = await s.commit({ baseTid: h.last, records });
  for (const [oid, text] of writes) {
    h.writes.push({ tid, oid, text });
    h.serial.set(oid, tid);
  }
}

/** Up to the second pack: the database, its history, the snapshot kept and the objects. */
/** The second pack keeps a newer snapshot than the first: the first's kept revisions older than
 * it are garbage then, so the segments holding relocated revisions are compacted again. */
async function setup(dir: FaultDirectory): Promise<{ h: History; keep: Tid; oids: number[] }> {
  const h = new History();
  let s = await ShelfStorage.open(dir, OPTIONS);
  const oids = await s.newOids(4);
  const [a, b, c, d] = oids as [number, number, number, number];
  await commit(s, h, [
    [0, 'root', oids],
    [a, 'a0', []],
    [b, 'b0', []],
    [c, 'c0', []],
    [d, 'd0', []],
  ]);
  await commit(s, h, [[a, 'a1', []]]);
  await commit(s, h, [[b, 'b1', [c]]]);
  const keep = h.last;
  await commit(s, h, [[a, 'a2', []]]);
  await commit(s, h, [[c, 'c1', []]]);
  const keep2 = h.last;
  let landed: Promise<void> | undefined;
  await s.pack({
    keepTid: keep,
    onProgress: () => {
      landed ??= commit(s, h, [[b, 'b2', []]]);
    },
  });
  await landed;
  await commit(s, h, [[d, 'd1', []]]);
  await s.close();
  s = await ShelfStorage.open(dir, OPTIONS);
  await commit(s, h, [[a, 'a3', []]]);
  await s.close();
  return { h, keep: keep2, oids };
}

/** The second pack, with commits in its slices; whatever a crash makes throw is swallowed here. */
async function workload(dir: FaultDirectory, h: History, keep: Tid, oids: number[]): Promise<void> {
  const [a, b, c] = oids as [number, number, number, number];
  let s: ShelfStorage;
  try {
    s = await ShelfStorage.open(dir, OPTIONS);
  } catch {
    return; // crashed while opening: the image is checked all the same
  }
  const during: Promise<void>[] = [];
  let step = 0;
  const settle = (p: Promise<unknown>): Promise<void> =>
    p.then(
      () => undefined,
      () => undefined, // a crash: what survived is checked against the acknowledged history
    );
  await settle(
    s.pack({
      keepTid: keep,
      onProgress: () => {
        step++;
        if (step === 2) during.push(settle(commit(s, h, [[c, 'c2', []]])));
        if (step === 6) during.push(settle(commit(s, h, [[b, 'b3', []]])));
      },
    }),
  );
  await Promise.all(during);
  await settle(commit(s, h, [[a, 'a4', []]]));
  await settle(s.close());
}

async function reads(s: ShelfStorage, h: History, keep: Tid, oids: number[]): Promise<string[]> {
  const problems: string[] = [];
  for (const tid of h.tids(keep)) {
    for (const oid of [0, ...oids]) {
      const want = h.at(oid, tid);
      let got: string | undefined;
      try {
        const [r] = await s.load([oid], tid);
        got = r === undefined ? undefined : dec.decode(r.state);
      } catch (error) {
        got = `threw ${(error as Error).name}`;
      }
      if (got !== want) problems.push(`oid ${oid} at tid ${tid}: ${got} (want ${want})`);
    }
  }
  return problems;
}

describe('hunt 13: snapshots kept by pack survive a crash at every operation', () => {
  it('every snapshot from the kept one on reads the acknowledged history after a crash at any operation of a second pack over relocated revisions', async () => {
    const dry = new FaultDirectory(7);
    const base = await setup(dry);
    dry.arm();
    const h0 = new History();
    h0.writes.push(...base.h.writes);
    for (const [k, v] of base.h.serial) h0.serial.set(k, v);
    await workload(dry, h0, base.keep, base.oids);
    const operations = dry.operations;
    expect(operations).toBeGreaterThan(50);
    const problems: string[] = [];
    for (let at = 1; at <= operations + 1; at++) {
      const dir = new FaultDirectory(7);
      const { h, keep, oids } = await setup(dir);
      dir.arm({ at, action: 'crash' });
      await workload(dir, h, keep, oids);
      dir.crash();
      for (const model of CRASH_MODELS) {
        const image = dir.crashImage(model);
        let s: ShelfStorage;
        try {
          s = await ShelfStorage.open(image, OPTIONS);
        } catch (error) {
          problems.push(`crash at op ${at}, ${model}: reopening threw ${String(error)}`);
          continue;
        }
        for (const p of await reads(s, h, keep, oids))
          problems.push(`crash at op ${at}, ${model}: ${p}`);
        const report = await s.verify();
        for (const p of report.problems)
          problems.push(`crash at op ${at}, ${model}: verify: ${p.message}`);
        await s.close();
      }
    }
    expect(problems.slice(0, 20), `${problems.length} problems`).toEqual([]);
  }, 120_000);
});
