/**
 * A commit resent after its answer was lost lands once, whatever pack did meanwhile. ShelfStorage
 * remembers recent txnIds; one it no longer remembers (after a reopen) it looks up in the log when
 * the commit is based on a snapshot older than what it remembers, since a conflict would not always
 * tell: pack may have removed every object the first sending wrote, and a changed readCurrent pin
 * fails before any write conflict.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import type { CommitRequest, StoredRecord } from '../src/index.js';

const rec = (oid: number, byte: number, refs: number[] = [], tid?: number): StoredRecord => {
  const r: StoredRecord = { oid, className: 'test.Thing', state: new Uint8Array([byte]), refs };
  if (tid !== undefined) r.tid = tid;
  return r;
};

describe('A resend of a landed commit after pack', () => {
  it('is answered with its first tid by ShelfStorage after a reopen, though pack removed every object it wrote', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1)] });
    const [a] = (await s.newOids(1)) as [number];
    // A raw commit (a tool's) of a new object nobody references; its answer is lost.
    const first: CommitRequest = { baseTid: t1, records: [rec(a, 7)], txnId: 'lost-answer' };
    const landed = await s.commit(first);
    await s.pack(); // a is unreachable: removed
    await s.close();
    const again = await ShelfStorage.open(dir); // the owner changed: the txnId is not in memory
    const before = (await again.stats()).transactions;

    const resent = await again.commit({ ...first, records: [rec(a, 7)] });

    expect(resent).toBe(landed);
    expect((await again.stats()).transactions).toBe(before); // not written a second time
    await again.close();
  });

  it('is answered with its first tid by ShelfStorage after a reopen, though pack removed its object and a pinned object changed since', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const [a, b] = (await s.newOids(2)) as [number, number];
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1, [b]), rec(b, 1)] });
    const first: CommitRequest = {
      baseTid: t1,
      records: [rec(a, 7)],
      readCurrent: [{ oid: b, tid: t1 }],
      txnId: 'pinned-b',
    };
    const landed = await s.commit(first);
    await s.commit({ baseTid: landed, records: [rec(b, 2, [], t1)] }); // b changes after it
    await s.pack();
    await s.close();
    const again = await ShelfStorage.open(dir);

    // The first sending landed: the resend must say so, not fail with a ReadConflictError that
    // tells the caller to redo the transaction (a second application of it).
    await expect(again.commit({ ...first, records: [rec(a, 7)] })).resolves.toBe(landed);
    await again.close();
  });

  it('is answered with its first tid by MemoryStorage, which keeps every txnId (the contract the others follow)', async () => {
    const s = new MemoryStorage();
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1)] });
    const [a] = (await s.newOids(1)) as [number];
    const first: CommitRequest = { baseTid: t1, records: [rec(a, 7)], txnId: 'lost-answer' };
    const landed = await s.commit(first);
    await s.pack();
    await expect(s.commit({ ...first, records: [rec(a, 7)] })).resolves.toBe(landed);
    await s.close();
  });
});
