/**
 * TabRouter: one database shared by every tab of an origin (docs/architecture.md, Tabs).
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
 * tid instead of being written twice. A closing owner takes no new call but finishes and answers
 * the calls it runs, closes the files, and only then releases the lock: at most one owner holds
 * the files at any time, also when opening or closing them fails.
 *
 * Errors: a call that gets no answer within `busyTimeout` (a frozen tab holds the lock) fails with
 * StorageBusyError (a putBlob, which may stream for minutes: busyTimeout after the owner's last
 * sign of life, tab-calls.ts), which means "not known whether it ran" (README, Busy), and `subscribeBusy` listeners
 * hear of it; every other error means the call did not run, or failed. Messages that do not parse are ignored
 * and counted (`wireStats`), never failing other calls; another protocol version is reported once.
 * The owner serves other tabs' calls through TabServing (tab-serving.ts): every argument from
 * another tab is checked per method (call-checks.ts) before it runs; `close` is never a remote
 * call, and pins count only from live tabs.
 *
 * Pack: a tab's pack call carries a pack call id; the owner sends its progress back on the tab's
 * answer channel ('progress', before the answer), and a caller that aborts sends 'abort' on the
 * calls channel (again to each new owner while the call waits); who stops what: SharedPack.
 *
 * The platform (locks, channels) is injected: fakes in Node tests, the real ones in the worker.
 */
import {
  DatabaseClosedError,
  StorageBusyError,
  StorageError,
  errorFromWire,
  errorToWire,
} from '../src/shared/errors.js';
import {
  PROTOCOL_VERSION,
  ProtocolVersionError,
  callsChannelName,
  databaseChannelName,
  ownerLockName,
  parseMessage,
  tabChannelName,
  tabLockName,
  type Message,
} from '../src/shared/protocol.js';
import type { StorageMethod } from '../src/shared/storage-calls.js';
import { ForwardingStorage } from '../src/shared/forwarding-storage.js';
import type {
  PackOptions,
  PackResult,
  RecoveryReport,
  Storage,
  StorageStats,
  Tid,
} from '../src/shared/storage.js';
import { openWithRetry } from './open-retry.js';
import { TabCalls, type CallMessage } from './tab-calls.js';
import type { Channel, TabPlatform } from './tab-platform.js';
import { TabServing } from './tab-serving.js';

export type { Channel, Locks, TabPlatform } from './tab-platform.js';

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

/** What crossed the channels and was not acted on, for `wireStats` and `stats()`. */
export interface WireStats {
  /** Messages that did not parse, came from another protocol version, or were misaddressed. */
  ignoredMessages: number;
  /** Answers that arrived after their call had failed with StorageBusyError. */
  lateAnswers: number;
}

const newTabId = (): string =>
  (globalThis as { crypto?: { randomUUID?: () => string } }).crypto?.randomUUID?.() ??
  Math.random().toString(36).slice(2);

export class TabRouter extends ForwardingStorage {
  readonly tabId: string;
  /** Set while this worker owns the files. */
  private local: Storage | undefined;
  /** Removes this router's listeners from `local`. */
  private unsubscribeLocal: (() => void) | undefined;
  /** The tab id of the owner last announced. */
  private owner: string | undefined;
  /** The term of the owner last announced (this tab's own, while it owns the files). */
  private ownerTerm: string | undefined;
  /** This tab's calls sent to the owning tab and not answered yet. */
  private readonly pending: TabCalls;
  /** The live tabs, their pins and answer channels, and the calls the owner runs. */
  private readonly serving: TabServing;
  /** This tab's own pins, given again to each new owner. */
  private readonly ownPins = new Map<string, Tid>();
  private readonly main: Channel;
  private readonly inbox: Channel;
  private readonly calls: Channel;
  private readonly busyTimeout: number;
  /** Messages that did not parse or were misaddressed. */
  private ignoredMessages = 0;
  /** The first message of another protocol version, reported once (and by join, if it fails). */
  private versionError: StorageError | undefined;
  private releaseOwner: (() => void) | undefined;
  private releaseTab: (() => void) | undefined;
  /** Set by close(): no new call is taken. */
  private stopping = false;
  /** Set once close() has closed the channels: nothing is posted any more. */
  private silent = false;
  private closing: Promise<void> | undefined;
  /** Settles when becoming the owner has finished (or failed): close waits for it. */
  private becoming: Promise<void> | undefined;
  /** Settles when an owner is known (this worker or another). */
  private ready: Promise<void>;
  private markReady: () => void = () => undefined;
  private joined = false;

