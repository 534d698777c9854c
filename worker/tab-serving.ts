/**
 * TabServing: what a TabRouter (tab-router.ts) keeps to serve the other tabs when it owns the
 * files: which tabs are alive, their snapshot pins, their answer channels, and the calls it runs.
 *
 * Every router keeps the live tabs it has heard from, owner or not, so a tab that becomes the owner
 * knows them at once; a tab is forgotten (its pins, its channel) when its tab lock is released.
 * Invariants: pins and kept answer channels exist only for live tabs; a call that crossed a channel
 * runs only after its arguments passed call-checks.ts, and `close` never runs for another tab; pack
 * keeps what the oldest pin of any live tab needs.
 */
import { DatabaseClosedError, ShelfError } from '../src/shared/errors.js';
import { tabChannelName, tabLockName, type Message } from '../src/shared/protocol.js';
import type { StorageMethod } from '../src/shared/storage-calls.js';
import type { PackOptions, Storage, Tid } from '../src/shared/storage.js';
import { checkCall } from './call-checks.js';
import { PinGathering } from './pin-gathering.js';
import type { Channel, TabPlatform } from './tab-platform.js';
import { TabPins } from './tab-pins.js';

/** What TabServing needs from its router. */
export interface ServingHost {
  readonly platform: TabPlatform;
  /** The database name. */
  readonly name: string;
  /** The router's own tab id. */
  readonly tabId: string;
  /** The files, while this worker owns them. */
  local(): Storage | undefined;
  /** True once the router has closed its channels: no tab is watched any more. */
  silent(): boolean;
  /** Posts a message, unless the router is silent. */
  post(channel: Channel, message: Message): void;
}

export class TabServing {
  /** Owner: every live tab's snapshot pins (its own included). */
  readonly pins = new TabPins();
  /** Owner after a handover: pack waits until the live tabs have given their pins. */
  private gathering: PinGathering | undefined;
  /** Tabs whose lock is held, as far as this worker knows: pins count only from them. */
  private readonly followers = new Set<string>();
  /** Answer channels of the live tabs this owner serves, by tab id. */
  private readonly replies = new Map<string, Channel>();
  /** Calls the owner is running (its page's and other tabs'): close waits for them. */
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly host: ServingHost) {}

  /** True when another live tab is there to hear a broadcast. */
  get hasFollowers(): boolean {
    return this.followers.size > 0;
  }

  /** On becoming the owner: pack waits until the tabs alive now have given their pins. */
  gatherPins(timeout: number, report: (error: unknown) => void): void {
    const { platform, name, tabId } = this.host;
    this.gathering = new PinGathering(platform.locks, name, tabId, { timeout, report });
  }

  /**
   * A tab greeted this owner, maybe with all its pins (which replace its earlier ones).
   * @returns false when the pins were malformed: the tab's earlier pins stay.
   */
  greeted(tabId: string, pins: unknown[] | undefined): boolean {
    let wellFormed = true;
    if (pins !== undefined && this.followers.has(tabId)) {
      try {
        this.pins.replace(tabId, pins);
      } catch {
        wellFormed = false; // the caller counts the message as ignored
      }
    }
    this.gathering?.greeted(tabId);
    return wellFormed;
  }

  /** Remembers a live tab, and forgets it (its pins, its channel) when its lock is released. */
  watch(tabId: string): void {
    if (tabId === this.host.tabId || this.followers.has(tabId) || this.host.silent()) return;
    this.followers.add(tabId);
    void this.host.platform.locks.request(tabLockName(this.host.name, tabId), async () => {
      this.followers.delete(tabId);
      this.pins.dropTab(tabId);
      this.gathering?.greeted(tabId);
      this.replies.get(tabId)?.close();
      this.replies.delete(tabId);
    });
  }

  /** Answers a tab on its channel (kept open while the tab lives). */
  answer(tabId: string, message: Message): void {
    let channel = this.replies.get(tabId);
    if (channel === undefined) {
      channel = this.host.platform.channel(tabChannelName(this.host.name, tabId));
      if (!this.followers.has(tabId)) {
        this.host.post(channel, message); // a tab not alive (any more): answer once, keep nothing
        channel.close();
        return;
      }
      this.replies.set(tabId, channel);
    }
    this.host.post(channel, message);
  }

  /** Keeps `work` in `running` until it settles, so that close answers it first. */
  track<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    const done = (): void => void this.running.delete(work);
    work.then(done, done);
    return work;
  }

  /** Runs a call that crossed a channel (encoded arguments), after checking its arguments. */
  async serve(from: string, method: StorageMethod, args: unknown[]): Promise<unknown> {
    if (method === 'close') {
      throw new ShelfError(
        `close: another tab cannot close database "${this.host.name}" for every tab; nothing was closed. Each tab closes its own.`,
      );
    }
    const decoded = checkCall(method, args);
    if (method === 'pin') {
      const [holder, tid] = decoded as [string, Tid | null];
      if (from !== this.host.tabId && !this.followers.has(from)) {
        throw new ShelfError(`pin: tab ${from} is not open (it holds no tab lock); pin refused.`);
      }
      this.pins.set(from, holder, tid);
      return undefined;
    }
    return this.runLocal(method, decoded);
  }

  /** Runs a call on the files this worker owns (decoded arguments). */
  async runLocal(method: StorageMethod, args: unknown[]): Promise<unknown> {
    const s = this.host.local();
    if (s === undefined) throw new DatabaseClosedError();
    if (method === 'pack') return s.pack(await this.packOptions(args[0] as PackOptions));
    const fn = s[method as keyof Storage] as (...a: unknown[]) => Promise<unknown>;
    return fn.apply(s, args);
  }

  /** Settles once no call is running, including calls started while it waits. */
  async finishRunning(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Stops waiting for pins (on close). */
  stopGathering(): void {
    this.gathering?.cancel();
  }

  /** Closes the answer channels of the live tabs (on close, after the router's own). */
  closeReplies(): void {
    for (const channel of this.replies.values()) channel.close();
    this.replies.clear();
  }

  /** Pack keeps what the oldest snapshot pinned by any live tab needs. */
  private async packOptions(options: PackOptions = {}): Promise<PackOptions> {
    await this.gathering?.done;
    let keep = options.keepTid;
    const pinned = this.pins.oldest();
    if (pinned !== undefined && (keep === undefined || pinned < keep)) keep = pinned;
    return keep === undefined ? {} : { keepTid: keep };
  }
}
