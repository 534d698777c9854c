import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../worker/memory-storage.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { packRecords } from '../src/shared/record-batch.js';
import {
  DatabaseClosedError,
  ShelfError,
  StorageBusyError,
  StorageError,
  StorageFullError,
  type Invalidation,
  type Storage,
} from '../src/index.js';
import { describeStorage } from './storage-contract.js';
import { hooked } from './storage-hooks.js';
import { eventually } from './until.js';
import { closeLinks, link } from './link-fixture.js';

afterEach(closeLinks);

/** A page and its storage worker, joined by a MessageChannel; `page` is the page's end. */
const connect = (storage: Storage) => link(storage);

describeStorage('StorageClient over a MessageChannel, serving ShelfStorage', async () => {
  const dir = new MemoryBlockDirectory();
  const { client } = await connect(await ShelfStorage.open(dir));
  return {
    storage: client,
    reopen: async () => (await connect(await ShelfStorage.open(dir))).client,
  };
});

describe('StorageClient and serveStorage', () => {
  it('rejects a call it cannot send with ShelfError and leaves no call waiting', async () => {
    const { client } = await connect(new MemoryStorage());
    const error = await client
      .commit({ baseTid: 0, records: [], meta: { f: () => 1 } as never })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShelfError);
    expect(String((error as Error).message)).toMatch(/could not send this commit/);
    expect((await client.sync(0)).tid).toBe(0);
    await client.close(); // would wait for the lost call if it were still pending
  });

  it('drops every message that is not a call of a service method, and fails no call in flight', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const memory = new MemoryStorage();
    const seen: string[] = [];
    const { client, page } = await connect(
      hooked(
        memory,
        {
          stats: async () => {
            await gate;
            return memory.stats();
          },
        },
        seen,
      ),
    );
    const inFlight = client.stats();
    seen.length = 0;
    const raw = (value: unknown) => ({ type: 'RAW', value });
    const strays = [
      'junk',
      { id: 'x1', type: 'SET', path: ['load'], value: raw(null) }, // would replace the method
      { id: 'x2', type: 'GET', path: ['constructor'] },
      { id: 'x3', type: 'RELEASE', path: [] }, // would stop the service
      { id: 'x4', type: 'APPLY', path: ['drop'], argumentList: [] },
      { id: 'x5', type: 'APPLY', path: ['load'], argumentList: 5 },
      { id: 'x6', type: 'APPLY', path: ['load'], argumentList: [{ type: 'HANDLER', name: 'x' }] },
      { type: 'APPLY', path: ['close'], argumentList: [] }, // no id
    ];
    for (const stray of strays) page.postMessage(stray);
    await client.sync(0); // answered after the strays: one port keeps the order
    release();
    const stats = (await inFlight) as { ignoredMessages?: number };
    expect(stats.ignoredMessages).toBe(strays.length);
    expect(seen.sort()).toEqual(['stats', 'sync']); // only the page's own calls ran
    expect(await client.load([0])).toEqual([]); // the service still serves, unchanged
  });

  it('answers a commit whose record batch is malformed with ShelfError, storing nothing', async () => {
    const seen: string[] = [];
    const { page } = await connect(hooked(new MemoryStorage(), {}, seen));
    seen.length = 0;
    const answers: unknown[] = [];
    const forgedAnswered = new Promise<void>((resolve) =>
      page.addEventListener('message', (e) => {
        answers.push(e.data);
        if ((e.data as { id?: unknown }).id === 'forged') resolve();
      }),
    );
    const batch = packRecords([{ oid: 1, className: 'X', state: new Uint8Array(4), refs: [] }]);
    new DataView(batch).setUint32(0, 1000, true); // claims 1000 records
    page.postMessage(
      {
        id: 'forged',
        type: 'APPLY',
        path: ['commit'],
        argumentList: [
          { type: 'RAW', value: { baseTid: 0 } },
          { type: 'HANDLER', name: 'shelfdb:records', value: batch },
        ],
      },
      [batch],
    );
    await eventually(forgedAnswered, 'the answer to the forged commit');
    const answer = answers.find((a) => (a as { id?: unknown }).id === 'forged');
    expect(answer).toMatchObject({ type: 'HANDLER', name: 'throw' });
    expect(JSON.stringify(answer)).toMatch(/record batch is malformed/);
    expect(seen).toEqual([]);
  });

  it('answers calls with malformed arguments with an error, never running them', async () => {
    const seen: string[] = [];
    const { client } = await connect(hooked(new MemoryStorage(), {}, seen));
    seen.length = 0;
    await expect(client.load([-1])).rejects.toBeInstanceOf(ShelfError);
    await expect(client.sync(0.5)).rejects.toBeInstanceOf(ShelfError);
    await expect(client.history(NaN)).rejects.toBeInstanceOf(ShelfError);
    expect(seen).toEqual([]);
  });

  it("carries the storage's background errors to the page as the same error class", async () => {
    const emitters = new Set<(error: unknown) => void>();
    const { client } = await connect(
      hooked(new MemoryStorage(), {
        subscribeErrors: (listener) => {
          emitters.add(listener);
          return () => emitters.delete(listener);
        },
      }),
    );
    const reported: unknown[] = [];
    const arrived = new Promise<void>((resolve) =>
      client.subscribeErrors((error) => {
        reported.push(error);
        resolve();
      }),
    );
    for (const emit of emitters) emit(new StorageFullError('the relaxed flush found no room'));
    await eventually(arrived, 'the background error at the page');
    expect(reported[0]).toBeInstanceOf(StorageFullError);
    expect((reported[0] as Error).message).toMatch(/relaxed flush/);
  });

  it("tells the page a burst of others' commits in one message, in order", async () => {
    const listeners = new Set<(invalidation: Invalidation) => void>();
    const { client } = await connect(
      hooked(new MemoryStorage(), {
        subscribe: (listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      }),
    );
    const heard: number[] = [];
    const all = new Promise<void>((resolve) =>
      client.subscribe((invalidation) => {
        heard.push(invalidation.tid);
        if (heard.length === 5) resolve();
      }),
    );
    const calls: unknown[] = [];
    const post = MessagePort.prototype.postMessage;
    MessagePort.prototype.postMessage = function (this: MessagePort, message: unknown, ...rest) {
      const m = message as { type?: unknown; path?: unknown } | undefined;
      if (m?.type === 'APPLY') calls.push(m.path);
      return (post as (...a: unknown[]) => void).call(this, message, ...rest);
    };
    try {
      // One group commit of other tabs: five announcements in one turn.
      for (let tid = 1; tid <= 5; tid++) {
        for (const l of listeners) l({ tid, prevTid: tid - 1, oids: [tid] });
      }
      await all;
    } finally {
      MessagePort.prototype.postMessage = post;
    }
    expect(heard).toEqual([1, 2, 3, 4, 5]);
    expect(calls).toHaveLength(1);
  });

  it('tells the page, as an error, of an announcement the link could not carry', async () => {
    const listeners = new Set<(invalidation: Invalidation) => void>();
    const { client } = await connect(
      hooked(new MemoryStorage(), {
        subscribe: (listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      }),
    );
    const reported = new Promise<unknown>((resolve) => client.subscribeErrors(resolve));
    // A value structured clone cannot carry: the announcement never reaches the page.
    const unclonable = { tid: 1, prevTid: 0, oids: [1], extra: () => 0 } as Invalidation;
    for (const l of listeners) l(unclonable);
    const error = await eventually(reported, 'the error the page hears');
    expect(error).toBeInstanceOf(StorageError);
    expect(String((error as Error).message)).toMatch(/may have missed a commit.*resync/);
  });

  it('passes on the invalidation of a commit whose answer is StorageBusyError', async () => {
    const memory = new MemoryStorage();
    const listeners = new Set<(invalidation: Invalidation) => void>();
    const { client } = await connect(
      hooked(memory, {
        subscribe: (listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
        // The owner announced the commit, then its answer was lost: the worker knows it landed.
        commit: async (txn) => {
          for (const l of listeners) l({ tid: 7, prevTid: 6, oids: [0], txnId: txn.txnId });
          throw new StorageBusyError('the owner tab did not answer');
        },
      }),
    );
    const seen: Invalidation[] = [];
    const arrived = new Promise<void>((resolve) =>
      client.subscribe((invalidation) => {
        seen.push(invalidation);
        resolve();
      }),
    );
    const txn = { baseTid: 0, records: [], txnId: 'txn-1' };
    await expect(client.commit(txn)).rejects.toBeInstanceOf(StorageBusyError);
    await eventually(arrived, 'the invalidation at the page');
    expect(seen[0]).toMatchObject({ tid: 7, txnId: 'txn-1' });
  });

  it('fails a commit still in flight when the page closes with StorageBusyError (not known), other calls with DatabaseClosedError', async () => {
    const memory = new MemoryStorage();
    const never = new Promise<never>(() => undefined);
    const { client } = await connect(hooked(memory, { commit: () => never, stats: () => never }));
    const committing = client.commit({ baseTid: 0, records: [], txnId: 'in-flight' });
    const reading = client.stats();
    await client.close(); // the worker closed its storage; the commit never answered
    await expect(committing).rejects.toBeInstanceOf(StorageBusyError);
    await expect(reading).rejects.toBeInstanceOf(DatabaseClosedError);
  });

  it('keeps the calls in flight when the worker reports an uncaught error, and reports it', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const memory = new MemoryStorage();
    const { client, page } = await connect(
      hooked(memory, {
        stats: async () => {
          await gate;
          return memory.stats();
        },
      }),
    );
    const reported: unknown[] = [];
    client.subscribeErrors((error) => reported.push(error));
    const inFlight = client.stats();
    page.dispatchEvent(Object.assign(new Event('error'), { message: 'a timer threw' }));
    release();
    await expect(inFlight).resolves.toMatchObject({ objects: 0 });
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(StorageError);
    expect(String(reported[0])).toMatch(/a timer threw/);
  });
});