  private constructor(
    private readonly platform: TabPlatform,
    private readonly options: TabOptions,
    private readonly openLocal: OpenLocal,
  ) {
    super();
    this.tabId = options.tabId ?? newTabId();
    this.busyTimeout = options.busyTimeout ?? 10_000;
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.pending = new TabCalls({
      name: options.name,
      tabId: this.tabId,
      busyTimeout: this.busyTimeout,
      onBusy: (error) => this.reportBusy(error),
      // A hello, which the owner answers with its announcement (a sign of life: onMain).
      ping: () => {
        if (this.owner !== undefined && this.local === undefined) this.sayHello();
      },
    });
    this.serving = new TabServing({
      platform,
      name: options.name,
      tabId: this.tabId,
      local: () => this.local,
      silent: () => this.silent,
      post: (channel, message) => this.post(channel, message),
      report: (error) => this.report(error),
    });
    this.main = platform.channel(databaseChannelName(options.name));
    this.inbox = platform.channel(tabChannelName(options.name, this.tabId));
    this.calls = platform.channel(callsChannelName(options.name));
    this.main.addEventListener('message', (e) => this.onMain(e.data));
    this.inbox.addEventListener('message', (e) => this.onAnswer(e.data));
    this.calls.addEventListener('message', (e) => this.onCall(e.data));
  }

  /**
   * Joins the tabs of database `name`: becomes the owner if no tab is, else finds the owner.
   * @throws StorageBusyError if no owner answers within `busyTimeout`; the error of opening the
   *   files when this tab became the owner and could not open them.
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

  /** What crossed the channels and was not acted on. */
  get wireStats(): WireStats {
    return { ignoredMessages: this.ignoredMessages, lateAnswers: this.pending.lateAnswers };
  }

