/**
 * The diff between two revisions of one object, as the log view's history shows it: field by
 * field, descending into plain data (objects and arrays) so a change deep inside shows where it
 * is (`address.city`, `tags[2]`).
 *
 * Equality, as a user reads a stored value:
 * - references (persistent objects) are equal when they name the same oid: each revision decodes
 *   its own ghosts, so identity would call every reference changed;
 * - Dates by their time; NaN equals NaN (`Object.is`, so 0 and -0 differ: they are stored apart);
 * - Maps and Sets by their entries, binary data by its bytes;
 * - cycles (allowed inside one object's state) compare as equal once the same pair of nodes is met
 *   again, so comparing never loops: a difference, if any, is found on another path.
 */
import { Persistent } from '../persistent.js';

/** How a field differs between the old revision and the new one. */
export type FieldChange = 'added' | 'removed' | 'changed' | 'unchanged';

/** One row of a diff: a field (or a path into plain data) and its two values. */
export interface DiffRow {
  /** Where: a field name, then `.name` and `[index]` into nested plain data. */
  path: string;
  /** What happened to it from the old revision to the new one. */
  change: FieldChange;
  /** Its value in the old revision (absent when added). */
  before?: unknown;
  /** Its value in the new revision (absent when removed). */
  after?: unknown;
}

/**
 * The rows that tell `before` (the older revision's fields) from `after`, in field order (the
 * older revision's fields first, then the fields only the newer one has). Unchanged fields are
 * listed too (`change: 'unchanged'`): the view hides them by default.
 * @example
 * diffStates({ title: 'a', n: 1 }, { title: 'b', n: 1 });
 * // [{ path: 'title', change: 'changed', before: 'a', after: 'b' },
 * //  { path: 'n', change: 'unchanged', before: 1, after: 1 }]
 */
export function diffStates(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): DiffRow[] {
  const rows: DiffRow[] = [];
  diffInto(rows, '', before, after, new Set(), new Set());
  return rows;
}

/** True when `a` and `b` are the same stored value (see the module comment). */
export function sameValue(a: unknown, b: unknown): boolean {
  return equal(a, b, new Map());
}

/** Compares the fields of two containers of plain data (objects, or arrays), appending rows. */
function diffInto(
  rows: DiffRow[],
  prefix: string,
  a: object,
  b: object,
  ancestorsA: Set<object>,
  ancestorsB: Set<object>,
): void {
  ancestorsA.add(a);
  ancestorsB.add(b);
  const array = Array.isArray(a) && Array.isArray(b);
  const keys = Object.keys(a);
  for (const key of Object.keys(b)) if (!Object.hasOwn(a, key)) keys.push(key);
  const recordA = a as Record<string, unknown>;
  const recordB = b as Record<string, unknown>;
  for (const key of keys) {
    const path = pathOf(prefix, key, array);
    const inA = Object.hasOwn(a, key);
    const inB = Object.hasOwn(b, key);
    const va = recordA[key];
    const vb = recordB[key];
    if (!inA) rows.push({ path, change: 'added', after: vb });
    else if (!inB) rows.push({ path, change: 'removed', before: va });
    else if (sameValue(va, vb)) rows.push({ path, change: 'unchanged', before: va, after: vb });
    else if (
      bothContainers(va, vb) &&
      !ancestorsA.has(va as object) &&
      !ancestorsB.has(vb as object)
    ) {
      diffInto(rows, path, va as object, vb as object, ancestorsA, ancestorsB);
    } else rows.push({ path, change: 'changed', before: va, after: vb });
  }
  ancestorsA.delete(a);
  ancestorsB.delete(b);
}

/** Both plain objects, or both arrays: a change inside them is shown field by field. */
function bothContainers(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return true;
  return isPlainObject(a) && isPlainObject(b);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function pathOf(prefix: string, key: string, array: boolean): string {
  if (array) return `${prefix}[${key}]`;
  if (IDENTIFIER.test(key)) return prefix === '' ? key : `${prefix}.${key}`;
  return `${prefix}[${JSON.stringify(key)}]`;
}

/**
 * Deep equality; `comparing` holds the pairs of nodes being compared further up, so a cycle met
 * again is taken as equal (a difference shows elsewhere, where the walk goes on).
 */
function equal(a: unknown, b: unknown, comparing: Map<object, Set<object>>): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Persistent || b instanceof Persistent) {
    if (!(a instanceof Persistent && b instanceof Persistent)) return false;
    return a._p_oid !== undefined && a._p_oid === b._p_oid;
  }
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && Object.is(a.getTime(), b.getTime());
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (ArrayBuffer.isView(a) || a instanceof ArrayBuffer) return sameBytes(a, b as typeof a);
  const seen = comparing.get(a);
  if (seen?.has(b)) return true;
  if (seen) seen.add(b);
  else comparing.set(a, new Set([b]));
  try {
    if (a instanceof Map) return sameMap(a, b as Map<unknown, unknown>, comparing);
    if (a instanceof Set) return sameSet(a, b as Set<unknown>, comparing);
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    return ka.every((key) => Object.hasOwn(b, key) && equal(ra[key], rb[key], comparing));
  } finally {
    comparing.get(a)?.delete(b);
  }
}

function sameBytes(a: ArrayBufferView | ArrayBuffer, b: ArrayBufferView | ArrayBuffer): boolean {
  const ba = ArrayBuffer.isView(a)
    ? new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
    : new Uint8Array(a);
  const bb = ArrayBuffer.isView(b)
    ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
    : new Uint8Array(b);
  return ba.length === bb.length && ba.every((byte, i) => byte === bb[i]);
}

function sameMap(
  a: Map<unknown, unknown>,
  b: Map<unknown, unknown>,
  comparing: Map<object, Set<object>>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) {
    if (b.has(key)) {
      if (!equal(value, b.get(key), comparing)) return false;
      continue;
    }
    // An object key decodes anew in each revision: find an equal one.
    let found = false;
    for (const [otherKey, otherValue] of b) {
      if (equal(key, otherKey, comparing) && equal(value, otherValue, comparing)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

function sameSet(a: Set<unknown>, b: Set<unknown>, comparing: Map<object, Set<object>>): boolean {
  if (a.size !== b.size) return false;
  for (const item of a) {
    if (b.has(item)) continue;
    let found = false;
    for (const other of b) {
      if (equal(item, other, comparing)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}
