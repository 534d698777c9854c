/**
 * PinGathering: a new owner's wait for the snapshot pins of the tabs alive at handover.
 *
 * Pins live in the owner's memory; a new owner starts without them, and each live tab gives them
 * again in its 'hello' once it hears the 'owner' announcement. A pack run before then could remove
 * revisions another tab's snapshot still reads, so pack waits for `done`: it settles once every
 * tab whose tab lock was held at handover (navigator.locks.query) has greeted this owner or died,
 * or after `timeout` (a frozen tab cannot answer; its snapshot then reads what pack left, and a
 * ReadConflictError tells it to move on). Without `query` there is nothing to wait for.
 */
import { tabLockName } from '../src/shared/protocol.js';
import type { Locks } from './tab-platform.js';

export class PinGathering {
  /** Settles when pack may run. */
  readonly done: Promise<void>;
  /** Tabs alive at handover that have not greeted yet; undefined until the query answers. */
  private waiting: Set<string> | undefined;
  /** Tabs that greeted (or died) before the query answered. */
  private readonly early = new Set<string>();
  private finish: () => void = () => undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    locks: Locks,
    name: string,
    selfId: string,
    options: { timeout: number; report: (error: unknown) => void },
  ) {
    this.done = new Promise<void>((resolve) => (this.finish = resolve));
    if (locks.query === undefined) {
      this.cancel();
      return;
    }
    this.timer = setTimeout(() => this.cancel(), options.timeout);
    const prefix = tabLockName(name, '');
    locks.query().then(
      (snapshot) => {
        this.waiting = new Set();
        for (const { name: lock } of snapshot.held ?? []) {
          if (lock === undefined || !lock.startsWith(prefix)) continue;
          const tabId = lock.slice(prefix.length);
          if (tabId !== selfId && !this.early.has(tabId)) this.waiting.add(tabId);
        }
        this.check();
      },
      (error: unknown) => {
        options.report(error); // pack then runs without waiting: what it keeps is still safe for this tab
        this.cancel();
      },
    );
  }

  /** `tabId` gave its pins (or died: it has none). */
  greeted(tabId: string): void {
    if (this.waiting === undefined) this.early.add(tabId);
    else {
      this.waiting.delete(tabId);
      this.check();
    }
  }

  /** Stops waiting (timeout, close). */
  cancel(): void {
    clearTimeout(this.timer);
    this.finish();
  }

  private check(): void {
    if (this.waiting?.size === 0) this.cancel();
  }
}
