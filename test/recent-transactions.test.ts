import { describe, expect, it } from 'vitest';
import { RecentTransactions } from '../worker/recent-transactions.js';

describe('RecentTransactions', () => {
  it('forgets the oldest in slices, keeping at least the limit, and resets a sync from before what it forgot', () => {
    const recent = new RecentTransactions(10);
    for (let tid = 1; tid <= 11; tid++) recent.remember(tid, [tid], `t${tid}`);
    expect(recent.floor).toBe(0); // within a tenth over the limit: nothing forgotten yet
    expect(recent.tidOf('t1')).toBe(1);
    recent.remember(12, [12], 't12');
    expect(recent.floor).toBe(2); // trimmed to the limit: 3..12 remembered
    expect(recent.tidOf('t2')).toBeUndefined();
    expect(recent.tidOf('t3')).toBe(3);
    expect(recent.since(1, 12)).toEqual({ tid: 12, oids: [], reset: true });
    expect(recent.since(2, 12).oids.sort((a, b) => a - b)).toEqual([
      3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ]);
    expect(recent.since(10, 12).oids.sort((a, b) => a - b)).toEqual([11, 12]);
  });

  it('remembers every transaction without a limit', () => {
    const recent = new RecentTransactions(Infinity);
    for (let tid = 1; tid <= 1000; tid++) recent.remember(tid, [tid], `t${tid}`);
    expect(recent.floor).toBe(0);
    expect(recent.tidOf('t1')).toBe(1);
  });
});
