import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { NodeBlockDirectory } from '../worker/node-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import {
  describeStorage,
  describeStorageArguments,
  describeStorageInProcess,
} from './storage-contract.js';
import type { StoredRecord, Tid } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-shelf-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;

describeStorage('ShelfStorage on memory', async () => {
  const dir = new MemoryBlockDirectory();
  return { storage: await ShelfStorage.open(dir), reopen: () => ShelfStorage.open(dir) };
});
describeStorageArguments('ShelfStorage on memory', () =>
  ShelfStorage.open(new MemoryBlockDirectory()),
);
describeStorageInProcess('ShelfStorage on memory', () =>
  ShelfStorage.open(new MemoryBlockDirectory()),
);
describeStorage('ShelfStorage on a Node directory', async () => {
  const path = join(scratch, `db-${dirs++}`);
  const open = async () =>
    ShelfStorage.open(await NodeBlockDirectory.create(path), { kind: 'file' });
  return { storage: await open(), reopen: open };
});
describeStorage('ShelfStorage on memory, relaxed durability', () =>
  ShelfStorage.open(new MemoryBlockDirectory(), { durability: 'relaxed' }),
);

const rec = (oid: number, byte: number, refs: number[] = [], tid?: number): StoredRecord => {
  const r: StoredRecord = { oid, className: 'test.Thing', state: new Uint8Array([byte]), refs };
  if (tid !== undefined) r.tid = tid;
  return r;
};

