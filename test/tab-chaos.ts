/**
 * Chaos around the fake tabs of fake-tabs.ts, for the model-based tab tests and the message fuzzer:
 *
 * - ChaosTab wraps a FakeTab: `freeze()` holds every message it sends or receives (its locks stay
 *   held, as a background tab's do) until `thaw()`; `crash()` kills it, and its files with it.
 * - FencedDirectory is one owner's view of the shared files: once its tab has crashed, every file
 *   operation throws, so code of a killed tab still running in this process cannot write (a killed
 *   tab runs no code at all).
 * - OwnerLedger counts the storages open on the files and not closed by a live tab: two at once
 *   means two owners writing over each other.
 * - chaosOrigin: fake tabs sharing one MemoryBlockDirectory, each owner's storage fenced, counted
 *   by the ledger and instrumented (instrumented-storage.ts).
 */
import { TabRouter, type Channel, type Locks, type TabPlatform } from '../worker/tab-router.js';
import { MemoryBlockDirectory, type BlockDirectory, type BlockFile } from '../worker/block-file.js';
import type { BlobStore } from '../worker/blob-store.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { FakeHub, type FakeTab } from './fake-tabs.js';
import { InstrumentedStorage } from './instrumented-storage.js';

export { InstrumentedStorage, invalidCall } from './instrumented-storage.js';

/** Called with every message a tab posts, before it leaves the tab. */
export type PostHook = (channel: string, message: unknown) => void;

interface LockWaiter {
  tab: ChaosTab;
  run: () => void;
}

/**
 * Web Locks for chaos tabs, first come first served. A released lock passes to the next waiter at
 * once, as navigator.locks does: a request made in between queues behind it. The waiter's callback
 * runs a task later, scheduled through the hub, so that `hub.idle()` waits for it too.
 */
export class ChaosLocks {
  private readonly locks = new Map<string, { holder: ChaosTab | undefined; queue: LockWaiter[] }>();

  constructor(private readonly hub: FakeHub) {}

  request(tab: ChaosTab, name: string, callback: () => Promise<unknown>): Promise<unknown> {
    let lock = this.locks.get(name);
    if (lock === undefined) {
      lock = { holder: undefined, queue: [] };
      this.locks.set(name, lock);
    }
    const entry = lock;
    return new Promise((resolve, reject) => {
      const run = (): void => {
        let released = false;
        const release = (): void => {
          if (released || entry.holder !== tab) return;
          released = true;
          const next = entry.queue.shift();
          entry.holder = next?.tab;
          if (next !== undefined) this.hub.later(next.run);
        };
        tab.onRelease(release);
        callback().then(
          (value) => {
            release();
            resolve(value);
          },
          (error: unknown) => {
            release();
            reject(error);
          },
        );
      };
      if (entry.holder === undefined && entry.queue.length === 0) {
        entry.holder = tab;
        run();
      } else {
        entry.queue.push({ tab, run });
      }
    });
  }

  /** A killed tab's requests leave the queues. */
  forget(tab: ChaosTab): void {
    for (const lock of this.locks.values()) lock.queue = lock.queue.filter((w) => w.tab !== tab);
  }

  /** The names of the locks held now, as navigator.locks.query() reports them. */
  held(): { name: string }[] {
    return [...this.locks].filter(([, l]) => l.holder !== undefined).map(([name]) => ({ name }));
  }
}

export class ChaosTab implements TabPlatform {
  readonly locks: Locks;
  /** While frozen, messages in and out wait here in order. */
  private held: (() => void)[] = [];
  private frozen = false;
  /** Releases the locks this tab holds (run when it is killed). */
  private readonly releases: (() => void)[] = [];

  constructor(
    readonly fake: FakeTab,
    private readonly lockManager: ChaosLocks,
    private readonly onPost?: PostHook,
  ) {
    const locks = {
      request: (name: string, callback: () => Promise<unknown>) =>
        lockManager.request(this, name, callback),
      query: () => Promise.resolve({ held: lockManager.held() }),
    };
    this.locks = locks;
  }

  /** @internal Remembers how to release a lock granted to this tab. */
  onRelease(release: () => void): void {
    this.releases.push(release);
  }

  get crashed(): boolean {
    return this.fake.crashed;
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  channel(name: string): Channel {
    const inner = this.fake.channel(name);
    return {
      postMessage: (message: unknown) => {
        if (this.crashed) return;
        this.onPost?.(name, message);
        if (!this.frozen) return inner.postMessage(message);
        const copy = structuredClone(message); // the sender may reuse its object
        this.held.push(() => inner.postMessage(copy));
      },
      addEventListener: (type, listener) =>
        inner.addEventListener(type, (event) => {
          if (!this.frozen) return listener(event);
          this.held.push(() => listener(event));
        }),
      close: () => inner.close(),
    };
  }

  /** The tab stops answering: a background tab the browser froze, its locks still held. */
  freeze(): void {
    this.frozen = true;
  }

  /** The tab runs again: what it missed is delivered, what it said is sent. */
  thaw(): void {
    this.frozen = false;
    const held = this.held;
    this.held = [];
    for (const deliver of held) if (!this.crashed) deliver();
  }

  /** The tab is killed: locks released, channels silent, nothing it held delivered. */
  crash(): void {
    this.held = [];
    this.frozen = false;
    this.fake.crash();
    this.lockManager.forget(this);
    for (const release of this.releases.splice(0)) release();
  }
}

/** Thrown by a FencedDirectory after its tab was killed. */
export class KilledTabError extends Error {
  override name = 'KilledTabError';
}

/** One tab's handle on the shared files: dead with its tab. */
export class FencedDirectory implements BlockDirectory {
  constructor(
    private readonly inner: BlockDirectory,
    private readonly dead: () => boolean,
  ) {}

