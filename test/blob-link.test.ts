/**
 * Blobs across the links (issue #16): putBlob, readBlob and blobFile from a page through its storage
 * worker (StorageClient ↔ serveStorage over Comlink on a Node MessageChannel) and from one tab
 * through the tab that owns the files (TabRouter over the fake tabs' BroadcastChannels). A Blob
 * crosses as one call; bad arguments are refused by the receiver with a message naming the
 * argument, before any storage sees them; a put resent to a new owner stores its bytes once.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage, ShelfError, StorageBusyError, StorageError } from '../src/index.js';
import { BLOB_CLASS, encodeBlobRecord } from '../src/shared/blob-record.js';
import {
  PROTOCOL_VERSION,
  callsChannelName,
  databaseChannelName,
  tabChannelName,
} from '../src/shared/protocol.js';
import { decodeAnswer } from '../src/shared/storage-calls.js';
import { PackedCommitRequest, packRecords } from '../src/shared/record-batch.js';
import type { BlobInfo, CommitRequest, Storage } from '../src/shared/storage.js';
import { TabRouter } from '../worker/tab-router.js';
import { FakeHub, type FakeTab } from './fake-tabs.js';
import { closeLinks, link } from './link-fixture.js';
import { hooked } from './storage-hooks.js';
import { eventually } from './until.js';

afterEach(closeLinks);

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
/** `n` bytes that differ from one position to the next. */
const bytesOf = (n: number, seed = 1): Uint8Array<ArrayBuffer> =>
  Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) % 256);
