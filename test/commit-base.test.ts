/**
 * A record without `tid` is checked against the request's `baseTid`. A baseTid past every tid
 * would make it conflict with nothing, not even with a commit of the same object still waiting
 * for ShelfStorage's group flush, whose revision its `prev` would then skip (a snapshot at the
 * waiting commit's tid would read a state never committed then). Such a base is refused (the
 * contract check "refuses a baseTid or a record's tid newer than the newest tid").
 */
import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import type { Storage, StoredRecord } from '../src/index.js';

const rec = (oid: number, byte: number, refs: number[] = [], tid?: number): StoredRecord => {
  const r: StoredRecord = { oid, className: 'test.Thing', state: new Uint8Array([byte]), refs };
  if (tid !== undefined) r.tid = tid;
  return r;
};

const storages: [string, () => Promise<Storage>][] = [
  ['MemoryStorage', async () => new MemoryStorage()],
  ['ShelfStorage', () => ShelfStorage.open(new MemoryBlockDirectory())],
];

describe.each(storages)('%s, two commits of one object in the same group', (_, open) => {
  it('keeps the revision of each: a snapshot at the first reads the first, though the second names a baseTid past every tid', async () => {
    const s = await open();
    const [a] = (await s.newOids(1)) as [number];
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1, [a]), rec(a, 1)] });
    // Both sent before either is written (one group commit in ShelfStorage).
    const second = s.commit({ baseTid: t1, records: [rec(a, 2, [], t1)] });
    const third = s.commit({ baseTid: Number.MAX_SAFE_INTEGER, records: [rec(a, 3)] });
    const outcome = await Promise.allSettled([second, third]);
    const [t2, t3] = outcome.map((o) => (o.status === 'fulfilled' ? o.value : undefined));
    expect(t2).toBe(t1 + 1);
    // Refusing the third (a conflict, or a baseTid past the newest tid) is sound too.
    const landed = t3 === undefined ? [t2, t1] : [t3, t2, t1];
    expect((await s.load([a], t2)).map((r) => r.state[0])).toEqual([2]);
    expect((await s.history(a)).map((h) => h.tid)).toEqual(landed);
    await s.close();
  });
});
