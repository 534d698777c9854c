/**
 * TabRouter: one database shared by every tab of an origin (ARCHITECTURE.md, Tabs).
 *
 * Each tab's storage worker queues for the exclusive Web Lock `shelfdb:<name>:owner` and holds it
 * for its lifetime; only the holder opens the files. Every other worker forwards its storage calls
 * to the owner over BroadcastChannels (which work everywhere; SharedWorker does not exist on Chrome
 * for Android): calls go out on `shelfdb:<name>:calls` tagged with the tab's id, answers come back
 * on `shelfdb:<name>:tab:<id>`. The owner broadcasts every commit on `shelfdb:<name>`.
 *
 * Handover: when the owner's tab closes or crashes, its locks are released, the next worker in the
 * queue opens the files and announces itself, and every tab resends the calls it has no answer
 * for. Commits carry a client-made txnId, so a resent commit that had landed is answered with its
 * tid instead of being written twice. A call that gets no answer within `busyTimeout` (a frozen tab
 * holds the lock) fails with StorageBusyError, and `onBusy` tells the page.
 *
 * The platform (locks, channels) is injected: fakes in Node tests, the real ones in the worker.
 */
import {
  DatabaseClosedError,
  StorageBusyError,
  errorFromWire,
  errorToWire,
} from '../src/shared/errors.js';
import {
  PROTOCOL_VERSION,
  callsChannelName,
  databaseChannelName,
  ownerLockName,
  parseMessage,
  tabChannelName,
  tabLockName,
  type Message,
  type StorageMethod,
} from '../src/shared/protocol.js';
import { packRecords, unpackRecords } from '../src/shared/record-batch.js';
import { ForwardingStorage } from '../src/shared/forwarding-storage.js';
import type {
  CommitRequest,
  LoadedRecord,
  PackOptions,
  Storage,
  Tid,
} from '../src/shared/storage.js';

/** The part of BroadcastChannel used here. */
export interface Channel {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  close(): void;
}

/** The part of the Web Locks API used here (navigator.locks). */
export interface Locks {
  request(name: string, callback: () => Promise<unknown>): Promise<unknown>;
}

export interface TabPlatform {
  locks: Locks;
  channel(name: string): Channel;
}

export interface TabOptions {
  /** The database name. */
  name: string;
  /** Milliseconds a call may wait for an owner before failing with StorageBusyError (10 s). */
  busyTimeout?: number;
  /** This tab's id (random by default). */
  tabId?: string;
}

/** What the owner opens: the storage of the files. */
export type OpenLocal = () => Promise<Storage>;

interface Pending {
  message: Message & { type: 'call' };
  method: StorageMethod;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
}

const newTabId = (): string =>
  (globalThis as { crypto?: { randomUUID?: () => string } }).crypto?.randomUUID?.() ??
  Math.random().toString(36).slice(2);

export class TabRouter extends ForwardingStorage {
  readonly tabId: string;
  /** Called when a call fails because no owner answered in time. */
  onBusy: ((error: StorageBusyError) => void) | undefined;
  /** Set while this worker owns the files. */
  private local: Storage | undefined;
  /** The tab id of the owner last announced. */
  private owner: string | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Owner: every tab's snapshot pins, by "<tab id> <holder>". */
  private readonly pins = new Map<string, Tid>();
  /** This tab's own pins, given again to each new owner. */
  private readonly ownPins = new Map<string, Tid>();
  /** Tabs known to be alive (they said hello or called): invalidations are broadcast to them. */
  private readonly followers = new Set<string>();
  /** Answer channels of the tabs this owner serves, by tab id. */
  private readonly replies = new Map<string, Channel>();
  private readonly main: Channel;
  private readonly inbox: Channel;
  private readonly calls: Channel;
  private readonly busyTimeout: number;
  private releaseOwner: (() => void) | undefined;
  private releaseTab: (() => void) | undefined;
  private closed = false;
  /** Settles when an owner is known (this worker or another). */
  private ready: Promise<void>;
  private markReady: () => void = () => undefined;

  private constructor(
    private readonly platform: TabPlatform,
    private readonly options: TabOptions,
    private readonly openLocal: OpenLocal,
  ) {
    super();
    this.tabId = options.tabId ?? newTabId();
    this.busyTimeout = options.busyTimeout ?? 10_000;
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.main = platform.channel(databaseChannelName(options.name));
    this.inbox = platform.channel(tabChannelName(options.name, this.tabId));
    this.calls = platform.channel(callsChannelName(options.name));
    this.main.addEventListener('message', (e) => this.onMain(e.data));
    this.inbox.addEventListener('message', (e) => this.onAnswer(e.data));
    this.calls.addEventListener('message', (e) => void this.onCall(e.data));
  }

  /**
   * Joins the tabs of database `name`: becomes the owner if no tab is, else finds the owner.
   * @throws StorageBusyError if no owner answers within `busyTimeout`.
   */
  static async open(
    platform: TabPlatform,
    options: TabOptions,
    openLocal: OpenLocal,
  ): Promise<TabRouter> {
    const router = new TabRouter(platform, options, openLocal);
    await router.join();
    return router;
  }

