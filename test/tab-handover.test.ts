/**
 * Handover races a second data-loss hunt found (issue #9): a stray or forged 'owner' announcement
 * naming the next owner must not make a follower miss the real handover, and a follower closing
 * with a commit in flight must still land it at the next owner. Each failed before its fix.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { TabRouter } from '../worker/tab-router.js';
import { PROTOCOL_VERSION, databaseChannelName } from '../src/shared/protocol.js';
import type { CommitRequest } from '../src/shared/storage.js';
import { FakeHub, type FakeTab } from './fake-tabs.js';

describe('TabRouter handover', () => {
  it('resends a call in flight to the next owner although a stray message had named that tab owner while the owner was frozen', async () => {
    const hub = new FakeHub();
    const dir = new MemoryBlockDirectory();
    const join = (tab: FakeTab, tabId: string) =>
      TabRouter.open(tab, { name: 'db', busyTimeout: 500, tabId }, () => ShelfStorage.open(dir));
    const ownerTab = hub.tab();
    await join(ownerTab, 'a');
    const b = await join(hub.tab(), 'b'); // next in line for the files
    const f = await join(hub.tab(), 'f');
    // The owner is frozen in the background (it cannot correct what follows), and a stray
    // announcement (a tab that is not the owner, or a forged one) names b before its time.
    ownerTab.freeze();
    hub
      .tab()
      .channel(databaseChannelName('db'))
      .postMessage({ v: PROTOCOL_VERSION, type: 'owner', tabId: 'b' });
    await hub.idle(); // the stray announcement has reached b and f
    // f's commit is on its way to the owner when the owner dies without answering.
    const request: CommitRequest = {
      baseTid: 0,
      records: [{ oid: 0, className: 'Cell', state: new Uint8Array([1]), refs: [] }],
      txnId: 'f-1',
    };
    const landed = f.commit(request);
    ownerTab.crash();
    // b takes over and announces itself; f must resend the commit to it.
    await expect(landed).resolves.toBe(1);
    await b.close();
    await f.close();
  });

  it("keeps a follower's pinned snapshot at the next owner although a stray message had named that tab owner while the owner was frozen", async () => {
    const hub = new FakeHub();
    const dir = new MemoryBlockDirectory();
    const join = (tab: FakeTab, tabId: string) =>
      TabRouter.open(tab, { name: 'db', busyTimeout: 300, tabId }, () => ShelfStorage.open(dir));
    const put = (value: number, tid: number | undefined, txnId: string): CommitRequest => ({
      baseTid: tid ?? 0,
      records: [
        {
          oid: 0,
          className: 'Cell',
          state: new Uint8Array([value]),
          refs: [],
          ...(tid === undefined ? {} : { tid }),
        },
      ],
      txnId,
    });
    const ownerTab = hub.tab();
    const a = await join(ownerTab, 'a');
    const b = await join(hub.tab(), 'b');
    const f = await join(hub.tab(), 'f');
    const t1 = await a.commit(put(1, undefined, 'x1'));
    await f.pin('page', t1); // f's page reads at t1
    ownerTab.freeze();
    hub
      .tab()
      .channel(databaseChannelName('db'))
      .postMessage({ v: PROTOCOL_VERSION, type: 'owner', tabId: 'b' });
    await hub.idle(); // the stray announcement has reached b and f
    ownerTab.crash();
    const t2 = await b.commit(put(2, t1, 'x2'));
    await b.commit(put(3, t2, 'x3'));
    await b.pack(); // waits for the live tabs' pins (or busyTimeout)
    const [rec] = await f.load([0], t1);
    expect(rec?.state).toEqual(new Uint8Array([1]));
    await f.close();
    await b.close();
  });

  it('lands a commit of a closing follower at the next owner when the owner dies before answering', async () => {
    const hub = new FakeHub();
    const dir = new MemoryBlockDirectory();
    const join = (tab: FakeTab, tabId: string) =>
      TabRouter.open(tab, { name: 'db', busyTimeout: 500, tabId }, () => ShelfStorage.open(dir));
    const ownerTab = hub.tab();
    await join(ownerTab, 'a');
    const b = await join(hub.tab(), 'b');
    const f = await join(hub.tab(), 'f');
    ownerTab.freeze(); // the commit reaches no one until the owner's tab is gone
    const request: CommitRequest = {
      baseTid: 0,
      records: [{ oid: 0, className: 'Cell', state: new Uint8Array([1]), refs: [] }],
      txnId: 'f-1',
    };
    const landed = f.commit(request);
    const closed = f.close(); // the page closes the database right after committing
    ownerTab.crash();
    // b opens the files and announces itself: the closing tab still waits on its commit, and b is
    // there to run it. "Not known" (StorageBusyError) is the answer only when nobody answers.
    await expect(landed).resolves.toBe(1);
    await closed;
    expect(await b.transactions()).toHaveLength(1);
    await b.close();
  });
});
