import { describe, expect, it } from 'vitest';
import type { PackRun } from '../worker/pack-run.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { bytes, rec } from './storage-check-kit.js';
import {
  describeStorage,
  describeStorageArguments,
  describeStorageInProcess,
} from './storage-contract.js';

describeStorage('MemoryStorage', () => new MemoryStorage());
describeStorageArguments('MemoryStorage', () => new MemoryStorage());
describeStorageInProcess('MemoryStorage', () => new MemoryStorage());

describe('MemoryStorage pack', () => {
  it('runs one pack for two calls made while it runs, and a new one for a call after it settled', async () => {
    let runs = 0;
    class Counting extends MemoryStorage {
      protected override packNow(keepTid: number | undefined, run: PackRun) {
        runs++;
        return super.packNow(keepTid, run);
      }
    }
    const s = new Counting();
    await s.commit({ baseTid: 0, records: [rec(0, bytes(1))] });
    const [first, second] = await Promise.all([s.pack(), s.pack()]);
    expect(second).toBe(first);
    expect(runs).toBe(1);
    expect(await s.pack()).not.toBe(first);
    expect(runs).toBe(2);
  });
});
