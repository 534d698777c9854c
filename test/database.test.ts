import { describe, expect, it, vi } from 'vitest';
import {
  Database,
  DatabaseErrorEvent,
  MemoryStorage,
  StorageBusyError,
  StorageFullError,
  type PackOptions,
  type Storage,
  type Tid,
} from '../src/index.js';
import { CLASSES, Todo, todo } from './fixtures.js';
import { flakyStorage } from './flaky-storage.js';
import { hooked } from './storage-hooks.js';
import { checkDatabaseOptions } from '../src/database.js';

/** A MemoryStorage that reports failures nobody awaited, as ShelfStorage's checkpoints do. */
function storageWithBackgroundErrors() {
  const inner = new MemoryStorage();
  const listeners = new Set<(error: unknown) => void>();
  const storage: Storage = Object.assign(Object.create(inner) as MemoryStorage, {
    subscribeErrors(listener: (error: unknown) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  });
  const fail = (error: unknown): void => {
    for (const listener of listeners) listener(error);
  };
  return { storage, listeners, fail };
}

/**
 * A storage shared by tabs, seen from one page: pins as TabRouter keeps them (pack keeps what the
 * oldest pinned snapshot reads), and a hook run when a `sync` has its answer but before the page
 * gets it — the round trip in which another tab may commit and pack.
 */
function sharedStorage(inner: MemoryStorage) {
  const pins = new Map<string, Tid>();
  let onSyncAnswer: (() => Promise<void>) | undefined;
  const packShared = (options: PackOptions = {}) => {
    let keep = options.keepTid;
    for (const tid of pins.values()) if (keep === undefined || tid < keep) keep = tid;
    return inner.pack(keep === undefined ? {} : { keepTid: keep });
  };
  const storage = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'pin') {
        return async (holder: string, tid: Tid | null) => {
          if (tid === null) pins.delete(holder);
          else pins.set(holder, tid);
        };
      }
      if (prop === 'pack') return packShared;
      if (prop === 'sync') {
        return async (since: Tid) => {
          const answer = await target.sync(since);
          const hook = onSyncAnswer;
          onSyncAnswer = undefined;
          await hook?.();
          return answer;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  return {
    storage,
    pins,
    packShared,
    whenSyncAnswers(hook: () => Promise<void>) {
      onSyncAnswer = hook;
    },
  };
}

describe('Database: errors of work nobody awaited', () => {
  it("re-fires each background error of the storage as an 'error' event carrying it", async () => {
    const { storage, fail } = storageWithBackgroundErrors();
    const db = new Database(storage, { classes: CLASSES });
    const events: DatabaseErrorEvent[] = [];
    db.addEventListener('error', (e) => events.push(e as DatabaseErrorEvent));
    const full = new StorageFullError('The automatic checkpoint found the disk full.');
    fail(full);
    expect(events).toHaveLength(1);
    expect(events[0]).toBeInstanceOf(DatabaseErrorEvent);
    expect(events[0]?.error).toBe(full);
    await db.close();
  });

  it('stops listening to the storage when closed', async () => {
    const { storage, listeners } = storageWithBackgroundErrors();
    const db = new Database(storage, { classes: CLASSES });
    expect(listeners.size).toBe(1);
    await db.close();
    expect(listeners.size).toBe(0);
  });

  it("reports a snapshot pin the storage refused as an 'error' event", async () => {
    const inner = new MemoryStorage();
    const refused = new StorageBusyError('The owner tab did not answer the pin.');
    const storage: Storage = Object.assign(Object.create(inner) as MemoryStorage, {
      pin: () => Promise.reject(refused),
    });
    const db = new Database(storage, { classes: CLASSES });
    const errors: unknown[] = [];
    db.addEventListener('error', (e) => errors.push((e as DatabaseErrorEvent).error));
    await db.open().root();
    await db.close();
    expect(errors).toContain(refused);
  });
});

describe('Database: snapshot pins', () => {
  it("keeps a new connection's snapshot pinned while it learns the newest tid", async () => {
    const inner = new MemoryStorage();
    // Another tab writes a todo, and will change it and pack while this page's sync answers.
    const otherTab = new Database(inner, { classes: CLASSES });
    const writer = otherTab.open();
    const rootW = await writer.root();
    const t = todo('first');
    rootW.set('t', t);
    await writer.commit();

    const shared = sharedStorage(inner);
    const db = new Database(shared.storage, { classes: CLASSES });
    const conn = db.open();
    conn.autoSync = false;
    shared.whenSyncAnswers(async () => {
      t.title = 'second';
      await writer.commit();
      await shared.packShared();
    });
    const root = await conn.root();
    const mine = await conn.load(root.get('t') as Todo);
    expect(mine.title).toBe('first'); // its snapshot's revision survived the pack
    await db.close();
  });

  it('does not sync a connection whose last commit may have landed when the page comes back', async () => {
    const flaky = flakyStorage();
    const db = new Database(flaky.storage, { classes: CLASSES });
    const conn = db.open();
    const root = await conn.root();
    root.set('n', 1);
    flaky.faults.push('answer-and-broadcast');
    await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
    const errors: unknown[] = [];
    conn.addEventListener('error', (e) => errors.push((e as DatabaseErrorEvent).error));
    db.resync();
    await conn.commit();
    expect(errors).toEqual([]);
    await db.close();
  });
});

describe('Database: autoPack.minBytes', () => {
  /**
   * Commits 20 revisions of a ~1 kB value, each superseding the last (timers faked), lets the
   * autoPack check run, and returns the storage's stats and the storage calls it saw.
   */
  async function garbageThenCheck(autoPack: { garbageRatio: number; minBytes?: number }) {
    const storage = new MemoryStorage();
    const calls: string[] = [];
    let statsAnswered = 0;
    const counted = hooked(
      storage,
      {
        async stats() {
          const stats = await storage.stats();
          statsAnswered++;
          return stats;
        },
      },
      calls,
    );
    const db = new Database(counted, { classes: CLASSES, autoPack });
    const conn = db.open();
    const root = await conn.root();
    for (let i = 0; i < 20; i++) {
      root.set('big', 'x'.repeat(1000) + i);
      await conn.commit();
    }
    expect(statsAnswered).toBe(0);
    await vi.advanceTimersByTimeAsync(5_000);
    await vi.waitFor(() => expect(statsAnswered).toBe(1));
    // The check decides as soon as its stats arrive: by the next macrotask it has called pack, or not.
    await new Promise((resolve) => setImmediate(resolve));
    const packCalled = calls.includes('pack');
    if (packCalled)
      await vi.waitFor(async () => expect((await storage.stats()).lastPack).toBeTypeOf('number'));
    const stats = await storage.stats();
    await db.close();
    return { stats, packCalled };
  }

  it('keeps a small database from packing: 1 MiB of garbage at least by default', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      expect(checkDatabaseOptions({ autoPack: { garbageRatio: 0.5 } }).autoPack?.minBytes).toBe(
        1 << 20,
      );
      const small = await garbageThenCheck({ garbageRatio: 0.5 });
      expect(small.stats.garbageBytes).toBeGreaterThan(0.5 * small.stats.bytes);
      expect(small.stats.garbageBytes).toBeLessThan(1 << 20);
      expect(small.packCalled).toBe(false);
      const packed = await garbageThenCheck({ garbageRatio: 0.5, minBytes: 1000 });
      expect(packed.packCalled).toBe(true);
      expect(packed.stats.garbageBytes).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