const HASH = sha256(new Uint8Array([1, 2, 3]));
/** Bytes as a test compares them: a hex string (vitest compares large typed arrays slowly). */
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** The blob calls of `seen` (a hooked storage's call list). */
const blobCalls = (seen: string[]): string[] =>
  seen.filter((method) => ['putBlob', 'readBlob', 'blobFile'].includes(method));

/** Every way a page or tab can get the three calls' arguments wrong, and what the error names. */
const BAD_CALLS: [method: 'putBlob' | 'readBlob' | 'blobFile', args: unknown[], names: RegExp][] = [
  ['putBlob', ['text, not a Blob'], /putBlob: the blob must be a Blob or a File, not "text/],
  ['putBlob', [new Uint8Array([1, 2])], /putBlob: the blob must be a Blob or a File/],
  ['putBlob', [undefined], /putBlob: the blob must be a Blob or a File, not undefined/],
  ['readBlob', [HASH.toUpperCase(), 0, 1], /readBlob: the hash must be a SHA-256/],
  ['readBlob', ['../../etc/passwd', 0, 1], /readBlob: the hash must be a SHA-256/],
  ['readBlob', [HASH, -1, 2], /readBlob: start -1 is not a byte position/],
  ['readBlob', [HASH, 0, 1.5], /readBlob: end 1.5 is not a byte position/],
  ['readBlob', [HASH, 0], /readBlob: end undefined is not a byte position/],
  ['readBlob', [HASH, '0', 2], /readBlob: start "0" is not a byte position/],
  ['blobFile', [42], /blobFile: the hash must be a SHA-256 .* not 42/],
  ['blobFile', [`${HASH}0`], /blobFile: the hash must be a SHA-256/],
];

describe('blobs over the page link (StorageClient ↔ its storage worker)', () => {
  it('puts a Blob as one call and reads back its bytes, a range of them, and a platform Blob', async () => {
    const bytes = bytesOf(100_000);
    const seen: string[] = [];
    const { client } = await link(() => hooked(new MemoryStorage(), {}, seen));
    const info = await client.putBlob(new Blob([bytes], { type: 'image/png' }));
    expect(info).toEqual({ hash: sha256(bytes), size: bytes.length });
    expect(blobCalls(seen)).toEqual(['putBlob']);
    expect(hex(await client.readBlob(info.hash, 0, bytes.length))).toBe(hex(bytes));
    expect(hex(await client.readBlob(info.hash, 99_990, 200_000))).toBe(
      hex(bytes.subarray(99_990)),
    );
    const file = await client.blobFile(info.hash);
    expect(file).toBeInstanceOf(Blob);
    expect(hex(new Uint8Array(await file.arrayBuffer()))).toBe(hex(bytes));
    // The same bytes again (another File of them): one blob file.
    expect(await client.putBlob(new File([bytes], 'again.png'))).toEqual(info);
    expect(await client.stats()).toMatchObject({ blobs: 1, blobBytes: bytes.length });
    await client.close();
  });

  it('transfers the bytes readBlob answers instead of copying them, and never detaches a buffer the storage keeps', async () => {
    const own = bytesOf(64);
    const cache = bytesOf(1024, 5);
    const { client } = await link(() =>
      hooked(new MemoryStorage(), {
        // A storage answering with a buffer of its own, then with a view into one it keeps.
        readBlob: async (_hash, start) => (start === 0 ? own : cache.subarray(start, start + 8)),
      }),
    );
    expect(hex(await client.readBlob(HASH, 0, 64))).toBe(hex(bytesOf(64)));
    expect(own.buffer.byteLength).toBe(0); // transferred to the page: gone from the worker
    expect(hex(await client.readBlob(HASH, 16, 24))).toBe(hex(bytesOf(1024, 5).subarray(16, 24)));
    expect(cache).toEqual(bytesOf(1024, 5)); // the storage's own bytes are still whole
    await client.close();
  });

  it('refuses bad blob arguments with a message naming the argument, and the storage never sees them', async () => {
    const seen: string[] = [];
    const { client } = await link(() => hooked(new MemoryStorage(), {}, seen));
    const raw = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const [method, args, names] of BAD_CALLS) {
      const error = await raw[method]!.apply(client, args).catch((e: unknown) => e);
      expect(error, `${method}(${String(args)})`).toBeInstanceOf(ShelfError);
      expect((error as Error).message).toMatch(names);
    }
    expect(blobCalls(seen)).toEqual([]);
    await client.close();
  });

  it('stores the bytes a Blob subclass reads, not the empty native Blob beneath it', async () => {
    const bytes = bytesOf(5000, 4);
    /** A Blob whose bytes live elsewhere, as shelfdb's StoredBlob: natively, it is empty. */
    class LazyBlob extends Blob {
      override get size(): number {
        return bytes.length;
      }
      override stream(): ReturnType<Blob['stream']> {
        return new Blob([bytes]).stream();
      }
    }
    const { client } = await link(() => new MemoryStorage());
    expect(await client.putBlob(new LazyBlob())).toEqual({ hash: sha256(bytes), size: 5000 });
    await client.close();
  });

  it("refuses a commit whose blobRefs is malformed, naming it, before the storage's commit runs", async () => {
    const seen: string[] = [];
    const { client } = await link(() => hooked(new MemoryStorage(), {}, seen));
    const [oid] = await client.newOids(1);
    const records = [{ oid: oid!, className: 'Doc', state: new Uint8Array([0xa0]), refs: [] }];
    const bad: [unknown, RegExp][] = [
      ['7', /commit: blobRefs must be an array of at most \d+ blob record oids/],
      [{ length: 1, 0: 7 }, /commit: blobRefs must be an array/],
      [[3, -1], /commit: blobRefs names -1, which is not an oid/],
      [[1.5], /commit: blobRefs names 1.5, which is not an oid/],
      [['12'], /commit: blobRefs names "12", which is not an oid/],
    ];
    for (const [blobRefs, names] of bad) {
      const request = { baseTid: 0, records, blobRefs } as unknown as CommitRequest;
      const error = await client.commit(request).catch((e: unknown) => e);
      expect(error, JSON.stringify(blobRefs)).toBeInstanceOf(ShelfError);
      expect((error as Error).message).toMatch(names);
    }
    expect(seen.filter((method) => method === 'commit')).toEqual([]);
    expect((await client.stats()).objects).toBe(0);
    await client.close();
  });

  it('carries blobRefs across the link, packed or not: a commit naming a blob record with no revision is refused naming it', async () => {
    const { client } = await link(() => new MemoryStorage());
    const info = await client.putBlob(new Blob([new Uint8Array([1, 2, 3])]));
    const stored = await blobRecordCommit(client, info, 'refs-1');
    await client.commit(stored);
    const blob = stored.records[0]!.oid;
    const [holder, never] = (await client.newOids(2)) as [number, number];
    const records = [{ oid: holder, className: 'Doc', state: new Uint8Array([0xa0]), refs: [] }];
    const fields = { baseTid: 1, blobRefs: [blob, never] };
    for (const request of [
      { ...fields, records },
      new PackedCommitRequest(fields, packRecords(records)),
    ]) {
      const error = await client.commit(request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).message).toMatch(
        new RegExp(`blob record ${never} referenced by this commit \\(blobRefs\\) is not stored`),
      );
      expect((error as Error).message).not.toContain(`record ${blob},`);
    }
    expect((await client.load([holder])).length).toBe(0); // nothing was stored
    const tid = await client.commit(
      new PackedCommitRequest({ ...fields, blobRefs: [blob] }, packRecords(records)),
    );
    expect(tid).toBe(2);
    await client.close();
  });

  it('fails a read of a blob that is not stored with the storage error naming its hash', async () => {
    const { client } = await link(() => new MemoryStorage());
    for (const call of [client.readBlob(HASH, 0, 3), client.blobFile(HASH)]) {
      const error = await call.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).message).toContain(HASH);
    }
    await client.close();
  });
});

