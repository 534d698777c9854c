/**
 * The owner's table of snapshot pins: for each live tab, the oldest snapshot each of its pages
 * (holders) still reads. Pack keeps every revision the oldest pin needs. Invariants: only tabs
 * whose tab lock is held (alive) have pins, and a tab's pins go when its lock is released; a tab
 * holds at most MAX_HOLDERS pins, so no message stream can grow the table without bound.
 */
import { ShelfError } from '../src/shared/errors.js';
import type { Tid } from '../src/shared/storage.js';
import { checkPin } from './call-checks.js';

/** The most holders (databases opened by one page) one tab may pin for. */
export const MAX_HOLDERS = 1000;

export class TabPins {
  /** tab id → holder → tid. */
  private readonly byTab = new Map<string, Map<string, Tid>>();

  /**
   * Records (tid) or removes (null) one holder's pin.
   * @throws ShelfError when the tab already pins for MAX_HOLDERS holders.
   */
  set(tab: string, holder: string, tid: Tid | null): void {
    let pins = this.byTab.get(tab);
    if (tid === null) {
      pins?.delete(holder);
      if (pins?.size === 0) this.byTab.delete(tab);
      return;
    }
    if (pins === undefined) {
      pins = new Map();
      this.byTab.set(tab, pins);
    }
    if (!pins.has(holder) && pins.size >= MAX_HOLDERS) {
      throw new ShelfError(
        `pin: tab ${tab} already pins snapshots for ${MAX_HOLDERS} databases; pin refused.`,
      );
    }
    pins.set(holder, tid);
  }

  /**
   * Replaces every pin of `tab` with `pins` (what a tab gives a new owner).
   * @throws ShelfError for a malformed or oversized list; the tab's pins are then unchanged.
   */
  replace(tab: string, pins: unknown[]): void {
    if (pins.length > MAX_HOLDERS) {
      throw new ShelfError(`pin: more than ${MAX_HOLDERS} pins from tab ${tab}; none taken.`);
    }
    const table = new Map<string, Tid>();
    for (const pin of pins) {
      if (!Array.isArray(pin) || pin.length !== 2) throw new ShelfError('pin: malformed pin.');
      const [holder, tid] = pin as [unknown, unknown];
      checkPin(holder, tid);
      if (tid !== null) table.set(holder as string, tid);
    }
    if (table.size === 0) this.byTab.delete(tab);
    else this.byTab.set(tab, table);
  }

  /** Forgets every pin of a tab that died. */
  dropTab(tab: string): void {
    this.byTab.delete(tab);
  }

  /** The oldest pinned snapshot, or undefined when nothing is pinned. */
  oldest(): Tid | undefined {
    let oldest: Tid | undefined;
    for (const pins of this.byTab.values()) {
      for (const tid of pins.values()) if (oldest === undefined || tid < oldest) oldest = tid;
    }
    return oldest;
  }
}
