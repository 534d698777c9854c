/**
 * ShelfStorage under failure: each case is a defect a review reproduced (issue #9), kept as the
 * test that failed before its fix. The fault-injection harness (fault-injection.test.ts) covers
 * the same classes exhaustively; these name the cases one by one.
 */
import { describe, expect, it } from 'vitest';
import {
  MemoryBlockDirectory,
  MemoryBlockFile,
  type BlockDirectory,
  type BlockFile,
} from '../worker/block-file.js';
import type { BlobStore } from '../worker/blob-store.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import {
  KIND_TRANSACTION,
  decodeManifest,
  encodeEntry,
  position,
  segmentName,
} from '../worker/shelf-format.js';
import {
  CorruptStorageError,
  ShelfError,
  StorageBusyError,
  StorageFullError,
  type StoredRecord,
} from '../src/index.js';

const rec = (oid: number, byte: number, refs: number[] = [], tid?: number): StoredRecord => {
  const r: StoredRecord = { oid, className: 'test.Thing', state: new Uint8Array([byte]), refs };
  if (tid !== undefined) r.tid = tid;
  return r;
};

const quota = (): Error => Object.assign(new Error('quota'), { name: 'QuotaExceededError' });

/** A directory whose file operations can be made to fail by name, and which counts handles. */
class TrapDirectory implements BlockDirectory {
  readonly inner = new MemoryBlockDirectory();
  /** Open handles by file name. */
  readonly handles = new Map<string, number>();
  closed = 0;
  failFlush: ((name: string) => boolean) | undefined;
  failTruncate: ((name: string) => boolean) | undefined;

  blobStore(): Promise<BlobStore> {
    return this.inner.blobStore();
  }

  async open(name: string): Promise<BlockFile> {
    const file = (await this.inner.open(name)) as MemoryBlockFile;
    this.handles.set(name, (this.handles.get(name) ?? 0) + 1);
    const dir = { handles: this.handles, trap: this };
    let open = true;
    return {
      read: (o, l) => file.read(o, l),
      write: (o, d) => file.write(o, d),
      size: () => file.size(),
      truncate(size) {
        if (dir.trap.failTruncate?.(name)) throw new Error(`EIO: truncate ${name}`);
        file.truncate(size);
      },
      flush() {
        if (dir.trap.failFlush?.(name)) throw new Error(`EIO: flush ${name}`);
        file.flush();
      },
      close() {
        if (open) dir.handles.set(name, (dir.handles.get(name) ?? 1) - 1);
        open = false;
      },
    };
  }
  list(): Promise<string[]> {
    return this.inner.list();
  }
  remove(name: string): Promise<void> {
    return this.inner.remove(name);
  }
  async close(): Promise<void> {
    this.closed++;
  }
  file(name: string): MemoryBlockFile {
    return this.inner.files.get(name) as MemoryBlockFile;
  }
  get openHandles(): number {
    return [...this.handles.values()].reduce((a, b) => a + b, 0);
  }
}

/** What a power cut leaves: each file as of its last flush. */
function crashImage(dir: MemoryBlockDirectory): MemoryBlockDirectory {
  const image = new MemoryBlockDirectory();
  for (const [name, file] of dir.files) {
    const copy = new MemoryBlockFile();
    copy.restore(file.snapshot().slice(0, file.durableSize));
    image.files.set(name, copy);
  }
  return image;
}

