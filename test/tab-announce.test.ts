/**
 * The page's worker folds the page's own commit's announcement into the commit's answer. Through the tab link a follower's commit is announced by
 * the owner on the main channel, and answered on the follower's own channel: every page must hear
 * each commit exactly once, however the owner's broadcast and answer arrive, and when the owner
 * dies between landing the commit and answering it (the call is resent to the next owner, which
 * finds it landed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { TabRouter } from '../worker/tab-router.js';
import { FakeHub, type FakeTab } from './fake-tabs.js';
import { StorageClient } from '../src/storage-client.js';
import type { CommitRequest, Storage, StoredRecord } from '../src/shared/storage.js';
import { StorageBusyError } from '../src/shared/errors.js';
import { closeLinks, link } from './link-fixture.js';

afterEach(closeLinks);

/** A page over the Comlink link to its worker, whose storage is `storage` (a TabRouter). */
async function page(storage: Storage): Promise<{ client: StorageClient; heard: number[] }> {
  const { client } = await link(storage);
  const heard: number[] = [];
  client.subscribe((invalidation) => heard.push(invalidation.tid));
  return { client, heard };
}

const rec = (oid: number, byte: number, tid?: number): StoredRecord => ({
  oid,
  className: 'X',
  state: new Uint8Array([byte]),
  refs: [],
  ...(tid === undefined ? {} : { tid }),
});

/**
 * Waits until the tabs have heard each other (the fake hub is idle), then for a round trip through
 * each page's link, so what its worker told the page before has arrived.
 */
async function settle(hub: FakeHub, ...pages: { client: StorageClient }[]): Promise<void> {
  await hub.idle();
  await Promise.all(pages.map((p) => p.client.stats()));
}

describe("A follower's commit through the tab link", () => {
  it('is heard exactly once by the committing page and by every other page', async () => {
    const hub = new FakeHub();
    const dir = new MemoryBlockDirectory();
    const open = () => ShelfStorage.open(dir);
    const owner = await TabRouter.open(hub.tab(), { name: 'db', busyTimeout: 2000 }, open);
    const follower = await TabRouter.open(hub.tab(), { name: 'db', busyTimeout: 2000 }, open);
    const other = await TabRouter.open(hub.tab(), { name: 'db', busyTimeout: 2000 }, open);
    const pages = [await page(owner), await page(follower), await page(other)];
    let tid = 0;
    for (let i = 0; i < 6; i++) {
      const from = pages[i % 3] as (typeof pages)[number];
      tid = await from.client.commit({
        baseTid: tid,
        records: [rec(0, i, tid === 0 ? undefined : tid)],
        txnId: `c${i}`,
      });
    }
    await settle(hub, ...pages);
    for (const p of pages) expect([...p.heard].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const p of pages) await p.client.close();
    await Promise.all([follower.close(), other.close()]);
    await owner.close();
  });

  it('is heard exactly once and lands once when the owner dies after landing it and before answering', async () => {
    const hub = new FakeHub();
    const dir = new MemoryBlockDirectory();
    let opened = 0;
    const join = (tab: FakeTab, tabId: string) =>
      TabRouter.open(tab, { name: 'db', busyTimeout: 2000, tabId }, () => {
        opened++;
        return ShelfStorage.open(dir);
      });
    const ownerTab = hub.tab();
    const owner = await join(ownerTab, 'a');
    const follower = await join(hub.tab(), 'f');
    const other = await join(hub.tab(), 'g');
    const committing = await page(follower);
    const watching = await page(other);
    // The owner's tab is killed right after the commit landed and its broadcast went out.
    owner.subscribe(() => ownerTab.crash());
    const txn: CommitRequest = { baseTid: 0, records: [rec(0, 1)], txnId: 'f-1' };
    await expect(committing.client.commit(txn)).resolves.toBe(1);
    await settle(hub, committing, watching);
    expect(committing.heard).toEqual([1]);
    expect(watching.heard).toEqual([1]);
    expect(opened).toBe(2); // the next owner opened the files and answered the resent call
    expect(await follower.transactions()).toHaveLength(1);
    await committing.client.close();
    await watching.client.close();
    await Promise.all([follower.close(), other.close()]);
  });

  it('is heard exactly once when its call timed out with the owner frozen, and the page resends it after the owner woke', async () => {
    const hub = new FakeHub();
    const dir = new MemoryBlockDirectory();
    const join = (tab: FakeTab, tabId: string) =>
      TabRouter.open(tab, { name: 'db', busyTimeout: 50, tabId }, () => ShelfStorage.open(dir));
    const ownerTab = hub.tab();
    const owner = await join(ownerTab, 'a');
    const follower = await join(hub.tab(), 'f');
    const committing = await page(follower);
    // The owner freezes right after landing the commit: its broadcast and answer wait.
    owner.subscribe(() => ownerTab.freeze());
    const txn: CommitRequest = { baseTid: 0, records: [rec(0, 1)], txnId: 'f-1' };
    await expect(committing.client.commit(txn)).rejects.toBeInstanceOf(StorageBusyError);
    ownerTab.thaw();
    await settle(hub);
    await expect(committing.client.commit(txn)).resolves.toBe(1); // the resend
    await settle(hub, committing);
    expect(follower.wireStats.lateAnswers).toBe(1); // the first answer came too late
    expect(committing.heard).toEqual([1]);
    expect(await follower.transactions()).toHaveLength(1);
    await committing.client.close();
    await follower.close();
    await owner.close();
  });
});
