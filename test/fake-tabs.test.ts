/**
 * The fake Web Locks the tab tests run on must be as exclusive as navigator.locks: a fake that
 * lets two tabs hold the owner lock makes two owners open the files, and the tab tests would blame
 * (or miss) the router for it. (The tab model once saw a lost acknowledged commit from exactly
 * that: the released lock was free for a moment before its next waiter got it.)
 */
import { describe, expect, it } from 'vitest';
import { FakeHub } from './fake-tabs.js';

/** A lock callback that counts how many hold the lock at once. */
function counter() {
  let holders = 0;
  const state = { most: 0 };
  const hold = (ms: number) => async () => {
    holders++;
    state.most = Math.max(state.most, holders);
    await new Promise((r) => setTimeout(r, ms));
    holders--;
  };
  return { hold, state };
}

describe('FakeHub', () => {
  it('never lets two tabs hold one exclusive lock, also when a request comes as it changes hands', async () => {
    const hub = new FakeHub();
    const [a, b, c] = [hub.tab(), hub.tab(), hub.tab()];
    const { hold, state } = counter();
    let releaseA: () => void = () => undefined;
    const first = a.locks.request('L', () => new Promise<void>((r) => (releaseA = r)));
    const second = b.locks.request('L', hold(20)); // queued behind a
    releaseA();
    await first; // a released: the lock is b's from now on, its callback runs a task later
    const third = c.locks.request('L', hold(20)); // must queue behind b
    await Promise.all([second, third]);
    expect(state.most).toBe(1);
  });

  it('passes the lock on when the waiter it was handed to crashes before its callback runs', async () => {
    const hub = new FakeHub();
    const [a, b, c] = [hub.tab(), hub.tab(), hub.tab()];
    let releaseA: () => void = () => undefined;
    const first = a.locks.request('L', () => new Promise<void>((r) => (releaseA = r)));
    let bRan = false;
    void b.locks.request('L', async () => {
      bRan = true;
    });
    const third = c.locks.request('L', async () => 'c got it');
    releaseA();
    await first;
    b.crash(); // the lock was handed to b; b dies before its callback runs
    expect(await third).toBe('c got it');
    expect(bRan).toBe(false);
  });
});