  private async join(): Promise<void> {
    const { name } = this.options;
    void this.platform.locks.request(
      tabLockName(name, this.tabId),
      () => new Promise<void>((r) => (this.releaseTab = r)),
    );
    let failed: unknown;
    void this.platform.locks
      .request(ownerLockName(name), async () => {
        if (this.closed) return;
        try {
          await this.becomeOwner();
        } catch (error) {
          failed = error;
          this.markReady();
          return; // releases the lock for the next tab
        }
        await new Promise<void>((r) => (this.releaseOwner = r));
      })
      .catch((error: unknown) => {
        failed = error;
        this.markReady();
      });
    this.post(this.main, { v: PROTOCOL_VERSION, type: 'hello', tabId: this.tabId });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), this.busyTimeout)),
    );
    const outcome = await Promise.race([this.ready.then(() => 'ready' as const), timeout]);
    clearTimeout(timer);
    if (failed !== undefined) throw failed;
    if (outcome === 'timeout') {
      this.close().catch(() => undefined); // nothing to release but locks and channels
      throw new StorageBusyError(
        `Database "${name}" is held by another tab that does not answer (a frozen or background tab). Try again, or close the other tab.`,
      );
    }
  }

  private async becomeOwner(): Promise<void> {
    const opened = await this.openWithRetry();
    if (this.closed) {
      await opened.close();
      return;
    }
    this.local = opened;
    for (const [holder, tid] of this.ownPins) this.setPin(this.tabId, holder, tid);
    this.owner = this.tabId;
    this.local.subscribe((invalidation) => {
      // Broadcast only when another tab is there to hear it.
      if (this.followers.size > 0) {
        this.post(this.main, { v: PROTOCOL_VERSION, type: 'invalidate', invalidation });
      }
      for (const listener of this.listeners) listener(invalidation);
    });
    this.post(this.main, { v: PROTOCOL_VERSION, type: 'owner', tabId: this.tabId });
    this.markReady();
    // Calls sent to the previous owner and never answered: run them here (commits are idempotent).
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      this.runLocal(p.method, p.message.args).then(p.resolve, p.reject);
    }
  }

  /** The previous owner's file handles may take a moment to be released after its tab closed. */
  private async openWithRetry(): Promise<Storage> {
    const deadline = Date.now() + this.busyTimeout;
    for (let wait = 10; ; wait = Math.min(wait * 2, 500)) {
      try {
        return await this.openLocal();
      } catch (error) {
        if (!(error instanceof StorageBusyError) || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  // ─── messages ─────────────────────────────────────────────────────────────

  private onMain(data: unknown): void {
    const message = this.parse(data);
    if (message === undefined) return;
    if (message.type === 'hello') {
      this.watch(message.tabId);
      if (this.local !== undefined) {
        this.post(this.main, { v: PROTOCOL_VERSION, type: 'owner', tabId: this.tabId });
      }
    } else if (message.type === 'owner' && message.tabId !== this.tabId) {
      const changed = message.tabId !== this.owner;
      this.owner = message.tabId;
      this.markReady();
      if (changed) {
        // A new owner: tell it this tab is here (for its broadcasts), and resend what it lost.
        this.post(this.main, { v: PROTOCOL_VERSION, type: 'hello', tabId: this.tabId });
        for (const p of this.pending.values()) this.post(this.calls, p.message);
        for (const [holder, tid] of this.ownPins) {
          // Kept in ownPins either way: a pin that does not reach this owner reaches the next one.
          this.call('pin', [holder, tid]).catch(() => undefined);
        }
      }
    } else if (message.type === 'invalidate' && this.local === undefined) {
      for (const listener of this.listeners) listener(message.invalidation);
    }
  }

  private onAnswer(data: unknown): void {
    const message = this.parse(data);
    if (message === undefined || (message.type !== 'result' && message.type !== 'error')) return;
    const p = this.pending.get(message.id);
    if (p === undefined) return; // answered already (a resent call answered twice)
    this.pending.delete(message.id);
    clearTimeout(p.timer);
    if (message.type === 'error') p.reject(errorFromWire(message.error));
    else p.resolve(decodeResult(p.method, message.value));
  }

  /** The owner serves a call from another tab. */
  private async onCall(data: unknown): Promise<void> {
    if (this.local === undefined) return;
    const message = this.parse(data);
    if (message === undefined || message.type !== 'call' || message.from === undefined) return;
    const reply = this.replyChannel(message.from);
    try {
      const value =
        message.method === 'pin'
          ? this.setPin(message.from, message.args[0] as string, message.args[1] as Tid | null)
          : encodeResult(message.method, await this.runLocal(message.method, message.args));
      this.post(reply, { v: PROTOCOL_VERSION, type: 'result', id: message.id, value });
    } catch (error) {
      this.post(reply, {
        v: PROTOCOL_VERSION,
        type: 'error',
        id: message.id,
        error: errorToWire(error),
      });
    }
  }

  /** The answer channel of a tab, opened once; closed when the tab's lock shows it has died. */
  private replyChannel(tabId: string): Channel {
    let channel = this.replies.get(tabId);
    if (channel === undefined) {
      channel = this.platform.channel(tabChannelName(this.options.name, tabId));
      this.replies.set(tabId, channel);
      this.watch(tabId);
    }
    return channel;
  }

  /** Remembers a live tab, and forgets it (and its answer channel) when its lock is released. */
  private watch(tabId: string): void {
    if (tabId === this.tabId || this.followers.has(tabId)) return;
    this.followers.add(tabId);
    void this.platform.locks.request(tabLockName(this.options.name, tabId), async () => {
      this.followers.delete(tabId);
      for (const key of [...this.pins.keys()])
        if (key.startsWith(`${tabId} `)) this.pins.delete(key);
      this.replies.get(tabId)?.close();
      this.replies.delete(tabId);
    });
  }

  private parse(data: unknown): Message | undefined {
    try {
      return parseMessage(data);
    } catch (error) {
      // A tab running another version of shelfdb: fail its callers loudly, act on nothing.
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      return undefined;
    }
  }

  private post(channel: Channel, message: Message): void {
    if (!this.closed) channel.postMessage(message);
  }

  // ─── calls ────────────────────────────────────────────────────────────────

  private runLocal(method: StorageMethod, args: unknown[]): Promise<unknown> {
    const s = this.local as Storage;
    if (method === 'pack') return s.pack(this.packOptions(args[0] as PackOptions | undefined));
    const decoded = decodeArgs(method, args);
    const fn = s[method as keyof Storage] as (...a: unknown[]) => Promise<unknown>;
    return fn.apply(s, decoded);
  }

  /** Pack keeps what the oldest snapshot pinned by any tab needs. */
  private packOptions(options: PackOptions = {}): PackOptions {
    let keep = options.keepTid;
    for (const tid of this.pins.values()) if (keep === undefined || tid < keep) keep = tid;
    return keep === undefined ? {} : { keepTid: keep };
  }

  protected override call(method: StorageMethod, args: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new DatabaseClosedError());
    if (this.local !== undefined && method === 'pack') return this.runLocal(method, args);
    if (this.local !== undefined) {
      const s = this.local;
      return (s[method as keyof Storage] as (...a: unknown[]) => Promise<unknown>).apply(s, args);
    }
    const id = this.nextId++;
    const message = {
      v: PROTOCOL_VERSION,
      type: 'call',
      id,
      method,
      args: encodeArgs(method, args),
      from: this.tabId,
    } as const;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        const error = new StorageBusyError(
          `Database "${this.options.name}": the tab that holds it did not answer within ${this.busyTimeout} ms (it may be frozen in the background). Nothing was lost; try again.`,
        );
        this.onBusy?.(error);
        reject(error);
      }, this.busyTimeout);
      this.pending.set(id, { message, method, resolve, reject, timer });
      if (this.owner !== undefined) this.post(this.calls, message);
    });
  }

  /**
   * Pins a page's oldest snapshot. The owner keeps every tab's pins and packs no further than the
   * oldest; a tab remembers its own pins to give them to a new owner.
   */
  override async pin(holder: string, tid: Tid | null): Promise<void> {
    if (tid === null) this.ownPins.delete(holder);
    else this.ownPins.set(holder, tid);
    if (this.local !== undefined) this.setPin(this.tabId, holder, tid);
    else await this.call('pin', [holder, tid]);
  }

  /** The owner records a pin of `tab`. */
  private setPin(tab: string, holder: string, tid: Tid | null): void {
    const key = `${tab} ${holder}`;
    if (tid === null) this.pins.delete(key);
    else this.pins.set(key, tid);
  }

  /** The recovery report of the storage, when this worker owns it. */
  get recovery(): unknown {
    return (this.local as { recovery?: unknown } | undefined)?.recovery;
  }

  /** Leaves the tabs: an owner closes the files and hands the lock to the next tab. */
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new DatabaseClosedError());
    }
    this.pending.clear();
    this.listeners.clear();
    const local = this.local;
    this.local = undefined;
    if (local !== undefined) await local.close();
    this.releaseOwner?.();
    this.releaseTab?.();
    this.markReady();
    for (const channel of [this.main, this.inbox, this.calls, ...this.replies.values()])
      channel.close();
    this.replies.clear();
  }
}

// Record batches cross the channels packed, as across the worker boundary.

function encodeArgs(method: StorageMethod, args: unknown[]): unknown[] {
  if (method !== 'commit') return args;
  const { records, ...rest } = args[0] as CommitRequest;
  return [rest, packRecords(records)];
}

function decodeArgs(method: StorageMethod, args: unknown[]): unknown[] {
  if (method !== 'commit' || !(args[1] instanceof ArrayBuffer)) return args;
  return [{ ...(args[0] as object), records: unpackRecords(args[1]) }];
}

function encodeResult(method: StorageMethod, value: unknown): unknown {
  return method === 'load' ? packRecords(value as LoadedRecord[]) : value;
}

function decodeResult(method: StorageMethod, value: unknown): unknown {
  return method === 'load' ? unpackRecords(value as ArrayBuffer) : value;
}
