/**
 * Pages through a BTree by key range, never the whole tree: a page is the next `size` entries
 * after the last key shown (`{ min: last, excludeMin: true }`), or the ones before the first key
 * shown (`{ max: first, excludeMax: true, reverse: true }`, reversed), and the iteration stops as
 * soon as the page is full (breaking out of the async iterator). Each page also looks one entry
 * past each end, to know whether there is a next and a previous page.
 *
 * A search narrows the walk: a key prefix (string keys; the walk starts at the prefix and stops at
 * the first key that does not start with it) or a range (From / To, both included).
 */
import type { BTree } from '../btree.js';
import type { BTreeKey } from '../btree-keys.js';
import type { BTreeRange } from '../btree-scan.js';

/** What the pager walks: every entry, the keys starting with a prefix, or a range. */
export type PageSearch =
  | { kind: 'all' }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'range'; from: BTreeKey | undefined; to: BTreeKey | undefined };

/** One page of entries, in key order. */
export interface BTreePage {
  entries: [BTreeKey, unknown][];
  hasNext: boolean;
  hasPrevious: boolean;
  /** Index of the first entry within the search's entries (exact when paging from the start). */
  offset: number;
}

/** Attempts at a walk when the connection moved to a newer snapshot under it (autoSync). */
const ATTEMPTS = 3;

/** Pages through one BTree, one search at a time. */
export class BTreePager {
  /** The page shown (empty until the first load). */
  page: BTreePage = { entries: [], hasNext: false, hasPrevious: false, offset: 0 };
  private search: PageSearch = { kind: 'all' };

  constructor(
    private readonly tree: BTree,
    /** Entries per page. */
    readonly size = 50,
  ) {}

  /** The first page of `search`. */
  async first(search: PageSearch = this.search): Promise<BTreePage> {
    this.search = search;
    return this.show(await this.fetch(undefined, 'forward', 0));
  }

  /** The page after the one shown. */
  async next(): Promise<BTreePage> {
    const last = this.page.entries.at(-1);
    if (last === undefined) return this.first();
    return this.show(
      await this.fetch(last[0], 'forward', this.page.offset + this.page.entries.length),
    );
  }

  /** The page before the one shown. */
  async previous(): Promise<BTreePage> {
    const first = this.page.entries[0];
    if (first === undefined) return this.first();
    return this.show(await this.fetch(first[0], 'backward', this.page.offset));
  }

  /**
   * The page shown, read again (after a change): from its first key on, so the position holds
   * while that key exists; when nothing is left from there, the page before it.
   */
  async reload(): Promise<BTreePage> {
    const first = this.page.entries[0];
    if (first === undefined) return this.first();
    const page = await this.fetch(first[0], 'from', this.page.offset);
    if (page.entries.length === 0 && page.hasPrevious) {
      return this.show(await this.fetch(first[0], 'backward', this.page.offset));
    }
    return this.show(page);
  }

  private show(page: BTreePage): BTreePage {
    this.page = page;
    return page;
  }

  /** The search's bounds, as a range of the tree. */
  private bounds(): { min?: BTreeKey; max?: BTreeKey } {
    const s = this.search;
    if (s.kind === 'prefix') return { min: s.prefix };
    if (s.kind === 'range') return { min: s.from, max: s.to };
    return {};
  }

  /** Whether `key` is inside the search (the range's bounds do the rest). */
  private within(key: BTreeKey): boolean {
    return this.search.kind !== 'prefix' || String(key).startsWith(this.search.prefix);
  }

  /**
   * A page next to `anchor`: after it ('forward', or 'from' it, included), or before it
   * ('backward'); with no anchor, the first page.
   */
  private async fetch(
    anchor: BTreeKey | undefined,
    direction: 'forward' | 'from' | 'backward',
    offset: number,
  ): Promise<BTreePage> {
    const { min, max } = this.bounds();
    const size = this.size;
    if (direction === 'backward') {
      const before = await this.take(
        { min, max: anchor, excludeMax: true, reverse: true },
        size + 1,
      );
      const entries = before.slice(0, size).reverse();
      return {
        entries,
        hasPrevious: before.length > size,
        hasNext: true, // the anchor itself is after this page
        offset: before.length > size ? Math.max(0, offset - entries.length) : 0,
      };
    }
    const range: BTreeRange<BTreeKey> =
      anchor === undefined
        ? { min, max }
        : { min: anchor, excludeMin: direction === 'forward', max };
    const after = await this.take(range, size + 1);
    const entries = after.slice(0, size);
    const start = entries[0]?.[0] ?? anchor;
    const hasPrevious =
      start !== undefined &&
      (await this.take({ min, max: start, excludeMax: true, reverse: true }, 1)).length > 0;
    return { entries, hasNext: after.length > size, hasPrevious, offset: hasPrevious ? offset : 0 };
  }

  /**
   * Up to `count` entries of `range` within the search. Walked again from the start if the
   * connection moved to a newer snapshot meanwhile (the BTree refuses to go on then).
   */
  private async take(range: BTreeRange<BTreeKey>, count: number): Promise<[BTreeKey, unknown][]> {
    const conn = this.tree._p_connection as { snapshotTid?: number } | undefined;
    for (let attempt = 1; ; attempt++) {
      const snapshot = conn?.snapshotTid;
      try {
        const out: [BTreeKey, unknown][] = [];
        if (count <= 0) return out;
        for await (const [key, value] of this.tree.entries(range)) {
          if (!this.within(key)) break;
          out.push([key, value]);
          if (out.length >= count) break; // stops the walk: no node past the page is loaded
        }
        return out;
      } catch (error) {
        if (attempt >= ATTEMPTS || conn?.snapshotTid === snapshot) throw error;
      }
    }
  }
}
