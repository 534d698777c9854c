/**
 * TabServing: what a TabRouter (tab-router.ts) keeps to serve the other tabs when it owns the
 * files: which tabs are alive, their snapshot pins, their answer channels, and the calls it runs.
 *
 * Every router keeps the live tabs it has heard from, owner or not, so a tab that becomes the owner
 * knows them at once; a tab is forgotten (its pins, its channel) when its tab lock is released.
 * Invariants: pins and kept answer channels exist only for live tabs; a call that crossed a channel
 * runs only after its arguments passed call-checks.ts, and `close` never runs for another tab; pack
 * keeps what the oldest pin of any live tab needs.
 *
 * Pack: every pack call the owner runs — its own page's and other tabs' — joins one SharedPack
 * (src/shared/forwarding-storage.ts): a tab's abort takes its call out, and the storage's pack
 * stops once no caller waits for it. A tab's pack call carries a pack call id; its progress goes
 * back to that tab alone, batched per slice (ProgressBatch), on the channel its answer takes, the
 * last batch before the answer. Progress is not broadcast to every tab: only the callers asked for
 * it, and a tab with no pack call pays nothing for another's.
 */
import { DatabaseClosedError, ShelfError, errorToWire } from '../src/shared/errors.js';
import { SharedPack } from '../src/shared/shared-pack.js';
import {
  PROTOCOL_VERSION,
  tabChannelName,
  tabLockName,
  type Message,
} from '../src/shared/protocol.js';
import type { StorageMethod } from '../src/shared/storage-calls.js';
import type { PackOptions, PackResult, Storage, Tid } from '../src/shared/storage.js';
import { checkCall } from './call-checks.js';
import { PinGathering } from './pin-gathering.js';
import { encodeResult, type CallMessage } from './tab-calls.js';
import type { Channel, TabPlatform } from './tab-platform.js';
import { TabPins } from './tab-pins.js';
import { ProgressBatch } from './progress-batch.js';

/** A pack call's options as they cross a channel (call-checks.ts checked them). */
type WirePackOptions = Pick<PackOptions, 'keepTid'> & { packId?: string };

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
  /** Tells the router's error listeners of a failure nobody awaits (a progress listener's). */
  report(error: unknown): void;
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
  /** Owner: the one pack every caller joins (this tab's page and other tabs). */
  private readonly packs: SharedPack;
  /** Owner: other tabs' pack calls running, by `<tab id> <pack call id>`: 'abort' stops one. */
  private readonly tabPacks = new Map<string, AbortController>();

  constructor(private readonly host: ServingHost) {
    this.packs = new SharedPack(
      (options) => this.startPack(options),
      (error) => host.report(error),
    );
  }

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

  /** Runs a call from another tab and answers it on that tab's channel, whatever it does. */
  serveCall(message: CallMessage & { from: string }): void {
    const { id, method, args, from } = message;
    this.watch(from);
    this.track(this.serve(from, method, args)).then(
      (value) =>
        this.answer(from, {
          v: PROTOCOL_VERSION,
          type: 'result',
          id,
          value: encodeResult(method, value),
        }),
      (error: unknown) =>
        this.answer(from, { v: PROTOCOL_VERSION, type: 'error', id, error: errorToWire(error) }),
    );
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
    if (method === 'pack') return this.packFor(from, decoded[0] as WirePackOptions | undefined);
    return this.runLocal(method, decoded);
  }

  /** Runs a call on the files this worker owns (decoded arguments). */
  async runLocal(method: StorageMethod, args: unknown[]): Promise<unknown> {
    const s = this.host.local();
    if (s === undefined) throw new DatabaseClosedError();
    if (method === 'pack') return this.packFor(this.host.tabId, args[0] as WirePackOptions);
    const fn = s[method as keyof Storage] as (...a: unknown[]) => Promise<unknown>;
    return fn.apply(s, args);
  }

  /** A pack of this tab's page (its signal and progress listener at hand): joins the running one. */
  pack(options: PackOptions): Promise<PackResult> {
    return this.packs.join(options);
  }

  /**
   * A pack call that crossed a channel from tab `from` (or was left pending when this tab took
   * over): joins the running pack; its progress goes back to `from` by its pack call id, the last
   * batch before the answer (posted on the same channel: a channel keeps one sender's order).
   */
  private async packFor(from: string, options: WirePackOptions = {}): Promise<PackResult> {
    const { packId, ...sent } = options;
    if (packId === undefined) return this.packs.join(sent);
    const key = `${from} ${packId}`;
    const controller = new AbortController();
    this.tabPacks.set(key, controller);
    const batch = new ProgressBatch((progress) =>
      this.answer(from, { v: PROTOCOL_VERSION, type: 'progress', packId, progress }),
    );
    try {
      return await this.packs.join({
        ...sent,
        signal: controller.signal,
        onProgress: (progress) => batch.add(progress),
      });
    } finally {
      if (this.tabPacks.get(key) === controller) this.tabPacks.delete(key);
      batch.flush();
    }
  }

  /** Tab `from` no longer waits for its pack call `packId`: takes it out of the running pack. */
  abortPack(from: string, packId: string): void {
    this.tabPacks
      .get(`${from} ${packId}`)
      ?.abort(new DOMException(`Tab ${from} aborted its pack call ${packId}.`, 'AbortError'));
  }

  /** Starts the storage's pack for every caller that joins it. */
  private async startPack(options: PackOptions): Promise<PackResult> {
    const s = this.host.local();
    if (s === undefined) throw new DatabaseClosedError();
    return s.pack(await this.packOptions(options));
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
    const { keepTid, ...rest } = options;
    let keep = keepTid;
    const pinned = this.pins.oldest();
    if (pinned !== undefined && (keep === undefined || pinned < keep)) keep = pinned;
    return keep === undefined ? rest : { ...rest, keepTid: keep };
  }
}
