/**
 * The fake Web Locks the tab tests run on must be as exclusive as navigator.locks: a fake that
 * lets two tabs hold the owner lock makes two owners open the files, and the tab tests would blame
 * (or miss) the router for it. (The tab model once saw a lost acknowledged commit from exactly
 * that: the released lock was free for a moment before its next waiter got it.)
 */
import { describe, expect, it } from 'vitest';
import { FakeHub } from './fake-tabs.js';
import { turn } from './until.js';

/** A lock callback that counts how many hold the lock at once. */
function counter() {
  let holders = 0;
  const state = { most: 0 };
  /** Holds the lock for `turns` event-loop turns: a lock handed on twice would overlap them. */
  const hold = (turns: number) => async () => {
    holders++;
    state.most = Math.max(state.most, holders);
    for (let i = 0; i < turns; i++) await turn();
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
    const second = b.locks.request('L', hold(3)); // queued behind a
    releaseA();
    await first; // a released: the lock is b's from now on, its callback runs a task later
    const third = c.locks.request('L', hold(3)); // must queue behind b
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

  it('is idle only once every message posted has arrived, replies to replies included', async () => {
    const hub = new FakeHub();
    const [a, b] = [hub.tab().channel('c'), hub.tab().channel('c')];
    const received: number[] = [];
    // Each tab answers n with n + 1 until 10: a chain of ten deliveries, each a task later.
    for (const channel of [a, b]) {
      channel.addEventListener('message', (e) => {
        const n = e.data as number;
        received.push(n);
        // The reply leaves after a microtask hop, as a router's answer after an async call does.
        if (n < 10) void Promise.resolve().then(() => channel.postMessage(n + 1));
      });
    }
    a.postMessage(1);
    await hub.idle();
    expect(received).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('is idle while a frozen tab holds what was sent to it, and delivers it on thaw', async () => {
    const hub = new FakeHub();
    const frozenTab = hub.tab();
    const received: unknown[] = [];
    frozenTab.channel('c').addEventListener('message', (e) => received.push(e.data));
    frozenTab.freeze();
    hub.tab().channel('c').postMessage('held');
    await hub.idle();
    expect(received).toEqual([]);
    frozenTab.thaw();
    expect(received).toEqual(['held']);
  });

  it('is idle only once a released lock has reached the tab waiting for it', async () => {
    const hub = new FakeHub();
    const [a, b] = [hub.tab(), hub.tab()];
    let releaseA: () => void = () => undefined;
    void a.locks.request('L', () => new Promise<void>((r) => (releaseA = r)));
    let bHolds = false;
    void b.locks.request('L', async () => {
      bHolds = true;
    });
    releaseA();
    await hub.idle();
    expect(bHolds).toBe(true);
  });

  it('fails, saying so, when tabs keep talking for the turns it may wait', async () => {
    const hub = new FakeHub();
    const [a, b] = [hub.tab().channel('c'), hub.tab().channel('c')];
    for (const channel of [a, b]) {
      channel.addEventListener('message', () => channel.postMessage('again'));
    }
    a.postMessage('start');
    await expect(hub.idle(20)).rejects.toThrow(/still on their way after 20 turns/);
    for (const channel of [a, b]) channel.close();
  });
});
