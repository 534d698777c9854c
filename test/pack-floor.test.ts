import { describe, expect, it } from 'vitest';
import { StorageError, type Tid } from '../src/index.js';
import { MemoryStorage } from '../worker/memory-storage.js';

/** A MemoryStorage whose pack floor is read as `read` says, counting the reads. */
class FloorStorage extends MemoryStorage {
  reads = 0;
  constructor(private readonly read: () => Promise<Tid>) {
    super();
  }
  // MemoryStorage reads its floor at once; StorageCore takes a promise too (IndexedDB reads it in
  // a transaction), which is what this one returns.
  protected override packFloor(): Tid {
    this.reads++;
    return this.read() as unknown as Tid;
  }
}

describe("pack's floor (the snapshot it keeps, read when pack is asked for)", () => {
  it('a failure to read it fails that pack with the error, and nothing is left unhandled', async () => {
    const failure = new StorageError('the floor could not be read');
    const storage = new FloorStorage(() => Promise.reject(failure));
    const unhandled: unknown[] = [];
    const listen = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', listen);
    try {
      await expect(storage.pack()).rejects.toBe(failure);
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      process.off('unhandledRejection', listen);
    }
    expect(unhandled).toEqual([]);
    await expect(storage.close()).resolves.toBeUndefined();
  });

  it('a pack that joins the running one reads no floor of its own and gets its result', async () => {
    let release!: (tid: Tid) => void;
    const storage = new FloorStorage(() => new Promise<Tid>((resolve) => (release = resolve)));
    const first = storage.pack();
    const second = storage.pack();
    expect(storage.reads).toBe(1);
    release(0);
    expect(await second).toEqual(await first);
    await storage.close();
  });
});
