/**
 * Crashes, torn tails, damage and full disks: what ShelfStorage keeps and what it reports.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CorruptStorageError, StorageFullError, type StoredRecord } from '../src/index.js';
import { MemoryBlockDirectory, type MemoryBlockFile } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';

const SEG = 'seg-000001.log';
const rec = (oid: number, value: number, tid?: number): StoredRecord => {
  const r: StoredRecord = {
    oid,
    className: 'test.Cell',
    state: new Uint8Array([value, value, value]),
    refs: [],
  };
  if (tid !== undefined) r.tid = tid;
  return r;
};

/** A copy of a directory as a crash leaves it: every file with the bytes written so far. */
function copyDir(dir: MemoryBlockDirectory, durableOnly = false): MemoryBlockDirectory {
  const copy = new MemoryBlockDirectory();
  for (const [name, file] of dir.files) {
    const f =
      copy.files.get(name) ??
      (copy.files.set(name, new (file.constructor as new () => MemoryBlockFile)()),
      copy.files.get(name));
    const content = file.snapshot();
    (f as MemoryBlockFile).restore(durableOnly ? content.subarray(0, file.durableSize) : content);
  }
  return copy;
}

/** A database of `n` committed transactions (each writing oid 1 with value i), not closed. */
async function logOf(n: number) {
  const dir = new MemoryBlockDirectory();
  const s = await ShelfStorage.open(dir);
  await s.newOids(1);
  let tid = await s.commit({ baseTid: 0, records: [rec(0, 0), rec(1, 0)] });
  for (let i = 1; i < n; i++) tid = await s.commit({ baseTid: tid, records: [rec(1, i, tid)] });
  return { dir, s, tid };
}

/** Start offsets of the entries in a segment's bytes. */
function entryOffsets(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let at = 32; at < bytes.byteLength; at += view.getUint32(at, true)) out.push(at);
  return out;
}

async function valueOf(s: ShelfStorage): Promise<number | undefined> {
  return (await s.load([1]))[0]?.state[0];
}

