/**
 * Data-loss hunt (issue #9, a second look): ways to lose or double acknowledged data that the
 * fault harness and the tab model did not cover. Each test failed before the fix committed with it.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import type { StoredRecord } from '../src/index.js';

const rec = (oid: number, byte: number, refs: number[] = [], tid?: number): StoredRecord => {
  const r: StoredRecord = { oid, className: 'hunt.Cell', state: new Uint8Array([byte]), refs };
  if (tid !== undefined) r.tid = tid;
  return r;
};

describe('ShelfStorage resends', () => {
  it('answers a commit resent after a pack dropped its revisions and a reopen with its first tid, storing nothing twice', async () => {
    const dir = new MemoryBlockDirectory();
    let s = await ShelfStorage.open(dir);
    const [a] = (await s.newOids(1)) as [number];
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1, [a]), rec(a, 1)] });
    // Tab 1's increment lands; its answer is lost (the owner closed, or it timed out busy).
    const increment = { baseTid: t1, records: [rec(a, 2, [], t1)], txnId: 'tab1-7' };
    const landed = await s.commit(increment);
    // Another tab writes the same object on top of it, and the owner packs (its own snapshot).
    const later = await s.commit({ baseTid: landed, records: [rec(a, 3, [], landed)] });
    await s.pack();
    await s.close();
    s = await ShelfStorage.open(dir);
    // The resend must be answered as landed: a WriteConflictError makes transact() run fn again.
    expect(await s.commit(increment)).toBe(landed);
    expect(s.lastTid).toBe(later);
    await s.close();
  });

  it('answers a resent commit whose objects pack removed as unreachable with its first tid', async () => {
    const dir = new MemoryBlockDirectory();
    let s = await ShelfStorage.open(dir);
    const [a] = (await s.newOids(1)) as [number];
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1, [a]), rec(a, 1)] });
    const increment = { baseTid: t1, records: [rec(a, 2, [], t1)], txnId: 'tab1-8' };
    const landed = await s.commit(increment);
    await s.commit({ baseTid: landed, records: [rec(0, 2, [], t1)] }); // a unreachable now
    await s.pack();
    await s.close();
    s = await ShelfStorage.open(dir);
    expect(await s.commit(increment)).toBe(landed);
    await s.close();
  });
});