  private check(what: string): void {
    if (this.dead()) throw new KilledTabError(`${what} by a killed tab`);
  }

  async open(name: string): Promise<BlockFile> {
    this.check(`open ${name}`);
    const file = await this.inner.open(name);
    const fence =
      <A extends unknown[], R>(what: string, f: (...a: A) => R) =>
      (...a: A): R => {
        this.check(`${what} ${name}`);
        return f(...a);
      };
    return {
      read: fence('read', (o: number, l: number) => file.read(o, l)),
      write: fence('write', (o: number, d: Uint8Array) => file.write(o, d)),
      size: fence('size', () => file.size()),
      truncate: fence('truncate', (s: number) => file.truncate(s)),
      flush: fence('flush', () => file.flush()),
      close: () => file.close(),
    };
  }

  async list(): Promise<string[]> {
    this.check('list');
    return this.inner.list();
  }

  async remove(name: string): Promise<void> {
    this.check(`remove ${name}`);
    return this.inner.remove(name);
  }

  /** The shared blob files, each operation fenced as the block files' are. */
  async blobStore(): Promise<BlobStore> {
    this.check('open the blob store');
    const store = await this.inner.blobStore();
    return new Proxy(store, {
      get: (target, prop, receiver) => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]): unknown => {
          this.check(`blob ${String(prop)}`);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

export interface OpenStorage {
  tab: string;
  closed: boolean;
  dead: () => boolean;
}

/** Every storage opened on the files, to check that at most one live tab holds them. */
export class OwnerLedger {
  private readonly opened: OpenStorage[] = [];
  /** What went wrong, in words: checked by the tests after every step. */
  readonly violations: string[] = [];
  opens = 0;

  /** The tabs holding the files open now (killed tabs hold nothing). */
  holders(): string[] {
    return this.opened.filter((o) => !o.closed && !o.dead()).map((o) => o.tab);
  }

  /** Records an open by `tab`; a second live holder is a violation. */
  open(tab: string, dead: () => boolean): OpenStorage {
    const holders = this.holders();
    if (holders.length > 0) {
      this.violations.push(`tab ${tab} opened the files while ${holders.join(', ')} held them`);
    }
    const entry = { tab, closed: false, dead };
    this.opened.push(entry);
    this.opens++;
    return entry;
  }

  /** At most one holder now. */
  check(): void {
    const holders = this.holders();
    if (holders.length > 1) this.violations.push(`two owners at once: ${holders.join(', ')}`);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A record state holding a list of op ids (the model's exactly-once ledger). */
export const encodeOps = (ops: number[]): Uint8Array => encoder.encode(JSON.stringify(ops));
export const decodeOps = (state: Uint8Array): number[] =>
  JSON.parse(decoder.decode(state)) as number[];

/**
 * A wait of `ms` on the real clock, for scenarios where time is the point: a freeze or a wait
 * measured against busyTimeout, an app's pause before it retries. To wait until the tabs have
 * heard what was sent, await `hub.idle()` instead.
 */
export const settle = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The seed and run count: fixed and small by default, `SHELF_FAULT_RUNS=<n>` for long runs with a
 * random seed; `SHELF_FAULT_SEED` and `SHELF_FAULT_PATH` (from a failure's report) replay one run.
 */
export function faultRuns(defaultRuns: number): {
  seed: number;
  numRuns: number;
  long: boolean;
  path?: string;
} {
  const env = Number(process.env.SHELF_FAULT_RUNS ?? '');
  const long = Number.isSafeInteger(env) && env > 0;
  const fixed = Number(process.env.SHELF_FAULT_SEED ?? '');
  const seed =
    Number.isSafeInteger(fixed) && process.env.SHELF_FAULT_SEED
      ? fixed
      : long
        ? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
        : 9;
  const path = process.env.SHELF_FAULT_PATH;
  return { seed, numRuns: long ? env : defaultRuns, long, ...(path ? { path } : {}) };
}

/** One line on the test's stdout (the reliability figures; eslint forbids console in tests). */
export function report(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** One tab of a chaos origin, as the tests drive it. */
export interface ChaosTabState {
  label: string;
  chaos: ChaosTab;
  router: TabRouter | undefined;
  /** Set when the test asked the tab to close (its storage may close then). */
  closing: boolean;
}

/**
 * A database shared by fake tabs, as in tab-router.test.ts, with every owner's storage counted by
 * the ledger and instrumented, and every owner's files fenced by its tab's life.
 */
export function chaosOrigin(options: { busyTimeout: number; onPost?: PostHook }) {
  const hub = new FakeHub();
  const dir = new MemoryBlockDirectory();
  const ledger = new OwnerLedger();
  const locks = new ChaosLocks(hub);
  const storages: InstrumentedStorage[] = [];
  let count = 0;
  const tab = (label = `tab${++count}`): ChaosTabState => ({
    label,
    chaos: new ChaosTab(hub.tab(), locks, options.onPost),
    router: undefined,
    closing: false,
  });
  const join = async (
    state: ChaosTabState,
    busyTimeout = options.busyTimeout,
  ): Promise<TabRouter> => {
    state.router = await TabRouter.open(
      state.chaos,
      { name: 'db', busyTimeout, tabId: state.label },
      async () => {
        const dead = (): boolean => state.chaos.crashed;
        const entry = ledger.open(state.label, dead);
        try {
          const shelf = await ShelfStorage.open(new FencedDirectory(dir, dead));
          const storage = new InstrumentedStorage(shelf, entry, ledger, () => state.closing);
          storages.push(storage);
          return storage;
        } catch (error) {
          entry.closed = true;
          throw error;
        }
      },
    );
    return state.router;
  };
  return { hub, dir, ledger, storages, tab, join };
}
