import { describe, expect, it } from 'vitest';
import { MemoryStorage, type StoredRecord } from '../src/index.js';
import { describeStorage, describeStorageArguments } from './storage-contract.js';
import { throwingRefs } from './storage-hooks.js';

describeStorage('MemoryStorage', () => new MemoryStorage());
describeStorageArguments('MemoryStorage', () => new MemoryStorage());

const rec = (oid: number, byte: number, refs: number[] = [], tid?: number): StoredRecord => {
  const r: StoredRecord = { oid, className: 'test.Thing', state: new Uint8Array([byte]), refs };
  if (tid !== undefined) r.tid = tid;
  return r;
};

describe('MemoryStorage', () => {
  it('stores nothing of a commit that throws half way, and gives the next commit the next tid', async () => {
    const s = new MemoryStorage();
    const [a, b] = (await s.newOids(2)) as [number, number];
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1, [a]), rec(a, 1)] });
    const error = await s
      .commit({
        baseTid: t1,
        records: [rec(0, 2, [a, b], t1), rec(a, 2, [], t1), { ...rec(b, 2), refs: throwingRefs() }],
        txnId: 'half-1',
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/injected failure/);
    expect((await s.load([0, a, b])).map((r) => [r.oid, r.tid, r.state[0]])).toEqual([
      [0, t1, 1],
      [a, t1, 1],
    ]);
    expect((await s.sync(0)).tid).toBe(t1);
    expect(await s.history(0)).toHaveLength(1);
    const t2 = await s.commit({ baseTid: t1, records: [rec(a, 3, [], t1)], txnId: 'half-1' });
    expect(t2).toBe(t1 + 1);
    expect((await s.stats()).transactions).toBe(2);
    expect(await s.verify()).toEqual({ ok: true, problems: [] });
  });

  it('refuses a commit whose meta holds a value JSON would drop, storing nothing of it', async () => {
    const s = new MemoryStorage();
    await expect(
      s.commit({ baseTid: 0, records: [rec(0, 1)], meta: { kept: 1, dropped: () => 1 } }),
    ).rejects.toThrow(/meta key "dropped" holds a function/);
    expect(await s.transactions()).toEqual([]);
    expect(await s.load([0])).toEqual([]);
    expect(await s.commit({ baseTid: 0, records: [rec(0, 2)], meta: { kept: 1 } })).toBe(1);
  });
});

describe('MemoryStorage pack', () => {
  it('runs one pack for two calls made while it runs, and a new one for a call after it settled', async () => {
    let runs = 0;
    class Counting extends MemoryStorage {
      protected override packNow(keepTid: number | undefined) {
        runs++;
        return super.packNow(keepTid);
      }
    }
    const s = new Counting();
    await s.commit({ baseTid: 0, records: [rec(0, 1)] });
    const [first, second] = await Promise.all([s.pack(), s.pack()]);
    expect(second).toBe(first);
    expect(runs).toBe(1);
    expect(await s.pack()).not.toBe(first);
    expect(runs).toBe(2);
  });
});