describe('ShelfStorage', () => {
  it('reopens with everything committed, from the checkpoint written at close', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const oids = await s.newOids(100);
    let tid = await s.commit({ baseTid: 0, records: [rec(0, 0, oids)] });
    for (const oid of oids)
      tid = await s.commit({ baseTid: tid, records: [rec(oid, oid & 0xff)], note: `n${oid}` });
    await s.close();
    expect([...dir.files.keys()].some((n) => n.startsWith('index-'))).toBe(true);
    const again = await ShelfStorage.open(dir);
    expect((await again.sync(Number.MAX_SAFE_INTEGER)).tid).toBe(tid);
    const loaded = await again.load(oids);
    expect(loaded.map((r) => r.state[0])).toEqual(oids.map((o) => o & 0xff));
    expect((await again.transactions({ limit: 1 }))[0]?.note).toBe(`n${oids.at(-1)}`);
    expect((await again.stats()).transactions).toBe(101);
    // Oids handed out before the reopen are never handed out again.
    expect(Math.min(...(await again.newOids(5)))).toBeGreaterThan(Math.max(...oids));
    await again.close();
  });

  it('reopens without a checkpoint (a crash) by reading the whole log', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const [a] = (await s.newOids(1)) as [number];
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1, [a]), rec(a, 2)] });
    await s.commit({ baseTid: t1, records: [rec(a, 3, [], t1)] });
    // No close: the files are as a killed tab leaves them.
    const again = await ShelfStorage.open(dir);
    expect((await again.load([a]))[0]?.state[0]).toBe(3);
    expect((await again.load([a], t1))[0]?.state[0]).toBe(2);
    const [b] = (await again.newOids(1)) as [number];
    expect(b).toBeGreaterThan(a);
  });

  it('remembers the txnIds of the log after reopening without a checkpoint', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const tid = await s.commit({ baseTid: 0, records: [rec(0, 1)], txnId: 'x-1' });
    const again = await ShelfStorage.open(dir); // as after a crash: no close, no checkpoint
    expect(await again.commit({ baseTid: 0, records: [rec(0, 1)], txnId: 'x-1' })).toBe(tid);
    expect((await again.stats()).transactions).toBe(1);
  });

  it('verify reports a damaged entry with its offset', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const t1 = await s.commit({ baseTid: 0, records: [rec(0, 1)] });
    await s.commit({ baseTid: t1, records: [rec(0, 2, [], t1)] });
    const file = dir.files.get('seg-000001.log')!;
    const bytes = file.snapshot();
    bytes[32 + 45] = (bytes[32 + 45] as number) ^ 0xff;
    file.restore(bytes);
    const report = await s.verify();
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(
      expect.objectContaining({ kind: 'checksum', offset: 32 }),
    );
  });

  it('shares one write and one flush among commits that arrive together (group commit)', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const oids = await s.newOids(20);
    await s.commit({ baseTid: 0, records: [rec(0, 0, oids)] });
    const file = dir.files.get('seg-000001.log');
    let writes = 0;
    let flushes = 0;
    const flush = file!.flush.bind(file);
    file!.beforeWrite = () => void writes++;
    file!.flush = () => {
      flushes++;
      flush();
    };
    const tids = await Promise.all(
      oids.map((oid) => s.commit({ baseTid: 1, records: [rec(oid, 1)] })),
    );
    expect(new Set(tids).size).toBe(20);
    expect(writes).toBe(1);
    expect(flushes).toBe(1);
  });

  it("groups a commit of another client that arrives after a flush with those queued behind it, and flushes a client's next commit at once", async () => {
    const dir = new MemoryBlockDirectory();
    let hops = 0;
    const schedule = (task: () => void): void => {
      hops++;
      setImmediate(task);
    };
    const s = await ShelfStorage.open(dir, { schedule });
    const oids = await s.newOids(6);
    let tid = await s.commit({ baseTid: 0, records: [rec(0, 0, oids)], txnId: 'a.0' });
    const file = dir.files.get('seg-000001.log');
    let writes = 0;
    file!.beforeWrite = () => void writes++;
    // One client committing one transaction after another: no waiting for others.
    hops = 0;
    for (let i = 1; i <= 3; i++) {
      tid = await s.commit({ baseTid: tid, records: [rec(oids[0]!, i)], txnId: `a.${i}` });
    }
    expect(hops).toBe(0);
    expect(writes).toBe(3);
    // Two other clients' commits, queued as messages are during a flush: one write for both.
    const landed = await new Promise<Tid[]>((resolve, reject) => {
      const sent: Promise<Tid>[] = [];
      setImmediate(() =>
        sent.push(s.commit({ baseTid: tid, records: [rec(oids[1]!, 1)], txnId: 'b.0' })),
      );
      setImmediate(() => {
        sent.push(s.commit({ baseTid: tid, records: [rec(oids[2]!, 1)], txnId: 'c.0' }));
        Promise.all(sent).then(resolve, reject);
      });
    });
    expect(new Set(landed).size).toBe(2);
    expect(writes).toBe(4);
    await s.close();
  });

  it('refuses a directory that is not a shelfdb database, leaving it untouched', async () => {
    const dir = new MemoryBlockDirectory();
    const notes = await dir.open('notes.txt');
    notes.write(0, new TextEncoder().encode('my notes'));
    await expect(ShelfStorage.open(dir)).rejects.toThrow(/not a shelfdb database/);
    expect([...dir.files.keys()]).toEqual(['notes.txt']);

    const fake = new MemoryBlockDirectory();
    (await fake.open('manifest.0')).write(0, new TextEncoder().encode('{"hello": "world"}'));
    await expect(ShelfStorage.open(fake)).rejects.toThrow(/not a shelfdb manifest/);
    expect(fake.files.get('manifest.0')?.size()).toBe(18);
  });

  it('packs away garbage and keeps working after reopening', async () => {
    const dir = new MemoryBlockDirectory();
    const s = await ShelfStorage.open(dir);
    const [a, b, c] = (await s.newOids(3)) as [number, number, number];
    const t1 = await s.commit({
      baseTid: 0,
      records: [rec(0, 0, [a, b]), rec(a, 1, [c]), rec(b, 1), rec(c, 1)],
    });
    let t = t1;
    for (let i = 2; i < 20; i++) t = await s.commit({ baseTid: t, records: [rec(a, i, [c], t)] });
    t = await s.commit({ baseTid: t, records: [rec(0, 9, [a], t1)] }); // b unreachable
    const before = await s.stats();
    const result = await s.pack();
    expect(result.objectsRemoved).toBe(1);
    expect(result.revisionsRemoved).toBeGreaterThan(18);
    const after = await s.stats();
    expect(after.bytes).toBeLessThan(before.bytes);
    expect(after.garbageBytes).toBe(0);
    expect(after.objects).toBe(3);
    expect((await s.load([a]))[0]?.state[0]).toBe(19);
    expect(await s.load([b])).toEqual([]);
    t = await s.commit({ baseTid: t, records: [rec(c, 7, [], t1)] });
    await s.close();
    const files = [...dir.files.keys()].sort();
    // The old segment and index are gone: the compacted copy of the old segment (3) and the
    // segment pack started for the commits during and after it (2), one index, two manifests.
    expect(files.filter((f) => /^index-\d+\.idx$/.test(f))).toHaveLength(1);
    expect(files.filter((f) => !f.startsWith('index-'))).toEqual([
      'manifest.0',
      'manifest.1',
      'seg-000002.log',
      'seg-000003.log',
    ]);
    const again = await ShelfStorage.open(dir);
    expect((await again.load([0, a, c])).map((r) => r.state[0])).toEqual([9, 19, 7]);
    expect((await again.transactions()).length).toBe(t);
    expect((await again.history(a)).length).toBe(1);
  });
});
