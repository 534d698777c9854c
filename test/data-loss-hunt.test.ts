/**
 * Data-loss hunt (issue #9, a second look): ways to lose or double acknowledged data that the
 * fault harness and the tab model did not cover. Each test failed before the fix committed with it.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import type { StoredRecord } from '../src/index.js';
import { FaultDirectory } from './fault-directory.js';

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

describe('ShelfStorage over a manifest that never reached the disk', () => {
  it('opens a pack whose manifest flush and its undo both failed, and still opens after a reopen and a power loss', async () => {
    const dir = new FaultDirectory(7);
    let s = await ShelfStorage.open(dir);
    const [a, b] = (await s.newOids(2)) as [number, number];
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1, [a, b]), rec(a, 1), rec(b, 1)] });
    const t2 = await s.commit({ baseTid: t1, records: [rec(a, 2, [], t1)] });
    // The new manifest is written, its flush fails, and emptying the slot again fails too: the
    // storage stops, its page cache holding a manifest the disk may never get.
    dir.arm({
      at: 1,
      kind: 'flush',
      file: 'manifest',
      action: 'fail',
      then: { after: 1, action: 'fail' },
    });
    await expect(s.pack()).rejects.toThrow();
    expect(dir.secondInjected).toMatchObject({ op: 'truncate' });
    await s.close();
    dir.arm();
    // The page is reloaded: the next process reads the files as the page cache has them.
    s = await ShelfStorage.open(dir);
    expect(s.lastTid).toBe(t2);
    // Power loss: only what was flushed is there. The database must open with both commits.
    const image = dir.crashImage('lost');
    const after = await ShelfStorage.open(image);
    expect(after.lastTid).toBe(t2);
    expect((await after.load([a])).map((r) => r.state[0])).toEqual([2]);
    expect((await after.verify()).ok).toBe(true);
    await after.close();
  });
});

describe('ShelfStorage over a log tail that never reached the disk', () => {
  it('answers a resend found in the page cache after a reopen only once it is durable', async () => {
    const dir = new FaultDirectory(9);
    let s = await ShelfStorage.open(dir);
    const [a] = (await s.newOids(1)) as [number];
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1, [a]), rec(a, 1)] });
    // The commit's bytes are written, its flush fails and so does the undo's truncate: not known.
    dir.arm({ at: 1, kind: 'flush', action: 'fail', then: { after: 1, action: 'fail' } });
    const increment = { baseTid: t1, records: [rec(a, 2, [], t1)], txnId: 'tab1-9' };
    await expect(s.commit(increment)).rejects.toMatchObject({ name: 'StorageBusyError' });
    await s.close();
    dir.arm();
    // Reloaded, the tab resends; the new process finds the commit in the page cache.
    s = await ShelfStorage.open(dir);
    const tid = await s.commit(increment);
    // Acknowledged now (strict durability): a power loss must not take it back.
    const after = await ShelfStorage.open(dir.crashImage('lost'));
    expect(after.lastTid).toBe(tid);
    expect((await after.load([a])).map((r) => r.state[0])).toEqual([2]);
    await after.close();
  });
});
