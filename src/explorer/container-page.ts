/**
 * One page of a PersistentDict, PersistentList or PersistentSet, described for a table. These
 * containers are loaded whole by nature (one persistent object each), so paging here is about what
 * is rendered: one page of rows, whatever the size. A dict filtered by key prefix is walked to
 * count its matches (in memory, no load), and only the page's rows are described.
 */
import { PersistentDict } from '../persistent-dict.js';
import { PersistentList } from '../persistent-list.js';
import { PersistentSet } from '../persistent-set.js';
import type { Persistent } from '../persistent.js';
import { describeValue, type ValueNode } from './value-model.js';

/** The containers shown as tables. */
export type ContainerKind = 'dict' | 'list' | 'set';

/** One row: a dict's key (and the key itself, for removing it), a list's index, and the value. */
export interface ContainerRow {
  key: ValueNode | undefined;
  rawKey: unknown;
  /** A dict entry's value itself (what removing it expects to find still there). */
  rawValue?: unknown;
  index: number | undefined;
  value: ValueNode;
}

/** The rows of one page and where they are. */
export interface ContainerPage {
  kind: ContainerKind;
  rows: ContainerRow[];
  /** Index (within the matching rows) of the first row of the page. */
  offset: number;
  /** Rows matching the filter (all rows without one). */
  total: number;
}

/** Which container `obj` is, if any. */
export function containerKind(obj: Persistent): ContainerKind | undefined {
  if (obj instanceof PersistentDict) return 'dict';
  if (obj instanceof PersistentList) return 'list';
  if (obj instanceof PersistentSet) return 'set';
  return undefined;
}

/** The field holding a container's contents (shown as the table rather than as a field). */
export const CONTENT_FIELD: Record<ContainerKind, string> = {
  dict: 'data',
  list: 'items',
  set: 'items',
};

/** Whether a dict key matches a typed prefix (by its text for keys that are not strings). */
export function keyMatches(key: unknown, prefix: string): boolean {
  if (prefix === '') return true;
  return (typeof key === 'string' ? key : String(key)).startsWith(prefix);
}

/**
 * The page of `obj` (a loaded container) starting at `offset`: `size` rows, the dict's keys
 * filtered by `prefix`. An offset past the end shows the last page.
 */
export function pageContainer(
  obj: PersistentDict | PersistentList | PersistentSet,
  offset: number,
  size: number,
  prefix = '',
): ContainerPage {
  if (obj instanceof PersistentList) {
    const total = obj.length;
    const start = clampOffset(offset, total, size);
    const rows = obj.items.slice(start, start + size).map((v, i) => ({
      key: undefined,
      rawKey: undefined,
      index: start + i,
      value: describeValue(v),
    }));
    return { kind: 'list', rows, offset: start, total };
  }
  if (obj instanceof PersistentSet) {
    const total = obj.size;
    const start = clampOffset(offset, total, size);
    const rows: ContainerRow[] = [];
    let i = 0;
    for (const v of obj.items) {
      if (i++ < start) continue;
      rows.push({ key: undefined, rawKey: undefined, index: undefined, value: describeValue(v) });
      if (rows.length >= size) break;
    }
    return { kind: 'set', rows, offset: start, total };
  }
  let total = 0;
  if (prefix === '') total = obj.size;
  else for (const k of obj.data.keys()) if (keyMatches(k, prefix)) total++;
  const start = clampOffset(offset, total, size);
  const rows: ContainerRow[] = [];
  let i = 0;
  for (const [k, v] of obj.data) {
    if (!keyMatches(k, prefix)) continue;
    if (i++ < start) continue;
    rows.push({
      key: describeValue(k),
      rawKey: k,
      rawValue: v,
      index: undefined,
      value: describeValue(v),
    });
    if (rows.length >= size) break;
  }
  return { kind: 'dict', rows, offset: start, total };
}

function clampOffset(offset: number, total: number, size: number): number {
  if (total === 0) return 0;
  const lastPage = Math.floor((total - 1) / size) * size;
  return Math.max(0, Math.min(Math.floor(offset / size) * size, lastPage));
}