describe('ShelfStorage recovery', () => {
  it('cuts a transaction torn at any byte and keeps every one before it', async () => {
    const { dir } = await logOf(5);
    const file = dir.files.get(SEG) as MemoryBlockFile;
    const full = file.snapshot();
    const lastLength = new DataView(full.buffer).getUint32(full.byteLength - 4, true);
    const lastStart = full.byteLength - lastLength;
    for (let cut = lastStart; cut < full.byteLength; cut++) {
      const copy = copyDir(dir);
      (copy.files.get(SEG) as MemoryBlockFile).restore(full.subarray(0, cut));
      const s = await ShelfStorage.open(copy);
      expect((await s.sync(Number.MAX_SAFE_INTEGER)).tid, `cut at ${cut}`).toBe(4);
      expect(await valueOf(s)).toBe(3);
      expect(s.recovery.truncated.length).toBe(cut > lastStart ? 1 : 0);
      // The database keeps working after the cut.
      const tid = await s.commit({ baseTid: 4, records: [rec(1, 77, 4)] });
      expect(tid).toBe(5);
      await s.close();
      const again = await ShelfStorage.open(copy);
      expect(await valueOf(again)).toBe(77);
    }
  });

  it('cuts a tail whose bytes were flipped, keeping every transaction before the damage', async () => {
    const { dir } = await logOf(6);
    const full = (dir.files.get(SEG) as MemoryBlockFile).snapshot();
    const lastLength = new DataView(full.buffer).getUint32(full.byteLength - 4, true);
    const lastStart = full.byteLength - lastLength;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: lastStart, max: full.byteLength - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, mask) => {
          const copy = copyDir(dir);
          const damaged = full.slice();
          damaged[at] = (damaged[at] as number) ^ mask;
          (copy.files.get(SEG) as MemoryBlockFile).restore(damaged);
          const s = await ShelfStorage.open(copy);
          expect((await s.sync(Number.MAX_SAFE_INTEGER)).tid).toBe(5);
          expect(await valueOf(s)).toBe(4);
        },
      ),
      { seed: 7, numRuns: 200 },
    );
  });

  it('refuses damage before the tail with CorruptStorageError naming file and offset, changing nothing', async () => {
    const { dir } = await logOf(6);
    const full = (dir.files.get(SEG) as MemoryBlockFile).snapshot();
    const damaged = full.slice();
    const [, firstTxn] = entryOffsets(full) as [number, number]; // after the oid reservation
    damaged[firstTxn + 60] = (damaged[firstTxn + 60] as number) ^ 0xff;
    const copy = copyDir(dir);
    (copy.files.get(SEG) as MemoryBlockFile).restore(damaged);
    const error = await ShelfStorage.open(copy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStorageError);
    expect((error as Error).message).toContain(`seg-000001.log is damaged at byte ${firstTxn}`);
    expect((error as Error).message).toMatch(/recover: true/);
    expect((copy.files.get(SEG) as MemoryBlockFile).snapshot()).toEqual(damaged);
  });

  it('with recover, keeps every readable transaction and reports what it dropped', async () => {
    const { dir } = await logOf(6);
    const full = (dir.files.get(SEG) as MemoryBlockFile).snapshot();
    const view = new DataView(full.buffer);
    const secondAt = entryOffsets(full)[2] as number; // after the oid reservation and tid 1: tid 2
    const damaged = full.slice();
    damaged[secondAt + 45] = (damaged[secondAt + 45] as number) ^ 0xff;
    const copy = copyDir(dir);
    (copy.files.get(SEG) as MemoryBlockFile).restore(damaged);
    const s = await ShelfStorage.open(copy, { recover: true });
    expect(s.recovery.dropped).toEqual([
      { file: SEG, offset: secondAt, length: view.getUint32(secondAt, true) },
    ]);
    expect(await valueOf(s)).toBe(5);
    expect((await s.transactions()).map((t) => t.tid)).toEqual([6, 5, 4, 3, 1]);
    await s.close();
    // Repaired: opens normally from now on.
    const again = await ShelfStorage.open(copy);
    expect(await valueOf(again)).toBe(5);
  });

  it('keeps the last acknowledged commit through a crash at any write (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 4,
          }),
          {
            minLength: 1,
            maxLength: 12,
          },
        ),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        fc.boolean(),
        async (commits, crashAt, tornWrite, durableOnly) => {
          const dir = new MemoryBlockDirectory();
          let writes = 0;
          let crashed = false;
          const arm = (): void => {
            for (const file of dir.files.values()) {
              file.beforeWrite = (offset, data) => {
                if (crashed) throw new Error('crashed');
                if (++writes === crashAt) {
                  crashed = true;
                  if (tornWrite && data.byteLength > 1) {
                    file.beforeWrite = undefined;
                    file.write(offset, data.subarray(0, data.byteLength >> 1));
                  }
                  throw new Error('crash during write');
                }
              };
            }
          };
          const model = new Map<number, number>();
          let acked = new Map<number, number>();
          let inFlight: Map<number, number> | undefined;
          let s: ShelfStorage;
          try {
            s = await ShelfStorage.open(dir);
            arm();
            await s.newOids(4);
            let tid = 0;
            const serial = new Map<number, number>();
            for (const changes of commits) {
              const next = new Map(model);
              const records = [...new Map(changes)].map(([oid, value]) => {
                next.set(oid, value);
                return rec(oid, value, serial.get(oid));
              });
              inFlight = next;
              tid = await s.commit({ baseTid: tid, records });
              for (const r of records) serial.set(r.oid, tid);
              for (const [k, v] of next) model.set(k, v);
              acked = new Map(model);
              inFlight = undefined;
              arm();
            }
          } catch {
            // the simulated crash
          }
          const after = await ShelfStorage.open(copyDir(dir, durableOnly));
          const seen = new Map(
            (await after.load([1, 2, 3, 4])).map((r) => [r.oid, r.state[0] as number]),
          );
          const ok =
            JSON.stringify([...seen].sort()) === JSON.stringify([...acked].sort()) ||
            (inFlight !== undefined &&
              !durableOnly &&
              JSON.stringify([...seen].sort()) === JSON.stringify([...inFlight].sort()));
          expect(ok, `seen ${JSON.stringify([...seen])}, acked ${JSON.stringify([...acked])}`).toBe(
            true,
          );
        },
      ),
      { seed: 2026, numRuns: 300 },
    );
  });

  it('fails a commit with StorageFullError on a full disk, keeps the log as it was, and goes on', async () => {
    const { dir, s, tid } = await logOf(3);
    const file = dir.files.get(SEG) as MemoryBlockFile;
    const before = file.snapshot();
    file.beforeWrite = (_offset, data) => {
      if (data.byteLength > 1000) {
        const e = new Error('The quota has been exceeded.');
        e.name = 'QuotaExceededError';
        throw e;
      }
    };
    const big: StoredRecord = {
      oid: 1,
      className: 'test.Cell',
      state: new Uint8Array(5000),
      refs: [],
      tid,
    };
    const error = await s.commit({ baseTid: tid, records: [big] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageFullError);
    expect((error as Error).cause).toMatchObject({ name: 'QuotaExceededError' });
    expect(file.snapshot()).toEqual(before);
    expect(await valueOf(s)).toBe(2);
    const small = await s.commit({ baseTid: tid, records: [rec(1, 9, tid)] });
    expect(small).toBe(tid + 1);
    expect(await valueOf(s)).toBe(9);
    file.beforeWrite = undefined;
    await s.close();
    expect(await valueOf(await ShelfStorage.open(dir))).toBe(9);
  });

  it('fails only the commit that does not fit when commits share a flush', async () => {
    const { dir, s, tid } = await logOf(1);
    await s.newOids(3);
    const file = dir.files.get(SEG) as MemoryBlockFile;
    file.beforeWrite = (_offset, data) => {
      if (data.byteLength > 1000) {
        const e = new Error('full');
        e.name = 'QuotaExceededError';
        throw e;
      }
    };
    const results = await Promise.allSettled([
      s.commit({ baseTid: tid, records: [rec(2, 2)] }),
      s.commit({
        baseTid: tid,
        records: [{ oid: 3, className: 'x', state: new Uint8Array(3000), refs: [] }],
      }),
      s.commit({ baseTid: tid, records: [rec(4, 4)] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))).toEqual([
      tid + 1,
      tid + 2,
    ]);
    expect((await s.load([2, 3, 4])).map((r) => r.oid)).toEqual([2, 4]);
  });
});