describe('ShelfStorage under failure', () => {
  it('answers a commit resent after close and reopen with its tid, storing it once', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const [a] = (await s.newOids(1)) as [number];
    const base = await s.commit({ baseTid: 0, records: [rec(0, 0, [a]), rec(a, 1)] });
    const request = { baseTid: base, records: [rec(a, 2, [], base)], txnId: 'tab-1:7' };
    const tid = await s.commit(request);
    await s.close(); // checkpoints: the txn ids in memory are gone
    const again = await ShelfStorage.open(dir);
    expect(await again.commit({ ...request, records: [rec(a, 2, [], base)] })).toBe(tid);
    expect((await again.stats()).transactions).toBe(2);
    expect((await again.load([a]))[0]?.state[0]).toBe(2);
    await again.close();
  });

  it('answers a resend after pack and after a crash reopen the same way', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const [a] = (await s.newOids(1)) as [number];
    const base = await s.commit({ baseTid: 0, records: [rec(0, 0, [a]), rec(a, 1)] });
    const request = () => ({ baseTid: base, records: [rec(a, 2, [], base)], txnId: 'resent' });
    const tid = await s.commit(request());
    await s.pack();
    expect(await s.commit(request())).toBe(tid);
    // No close: a crash. The reopened storage reads the log; the resend still lands once.
    const again = await ShelfStorage.open(crashImage(dir));
    expect(await again.commit(request())).toBe(tid);
    expect((await again.transactions()).map((t) => t.tid)).toEqual([tid, base]);
  });

  it('joins a resend that arrives while its first sending waits for the group flush', async () => {
    const s = await ShelfStorage.open(new MemoryBlockDirectory());
    const request = () => ({ baseTid: 0, records: [rec(0, 1)], txnId: 'twice' });
    const [first, second] = await Promise.all([s.commit(request()), s.commit(request())]);
    expect(second).toBe(first);
    expect((await s.stats()).transactions).toBe(1);
  });

  it('leaves the database as it was when pack cannot write its index (full disk)', async () => {
    const dir = new TrapDirectory();
    const s = await ShelfStorage.open(dir);
    const [a, b] = (await s.newOids(2)) as [number, number];
    let tid = await s.commit({ baseTid: 0, records: [rec(0, 0, [a]), rec(a, 1), rec(b, 9)] });
    tid = await s.commit({ baseTid: tid, records: [rec(a, 2, [], tid)] });
    const original = dir.inner.open.bind(dir.inner);
    dir.inner.open = async (name) => {
      const file = (await original(name)) as MemoryBlockFile;
      if (name.startsWith('index-')) {
        file.beforeWrite = () => {
          throw quota();
        };
      }
      return file;
    };
    await expect(s.pack()).rejects.toBeInstanceOf(StorageFullError);
    dir.inner.open = original;
    // Two manifest slots, the old segment and the one pack started for commits: nothing leaked.
    expect(dir.openHandles).toBe(4);
    expect((await s.load([a, b])).map((r) => r.state[0])).toEqual([2, 9]);
    await s.commit({ baseTid: tid, records: [rec(a, 3, [], tid)] });
    expect((await s.verify()).ok).toBe(true);
    await s.close();
    const again = await ShelfStorage.open(dir);
    expect((await again.load([a, b])).map((r) => r.state[0])).toEqual([3, 9]);
    expect((await again.verify()).ok).toBe(true);
    // And the next pack works (no handle of the failed one is still holding its files).
    await again.pack();
    expect((await again.load([a])).map((r) => r.state[0])).toEqual([3]);
  });

  it('never checkpoints log bytes that are not flushed (relaxed durability)', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir, { durability: 'relaxed', checkpointEvery: 2 });
    const oids = await s.newOids(3);
    let tid = await s.commit({ baseTid: 0, records: [rec(0, 0, oids)] });
    for (const [i, oid] of oids.entries()) {
      tid = await s.commit({ baseTid: tid, records: [rec(oid, i)] });
    }
    await s.checkpoint();
    // A power cut now: every file as of its last flush.
    const again = await ShelfStorage.open(crashImage(dir));
    expect((await again.load(oids)).map((r) => r.state[0])).toEqual([0, 1, 2]);
    expect((await again.verify()).ok).toBe(true);
    await again.commit({ baseTid: tid, records: [rec(oids[0] as number, 7, [], tid)] });
  });

  it('runs checkpoint and pack one after the other when both are asked at once', async () => {
    const orders: ((s: ShelfStorage) => Promise<unknown>[])[] = [
      (s) => [s.checkpoint(), s.pack()],
      (s) => [s.pack(), s.checkpoint()],
      (s) => [s.checkpoint(), s.pack(), s.checkpoint()],
    ];
    for (const order of orders) {
      const dir = new MemoryBlockDirectory();
      const s = await ShelfStorage.open(dir);
      const oids = await s.newOids(5);
      let tid = await s.commit({ baseTid: 0, records: [rec(0, 0, oids)] });
      for (const oid of oids) tid = await s.commit({ baseTid: tid, records: [rec(oid, oid)] });
      await Promise.all(order(s));
      expect((await s.verify()).ok).toBe(true);
      // A crash now: the files the current manifest names must all be there.
      const again = await ShelfStorage.open(crashImage(dir));
      expect((await again.load(oids)).map((r) => r.state[0])).toEqual(oids);
      expect((await again.verify()).ok).toBe(true);
    }
  });

  it('fails only the bad commit of a group, at once, and stores its batch-mates', async () => {
    const s = await ShelfStorage.open(new MemoryBlockDirectory());
    const [a, b] = (await s.newOids(2)) as [number, number];
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const results = await Promise.allSettled([
      s.commit({ baseTid: 0, records: [rec(a, 1)] }),
      s.commit({ baseTid: 0, records: [rec(b, 2)], meta: { n: 1n } as never }),
      s.commit({ baseTid: 0, records: [rec(0, 3)], meta: cyclic }),
    ]);
    expect(results[0].status).toBe('fulfilled');
    for (const r of results.slice(1)) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ShelfError);
      expect(String((r as PromiseRejectedResult).reason.message)).toMatch(/JSON/);
    }
    // The oids of the refused commits are free for the next commit.
    await s.commit({ baseTid: 0, records: [rec(b, 4), rec(0, 5)] });
    expect((await s.load([a, b])).map((r) => r.state[0])).toEqual([1, 4]);
  });

  it('refuses a class name too long to store before it joins a group', async () => {
    const s = await ShelfStorage.open(new MemoryBlockDirectory());
    const [a] = (await s.newOids(1)) as [number];
    const long = { ...rec(a, 1), className: 'x'.repeat(70_000) };
    await expect(s.commit({ baseTid: 0, records: [long] })).rejects.toThrow(/class name/);
    await s.commit({ baseTid: 0, records: [rec(a, 2)] });
  });

  it('cuts a torn transaction whose state holds a copy of the log, never resuming inside it', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const [a, b] = (await s.newOids(2)) as [number, number];
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 0, [a, b]), rec(a, 1)] });
    // An export of the log so far, kept as data: every entry in it is a valid entry's bytes.
    const exported = dir.files.get(segmentName(1))?.snapshot() as Uint8Array;
    await s.commit({
      baseTid: t1,
      records: [{ oid: b, className: 'test.Export', state: exported, refs: [] }],
    });
    const log = dir.files.get(segmentName(1)) as MemoryBlockFile;
    log.truncate(log.size() - 3); // the last write torn by a crash
    const again = await ShelfStorage.open(dir);
    expect(again.recovery.truncated).toHaveLength(1);
    expect((await again.load([a, b])).map((r) => r.oid)).toEqual([a]);
    expect((await again.sync(0)).tid).toBe(t1);
  });

  it('never applies a forged entry inside a damaged transaction, even with recover', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const [a, b] = (await s.newOids(2)) as [number, number];
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 0, [a, b]), rec(a, 1)] });
    const forged = encodeEntry(
      {
        kind: KIND_TRANSACTION,
        tid: 999,
        time: 0,
        nextOid: 10,
        metadata: { note: 'forged', user: '', meta: {} },
        records: [
          { oid: a, className: 'test.Thing', state: new Uint8Array([66]), refs: [], prev: 0 },
        ],
      },
      position(1, 4096),
    ).bytes;
    await s.commit({
      baseTid: t1,
      records: [{ oid: b, className: 'test.Blob', state: forged, refs: [] }],
    });
    const t3 = await s.commit({ baseTid: t1, records: [rec(0, 3, [a, b], t1)] });
    // Damage the second transaction's header: recovery must look for the next entry.
    const log = dir.files.get(segmentName(1)) as MemoryBlockFile;
    const bytes = log.snapshot();
    const starts: number[] = [];
    for (let at = 32; at < bytes.byteLength; at += new DataView(bytes.buffer).getUint32(at, true))
      starts.push(at);
    const second = starts[2] as number; // after the oid reservation and the first transaction
    expect(bytes[second + 4]).toBe(KIND_TRANSACTION);
    bytes[second + 20] = (bytes[second + 20] as number) ^ 0xff;
    log.restore(bytes);
    const again = await ShelfStorage.open(dir, { recover: true });
    expect(again.recovery.dropped).toHaveLength(1);
    expect((await again.sync(0)).tid).toBe(t3);
    expect((await again.load([a]))[0]?.state[0]).toBe(1);
    expect((await again.transactions()).map((t) => t.note)).not.toContain('forged');
  });

  it('releases the files and the directory when the checkpoint at close fails, and says so', async () => {
    const dir = new TrapDirectory();
    const s = await ShelfStorage.open(dir);
    const tid = await s.commit({ baseTid: 0, records: [rec(0, 1)] });
    dir.failFlush = (name) => name.startsWith('index-');
    await expect(s.close()).rejects.toBeInstanceOf(ShelfError);
    expect(dir.openHandles).toBe(0);
    expect(dir.closed).toBe(1);
    dir.failFlush = undefined;
    const again = await ShelfStorage.open(dir);
    expect((await again.sync(0)).tid).toBe(tid);
    expect((await again.load([0]))[0]?.state[0]).toBe(1);
  });

  it('opens when the manifest slot not in use is zero-filled', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const tid = await s.commit({ baseTid: 0, records: [rec(0, 1)] });
    await s.close();
    const slots = ['manifest.0', 'manifest.1'].map((name) => {
      const file = dir.files.get(name) as MemoryBlockFile;
      return { file, generation: decodeManifest(file.snapshot(), name)?.generation ?? -1 };
    });
    slots.sort((x, y) => x.generation - y.generation);
    const stale = slots[0]?.file as MemoryBlockFile;
    stale.restore(new Uint8Array(Math.max(stale.size(), 64))); // extended, never filled
    const again = await ShelfStorage.open(dir);
    expect((await again.sync(0)).tid).toBe(tid);
  });

  it('reports a full disk in pack, checkpoint and newOids as StorageFullError', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const oids = await s.newOids(10);
    await s.commit({ baseTid: 0, records: [rec(0, 0, oids)] });
    const full = (file: MemoryBlockFile | undefined) => {
      if (file !== undefined)
        file.beforeWrite = () => {
          throw quota();
        };
    };
    full(dir.files.get(segmentName(1)));
    await expect(s.newOids(5000)).rejects.toBeInstanceOf(StorageFullError);
    const open = dir.open.bind(dir);
    dir.open = async (name) => {
      const file = await open(name);
      full(file as MemoryBlockFile);
      return file;
    };
    await expect(s.checkpoint()).rejects.toBeInstanceOf(StorageFullError);
    await expect(s.pack()).rejects.toBeInstanceOf(StorageFullError);
  });

  it('reports an index pointing past the end of the log as CorruptStorageError naming file and byte', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const [a] = (await s.newOids(1)) as [number];
    await s.commit({ baseTid: 0, records: [rec(0, 0, [a]), rec(a, 1)] });
    const log = dir.files.get(segmentName(1)) as MemoryBlockFile;
    log.truncate(40);
    const error = await s.load([a]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStorageError);
    expect(String((error as Error).message)).toMatch(/seg-000001\.log byte \d+/);
  });

  it('rejects a commit whose write and undo both failed as not known, and stops writing', async () => {
    const dir = new TrapDirectory();
    const s = await ShelfStorage.open(dir);
    await s.commit({ baseTid: 0, records: [rec(0, 1)] });
    dir.failFlush = (name) => name.startsWith('seg-');
    dir.failTruncate = (name) => name.startsWith('seg-');
    const error = await s
      .commit({ baseTid: 1, records: [rec(0, 2, [], 1)], txnId: 'unsure' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageBusyError);
    // Nothing is built on an uncertain log: every later call fails until reopened.
    await expect(s.load([0])).rejects.toThrow(/reopen/);
    await expect(
      s.commit({ baseTid: 1, records: [rec(0, 2, [], 1)], txnId: 'unsure' }),
    ).rejects.toBeInstanceOf(StorageBusyError);
    await s.close();
    dir.failFlush = dir.failTruncate = undefined;
    // Reopened, the log decides; a resend lands exactly once either way.
    const again = await ShelfStorage.open(dir);
    const tid = await again.commit({ baseTid: 1, records: [rec(0, 2, [], 1)], txnId: 'unsure' });
    expect(tid).toBe(2);
    expect((await again.stats()).transactions).toBe(2);
  });

  it('undoes a commit whose flush failed, durably, and reports it as not stored', async () => {
    const dir = new TrapDirectory();
    const s = await ShelfStorage.open(dir);
    await s.commit({ baseTid: 0, records: [rec(0, 1)] });
    let failures = 1;
    dir.failFlush = (name) => name.startsWith('seg-') && failures-- > 0;
    await expect(s.commit({ baseTid: 1, records: [rec(0, 2, [], 1)] })).rejects.toThrow(
      /not stored/,
    );
    // The undo was flushed: a power cut now does not bring the refused commit back.
    const image = await ShelfStorage.open(crashImage(dir.inner));
    expect((await image.load([0]))[0]?.state[0]).toBe(1);
    expect(await s.commit({ baseTid: 1, records: [rec(0, 3, [], 1)] })).toBe(2);
  });

  it("reports a failed automatic checkpoint and a failed relaxed flush to 'subscribeErrors'", async () => {
    const dir = new TrapDirectory();
    const s = await ShelfStorage.open(dir, { durability: 'relaxed', checkpointEvery: 1 });
    const errors: unknown[] = [];
    s.subscribeErrors((e) => errors.push(e));
    const reported = new Promise<void>((resolve) => s.subscribeErrors(() => resolve()));
    dir.failFlush = (name) => name.startsWith('seg-');
    await s.commit({ baseTid: 0, records: [rec(0, 1)] }); // acknowledged after the write
    await reported;
    expect(errors[0]).toBeInstanceOf(ShelfError);
    dir.failFlush = undefined;
    expect((await s.load([0]))[0]?.state[0]).toBe(1);
  });
});