  private async join(): Promise<void> {
    const { name } = this.options;
    void this.platform.locks.request(
      tabLockName(name, this.tabId),
      () => new Promise<void>((r) => (this.releaseTab = r)),
    );
    let failed: unknown;
    this.platform.locks
      .request(ownerLockName(name), async () => {
        if (this.stopping) return;
        const held = new Promise<void>((r) => (this.releaseOwner = r));
        this.becoming = this.becomeOwner();
        try {
          await this.becoming;
        } catch (error) {
          // The files are closed again (becomeOwner): the lock may go to the next tab.
          if (this.joined) this.report(error);
          else failed = error;
          this.markReady();
          return;
        }
        await held;
      })
      .catch((error: unknown) => {
        if (this.joined) this.report(error);
        else failed = error;
        this.markReady();
      });
    this.sayHello();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), this.busyTimeout)),
    );
    const outcome = await Promise.race([this.ready.then(() => 'ready' as const), timeout]);
    clearTimeout(timer);
    this.joined = true;
    if (failed !== undefined || outcome === 'timeout') {
      // No owner answered: if one speaks another version, that is the reason to give.
      const error =
        failed ??
        this.versionError ??
        new StorageBusyError(
          `Database "${name}" is held by another tab that does not answer (a frozen or background tab). Try again, or close the other tab.`,
        );
      try {
        await this.close();
      } catch (closeError) {
        throw new AggregateError([error, closeError], (error as Error).message, {
          cause: closeError,
        });
      }
      throw error;
    }
  }

  private async becomeOwner(): Promise<void> {
    const opened = await openWithRetry(this.openLocal, this.busyTimeout);
    if (this.stopping) {
      await opened.close();
      return;
    }
    try {
      this.takeOver(opened);
    } catch (error) {
      // Close the files before the lock goes to the next tab: never two owners at once.
      this.unsubscribeLocal?.();
      this.local = undefined;
      this.owner = undefined;
      try {
        await opened.close();
      } catch (closeError) {
        throw new AggregateError([error, closeError], (error as Error).message, {
          cause: closeError,
        });
      }
      throw error;
    }
  }

  /** Starts serving with the opened files: announces itself and runs the calls left pending. */
  private takeOver(opened: Storage): void {
    this.local = opened;
    for (const [holder, tid] of this.ownPins) this.serving.pins.set(this.tabId, holder, tid);
    const unsubscribe = opened.subscribe((invalidation) => {
      // Broadcast only when another tab is there to hear it.
      if (this.serving.hasFollowers) {
        this.post(this.main, { v: PROTOCOL_VERSION, type: 'invalidate', invalidation });
      }
      this.listeners.tell(invalidation);
    });
    const unsubscribeErrors = opened.subscribeErrors?.((error) => {
      // Background failures concern every tab's data: this page and the others hear of them.
      this.report(error);
      this.post(this.main, { v: PROTOCOL_VERSION, type: 'report', error: errorToWire(error) });
    });
    this.unsubscribeLocal = () => {
      unsubscribe();
      unsubscribeErrors?.();
    };
    this.owner = this.tabId;
    this.ownerTerm = newTabId();
    this.serving.gatherPins(this.busyTimeout, (error) => this.report(error));
    this.announce();
    this.markReady();
    // Calls sent to the previous owner and never answered: run them here (commits are idempotent).
    for (const p of this.pending.takeAll()) {
      this.serving
        .track(this.serving.serve(this.tabId, p.method, p.message.args))
        .then((value) => p.resolve(value), p.reject);
    }
    // Pack calls among them whose caller aborted meanwhile: taken out again, here.
    for (const packId of this.abortedPacks()) this.serving.abortPack(this.tabId, packId);
  }

  // ─── messages ─────────────────────────────────────────────────────────────

  private onMain(data: unknown): void {
    const message = this.parse(data);
    if (message === undefined) return;
    if (message.type === 'hello') {
      this.onHello(message.tabId, message.pins);
    } else if (message.type === 'owner') {
      if (message.tabId === undefined || this.local !== undefined) return;
      // The same owner under the same term: an answer to somebody's hello. Anything else is a
      // takeover (or a stray announcement: then the real owner's next one is new again).
      if (message.tabId === this.owner && message.term === this.ownerTerm) {
        this.pending.alive(); // it answers: its long calls are still running
        return;
      }
      // A new owner: give it this tab's pins, and resend what the previous one did not answer
      // (also while this tab closes: it takes no new calls, but its calls in flight still land).
      this.owner = message.tabId;
      this.ownerTerm = message.term;
      this.markReady();
      this.sayHello([...this.ownPins]);
      for (const message of this.pending.messages()) this.post(this.calls, message);
      for (const packId of this.abortedPacks()) this.postAbort(packId);
    } else if (message.type === 'invalidate' && this.local === undefined) {
      this.listeners.tell(message.invalidation);
    } else if (message.type === 'report' && this.local === undefined) {
      this.report(errorFromWire(message.error));
    }
  }

  /** Another tab is there (joining, or greeting a new owner with its pins). */
  private onHello(tabId: string, pins: unknown[] | undefined): void {
    if (tabId === this.tabId) return;
    this.serving.watch(tabId);
    if (this.local === undefined || this.stopping) return;
    if (!this.serving.greeted(tabId, pins)) this.ignoredMessages++; // malformed pins
    this.announce();
  }

  /** Greets the tabs: the owner answers with its announcement, and takes `pins` when given. */
  private sayHello(pins?: [string, Tid][]): void {
    const hello = { v: PROTOCOL_VERSION, type: 'hello', tabId: this.tabId } as const;
    this.post(this.main, pins === undefined ? hello : { ...hello, pins });
  }

  /** Tells the other tabs this one owns the files, under its term. */
  private announce(): void {
    const { tabId, ownerTerm: term } = this;
    this.post(this.main, { v: PROTOCOL_VERSION, type: 'owner', tabId, term });
  }

  private onAnswer(data: unknown): void {
    const message = this.parse(data);
    if (message === undefined) return;
    if (message.type === 'progress') {
      if (!this.tellProgress(message.packId, message.progress)) this.ignoredMessages++;
      return;
    }
    if (message.type !== 'result' && message.type !== 'error') {
      this.ignoredMessages++;
      return;
    }
    // Unreadable answers are ignored: the call keeps waiting for a resend's answer or its timeout.
    if (!this.pending.answer(message)) this.ignoredMessages++;
  }

  /** The owner serves a call from another tab. A closing owner takes none: they are resent. */
  private onCall(data: unknown): void {
    if (this.local === undefined || this.stopping) return;
    const message = this.parse(data);
    if (message === undefined) return;
    if (message.type === 'abort' && message.from !== this.tabId) {
      this.serving.abortPack(message.from, message.packId);
      return;
    }
    if (message.type !== 'call' || message.from === undefined || message.from === this.tabId) {
      this.ignoredMessages++;
      return;
    }
    this.serving.serveCall(message as CallMessage & { from: string });
  }

  /** Narrows a message; one that does not parse is ignored and counted, never acted on. */
  private parse(data: unknown): Message | undefined {
    try {
      return parseMessage(data);
    } catch (error) {
      this.ignoredMessages++;
      if (error instanceof ProtocolVersionError && this.versionError === undefined) {
        this.versionError = new StorageError(
          `Database "${this.options.name}": another tab runs another version of this app (shelfdb protocol ${String(error.version)}; this tab speaks ${PROTOCOL_VERSION}). Its messages are ignored, and calls that need it fail with StorageBusyError. Reload every tab of this app.`,
          { cause: error },
        );
        this.report(this.versionError);
      }
      return undefined;
    }
  }

  private post(channel: Channel, message: Message): void {
    if (!this.silent) channel.postMessage(message);
  }

  // ─── calls ────────────────────────────────────────────────────────────────

  protected override call(method: StorageMethod, args: unknown[]): Promise<unknown> {
    if (this.stopping) return Promise.reject(new DatabaseClosedError());
    if (this.local !== undefined) return this.serving.track(this.serving.runLocal(method, args));
    return this.pending.start(method, args, (message) => {
      if (this.owner !== undefined) this.post(this.calls, message);
    });
  }

  /** The owner runs this page's pack with its signal and listener; another tab gets a call. */
  protected override sendPack(options: PackOptions): Promise<PackResult> {
    if (this.stopping) return Promise.reject(new DatabaseClosedError());
    if (this.local !== undefined) return this.serving.track(this.serving.pack(options));
    return super.sendPack(options);
  }

  /** Asks the owner (this tab, or another) to take this tab's pack call `packId` out. */
  protected override abortPack(packId: string): void {
    if (this.local !== undefined) this.serving.abortPack(this.tabId, packId);
    else this.postAbort(packId);
  }

  /** Sends 'abort' for pack call `packId` to the owner, if one is known (else at its takeover). */
  private postAbort(packId: string): void {
    if (this.owner === undefined) return;
    this.post(this.calls, { v: PROTOCOL_VERSION, type: 'abort', packId, from: this.tabId });
  }

  /**
   * Pins a page's oldest snapshot. The owner keeps every tab's pins and packs no further than the
   * oldest; a tab remembers its own pins to give them to a new owner.
   */
  override async pin(holder: string, tid: Tid | null): Promise<void> {
    if (tid === null) this.ownPins.delete(holder);
    else this.ownPins.set(holder, tid);
    if (this.local !== undefined) this.serving.pins.set(this.tabId, holder, tid);
    else await this.call('pin', [holder, tid]);
  }

  /** The storage's stats, with the messages this tab ignored (`ignoredMessages`). */
  override async stats(): Promise<StorageStats> {
    const stats = (await super.stats()) as StorageStats & { ignoredMessages?: number };
    return {
      ...stats,
      ignoredMessages: (stats.ignoredMessages ?? 0) + this.ignoredMessages,
    } as StorageStats;
  }

  /** The recovery report of the storage, when this worker owns it. */
  get recovery(): RecoveryReport | undefined {
    return this.local?.recovery;
  }

  /**
   * Leaves the tabs. An owner takes no new call, finishes and answers the calls it runs, closes
   * the files, and then hands the lock to the next tab, whatever closing the files did.
   * @throws the error of closing the files (a failed checkpoint): the lock is released anyway.
   */
  override close(): Promise<void> {
    this.stopping = true;
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    // This tab's calls in flight at another tab settle as they would have (answer or timeout):
    // failing a commit here would claim it did not land, which nobody knows yet.
    await this.pending.settled();
    let failure: unknown;
    try {
      // Its failure was reported where it happened (join or report): only its end matters here.
      await this.becoming?.then(undefined, () => undefined);
      await this.serving.finishRunning();
      const local = this.local;
      this.local = undefined;
      // Commits still waiting for the group flush land while the storage closes: this tab and
      // the others hear of them (unsubscribing first would keep their announcements from them).
      if (local !== undefined) await local.close();
    } catch (error) {
      failure = error;
    } finally {
      this.unsubscribeLocal?.();
      this.listeners.clear();
      this.serving.stopGathering();
      this.releaseOwner?.();
      this.releaseTab?.();
      this.markReady();
      this.silent = true;
      for (const channel of [this.main, this.inbox, this.calls]) channel.close();
      this.serving.closeReplies();
      this.errorListeners.clear();
    }
    if (failure !== undefined) throw failure;
  }
}
