/**
 * useRange: the entries of a BTree range for a component, updated live as other connections and
 * tabs, and the tree's own connection, commit (see range-watch.ts for when it runs again).
 */
import { useMemo, useSyncExternalStore } from 'react';
import { Persistent, type BTree, type BTreeKey, type BTreeRange } from '../index.js';
import { RangeWatch, type RangeState } from './range-watch.js';

/** Options of {@link useRange}. */
export interface UseRangeOptions {
  /** At most this many entries, from the start of the range (its end with `reverse`). Default: all. */
  limit?: number;
}

/** What {@link useRange} returns. */
export interface RangeResult<K, V> {
  /**
   * The entries of the last finished scan, in key order (reversed with `reverse`), all read at one
   * snapshot, persistent values loaded. Empty until the first scan finished, and after a failure.
   */
  readonly entries: readonly (readonly [K, V])[];
  /** True while a scan runs: the first one, or a new one after a change (entries are the last). */
  readonly loading: boolean;
  /** What the last scan threw (ShelfError, StorageError, DatabaseClosedError…), else undefined. */
  readonly error: unknown;
}

const NO_TREE: RangeState<never, never> = Object.freeze({
  entries: Object.freeze([]),
  loading: false,
  error: undefined,
});
const subscribeNothing = (): (() => void) => () => undefined;
const noTree = (): RangeState<never, never> => NO_TREE;

/**
 * Scans `range` of `tree` (up to `limit` entries) and re-renders with the new entries whenever a
 * change to what the scan read is committed, by another connection or tab or through the tree's
 * own connection: an insert or delete in the tree, a node it visited, a persistent value it
 * returned. While mounted, the hook holds those objects (`conn.hold`), so the cache does not evict
 * them. A change of `range` or `limit` starts a new scan and drops the one running. Entries always
 * come from one snapshot, never a mix.
 *
 * The range may be a new object on every render: it is compared by its values. `tree` may be a
 * ghost reference (`root.get('byDate')`); while it is undefined the result is empty and not loading.
 * @throws RangeError if `limit` is not a positive integer; ShelfError if `tree` was never stored
 *   (it has no connection). Both during render, to the error boundary.
 * @example
 * function Latest({ byDate }: { byDate: BTree<Date, Note> }) {
 *   const { entries, loading, error } = useRange(byDate, { reverse: true }, { limit: 20 });
 *   if (error !== undefined) return `Failed: ${String(error)}`;
 *   return entries.map(([when, note]) => `${when.toISOString()} ${note.title}`).join('\n');
 * }
 */
export function useRange<K extends BTreeKey, V>(
  tree: BTree<K, V> | undefined,
  range: BTreeRange<K> = {},
  options: UseRangeOptions = {},
): RangeResult<K, V> {
  const limit = options.limit ?? Infinity;
  if (limit !== Infinity && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new RangeError(`useRange: limit must be a positive integer, got ${String(limit)}.`);
  }
  const key = rangeKey(range, limit);
  // The watch is made anew only when the tree or the range's values (`key`) change; the `range`
  // it keeps is the one of the render that made it, equal in values to every later one.
  const watch = useMemo(
    () => (tree === undefined ? undefined : new RangeWatch(tree, { ...range }, limit)),
    [tree, key],
  );
  const state = useSyncExternalStore<RangeState<K, V>>(
    watch?.subscribe ?? subscribeNothing,
    watch?.getSnapshot ?? noTree,
    watch?.getSnapshot ?? noTree,
  );
  // Between a commit ghosting a value and the re-run reloading it, a render must not get a ghost.
  const ghosted = state.entries.some(([, v]) => v instanceof Persistent && v._p_status === 'ghost');
  return ghosted ? { entries: [], loading: true, error: state.error } : state;
}

/** The range and limit as a string: equal for equal values (Dates by time, arrays by items). */
export function rangeKey<K extends BTreeKey>(range: BTreeRange<K>, limit: number): string {
  const { min, max, excludeMin = false, excludeMax = false, reverse = false } = range;
  return [keyText(min), keyText(max), excludeMin, excludeMax, reverse, limit].join('|');
}

function keyText(key: BTreeKey | undefined): string {
  if (key === undefined) return 'u';
  if (typeof key === 'string') return `s${JSON.stringify(key)}`;
  if (typeof key === 'bigint') return `b${key.toString()}`;
  if (typeof key === 'number') return `n${Object.is(key, -0) ? '-0' : String(key)}`;
  if (key instanceof Date) return `d${String(key.getTime())}`;
  return `[${key.map((k) => keyText(k)).join(',')}]`;
}