describe('blob answers as a caller checks them (an answer from another tab may be forged)', () => {
  it('takes a BlobInfo, bytes and a Blob, and refuses anything else', () => {
    const info: BlobInfo = { hash: HASH, size: 3 };
    expect(decodeAnswer('putBlob', info)).toEqual(info);
    const bytes = new Uint8Array([1, 2, 3]);
    expect(decodeAnswer('readBlob', bytes)).toBe(bytes);
    const blob = new Blob([bytes]);
    expect(decodeAnswer('blobFile', blob)).toBe(blob);
    for (const forged of [
      { hash: 'abc', size: 3 },
      { hash: HASH, size: -1 },
      { hash: HASH },
      HASH,
      null,
    ]) {
      expect(() => decodeAnswer('putBlob', forged)).toThrow(TypeError);
    }
    for (const forged of [[1, 2, 3], bytes.buffer, 'abc', blob]) {
      expect(() => decodeAnswer('readBlob', forged)).toThrow(TypeError);
    }
    for (const forged of [{ size: 3, type: '' }, bytes, 'abc']) {
      expect(() => decodeAnswer('blobFile', forged)).toThrow(TypeError);
    }
  });
});

/**
 * Tabs sharing one MemoryStorage, opened by whichever tab owns the files (never closed by a tab:
 * the files outlive their owners). `hooks` change what one tab's owner does.
 */
function origin() {
  const hub = new FakeHub();
  const files = new MemoryStorage();
  const seen: string[] = [];
  const join = (
    tab: FakeTab,
    tabId: string,
    hooks: (storage: Storage) => Partial<Storage> = () => ({}),
    busyTimeout = 2000,
  ) =>
    TabRouter.open(tab, { name: 'db', busyTimeout, tabId }, async () =>
      hooked(files, { close: async () => undefined, ...hooks(files) }, seen),
    );
  return { hub, files, seen, join };
}

/** A commit of one new blob record naming `info`, as a page commits a new Blob. */
async function blobRecordCommit(
  storage: Storage,
  info: BlobInfo,
  txnId: string,
): Promise<CommitRequest> {
  const [oid] = await storage.newOids(1);
  const state = encodeBlobRecord({ ...info, type: 'text/plain', name: 'note.txt' });
  return {
    baseTid: 0,
    records: [{ oid: oid!, className: BLOB_CLASS, state, refs: [] }],
    txnId,
  };
}

describe('blobs over the tab link (a tab ↔ the tab that owns the files)', () => {
  it('puts a Blob from a follower tab through the owner, and both tabs read its bytes and file', async () => {
    const { hub, seen, join } = origin();
    const owner = await join(hub.tab(), 'a');
    const follower = await join(hub.tab(), 'f');
    const bytes = bytesOf(300_000);
    const info = await follower.putBlob(new File([bytes], 'photo.jpg', { type: 'image/jpeg' }));
    expect(info).toEqual({ hash: sha256(bytes), size: bytes.length });
    expect(blobCalls(seen)).toEqual(['putBlob']); // one call, run by the owner
    for (const tab of [follower, owner]) {
      expect(hex(await tab.readBlob(info.hash, 10, 20))).toBe(hex(bytes.subarray(10, 20)));
      const file = await tab.blobFile(info.hash);
      expect(hex(new Uint8Array(await file.arrayBuffer()))).toBe(hex(bytes));
    }
    await follower.close();
    await owner.close();
  });

  it("refuses another tab's bad blob arguments with a message naming the argument, and the owner's storage never sees them", async () => {
    const { hub, seen, join } = origin();
    const owner = await join(hub.tab(), 'a');
    const tab = hub.tab();
    const answers = new Map<number, unknown>();
    const answered = new Map<number, () => void>();
    // A tab speaking raw messages (another version of the app, or an attacker).
    tab.channel(tabChannelName('db', 'rogue')).addEventListener('message', (e) => {
      const { id } = e.data as { id: number };
      answers.set(id, e.data);
      answered.get(id)?.();
    });
    const calls = tab.channel(callsChannelName('db'));
    let id = 0;
    for (const [method, args, names] of BAD_CALLS) {
      id++;
      const answer = eventually(
        new Promise<void>((resolve) => answered.set(id, resolve)),
        `the answer to ${method}`,
      );
      calls.postMessage({ v: PROTOCOL_VERSION, type: 'call', id, method, args, from: 'rogue' });
      await answer;
      const reply = answers.get(id) as { type: string; error?: { message: string } };
      expect(reply.type, `${method}(${String(args)})`).toBe('error');
      expect(reply.error?.message).toMatch(names);
    }
    expect(blobCalls(seen)).toEqual([]);
    await owner.close();
  });

  it('stores a put resent to the next owner once, when the owner stored it and died before answering', async () => {
    const { hub, files, seen, join } = origin();
    const ownerTab = hub.tab();
    let stored!: () => void;
    const storedAtOwner = new Promise<void>((resolve) => (stored = resolve));
    await join(ownerTab, 'a', (storage) => ({
      // The owner stores the bytes, and its tab is killed before its answer goes out.
      putBlob: async (blob) => {
        await storage.putBlob(blob);
        stored();
        return new Promise<BlobInfo>(() => undefined);
      },
    }));
    const next = await join(hub.tab(), 'b'); // next in line for the files
    const follower = await join(hub.tab(), 'f');
    const bytes = bytesOf(50_000);
    const put = follower.putBlob(new Blob([bytes]));
    await storedAtOwner;
    ownerTab.crash();
    const info = await put; // answered by b, to which f resent it
    expect(info).toEqual({ hash: sha256(bytes), size: bytes.length });
    expect(blobCalls(seen)).toEqual(['putBlob', 'putBlob']);
    expect(await files.stats()).toMatchObject({ blobs: 1, blobBytes: bytes.length });
    // The commit naming it lands once, through the new owner, and both tabs read the bytes.
    const request = await blobRecordCommit(follower, info, 'f-1');
    const tid = await follower.commit(request);
    expect(await follower.commit(request)).toBe(tid); // a resend is answered, not written again
    expect(await next.transactions()).toHaveLength(1);
    expect(hex(await next.readBlob(info.hash, 0, 50_000))).toBe(hex(bytes));
    expect(hex(await follower.readBlob(info.hash, 49_990, 50_000))).toBe(
      hex(bytes.subarray(49_990)),
    );
    await follower.close();
    await next.close();
  });

  it('lands the commit of a blob put before the owner tab closed, through the next owner', async () => {
    const { hub, join } = origin();
    const owner = await join(hub.tab(), 'a');
    const next = await join(hub.tab(), 'b');
    const follower = await join(hub.tab(), 'f');
    const bytes = bytesOf(20_000, 9);
    const info = await follower.putBlob(new Blob([bytes], { type: 'text/plain' }));
    const request = await blobRecordCommit(follower, info, 'f-2');
    await owner.close(); // between the put and the commit
    const tid = await follower.commit(request);
    const [record] = await next.load([request.records[0]!.oid]);
    expect(record).toMatchObject({ className: BLOB_CLASS, tid });
    expect(await next.transactions()).toHaveLength(1);
    for (const tab of [follower, next]) {
      expect(hex(await tab.readBlob(info.hash, 0, bytes.length))).toBe(hex(bytes));
    }
    await follower.close();
    await next.close();
  });

  it("lets a follower's put run longer than busyTimeout while the owner shows it is alive", async () => {
    const { hub, join } = origin();
    const busyTimeout = 300;
    // Greetings from f on the database channel: f asks the owner for a sign of life by them.
    let hellos = 0;
    let heard = (): void => undefined;
    hub
      .tab()
      .channel(databaseChannelName('db'))
      .addEventListener('message', (e) => {
        const { type, tabId } = e.data as { type?: string; tabId?: string };
        if (type !== 'hello' || tabId !== 'f') return;
        hellos++;
        heard();
      });
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const owner = await join(
      hub.tab(),
      'a',
      (storage) => ({
        // The owner streams the blob for longer than busyTimeout: until f has asked 6 times (twice busyTimeout).
        putBlob: async (blob) => {
          const start = hellos;
          await Promise.race([
            released,
            new Promise<void>((resolve) => (heard = () => hellos >= start + 6 && resolve())),
          ]);
          return storage.putBlob(blob);
        },
      }),
      busyTimeout,
    );
    const follower = await join(hub.tab(), 'f', undefined, busyTimeout);
    const bytes = bytesOf(1000);
    try {
      await expect(follower.putBlob(new Blob([bytes]))).resolves.toEqual({
        hash: sha256(bytes),
        size: 1000,
      });
    } finally {
      release();
    }
    await follower.close();
    await owner.close();
  });

  it("fails a follower's put with StorageBusyError after busyTimeout when the owner tab is frozen", async () => {
    const { hub, join } = origin();
    const ownerTab = hub.tab();
    await join(ownerTab, 'a', undefined, 300);
    const follower = await join(hub.tab(), 'f', undefined, 300);
    ownerTab.freeze(); // it holds the files and answers nothing, not even a hello
    const busy: unknown[] = [];
    follower.subscribeBusy((error) => busy.push(error));
    await expect(follower.putBlob(new Blob([bytesOf(10)]))).rejects.toBeInstanceOf(
      StorageBusyError,
    );
    expect(busy).toHaveLength(1);
    ownerTab.crash();
    await follower.close();
  });
});
